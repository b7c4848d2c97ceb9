// The whole optimizer end to end: the state machine definition exactly as the stack synthesizes
// it, executed by aws-local-stepfunctions (infra/local/run-local.ts), with the real handlers
// calling the Genesys Cloud simulator over real HTTP. Each test checks what happened to every
// index (the report), what the simulator saw (PUTs per index, health reads, the gaps between
// calls) and how the execution ended.
//
// Runs share the file's local AWS (and its function workers, started as new containers for each
// run), so the tests of a file run one after the other.
import { describe, expect, it, vi } from 'vitest';
import { generatedIndex } from '../infra/bench/org.ts';
import { existsSync, readFileSync } from 'node:fs';
import { DEMO_SCENARIO_PATH, loadDemoScenario } from '../infra/simulator/scenario-file.ts';
import { startSimulator } from '../infra/simulator/server.ts';
import { TokenStore } from '../infra/simulator/tokens.ts';
import type { ReportEntry, RunReport } from '../functions/domain/report.ts';
import type { RunConfig } from '../functions/domain/execution-input.ts';
import { readLocalRunObject } from '../infra/local/local-runs.ts';
import { retryPlan } from '../infra/cli/retry-failed.ts';
import { explainRun } from '../infra/cli/explain.ts';
import { clientsAs } from '../infra/local/run-local.ts';
import { ADMIN } from '../infra/local/aws/local-aws.ts';
import { S3RunStore } from '../functions/store/s3-run-store.ts';
import {
  FAST,
  calls,
  entry,
  expectReportCovers,
  filesUnder,
  findLeaks,
  gaps,
  healthReads,
  healthReadsAfterPut,
  index,
  puts,
  transitionsPerIndex,
  useLocalRuns,
} from './support/local-run.ts';

const { startSim, adopt, runAgainst, run, aws, synthesized } = useLocalRuns();

describe('the built-in demo scenario', () => {
  // What each special index of demo-scenario.json must end as, keyed on its behaviour.$comment.
  const EXPECTED: Array<{ comment: RegExp; outcome: ReportEntry['outcome']; reason?: RegExp; puts: number }> = [
    { comment: /over 10 GiB/, outcome: 'skipped', reason: /requires archival before optimization/, puts: 0 },
    { comment: /exceeds shard limit/, outcome: 'skipped', reason: /exceeds maximum node capacity limits \(\d+ shards > 50\)/, puts: 0 },
    { comment: /exceeds replica limit/, outcome: 'skipped', reason: /exceeds maximum node capacity limits \(4 replicas > 3\)/, puts: 0 },
    { comment: /malformed record/, outcome: 'skipped', reason: /malformed record: .*shardCount/, puts: 0 },
    { comment: /already refreshing at start/, outcome: 'skipped', reason: /busy: already refreshing/, puts: 0 },
    { comment: /red before optimization/, outcome: 'skipped', reason: /unhealthy: health red at the start/, puts: 0 },
    { comment: /red after refresh/, outcome: 'failed', reason: /health red after optimization/, puts: 1 },
    { comment: /PUT rejected: schema validation \(400\)/, outcome: 'failed', reason: /rejected \(400\).*Validation failed: reindexStrategy 'async_background' is not supported/, puts: 1 },
    { comment: /deleted after list/, outcome: 'failed', reason: /not found \(404\)/, puts: 0 },
    { comment: /PUT throttled once/, outcome: 'optimized', puts: 2 },
    { comment: /PUT throttled twice/, outcome: 'optimized', puts: 3 },
    { comment: /cluster busy once on PUT/, outcome: 'optimized', puts: 2 },
    { comment: /health 503 for \d+ s after PUT/, outcome: 'optimized', puts: 1 },
    { comment: /yellow \(not 503\) while refreshing/, outcome: 'optimized', puts: 1 },
    { comment: /slow health/, outcome: 'optimized', puts: 1 },
  ];

  it('reports every index once with the outcome its behaviour calls for, and fails with Run.IndexesFailed', async () => {
    const raw = JSON.parse(readFileSync(DEMO_SCENARIO_PATH, 'utf8')) as { indexes: Array<{ id: string; behaviour?: { $comment?: string } }> };
    const sim = adopt(await startSimulator({ scenario: await loadDemoScenario() }));
    // Index 13 refreshes for 5 s after its PUT: the timeout must outlast it.
    const r = await runAgainst(sim, { timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 10 }, maxConcurrency: 40 });

    const ids = raw.indexes.map((ix) => ix.id);
    expect(ids).toHaveLength(40);
    expectReportCovers(r, ids);
    for (const ix of raw.indexes) {
      const comment = ix.behaviour?.$comment;
      const rule = comment === undefined ? { outcome: 'optimized' as const, puts: 1, reason: undefined } : EXPECTED.find((x) => x.comment.test(comment));
      expect(rule, `a rule for "${comment}" (${ix.id})`).toBeDefined();
      const e = entry(r, ix.id);
      expect({ id: ix.id, outcome: e.outcome }).toEqual({ id: ix.id, outcome: rule!.outcome });
      if (rule!.reason) expect(e.reason, ix.id).toMatch(rule!.reason);
      if (rule!.outcome === 'optimized') expect(e.reason, ix.id).toBeNull();
      // PUTs that reached the index (a 429 or 503 counts; a pre-check that stopped the index sends none).
      expect({ id: ix.id, puts: puts(sim, ix.id).length }).toEqual({ id: ix.id, puts: rule!.puts });
    }
    // Retry-After 2, twice: never sooner.
    for (const gap of gaps(puts(sim, 'idx-018-email-threads-emea'))) expect(gap).toBeGreaterThanOrEqual(2000);

    expect(r.result.report!.summary).toEqual({ total: 40, optimized: 29, skipped: 8, failed: 3, planned: 0 });
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('Run.IndexesFailed');
    expect(r.result.error?.cause).toMatch(/^3 of 40 indexes failed\./);
    expect(r.result.report!.error).toEqual(r.result.error);
    expect(typeof r.result.report!.queryLatencyMs.before).toBe('number');
    expect(typeof r.result.report!.queryLatencyMs.after).toBe('number');
    expect(calls(sim, 'probe').filter((q) => q.status === 200)).toHaveLength(2);

    expect(r.result.reportPath).toMatch(/^s3:\/\/[a-z0-9-]+\/runs\/GenesysIndexOptimizer-Optimizer\/.+\/report\.json$/);
    expect(existsSync(r.result.reportFile)).toBe(true);
    expect(JSON.parse(readFileSync(r.result.reportFile, 'utf8'))).toEqual(r.result.report);
    console.log(`demo: ${r.wallMs} ms, ${r.result.transitions} transitions, max payload ${r.result.maxPayloadBytes} B, ${sim.requests.length} requests`);
  }, 60_000);
});

