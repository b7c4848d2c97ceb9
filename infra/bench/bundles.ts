/**
 * Each Lambda's deployment bundle, built the way the stack builds it, and how long a fresh Node
 * process takes to import it (the part of a cold start the code controls).
 *
 * The esbuild options mirror NodejsFunction's bundling in infra/stack/optimizer-stack.ts (CDK passes
 * --bundle --target --platform=node --format --outfile index.mjs --minify --sourcemap
 * --external --banner --main-fields); keep the two in step. The bundles go under .bench/ inside the
 * project so that the @aws-sdk/* externals resolve from node_modules, as the Lambda runtime
 * provides them.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { SERVICE_NAME } from '../../functions/shared/logger.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import type { BundleResult } from './results.ts';

export const HANDLERS = ['fetch', 'validate', 'optimize', 'verify', 'report'] as const;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUNDLE_DIR = join(ROOT, '.bench', 'bundles');
/** The project's Node (the Lambda runtime's major version), not whatever `node` is on PATH. */
const NODE = process.execPath;

/** As in the stack's NodejsFunction `bundling`. */
const STACK_BUNDLING = {
  format: 'esm',
  target: 'node24',
  platform: 'node',
  minify: true,
  sourcemap: true,
  external: ['@aws-sdk/*'],
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
} as const;

export async function buildBundle(name: string): Promise<string> {
  const outfile = join(BUNDLE_DIR, name, 'index.mjs');
  await build({
    ...STACK_BUNDLING,
    external: [...STACK_BUNDLING.external],
    mainFields: [...STACK_BUNDLING.mainFields],
    entryPoints: [join(ROOT, 'functions', 'handlers', `${name}.ts`)],
    bundle: true,
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/** The environment a deployed function starts with, as far as importing the module is concerned. */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

const IMPORT_TIMER = 'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));';

/** One fresh process importing the bundle; the milliseconds measured inside it around the import. */
export function coldImportOnce(bundlePath: string, sourceMaps: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', IMPORT_TIMER, pathToFileURL(bundlePath).href];
    const child = spawn(NODE, args, { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...LAMBDA_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(out.trim().split('\n').pop());
      if (code !== 0 || !Number.isFinite(ms)) reject(new Error(`importing ${bundlePath} failed (exit ${code}): ${err.trim() || out.trim()}`));
      else resolve(ms);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

export async function measureBundles(runs: number, say: (line: string) => void): Promise<BundleResult[]> {
  await rm(BUNDLE_DIR, { recursive: true, force: true });
  await mkdir(BUNDLE_DIR, { recursive: true });
  const results: BundleResult[] = [];
  for (const name of HANDLERS) {
    const path = await buildBundle(name);
    const bytes = (await stat(path)).size;
    const sourceMapBytes = (await stat(`${path}.map`)).size;
    const withMaps: number[] = [];
    const withoutMaps: number[] = [];
    // Interleaved, so that a burst of load on the machine does not land on one variant only.
    for (let i = 0; i < runs; i++) {
      withMaps.push(await coldImportOnce(path, true));
      withoutMaps.push(await coldImportOnce(path, false));
    }
    const result: BundleResult = {
      name,
      bytes,
      coldImportMs: round1(median(withMaps)),
      coldImportRunsMs: withMaps.map(round1),
      coldImportMsNoSourceMaps: round1(median(withoutMaps)),
      sourceMapBytes,
    };
    say(`bundle ${name}: ${(bytes / 1024).toFixed(1)} KiB, cold import ${result.coldImportMs} ms (median of ${runs})`);
    results.push(result);
  }
  return results;
}
