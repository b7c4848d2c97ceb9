/**
 * Chart.js, inlined into every run page so that the page opens without a network request. Its
 * UMD build is read at run time: in AWS from beside the bundle (the stack's bundling copies it
 * next to index.mjs, see infra/stack/optimizer-stack.ts), locally (the handlers run from their
 * TypeScript source) from node_modules.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The file the page inlines: Chart.js 4's minified UMD build (it sets window.Chart). */
export const CHART_JS_FILE = 'chart.umd.min.js';

/** Where the file is in the chart.js package (the package exports no path to it, so: beside its main file). */
export function chartJsPackageFile(): string {
  return join(dirname(createRequire(import.meta.url).resolve('chart.js')), CHART_JS_FILE);
}

export class ChartLibraryMissing extends Error {
  override name = 'Report.ChartLibraryMissing';
}

let cached: string | undefined;

/**
 * The library's source, ready to go inside a <script> element: without its source-map comment
 * (a browser with its developer tools open would ask for the map) and checked to hold nothing
 * that would end the element early.
 */
export function loadChartLibrary(): string {
  if (cached !== undefined) return cached;
  const candidates = [fileURLToPath(new URL(`./${CHART_JS_FILE}`, import.meta.url))];
  try {
    candidates.push(chartJsPackageFile());
  } catch {
    // No node_modules (the deployed bundle): only the copy beside it can serve.
  }
  for (const path of candidates) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    cached = inlineableScript(text, path);
    return cached;
  }
  throw new ChartLibraryMissing(`Chart.js (${CHART_JS_FILE}) is neither beside the function's code nor in node_modules: looked at ${candidates.join(', ')}`);
}

/** A script's text as it can stand between <script> and </script>. */
export function inlineableScript(text: string, what = 'the script'): string {
  const body = text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  if (/<\/script|<!--/i.test(body)) throw new Error(`${what} contains </script or <!--: it cannot be inlined as it is`);
  return body;
}