describe('each per-index branch', { timeout: 30_000 }, () => {
  it('throttled (429, Retry-After 2) then accepted: two PUTs at least 2 s apart, one pre-check', async () => {
    const r = await run({
      indexes: [index('throttled', { faults: { put: [{ status: 429, times: 1, retryAfterSeconds: 2 }] } }), index('calm')],
    });
    expectReportCovers(r, ['throttled', 'calm']);
    expect(entry(r, 'throttled')).toMatchObject({ outcome: 'optimized', reason: null });
    expect(entry(r, 'calm')).toMatchObject({ outcome: 'optimized', reason: null });
    const p = puts(r.sim, 'throttled');
    expect(p.map((q) => q.status)).toEqual([429, 202]);
    expect(gaps(p)[0]).toBeGreaterThanOrEqual(2000);
    // The pre-check runs on the first attempt only, then one read after the accepted PUT.
    expect(healthReads(r.sim, 'throttled')).toHaveLength(2);
    expect(puts(r.sim, 'calm')).toHaveLength(1);
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.result.report!.error).toBeNull();
  });

  it('throttled beyond retries.maxThrottledAttempts: failed after exactly that many PUTs, the reason says so', async () => {
    const r = await run(
      { indexes: [index('always-429', { faults: { put: [{ status: 429, times: -1, retryAfterSeconds: 1 }] } }), index('calm')] },
      { timing: FAST, retries: { maxThrottledAttempts: 3 } },
    );
    expectReportCovers(r, ['always-429', 'calm']);
    const e = entry(r, 'always-429');
    expect(e.outcome).toBe('failed');
    expect(e.reason).toMatch(/gave up after 3 rate-limited attempts \(retries\.maxThrottledAttempts\)/);
    expect(e.reason).toMatch(/429/);
    const p = puts(r.sim, 'always-429');
    expect(p.map((q) => q.status)).toEqual([429, 429, 429]);
    for (const gap of gaps(p)) expect(gap).toBeGreaterThanOrEqual(1000);
    expect(entry(r, 'calm').outcome).toBe('optimized');
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('Run.IndexesFailed');
    expect(r.result.error?.cause).toMatch(/1 of 2 indexes failed/);
  });

  it('Retry-After above retries.maxRetryAfterSeconds: failed after one PUT, without waiting', async () => {
    const r = await run(
      { indexes: [index('long-wait', { faults: { put: [{ status: 429, times: -1, retryAfterSeconds: 30 }] } }), index('calm')] },
      { timing: FAST, retries: { maxRetryAfterSeconds: 5 } },
    );
    expectReportCovers(r, ['long-wait', 'calm']);
    const e = entry(r, 'long-wait');
    expect(e.outcome).toBe('failed');
    expect(e.reason).toMatch(/30 s wait, more than the 5 s bound/);
    expect(puts(r.sim, 'long-wait')).toHaveLength(1);
    expect(r.wallMs).toBeLessThan(15_000);
    expect(r.result.error?.name).toBe('Run.IndexesFailed');
  });

  it('busy (503 on the PUT once): retried after healthPollSeconds, then optimized', async () => {
    const r = await run({
      indexes: [index('busy', { faults: { put: [{ status: 503, times: 1, message: 'Cluster rebalancing in progress; retry later' }] } }), index('calm')],
    });
    expectReportCovers(r, ['busy', 'calm']);
    expect(entry(r, 'busy')).toMatchObject({ outcome: 'optimized', reason: null });
    const p = puts(r.sim, 'busy');
    expect(p.map((q) => q.status)).toEqual([503, 202]);
    expect(gaps(p)[0]).toBeGreaterThanOrEqual(1000);
    expect(r.sim.indexState('busy')?.acceptedPutCount).toBe(1);
    expect(r.result.status).toBe('SUCCEEDED');
  });

  it('refreshing after the PUT (health 503 for 2 s) then green: optimized after several health reads', async () => {
    const r = await run(
      { indexes: [index('refreshing', { refreshSeconds: 2 }), index('calm')] },
      { timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 8 } },
    );
    expectReportCovers(r, ['refreshing', 'calm']);
    expect(entry(r, 'refreshing')).toMatchObject({ outcome: 'optimized', reason: null });
    const [put] = puts(r.sim, 'refreshing');
    expect(puts(r.sim, 'refreshing')).toHaveLength(1);
    const after = healthReadsAfterPut(r.sim, 'refreshing');
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(after.length).toBeLessThanOrEqual(5);
    expect(after.slice(0, -1).every((q) => q.status === 503)).toBe(true);
    expect(after.at(-1)!.status).toBe(200);
    for (const gap of gaps(after)) expect(gap).toBeGreaterThanOrEqual(1000);
    // Optimize, OptimizeOutcome, Settle, then (Verify, VerifyOutcome, PollWait) per 503, then Verify, VerifyOutcome, Optimized.
    const transitions = transitionsPerIndex(r.result);
    expect(transitions.get('calm')).toBe(6);
    expect(transitions.get('refreshing')).toBe(6 + 3 * (after.length - 1));
    expect(r.result.status).toBe('SUCCEEDED');
  });

  it('red after the refresh: failed "health red"', async () => {
    const r = await run({ indexes: [index('goes-red', { healthAfterRefresh: 'red' }), index('calm')] });
    expectReportCovers(r, ['goes-red', 'calm']);
    expect(entry(r, 'goes-red')).toMatchObject({ outcome: 'failed', reason: 'health red after optimization' });
    expect(puts(r.sim, 'goes-red')).toHaveLength(1);
    expect(entry(r, 'calm').outcome).toBe('optimized');
    expect(r.result.error?.name).toBe('Run.IndexesFailed');
    expect(r.result.error?.cause).toContain('name-goes-red: health red after optimization');
  });

  it('400 on the PUT: failed at once, exactly one PUT, Genesys\' message in the reason', async () => {
    const message = "Validation failed: refreshPolicy 'on_demand' is not allowed for index type 'knowledge'";
    const r = await run({ indexes: [index('rejected', { faults: { put: [{ status: 400, times: -1, message }] } }), index('calm')] });
    expectReportCovers(r, ['rejected', 'calm']);
    const e = entry(r, 'rejected');
    expect(e.outcome).toBe('failed');
    expect(e.reason).toContain(message);
    expect(e.reason).toMatch(/rejected \(400\)/);
    expect(e.reason).toMatch(/correlation id [0-9a-f-]{36}/);
    expect(puts(r.sim, 'rejected')).toHaveLength(1);
    expect(entry(r, 'calm').outcome).toBe('optimized');
  });

  it('never healthy within healthTimeoutSeconds: failed "health timeout" at the deadline, not later', async () => {
    const r = await run({ indexes: [index('stuck', { refreshSeconds: 60 }), index('calm')] });
    expectReportCovers(r, ['stuck', 'calm']);
    const e = entry(r, 'stuck');
    expect(e.outcome).toBe('failed');
    expect(e.reason).toMatch(/^health timeout: still refreshing \(503\) 3 s after the PUT/);
    const [put] = puts(r.sim, 'stuck');
    const after = healthReadsAfterPut(r.sim, 'stuck');
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(after.every((q) => q.status === 503)).toBe(true);
    const waited = after.at(-1)!.at - put!.at;
    expect(waited).toBeGreaterThanOrEqual(2900);
    expect(waited).toBeLessThan(5000);
    expect(entry(r, 'calm').outcome).toBe('optimized');
  });

  it('deleted after the listing (404): that index fails, the others are optimized', async () => {
    const r = await run({ indexes: [index('gone', { deletedAfterList: true }), index('calm-1'), index('calm-2')] });
    expectReportCovers(r, ['gone', 'calm-1', 'calm-2']);
    const e = entry(r, 'gone');
    expect(e.outcome).toBe('failed');
    expect(e.reason).toMatch(/not found \(404\)/);
    expect(calls(r.sim, 'health', 'gone').map((q) => q.status)).toEqual([404]);
    expect(puts(r.sim, 'gone')).toHaveLength(0);
    for (const id of ['calm-1', 'calm-2']) {
      expect(entry(r, id).outcome).toBe('optimized');
      expect(puts(r.sim, id)).toHaveLength(1);
    }
    expect(r.result.report!.summary).toMatchObject({ optimized: 2, failed: 1 });
  });

  it('red at the start and refreshing at the start: skipped by the pre-check with a reason, never PUT', async () => {
    const r = await run({
      indexes: [index('red-now', { health: 'red' }), index('refreshing-now', { initiallyRefreshingSeconds: 30 }), index('calm')],
    });
    expectReportCovers(r, ['red-now', 'refreshing-now', 'calm']);
    expect(entry(r, 'red-now')).toMatchObject({ outcome: 'skipped', reason: 'unhealthy: health red at the start of the run' });
    expect(entry(r, 'refreshing-now').outcome).toBe('skipped');
    expect(entry(r, 'refreshing-now').reason).toMatch(/^busy: already refreshing/);
    expect(puts(r.sim, 'red-now')).toHaveLength(0);
    expect(puts(r.sim, 'refreshing-now')).toHaveLength(0);
    expect(healthReads(r.sim, 'red-now')).toHaveLength(1);
    expect(healthReads(r.sim, 'refreshing-now')).toHaveLength(1);
    expect(puts(r.sim, 'calm')).toHaveLength(1);
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.result.report!.summary).toMatchObject({ optimized: 1, skipped: 2, failed: 0 });
  });

  it('500 on the PUT twice, then accepted: optimized, with exponential backoff between the attempts', async () => {
    const r = await run({ indexes: [index('flaky', { faults: { put: [{ status: 500, times: 2 }] } }), index('calm')] });
    expectReportCovers(r, ['flaky', 'calm']);
    expect(entry(r, 'flaky')).toMatchObject({ outcome: 'optimized', reason: null });
    const p = puts(r.sim, 'flaky');
    expect(p.map((q) => q.status)).toEqual([500, 500, 202]);
    const [first, second] = gaps(p);
    expect(first).toBeGreaterThanOrEqual(2000);
    expect(second).toBeGreaterThanOrEqual(4000);
    expect(r.result.status).toBe('SUCCEEDED');
  });
});

