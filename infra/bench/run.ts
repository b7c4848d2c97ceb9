/**
 * `npm run bench`: the optimizer's real state machine, run locally against the Genesys Cloud
 * simulator for orgs of several sizes with time compressed (scale.ts), optionally one at real time
 * (--real-time), the seed's strategy on the same kind of org (seed-strategy.ts), and each Lambda
 * bundle's size and cold import time beside a floor bundle's (bundles.ts).
 * Prints a table and writes bench-results.json. Targets are measured and shown, never asserted:
 * the exit status is 0 unless the bench itself could not run (2: bad usage or input, 1: a crash).
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { synthesizeDefinition } from '../local/definition.ts';
import { HELP, parseBenchArgs, REAL_TIME_INDEXES, UsageError, type BenchArgs } from './args.ts';
import { measureBundles } from './bundles.ts';
import { benchExecutionInput, checkInput } from './input.ts';
import { REAL_REFRESH_SECONDS } from './org.ts';
import { runOptimizerBench, runOrgTwice } from './optimizer-run.ts';
import { LIST_PRICES_USD } from './pricing.ts';
import type { BenchResults, FloorResult, OrgResult, RealTimeResult, SeedComparison, SeedResult } from './results.ts';
import { GENESYS_RATE_LIMIT_PER_MINUTE, scaleBudget, scaleTimings } from './scale.ts';
import { secondRunComparisons } from './second-run.ts';
import { runSeedBench } from './seed-strategy.ts';
import { formatResults } from './table.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The input for scale k, or the optimizer's reason for refusing it (said on stderr). */
function checkedInput(args: BenchArgs, k: number): { input: Record<string, unknown>; maxConcurrency: number } | null {
  const input = benchExecutionInput(k, args.budget, args.concurrency);
  const checked = checkInput(input);
  if ('problem' in checked) {
    process.stderr.write(`the optimizer refuses the bench's execution input ${JSON.stringify(input)} (scale ×${k}): ${checked.problem}\n(try another --scale or --budget)\n`);
    return null;
  }
  return { input, maxConcurrency: checked.maxConcurrency };
}

/** The seed's strategy beside the optimizer's run of the same size and scale, when there is one. */
function seedComparison(seed: SeedResult, k: number, orgs: OrgResult[]): SeedComparison {
  // The seed has no memory: beside it, the optimizer's first run.
  const ours = orgs.find((o) => o.indexes === seed.indexes && o.run === 'first');
  return {
    indexes: seed.indexes,
    scale: k,
    seed: { verified: seed.verified, unverified: seed.unverified, calls: seed.callsMade, callsPerIndex: seed.callsPerIndex, wallSeconds: seed.wallSeconds },
    optimizer: ours
      ? { verified: ours.optimized, unverified: ours.indexes - ours.optimized, calls: ours.callsMade, callsPerIndex: ours.callsPerIndex, wallSeconds: ours.wallSeconds }
      : null,
  };
}

