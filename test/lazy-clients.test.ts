/**
 * A cold start pays for the AWS SDK clients a function imports at top level, whether or not its
 * first invocation uses them; the others are imported when first used. That holds only while the
 * bundle keeps those imports dynamic: one static import of a client, or of a bundled package that
 * imports one statically (esbuild hoists an external's static import to the top of the bundle),
 * puts it back on every cold start. The bench measures the cost; this says which import did it.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const HANDLER_DIR = fileURLToPath(new URL('../functions/handlers/', import.meta.url));
const handlers = (await readdir(HANDLER_DIR)).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));

/** Every function reads or writes the run store, so the S3 client is worth having at once. */
const AT_IMPORT = ['@aws-sdk/client-s3'];

/** The SDK packages a handler's bundle imports, statically and dynamically (options as NodejsFunction's in optimizer-stack.ts). */
async function sdkImports(name: string): Promise<{ statically: string[]; dynamically: string[] }> {
  const result = await build({
    entryPoints: [`${HANDLER_DIR}${name}.ts`],
    bundle: true,
    write: false,
    outfile: 'index.mjs',
    format: 'esm',
    target: 'node24',
    platform: 'node',
    minify: true,
    external: ['@aws-sdk/*'],
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external && i.path.startsWith('@aws-sdk/')));
  const paths = (kind: string) => [...new Set(imports.filter((i) => i.kind === kind).map((i) => i.path))].sort();
  return { statically: paths('import-statement'), dynamically: paths('dynamic-import') };
}

describe('AWS SDK clients in the bundles', () => {
  it.each(handlers)('%s imports only the S3 client at top level; the others when first used', async (name) => {
    const { statically, dynamically } = await sdkImports(name);
    expect(statically.filter((p) => !AT_IMPORT.includes(p))).toEqual([]);
    // Each uses some other client too, so an empty list would mean esbuild reported them differently.
    expect(dynamically.length).toBeGreaterThan(0);
  });
});