describe("each index's effect, from the health reads the run makes anyway", { timeout: 30_000 }, () => {
  it('latency and disk before (the pre-check) and after (the healthy read); slower by more than maxLatencyRegression is a regression, with an audit event', async () => {
    const r = await run({
      indexes: [
        index('faster', { health: { status: 'green', queryLatencyMs: 100, diskUsage: 60 } }),
        index('slower', { health: { status: 'green', queryLatencyMs: 100, diskUsage: 60 }, healthAfterRefresh: { status: 'green', queryLatencyMs: 150, diskUsage: 58 } }),
        index('a-little-slower', { health: { status: 'green', queryLatencyMs: 100, diskUsage: 60 }, healthAfterRefresh: { status: 'green', queryLatencyMs: 115, diskUsage: 60 } }),
      ],
    });
    expect(r.result.status).toBe('SUCCEEDED');
    // The simulator answers 25% faster and uses 8% less disk after a refresh, unless the scenario pins it.
    expect(entry(r, 'faster').effect).toEqual({ queryLatencyMs: { before: 100, after: 75 }, diskUsage: { before: 60, after: 55.2 }, regressed: false });
    expect(entry(r, 'slower').effect).toEqual({ queryLatencyMs: { before: 100, after: 150 }, diskUsage: { before: 60, after: 58 }, regressed: true });
    expect(entry(r, 'a-little-slower').effect?.regressed).toBe(false);
    expect(r.result.report!.regressions).toEqual([{ id: 'slower', name: 'name-slower', before: 100, after: 150 }]);
    expect(r.result.report!.medianIndexLatencyChange).toBe(0.15);
    // No extra API call: one pre-check and one read after the PUT per index.
    for (const id of ['faster', 'slower', 'a-little-slower']) expect(healthReads(r.sim, id)).toHaveLength(2);
    const regressed = r.result.aws.events.filter((e) => e.DetailType === 'Index Latency Regressed').map((e) => JSON.parse(e.Detail!) as { indexId: string; reason: string });
    expect(regressed).toEqual([expect.objectContaining({ indexId: 'slower', reason: expect.stringMatching(/100 ms before, 150 ms after \(more than 20% slower\)/) })]);
  });

  it('without the pre-check nothing is known before: values null, never regressed', async () => {
    const r = await run(
      { indexes: [index('slower', { health: { status: 'green', queryLatencyMs: 100 }, healthAfterRefresh: { status: 'green', queryLatencyMs: 300 } })] },
      { timing: FAST, policy: { healthCheckBeforePut: false } },
    );
    expect(entry(r, 'slower').effect).toMatchObject({ queryLatencyMs: { before: null, after: 300 }, diskUsage: { before: null }, regressed: false });
    expect(r.result.report!.regressions).toEqual([]);
  });
});

