/**
 * Each Lambda's deployment bundle, built the way the stack builds it, and how long a fresh Node
 * process takes to import it (the part of a cold start the code controls), beside a floor bundle
 * (floor-entry.ts: an S3 client and a Powertools Logger, nothing else) built and imported the same
 * way in the same run, so that each function's import is reported as a ratio to what it cannot
 * avoid rather than as milliseconds that depend on the machine.
 *
 * The esbuild options mirror NodejsFunction's bundling in infra/stack/optimizer-stack.ts (CDK passes
 * --bundle --target --platform=node --format --outfile index.mjs --minify --sourcemap
 * --external --banner --main-fields); keep the two in step. The bundles go under .bench/ inside the
 * project so that the @aws-sdk/* externals resolve from node_modules, as the Lambda runtime
 * provides them.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { SERVICE_NAME } from '../../functions/shared/logger.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import type { BundleResult, FloorResult } from './results.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HANDLER_DIR = join(ROOT, 'functions', 'handlers');
const FLOOR_ENTRY = fileURLToPath(new URL('./floor-entry.ts', import.meta.url));
export const BUNDLE_DIR = join(ROOT, '.bench', 'bundles');
/** The project's Node (the Lambda runtime's major version), not whatever `node` is on PATH. */
const NODE = process.execPath;

/** Every handler under functions/handlers/, read from the directory so that a new function is measured without a change here. */
export async function handlerNames(): Promise<string[]> {
  const files = await readdir(HANDLER_DIR);
  return files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -'.ts'.length)).sort();
}

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

async function bundle(name: string, entry: string): Promise<string> {
  const outfile = join(BUNDLE_DIR, name, 'index.mjs');
  await build({
    ...STACK_BUNDLING,
    external: [...STACK_BUNDLING.external],
    mainFields: [...STACK_BUNDLING.mainFields],
    entryPoints: [entry],
    bundle: true,
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

export const buildBundle = (name: string) => bundle(name, join(HANDLER_DIR, `${name}.ts`));
export const buildFloorBundle = () => bundle('floor', FLOOR_ENTRY);

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

interface Measured {
  name: string;
  path: string;
  withMaps: number[];
  withoutMaps: number[];
  /** This bundle's import / the floor's import just before it, one per round. */
  ratios: number[];
}

export async function measureBundles(runs: number, say: (line: string) => void): Promise<{ floor: FloorResult; bundles: BundleResult[] }> {
  await rm(BUNDLE_DIR, { recursive: true, force: true });
  await mkdir(BUNDLE_DIR, { recursive: true });
  const floor: Measured = { name: 'floor', path: await buildFloorBundle(), withMaps: [], withoutMaps: [], ratios: [] };
  const handlers: Measured[] = [];
  for (const name of await handlerNames()) handlers.push({ name, path: await buildBundle(name), withMaps: [], withoutMaps: [], ratios: [] });
  // One untimed import each first: the first read of a bundle from disk would otherwise weigh on
  // whichever bundle happens to go first, and the ratio compares imports, not disk caches.
  for (const m of [floor, ...handlers]) await coldImportOnce(m.path, true);
  // Each handler's import is paired with a floor import right before it, and its ratio taken per
  // pair: on a shared machine the load changes over seconds (a test run starting next door doubles
  // every import), so medians taken apart can put a busy second on one side of the ratio only.
  // The order rotates each round so that no handler always follows the same one.
  for (let i = 0; i < runs; i++) {
    const order = [...handlers.slice(i % handlers.length), ...handlers.slice(0, i % handlers.length)];
    floor.withoutMaps.push(await coldImportOnce(floor.path, false));
    for (const m of order) {
      const floorMs = await coldImportOnce(floor.path, true);
      const ms = await coldImportOnce(m.path, true);
      floor.withMaps.push(floorMs);
      m.withMaps.push(ms);
      m.ratios.push(ms / floorMs);
      m.withoutMaps.push(await coldImportOnce(m.path, false));
    }
  }
  const result = async (m: Measured): Promise<FloorResult> => ({
    name: m.name,
    bytes: (await stat(m.path)).size,
    coldImportMs: round1(median(m.withMaps)),
    coldImportRunsMs: m.withMaps.map(round1),
    coldImportMsNoSourceMaps: round1(median(m.withoutMaps)),
    sourceMapBytes: (await stat(`${m.path}.map`)).size,
  });
  const floorResult = await result(floor);
  say(`bundle floor (S3Client + Logger): ${(floorResult.bytes / 1024).toFixed(1)} KiB, cold import ${floorResult.coldImportMs} ms (median of ${floor.withMaps.length})`);
  const bundles: BundleResult[] = [];
  for (const m of handlers) {
    const b = { ...(await result(m)), importRatio: Math.round(median(m.ratios) * 1000) / 1000 };
    say(`bundle ${b.name}: ${(b.bytes / 1024).toFixed(1)} KiB, cold import ${b.coldImportMs} ms (median of ${runs}), ${b.importRatio.toFixed(2)} × the floor`);
    bundles.push(b);
  }
  return { floor: floorResult, bundles };
}
