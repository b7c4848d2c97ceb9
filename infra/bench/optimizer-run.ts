/**
 * One bench run of the optimizer: the real synthesized state machine, executed locally with the
 * real handlers (infra/local/run-local.ts), against a simulator org of `indexes` indexes with the
 * time-compressed settings. Returns what the bench reports for that org.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalAws, type LocalAws } from '../local/aws/local-aws.ts';
import { taskStates, type SynthesizedDefinition } from '../local/definition.ts';
import { runLocally } from '../local/run-local.ts';
import { parseScenario } from '../simulator/scenario.ts';
import { startSimulator } from '../simulator/server.ts';
import { callsNeeded, lowerBoundSeconds, minimumCalls } from './bound.ts';
import { benchOrg, type BenchOrg } from './org.ts';
import { per1000, runCost } from './pricing.ts';
import { healthReadsAfterPut, requestStats } from './request-stats.ts';
import type { OrgResult, OrgRun } from './results.ts';
import { benchSeconds, type ScaledTimings } from './scale.ts';
import { awsUsage } from './aws-usage.ts';
import { taskDurations } from './task-durations.ts';
import { transitionSummary } from './transitions.ts';

export interface OptimizerRunOptions {
  indexes: number;
  scale: number;
  budgetPerMinute: number;
  timings: ScaledTimings;
  /** The execution input, as it will be sent. */
  input: Record<string, unknown>;
  synthesized: SynthesizedDefinition;
  /** Progress lines while it runs. */
  say: (line: string) => void;
  progressEveryMs?: number;
  /** The org to run (its ids, its refresh times); a new one by default. */
  org?: BenchOrg;
  /** A local AWS that is already running (a second run shares the first's); by default one of its own. */
  aws?: LocalAws;
  /** Which run of the org this is (default first): reported, and in the progress lines. */
  run?: OrgRun;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runOptimizerBench(o: OptimizerRunOptions): Promise<OrgResult> {
  const k = o.scale;
  const org = o.org ?? benchOrg(o.indexes, k);
  const run = o.run ?? 'first';
  const scenario = parseScenario(org.scenario);
  const needed = callsNeeded(org.realRefreshSeconds, o.timings.effective, scenario.org.pageSizeCap);
  const minimum = minimumCalls(o.indexes, scenario.org.pageSizeCap);
  const boundSeconds = lowerBoundSeconds(minimum, o.budgetPerMinute);

  const sim = await startSimulator({ scenario });
  const storeDir = await mkdtemp(join(tmpdir(), 'optimizer-bench-'));
  const label = `org ${o.indexes}${run === 'second' ? ', second run' : ''}`;
  let done = 0;
  let startedAt = 0;
  const timer = setInterval(() => {
    if (!startedAt) return;
    const api = sim.requests.filter((r) => r.endpoint !== 'token');
    const throttled = sim.requests.filter((r) => r.status === 429).length;
    o.say(`${label}: ${done}/${o.indexes} indexes done, ${api.length} API calls, ${throttled} × 429, ${round(benchSeconds(Date.now() - startedAt, k) / 60, 1)} min (bench time)`);
  }, o.progressEveryMs ?? 10_000);
  timer.unref();

  let endedAt = 0;
  try {
    const result = await runLocally({
      input: o.input,
      target: { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl, clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret },
      storeDir,
      ...(o.aws ? { aws: o.aws } : {}),
      synthesized: o.synthesized,
      // The functions' JSON log lines would drown the table; the bench does not read them.
      onLogLine: () => {},
      onEvent: (e) => {
        if (e.type === 'ExecutionStarted') startedAt = e.timestamp;
        if (e.type === 'MapIterationSucceeded' || e.type === 'MapIterationFailed') done++;
        if (e.type.startsWith('Execution') && e.type !== 'ExecutionStarted') endedAt = e.timestamp;
      },
      // Generous: a run four times slower than its bound has something to say too.
      timeoutMs: Math.round(((boundSeconds * 4) / k) * 1000) + 120_000,
    });
    // This execution's calls only: a shared local AWS counts the earlier run's too.
    const { s3: storeOps, pacerReservations } = awsUsage(new Map(Object.entries(result.callCounts)));
    const wallMs = (endedAt || Date.now()) - (startedAt || Date.now());
    const wallSeconds = benchSeconds(wallMs, k);
    const stats = requestStats(sim.requests, k);
    const tasks = taskStates(o.synthesized.definition, o.synthesized.functionsByArn);
    const durations = taskDurations(result.events, tasks);
    const invocations = Object.values(result.invocations).reduce((a, b) => a + b, 0);
    const cost = runCost({
      transitions: result.transitions,
      invocations,
      lambdaBilledMs: Object.values(durations).reduce((a, d) => a + d.billedMs, 0),
      s3Puts: storeOps.puts,
      s3Gets: storeOps.gets,
      s3Lists: storeOps.lists,
      pacerReservations,
    });
    const costPer1000 = per1000(cost, o.indexes);
    const report = result.report;
    const failedEntries = report?.indexes.filter((e) => e.outcome === 'failed') ?? [];
    return {
      indexes: o.indexes,
      run,
      wallSeconds: round(wallSeconds, 1),
      boundSeconds: round(boundSeconds, 1),
      ratioToBound: round(wallSeconds / boundSeconds, 3),
      callsPerIndex: round(stats.apiCalls / o.indexes, 3),
      throttled: stats.throttled,
      failed: report ? report.summary.failed : o.indexes,
      transitionsPerIndex: round(result.transitions / o.indexes, 2),
      invocationsPerIndex: round(invocations / o.indexes, 2),
      costPer1000Usd: round(costPer1000.total, 4),

      status: result.error ? `${result.status} (${result.error.name}: ${result.error.cause})` : result.status,
      optimized: report?.summary.optimized ?? 0,
      failedBy429: failedEntries.filter((e) => /\(429\)|rate limit/i.test(e.reason ?? '')).length,
      minimumCalls: minimum,
      callsAtSettleTimings: needed,
      callsMade: stats.apiCalls,
      healthReadsPerIndex: round(healthReadsAfterPut(sim.requests) / o.indexes, 3),
      boundFromCallsMadeSeconds: round(lowerBoundSeconds(stats.apiCalls, o.budgetPerMinute), 1),
      tokenRequests: stats.tokenRequests,
      callsByEndpoint: stats.byEndpoint,
      peakCallsPerMinute: stats.peakPerMinute,
      meanCallsPerMinute: round(stats.meanPerMinute, 1),
      budgetUtilization: round(stats.meanPerMinute / o.budgetPerMinute, 3),
      transitions: { total: result.transitions, ...transitionSummary(result.events) },
      invocations: result.invocations,
      meanTaskMs: Object.fromEntries(Object.entries(durations).map(([role, d]) => [role, d.invocations ? round(d.totalMs / d.invocations, 1) : 0])),
      s3: storeOps,
      pacerReservations,
      costPer1000: {
        stepFunctions: round(costPer1000.stepFunctions, 5),
        lambdaRequests: round(costPer1000.lambdaRequests, 5),
        lambdaDuration: round(costPer1000.lambdaDuration, 5),
        s3: round(costPer1000.s3, 5),
        dynamoDb: round(costPer1000.dynamoDb, 5),
        total: round(costPer1000.total, 5),
      },
      maxPayloadBytes: result.maxPayloadBytes,
    };
  } finally {
    clearInterval(timer);
    await sim.close();
    await rm(storeDir, { recursive: true, force: true });
  }
}

/**
 * The same org twice on one local AWS: its first run (the refresh memory empty), then its second,
 * which finds in the pacer's table what the first learned. Each run has a new simulator from the
 * same scenario (the same indexes and OAuth client, every index as it was before the first PUT), so
 * that the same indexes qualify and refresh as long as before; what carries over is what a later
 * run in AWS would find: the memory, the pacer's clock (by then in the past), the earlier run's
 * objects and execution.
 */
export async function runOrgTwice(o: Omit<OptimizerRunOptions, 'org' | 'aws' | 'run'>): Promise<[OrgResult, OrgResult]> {
  const org = benchOrg(o.indexes, o.scale);
  const dir = await mkdtemp(join(tmpdir(), 'optimizer-bench-aws-'));
  const aws = await startLocalAws({ dir });
  try {
    const first = await runOptimizerBench({ ...o, org, aws, run: 'first' });
    o.say(`org ${o.indexes}: first run ${first.status}, ${first.callsMade} calls; the second run, with what it learned…`);
    const second = await runOptimizerBench({ ...o, org, aws, run: 'second' });
    return [first, second];
  } finally {
    await aws.close();
    await rm(dir, { recursive: true, force: true });
  }
}