describe('explain a run', { timeout: 30_000 }, () => {
  it('per index, from what the functions recorded: attempts, the last error with its correlation id, when it started', async () => {
    const r = await run({
      indexes: [
        index('throttled', { faults: { put: [{ status: 429, times: 1, retryAfterSeconds: 1 }] } }),
        index('rejected', { faults: { put: [{ status: 400, times: 1, message: 'bad directive' }] } }),
      ],
    });
    const bucket = synthesized().resources.only('AWS::S3::Bucket').name;
    const rows = await explainRun(new S3RunStore(bucket, clientsAs(aws(), ADMIN).s3), r.result.executionId);
    const throttled = rows.find((x) => x.id === 'throttled')!;
    expect(throttled).toMatchObject({ outcome: 'optimized', attempts: 2, polls: 1, lastError: { reason: expect.stringMatching(/rate limited \(429\)/) } });
    const correlationIds = r.sim.requests.filter((q) => q.status === 429).map((q) => q.correlationId);
    expect(correlationIds).toContain(throttled.lastError!.correlationId);
    expect(Date.parse(throttled.startedAt!)).toBeLessThanOrEqual(puts(r.sim, 'throttled')[0]!.at);
    expect(rows.find((x) => x.id === 'rejected')).toMatchObject({ outcome: 'failed', detail: expect.stringMatching(/rejected \(400\).*bad directive/), attempts: 1 });
  });
});