async function main(argv: string[]): Promise<number> {
  let args: BenchArgs | 'help';
  try {
    args = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${HELP}`);
    return 2;
  }
  if (args === 'help') {
    say(HELP);
    return 0;
  }
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  const k = args.scale;
  const timings = scaleTimings(k);
  const budget = scaleBudget(args.budget, k);
  const compressed = checkedInput(args, k);
  // Checked before anything runs, so that a refused input costs seconds, not the compressed runs first.
  const realTime = args.realTime ? checkedInput(args, 1) : undefined;
  if (!compressed || realTime === null) return 2;
  const { input, maxConcurrency } = compressed;
  const compressedRuns = (!args.skipOrgs && args.sizes.length > 0) || !args.skipSeed;
  const notes: string[] = [
    ...(compressedRuns
      ? [
          `times are wall time × ${k}; what cannot be compressed weighs ×${k} too: loopback latency, handler CPU and whole-second Wait rounding make a run look slower, ` +
            "the pacer's slot tolerance (1.5 s early, 1 s late: real seconds) lets more calls into a bench minute; k ≤ 7.5 keeps both small (at k = 15 the busiest minute went over the budget)" +
            (args.realTime ? '; the real-time run (k = 1) multiplies none of them' : ''),
        ]
      : []),
    'Lambda durations are measured in-process against a loopback simulator; in AWS they are dominated by Genesys round trips (but Lambda duration is a small part of the cost either way)',
  ];
  if (budget.effective !== args.budget) {
    notes.push(`apiBudgetPerMinute takes whole numbers: ${args.budget}/min × ${k} ran as ${budget.perWallMinute}, i.e. ${budget.effective.toFixed(2)}/min; the bound and the budget checks use that`);
  }
  say(`bench: scale ×${k}, budget ${args.budget}/min (apiBudgetPerMinute ${budget.perWallMinute} per wall-clock minute), sizes ${args.skipOrgs ? 'none' : args.sizes.join(', ')}${args.secondRun && !args.skipOrgs ? ' (each run twice)' : ''}${args.realTime ? `, and ${REAL_TIME_INDEXES} indexes at real time` : ''}`);
  say(`execution input: ${JSON.stringify(input)} (maxConcurrency ${maxConcurrency}${'maxConcurrency' in input ? '' : ", the optimizer's own"})`);

  say('synthesizing the stack…');
  const synthesized = synthesizeDefinition();

  const orgs: OrgResult[] = [];
  for (const n of args.skipOrgs ? [] : args.sizes) {
    say(`org ${n}: running${args.secondRun ? ' twice (a first run, then a second with what it learned)' : ''}…`);
    const options = { indexes: n, scale: k, budgetPerMinute: budget.effective, timings, input, synthesized, say };
    const runs = args.secondRun ? await runOrgTwice(options) : [await runOptimizerBench(options)];
    for (const o of runs) {
      say(
        `org ${n}${o.run === 'second' ? ', second run' : ''}: ${o.status}, wall ${minutes(o.wallSeconds)}, bound ${minutes(o.boundSeconds)}, ratio ${o.ratioToBound.toFixed(2)}, ` +
          `${o.callsMade} calls (${o.healthReadsPerIndex.toFixed(2)} health reads per index), ${o.throttled} × 429, ${o.failed} failed`,
      );
      orgs.push(o);
    }
  }

  let realTimeResult: RealTimeResult | null = null;
  if (realTime) {
    const realTimeBudget = scaleBudget(args.budget, 1).effective;
    say(`real time: ${REAL_TIME_INDEXES} indexes at k = 1, running…`);
    const o = await runOptimizerBench({
      indexes: REAL_TIME_INDEXES,
      scale: 1,
      budgetPerMinute: realTimeBudget,
      timings: scaleTimings(1),
      input: realTime.input,
      synthesized,
      say: (line) => say(line.replace(/^org /, 'real time, org ')),
      progressEveryMs: 30_000,
    });
    say(`real time: ${o.status}, wall ${minutes(o.wallSeconds)}, bound ${minutes(o.boundSeconds)}, ratio ${o.ratioToBound.toFixed(2)}, busiest 60 s ${o.peakCallsPerMinute} calls, ${o.failed} failed`);
    realTimeResult = { ...o, scale: 1, executionInput: realTime.input, maxConcurrency: realTime.maxConcurrency, budgetPerMinute: realTimeBudget };
  }

  let seed: SeedResult | null = null;
  if (!args.skipSeed) {
    say(`seed ${args.seedSize}: running…`);
    seed = await runSeedBench(args.seedSize, k, say);
    say(`seed ${args.seedSize}: wall ${minutes(seed.wallSeconds)}, ${seed.callsMade} calls, ${seed.verified} verified, ${seed.unverified} unverified`);
  }

  let floor: FloorResult | null = null;
  let bundles: BenchResults['bundles'] = [];
  if (!args.skipBundles) {
    say('bundles: building and timing cold imports beside the floor…');
    ({ floor, bundles } = await measureBundles(args.importRuns, say));
  }

  const loadAtEnd = loadavg();
  const cpus = availableParallelism();
  const busiest = Math.max(loadAtStart[0]!, loadAtEnd[0]!);
  if (busiest > cpus) {
    notes.push(
      `the machine was busy while the bench ran (1-minute load average up to ${busiest.toFixed(1)} on ${cpus} CPUs): ` +
        'wall times and cold imports include other work; compare runs made on a quiet machine',
    );
  }
  const results: BenchResults = {
    orgs,
    secondRuns: secondRunComparisons(orgs),
    realTime: realTimeResult,
    seedStrategy: seed,
    seedComparison: seed ? seedComparison(seed, k, orgs) : null,
    floor,
    bundles,
    settings: {
      scale: k,
      budgetPerMinute: args.budget,
      effectiveBudgetPerMinute: budget.effective,
      maxConcurrency,
      maxConcurrencyFromInput: 'maxConcurrency' in input,
      executionInput: input,
      effectiveTiming: Object.fromEntries(Object.entries(timings.effective)),
      simulator: { rateLimitPerWindow: GENESYS_RATE_LIMIT_PER_MINUTE, rateLimitWindowSeconds: 60 / k, refreshSeconds: REAL_REFRESH_SECONDS },
      node: process.version,
      cpus,
      loadAverage: { atStart: loadAtStart.map(round2), atEnd: loadAtEnd.map(round2) },
      secondRun: args.secondRun,
      startedAt,
    },
    prices: { ...LIST_PRICES_USD },
    notes,
  };
  const out = resolve(args.out);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  say('');
  say(formatResults(results));
  say('');
  say(`wrote ${out}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
