/**
 * `npm run bench` options.
 */
import { parseArgs } from 'node:util';

/** The real-time run: the size, small enough to take minutes rather than half an hour. */
export const REAL_TIME_INDEXES = 100;

export const HELP = `Usage: npm run bench -- [options]

Runs the real state machine locally against the Genesys Cloud simulator for orgs of several
sizes, the seed's strategy on the same kind of org, and measures each Lambda bundle against a
floor bundle. Time is compressed by --scale; every time reported is scaled back to real-world
seconds.

  --scale K          time compression factor (default 7.5: the default timings 30 s, 15 s, 900 s
                     and 180 s stay whole seconds; 5 and 15 do too. Smaller is closer to a real
                     run and slower: whole-second Waits weigh k times more in bench time)
  --budget N         the optimizer's API budget, requests per real-world minute (default 150)
  --sizes A,B        org sizes, indexes (default 100,1000)
  --concurrency N    maxConcurrency in the execution input (default: left out, so the optimizer
                     derives it from the budget)
  --real-time        also run ${REAL_TIME_INDEXES} indexes at real time (k = 1, about 3 to 4 minutes), so that
                     what the compression distorts is measured
  --second-run       run each org of --sizes twice on one local AWS: its first run (the refresh
                     memory empty), then a second that starts with what the first learned,
                     reported as its own row (run: second)
  --skip-orgs        do not run the time-compressed orgs (--sizes)
  --seed-size N      indexes for the seed's strategy (default 100)
  --skip-seed        do not run the seed's strategy
  --skip-bundles     do not build and time the Lambda bundles
  --import-runs N    cold imports per bundle, each paired with one of the floor; medians
                     reported (default 9)
  --out FILE         results file (default bench-results.json)
  -h, --help         this help
`;

export interface BenchArgs {
  scale: number;
  budget: number;
  sizes: number[];
  /** null: the default (see --concurrency). */
  concurrency: number | null;
  seedSize: number;
  realTime: boolean;
  /** Each org of --sizes runs twice on one local AWS: first, then second with the first's refresh memory. */
  secondRun: boolean;
  skipOrgs: boolean;
  skipSeed: boolean;
  skipBundles: boolean;
  importRuns: number;
  out: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function positive(value: string | undefined, flag: string, fallback: number, { integer = true, allowZero = false } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const ok = Number.isFinite(n) && (allowZero ? n >= 0 : n > 0) && (!integer || Number.isInteger(n));
  if (!ok) throw new UsageError(`${flag}: expected a ${integer ? 'whole ' : ''}number${allowZero ? ' ≥ 0' : ' > 0'}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseBenchArgs(argv: string[]): BenchArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scale: { type: 'string' },
        budget: { type: 'string' },
        sizes: { type: 'string' },
        concurrency: { type: 'string' },
        'seed-size': { type: 'string' },
        'real-time': { type: 'boolean' },
        'second-run': { type: 'boolean' },
        'skip-orgs': { type: 'boolean' },
        'skip-seed': { type: 'boolean' },
        'skip-bundles': { type: 'boolean' },
        'import-runs': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const sizes = (values.sizes ?? '100,1000').split(',').map((s) => positive(s.trim(), '--sizes', 0));
  if (sizes.length === 0) throw new UsageError('--sizes: give at least one size');
  const concurrency = values.concurrency === undefined ? null : positive(values.concurrency, '--concurrency', 0);
  return {
    scale: positive(values.scale, '--scale', 7.5, { integer: false }),
    budget: positive(values.budget, '--budget', 150, { integer: false }),
    sizes,
    concurrency,
    seedSize: positive(values['seed-size'], '--seed-size', 100),
    realTime: values['real-time'] ?? false,
    secondRun: values['second-run'] ?? false,
    skipOrgs: values['skip-orgs'] ?? false,
    skipSeed: values['skip-seed'] ?? false,
    skipBundles: values['skip-bundles'] ?? false,
    importRuns: positive(values['import-runs'], '--import-runs', 9),
    out: values.out ?? 'bench-results.json',
  };
}