describe('retry what failed', { timeout: 30_000 }, () => {
  it("a new run of exactly the earlier run's failed indexes, with its input, naming the run it retries; the earlier report untouched", async () => {
    const sim = await startSim({ indexes: [index('ok'), index('flaky', { faults: { put: [{ status: 400, times: 1, message: 'try again later' }] } }), index('ok2')] });
    const first = await runAgainst(sim, { timing: FAST, retries: { maxAttempts: 2 } });
    expect(first.result.report!.summary).toMatchObject({ optimized: 2, failed: 1 });
    const earlier = await readLocalRunObject<RunConfig>(aws(), synthesized(), first.result.executionId, 'config', 'test');
    const plan = retryPlan(first.result.report!, earlier, {});
    if ('nothing' in plan) throw new Error(plan.nothing);
    expect(plan.failed).toEqual(['flaky']);
    const second = await runAgainst(sim, plan.input);
    expect(second.result.status).toBe('SUCCEEDED');
    expect(second.result.report!.indexes.map((e) => [e.id, e.outcome])).toEqual([['flaky', 'optimized']]);
    expect(second.result.report!.retryOf).toBe(first.result.executionId);
    // The earlier input came along (its retries), and only the failed index was PUT again.
    expect(puts(sim, 'ok')).toHaveLength(1);
    expect(puts(sim, 'flaky').map((q) => q.status)).toEqual([400, 202]);
    const kept = await readLocalRunObject<RunReport>(aws(), synthesized(), first.result.executionId, 'report', 'test');
    expect(kept).toEqual(first.result.report);
  });

  it('a run with nothing failed: nothing to retry', async () => {
    const r = await run({ indexes: [index('ok')] });
    const earlier = await readLocalRunObject<RunConfig>(aws(), synthesized(), r.result.executionId, 'config', 'test');
    expect(retryPlan(r.result.report!, earlier, {})).toEqual({ nothing: expect.stringMatching(/^no index of arn:.* failed \(1 optimized, 0 skipped\): nothing to retry$/) });
  });
});

describe('dry run and index subsets', { timeout: 30_000 }, () => {
  it('a dry run plans without a single PUT or health read and succeeds', async () => {
    const r = await run(
      { indexes: [index('a'), index('b'), index('too-many-shards', {}, { shardCount: 80 })] },
      { dryRun: true, timing: FAST },
    );
    expectReportCovers(r, ['a', 'b', 'too-many-shards']);
    expect(entry(r, 'a')).toMatchObject({ outcome: 'planned', reason: null });
    expect(entry(r, 'b')).toMatchObject({ outcome: 'planned', reason: null });
    expect(entry(r, 'too-many-shards').outcome).toBe('skipped');
    expect(entry(r, 'too-many-shards').reason).toMatch(/exceeds maximum node capacity limits/);
    expect(puts(r.sim)).toHaveLength(0);
    expect(healthReads(r.sim)).toHaveLength(0);
    expect(new Set(r.sim.requests.map((q) => q.endpoint))).toEqual(new Set(['token', 'list']));
    expect(r.result.report!.dryRun).toBe(true);
    expect(r.result.report!.summary).toMatchObject({ planned: 2, skipped: 1, optimized: 0, failed: 0 });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(r.result.invocations.optimize + r.result.invocations.verify).toBe(0);
  });

  it('indexIds: only those indexes are PUT and reported', async () => {
    const r = await run({ indexes: [index('a'), index('b'), index('c'), index('d')] }, { indexIds: ['b', 'd'], timing: FAST });
    expectReportCovers(r, ['b', 'd']);
    expect(entry(r, 'b').outcome).toBe('optimized');
    expect(entry(r, 'd').outcome).toBe('optimized');
    expect(new Set(puts(r.sim).map((q) => q.indexId))).toEqual(new Set(['b', 'd']));
    expect(puts(r.sim)).toHaveLength(2);
    expect(new Set(healthReads(r.sim).map((q) => q.indexId))).toEqual(new Set(['b', 'd']));
    expect(r.result.status).toBe('SUCCEEDED');
  });

  it('indexIds with an id the org does not have: FAILED with Input.Invalid naming indexIds, no PUT', async () => {
    const r = await run({ indexes: [index('a'), index('b')] }, { indexIds: ['a', 'no-such-index'], timing: FAST });
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('Input.Invalid');
    expect(r.result.error?.cause).toMatch(/^indexIds: /);
    // Only the unknown id is named, not the one the org has.
    expect(r.result.error?.cause).toMatch(/1 unknown index id\(s\).*: no-such-index$/);
    expect(puts(r.sim)).toHaveLength(0);
    expect(healthReads(r.sim)).toHaveLength(0);
  });
});

describe('bad execution input fails before any Genesys call', { timeout: 30_000 }, () => {
  it.each([
    ['an unknown field', { dryrun: true }, /^dryrun: unknown field/],
    ['a wrong type', { dryRun: 'yes' }, /^dryRun: must be true or false/],
    ['a negative timing', { timing: { settleSeconds: -5 } }, /^timing\.settleSeconds: must be between 0 and/],
    ['an empty indexIds', { indexIds: [] }, /^indexIds: is empty/],
    ['maxConcurrency 0', { maxConcurrency: 0 }, /maxConcurrency: must be between 1 and 1000, got 0/],
  ])('%s', async (_what, input, cause) => {
    const r = await run({ indexes: [index('a'), index('b')] }, input);
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('Input.Invalid');
    expect(r.result.error?.cause).toMatch(cause);
    expect(r.sim.requests).toHaveLength(0);
    expect(r.result.report).toBeNull();
    expect(r.result.invocations).toEqual({ fetch: 0, validate: 1, optimize: 0, verify: 0, report: 0, approval: 0 });
  });
});

describe('a permission the OAuth client lacks', { timeout: 30_000 }, () => {
  it('403 on the PUT (search:write denied): the run stops at once, FAILED with Genesys.Forbidden naming search:write, every index reported', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    // One at a time, so that the stop is seen by every index after the first.
    const r = await run({ org: { deniedPermissions: ['search:write'] }, indexes: ids.map((id) => index(id)) }, { timing: FAST, maxConcurrency: 1 });
    expectReportCovers(r, ids);
    const first = entry(r, 'a');
    expect(first.outcome).toBe('failed');
    expect(first.reason).toContain('search:write');
    expect(puts(r.sim, 'a').map((q) => q.status)).toEqual([403]);
    // An error every index would meet: no waiting for safety.minIndexesBeforeStop failures.
    for (const id of ids.slice(1)) {
      expect(entry(r, id)).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/^run stopped: index a failed with Genesys\.Forbidden, which every index would meet/) });
      expect(puts(r.sim, id)).toHaveLength(0);
    }
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('Genesys.Forbidden');
    expect(r.result.error?.cause).toMatch(/lacks the permission search:write/);
    expect(r.result.report!.error?.name).toBe('Genesys.Forbidden');
  });
});

describe('payload and history quotas, enforced as AWS does', () => {
  const KIB = 1024;

  /** An org of `n` qualifying indexes with UUID ids and realistic names (the bench's), optimized at once (no refresh time). */
  function largeOrg(n: number, org: Record<string, unknown> = {}, behaviour: Record<string, unknown> = {}): Record<string, unknown> {
    const indexes = Array.from({ length: n }, (_, i) => {
      const ix = generatedIndex(i, 0) as Record<string, unknown>;
      return { ...ix, behaviour: { ...(ix['behaviour'] as object), ...behaviour } };
    });
    return { org: { rateLimitPerMinute: 1_000_000, pageSizeCap: 100, ...org }, indexes };
  }
  // A health timeout far above what these indexes take (they are healthy at the first read), so a
  // machine busy with other work delays them without failing them.
  const LARGE_RUN = { timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 300 }, maxConcurrency: 40 };
  const idsOf = (scenario: Record<string, unknown>) => (scenario['indexes'] as Array<{ id: string }>).map((ix) => ix.id);

  it('500 indexes with UUID ids: all optimized; no id list in the state, so its size does not grow with the org', async () => {
    const scenario = largeOrg(500);
    const sim = await startSim(scenario);
    const r = await runAgainst(sim, LARGE_RUN);

    const ids = idsOf(scenario);
    // Not a bare status: a failure here has to say what happened.
    const notOptimized = (r.result.report?.indexes ?? []).filter((e) => e.outcome !== 'optimized').slice(0, 5).map((e) => `${e.id}: ${e.outcome} ${e.reason}`);
    expect(r.result.status, `${JSON.stringify(r.result.error)}; ${notOptimized.join(' | ')}`).toBe('SUCCEEDED');
    expectReportCovers(r, ids);
    expect(r.result.report!.summary).toEqual({ total: 500, optimized: 500, skipped: 0, failed: 0, planned: 0 });
    const putsById = new Map<string, number>();
    for (const q of puts(sim)) putsById.set(q.indexId!, (putsById.get(q.indexId!) ?? 0) + 1);
    expect(putsById.size).toBe(500);
    expect([...putsById.values()].every((n) => n === 1)).toBe(true);
    expect(calls(sim, 'list')).toHaveLength(5);

    const perIndex = [...transitionsPerIndex(r.result).values()];
    expect(perIndex).toHaveLength(500);
    // Optimize, OptimizeOutcome, Settle, Verify, VerifyOutcome, Optimized: no extra poll, no retry.
    expect(perIndex.every((n) => n === 6)).toBe(true);
    console.log(
      `500 optimized: ${r.wallMs} ms wall, maxPayloadBytes ${r.result.maxPayloadBytes} (${(r.result.maxPayloadBytes / KIB).toFixed(1)} KiB), ` +
        `${r.result.transitions} transitions, parent history ${r.result.historyEvents} events, ${sim.requests.length} requests`,
    );
    // The largest state is the fetch's warnings and the config: a few KiB, whatever the org's size.
    expect(r.result.maxPayloadBytes, 'largest state input/output in bytes').toBeLessThan(16 * KIB);
    // The indexes run as child executions: the parent's history does not grow with them.
    expect(r.result.historyEvents).toBeLessThan(100);
  }, 120_000);

  it('2,000 indexes all failing (400 on every PUT): every failure reported with its reason, nothing over a quota', async () => {
    // In AWS a state over 256 KiB ends the execution with States.DataLimitExceeded, which no
    // Catch handles: the run would end without a report. Without a ResultWriter the Map's result
    // (every child's output) would be that state.
    const scenario = largeOrg(2000, {}, { faults: { put: [{ status: 400, times: -1, message: 'Validation failed: refreshPolicy not allowed' }] } });
    const sim = await startSim(scenario);
    // The run-level stop is switched off so that every index is tried and fails with its reason.
    const r = await runAgainst(sim, { ...LARGE_RUN, policy: { healthCheckBeforePut: false }, safety: { maxFailedShare: 1 } });
    expectReportCovers(r, idsOf(scenario));
    expect(r.result.report!.summary).toMatchObject({ total: 2000, failed: 2000 });
    // The reasons that do not match, not a bare false: a failure here has to say what happened instead.
    const otherReasons = r.result.report!.indexes.filter((e) => !/rejected \(400\).*Validation failed: refreshPolicy not allowed/.test(e.reason ?? ''));
    expect(otherReasons.slice(0, 5).map((e) => `${e.id}: ${e.reason}`), `${otherReasons.length} other reasons`).toEqual([]);
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('Run.IndexesFailed');
    expect(puts(sim)).toHaveLength(2000);
    console.log(`2,000 failed (400): ${r.wallMs} ms wall, maxPayloadBytes ${r.result.maxPayloadBytes} (${(r.result.maxPayloadBytes / KIB).toFixed(1)} KiB), parent history ${r.result.historyEvents} events`);
    expect(r.result.maxPayloadBytes, 'largest state input/output in bytes').toBeLessThan(16 * KIB);
  }, 180_000);
});

describe('no secret or token leaks', { timeout: 30_000 }, () => {
  const SECRET = 'S3CR3T-sm-test-0123456789abcdef';
  const CLIENT_ID = 'sm-test-client';

  it('never puts the client secret, its Basic form or an access token in logs, events, the report or the error', async () => {
    const issue = vi.spyOn(TokenStore.prototype, 'issue');
    try {
      const basic = Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64');
      const echo = `Validation failed for client ${CLIENT_ID} with secret ${SECRET} (Authorization: Basic ${basic})`;
      const r = await run({
        credentials: { clientId: CLIENT_ID, clientSecret: SECRET },
        // Tokens are revoked often, so several are issued and used during the run.
        org: { revokeTokenAfterUses: 4, faults: { probe: [{ status: 500, times: 1, message: `probe failed; secret=${SECRET}` }] } },
        indexes: [
          index('echoes-secret', { faults: { put: [{ status: 400, times: -1, message: echo }] } }),
          index('throttled', { faults: { put: [{ status: 429, times: 1, retryAfterSeconds: 1 }] } }),
          index('goes-red', { healthAfterRefresh: 'red' }),
          index('gone', { deletedAfterList: true }),
        ],
      });
      expect(r.result.status).toBe('FAILED');
      expect(r.result.error?.name).toBe('Run.IndexesFailed');
      expect(entry(r, 'echoes-secret').outcome).toBe('failed');
      expect(entry(r, 'throttled').outcome).toBe('optimized');
      // The echo reached the client, and what came back out of it is scrubbed.
      expect(entry(r, 'echoes-secret').reason).toContain('[redacted]');
      expect(r.sim.requests.some((q) => q.status === 401)).toBe(true);

      const tokens = issue.mock.results.map((x) => x.value as string);
      expect(tokens.length).toBeGreaterThanOrEqual(2);
      const storeFiles = filesUnder(r.storeDir).map((f, i) => [`store file ${i}`, readFileSync(f, 'utf8')] as [string, string]);
      expect(storeFiles.length).toBeGreaterThanOrEqual(3);
      expect(r.lines.length).toBeGreaterThan(20);
      const needles: Array<[string, string]> = [['the secret', SECRET], ['the Basic credential', basic], ...tokens.map((t, i) => [`token ${i}`, t] as [string, string])];
      const leaks = findLeaks({ lines: r.lines, result: r.result, storeFiles }, needles);
      expect(leaks).toEqual([]);
    } finally {
      issue.mockRestore();
    }
  });
});
