import { describe, expect, it } from 'vitest';
import { effectOf, medianLatencyChange, NOT_MEASURED } from '../functions/domain/effect.ts';
import { DEFAULT_DIRECTIVES } from '../functions/domain/directives.ts';
import { derivedConcurrency, parseExecutionInput } from '../functions/domain/execution-input.ts';
import { InputError } from '../functions/domain/input-error.ts';
import { buildPlan } from '../functions/domain/plan.ts';
import { evaluateIndex } from '../functions/domain/policy.ts';
import { buildReport } from '../functions/domain/report.ts';
import { runNotice } from '../functions/domain/run-notice.ts';
import type { IndexConfig, IndexRecord } from '../functions/genesys/shapes.ts';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const index = (over: Partial<IndexConfig> = {}): IndexConfig => ({
  id: 'idx-1',
  name: 'interactions',
  shardCount: 10,
  replicaCount: 2,
  storageBytes: 1024 ** 3,
  status: 'active',
  lastRefresh: '2026-11-20T00:00:00Z',
  ...over,
});

/** `n` distinct ids of exactly `length` characters. */
function longIds(n: number, fill: string, length: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i).padEnd(length, fill));
}

function inputError(raw: unknown): InputError {
  try {
    parseExecutionInput(raw);
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error('expected an InputError');
}

describe('execution input', () => {
  it('fills every default from an empty input, the console default {} and no input at all', () => {
    for (const raw of [{}, undefined, null]) {
      const config = parseExecutionInput(raw);
      expect(config).toEqual({
        org: null,
        dryRun: false,
        approval: { required: false, timeoutHours: 24 },
        indexIds: null,
        retryOf: null,
        policy: { maxShards: 50, maxReplicas: 3, maxStorageBytes: 10737418240, cooldownHours: 0, healthCheckBeforePut: true, maxLatencyRegression: 0.2 },
        directives: DEFAULT_DIRECTIVES,
        timing: { settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900 },
        retries: { maxAttempts: 5, maxRetryAfterSeconds: 180, maxThrottledAttempts: 20 },
        safety: { maxFailedShare: 0.5, minIndexesBeforeStop: 5 },
        apiBudgetPerMinute: 150,
        // Derived: 150/min ÷ 3 calls = 0.83 indexes/s, × 60 s each (the settle and up to two polls
        // later, when the org's refreshes take that long) × 1.25 = 62.5 → 63.
        maxConcurrency: 63,
      });
    }
  });

  it('org: required and one of the names where the deployment manages several orgs, refused where it manages one', () => {
    const ORGS = ['prod-eu', 'test-us'];
    const orgError = (raw: unknown, orgs: string[] | null) => {
      try {
        parseExecutionInput(raw, orgs);
      } catch (err) {
        if (err instanceof InputError) return err;
        throw err;
      }
      throw new Error('expected an InputError');
    };
    expect(parseExecutionInput({ org: 'test-us' }, ORGS).org).toBe('test-us');
    expect(orgError({}, ORGS)).toMatchObject({ field: 'org', message: 'org: is required: this deployment manages several orgs (prod-eu, test-us)' });
    expect(orgError({ org: 'prod-us' }, ORGS)).toMatchObject({ field: 'org', message: 'org: unknown org "prod-us"; this deployment\'s orgs: prod-eu, test-us' });
    expect(orgError({ org: 7 }, ORGS)).toMatchObject({ field: 'org', message: expect.stringMatching(/must be the name of one of this deployment's orgs, got number 7/) });
    expect(orgError({ org: 'prod-eu' }, null)).toMatchObject({ field: 'org', message: expect.stringMatching(/single org/) });
    // Many orgs: the message names ten and the count, not all of them.
    const many = Array.from({ length: 40 }, (_, i) => `org-${i}`);
    expect(orgError({ org: 'nope' }, many).message).toMatch(/org-0, .*org-9, … \(40 in all\)$/);
  });

  it('keeps given values and merges partial objects with defaults', () => {
    const config = parseExecutionInput({
      dryRun: true,
      indexIds: ['a', 'b', 'a'],
      policy: { maxShards: 20 },
      directives: { shardOptimization: { forceMerge: false } },
      timing: { settleSeconds: 0 },
      maxConcurrency: 12,
    });
    expect(config.dryRun).toBe(true);
    expect(config.indexIds).toEqual(['a', 'b']);
    expect(config.policy.maxShards).toBe(20);
    expect(config.policy.maxReplicas).toBe(3);
    expect(config.directives.shardOptimization).toEqual({ rebalanceStrategy: 'even_distribution', forceMerge: false, replicaTrigger: true });
    expect(config.timing).toEqual({ settleSeconds: 0, healthPollSeconds: 15, healthTimeoutSeconds: 900 });
    expect(config.maxConcurrency).toBe(12);
  });

  const bad: Array<[string, unknown, string, RegExp]> = [
    ['an array', [], 'input', /must be a JSON object/],
    ['an unknown top-level field (a typo)', { dryrun: true }, 'dryrun', /unknown field; allowed here: dryRun/],
    ['an unknown nested field', { timing: { settle: 3 } }, 'timing.settle', /unknown field/],
    ['a string where a boolean goes', { dryRun: 'yes' }, 'dryRun', /must be true or false, got the string "yes"/],
    ['a negative timing', { timing: { healthPollSeconds: -5 } }, 'timing.healthPollSeconds', /between 1 and 86400, got -5/],
    ['an absurd timing', { timing: { healthTimeoutSeconds: 1e9 } }, 'timing.healthTimeoutSeconds', /between 1 and 86400/],
    ['a fractional count', { policy: { maxShards: 2.5 } }, 'policy.maxShards', /whole number/],
    ['a timeout shorter than the poll', { timing: { healthPollSeconds: 60, healthTimeoutSeconds: 30 } }, 'timing.healthTimeoutSeconds', /at least timing.healthPollSeconds/],
    ['an empty subset', { indexIds: [] }, 'indexIds', /is empty/],
    ['a blank id', { indexIds: ['ok', ' '] }, 'indexIds[1]', /non-empty string/],
    ['too much concurrency', { maxConcurrency: 5_000 }, 'maxConcurrency', /between 1 and 1000/],
    ['zero concurrency', { maxConcurrency: 0 }, 'maxConcurrency', /between 1 and 1000/],
    ['concurrency as a string', { maxConcurrency: '5' }, 'maxConcurrency', /must be a number, got the string "5"/],
    ['a directive that is not an identifier', { directives: { refreshPolicy: 'DROP TABLE' } }, 'directives.refreshPolicy', /lower-case identifier/],
    ['a failure share above 1', { safety: { maxFailedShare: 1.5 } }, 'safety.maxFailedShare', /between 0 and 1/],
    ['a budget below 3 calls a minute', { apiBudgetPerMinute: 2 }, 'apiBudgetPerMinute', /between 3 and 10000, got 2$/],
    ['a budget above 10,000 calls a minute', { apiBudgetPerMinute: 10_001 }, 'apiBudgetPerMinute', /between 3 and 10000, got 10001$/],
    ['a settle longer than the health timeout', { timing: { settleSeconds: 61, healthTimeoutSeconds: 60 } }, 'timing.settleSeconds', /^timing\.settleSeconds: must be at most timing\.healthTimeoutSeconds \(60\), got 61$/],
    ['a settle longer than the default health timeout', { timing: { settleSeconds: 901 } }, 'timing.settleSeconds', /at most timing\.healthTimeoutSeconds \(900\)/],
    // 1,100 ids of 200 characters: 223,300 bytes of JSON, though far fewer ids than a count limit would stop.
    ['a subset over 200 KiB of JSON', { indexIds: longIds(1_100, 'x', 200) }, 'indexIds', /^indexIds: is 218\.1 KiB as JSON \(1100 ids\); at most 200 KiB, because the execution input must fit Step Functions' 256 KiB quota$/],
    // Step Functions counts UTF-8 bytes: 520 ids padded with "é" are 105,561 characters of JSON but 208,111 bytes.
    ['a subset over 200 KiB in UTF-8 bytes', { indexIds: longIds(520, 'é', 200) }, 'indexIds', /^indexIds: is 203\.3 KiB as JSON \(520 ids\)/],
  ];
  for (const [label, raw, field, message] of bad) {
    it(`names the field for ${label}`, () => {
      const err = inputError(raw);
      expect(err.name).toBe('Input.Invalid');
      expect(err.field).toBe(field);
      expect(err.message.startsWith(`${field}: `)).toBe(true);
      expect(err.message).toMatch(message);
    });
  }
});

describe('execution input bounds', () => {
  it('names top-level fields bare and nested ones by their dotted path', () => {
    expect(inputError({ dryRun: 1 }).field).toBe('dryRun');
    expect(inputError({ apiBudgetPerMinute: 'fast' }).field).toBe('apiBudgetPerMinute');
    expect(inputError({ maxConcurrency: 1.5 }).message).toBe('maxConcurrency: must be a whole number, got 1.5');
    expect(inputError({ retries: { maxAttempts: 0 } }).field).toBe('retries.maxAttempts');
  });

  it('accepts a budget of exactly 10,000 and 3 calls a minute', () => {
    expect(parseExecutionInput({ apiBudgetPerMinute: 10_000 }).apiBudgetPerMinute).toBe(10_000);
    expect(parseExecutionInput({ apiBudgetPerMinute: 3 }).apiBudgetPerMinute).toBe(3);
  });

  it('accepts a settle time equal to the health timeout', () => {
    expect(parseExecutionInput({ timing: { settleSeconds: 60, healthPollSeconds: 10, healthTimeoutSeconds: 60 } }).timing.settleSeconds).toBe(60);
  });

  it('bounds indexIds by their size, not their count, and still trims and deduplicates them', () => {
    // 6,000 short ids are 59 KiB: well inside the quota.
    const many = Array.from({ length: 6_000 }, (_, i) => `id-${i}`);
    expect(parseExecutionInput({ indexIds: many }).indexIds).toHaveLength(6_000);
    // 1,000 ids of 200 characters: 203,001 bytes, just under 200 KiB (204,800).
    const justUnder = longIds(1_000, 'x', 200);
    expect(Buffer.byteLength(JSON.stringify(justUnder))).toBeLessThanOrEqual(200 * 1024);
    expect(parseExecutionInput({ indexIds: justUnder }).indexIds).toEqual(justUnder);
    expect(parseExecutionInput({ indexIds: [' a ', 'b', 'a', 'b '] }).indexIds).toEqual(['a', 'b']);
  });
});

describe('derived concurrency', () => {
  it('keeps the budget busy (Little\'s law), within 1..1000, and yields to an explicit maxConcurrency', () => {
    // 150/min ÷ 3 = 0.83 index/s; × (30 + 2 × 15) s × 1.25 = 62.5 → 63
    expect(derivedConcurrency(150, { settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900 })).toBe(63);
    // 60/min ÷ 3 = 1/3 index/s; × (5 + 2 × 1) s × 1.25 = 2.9 → 3
    expect(derivedConcurrency(60, { settleSeconds: 5, healthPollSeconds: 1, healthTimeoutSeconds: 60 })).toBe(3);
    expect(derivedConcurrency(3, { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 60 })).toBe(1);
    // 10,000/min ÷ 3 = 55.6 index/s; × 60 s × 1.25 = 4,167: capped at 1,000
    expect(derivedConcurrency(10_000, { settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900 })).toBe(1_000);
    expect(parseExecutionInput({ apiBudgetPerMinute: 60, timing: { settleSeconds: 5, healthPollSeconds: 1 } }).maxConcurrency).toBe(3);
    expect(parseExecutionInput({ apiBudgetPerMinute: 60, maxConcurrency: 7 }).maxConcurrency).toBe(7);
  });
});

describe('capacity policy', () => {
  const policy = parseExecutionInput({}).policy;

  it('qualifies an index inside every limit, including exactly at them', () => {
    expect(evaluateIndex(index(), policy, NOW)).toEqual({ qualifies: true });
    expect(evaluateIndex(index({ shardCount: 50, replicaCount: 3, storageBytes: 10737418240 }), policy, NOW)).toEqual({ qualifies: true });
  });

  it('skips over capacity, over storage, in cooldown and unhealthy or busy statuses, with the reason', () => {
    expect(evaluateIndex(index({ shardCount: 51 }), policy, NOW)).toMatchObject({ category: 'capacity', reason: expect.stringMatching(/exceeds maximum node capacity limits \(51 shards > 50\)/) });
    expect(evaluateIndex(index({ replicaCount: 4 }), policy, NOW)).toMatchObject({ category: 'capacity', reason: expect.stringContaining('4 replicas > 3') });
    expect(evaluateIndex(index({ storageBytes: 10737418241 }), policy, NOW)).toMatchObject({ category: 'archival', reason: expect.stringContaining('requires archival before optimization') });
    const cooled = { ...policy, cooldownHours: 24 };
    expect(evaluateIndex(index({ lastRefresh: '2026-11-24T06:00:00Z' }), cooled, NOW)).toMatchObject({ category: 'cooldown', reason: 'refreshed 6.0 h ago, within the 24 h cooldown' });
    expect(evaluateIndex(index({ lastRefresh: '2026-11-22T06:00:00Z' }), cooled, NOW)).toEqual({ qualifies: true });
    expect(evaluateIndex(index({ status: 'Refreshing' }), policy, NOW)).toMatchObject({ category: 'busy' });
    expect(evaluateIndex(index({ status: 'red' }), policy, NOW)).toMatchObject({ category: 'unhealthy' });
  });
});

describe('plan', () => {
  const records: IndexRecord[] = [
    { valid: true, index: index({ id: 'a', name: 'alpha' }) },
    { valid: true, index: index({ id: 'b', name: 'beta', shardCount: 99 }) },
    { valid: false, id: 'c', problems: ['entities[2].shardCount must be a non-negative integer, got the string "x"'] },
    { valid: false, problems: ['entities[3].id must be a non-empty string, got nothing'] },
  ];

  it('lists every record once, malformed ones included, and qualifies only the good ones', () => {
    const plan = buildPlan(records, parseExecutionInput({}), NOW);
    expect(plan.qualifying).toEqual(['a']);
    expect(plan.entries.map((e) => [e.id, e.decision])).toEqual([
      ['a', 'qualifies'],
      ['b', 'capacity'],
      ['c', 'malformed'],
      ['(no id: record 4 of the listing)', 'malformed'],
    ]);
    expect(plan.entries[2]!.reason).toContain('shardCount must be a non-negative integer');
  });

  it('reports on a subset only, and refuses ids the org does not have', () => {
    const plan = buildPlan(records, parseExecutionInput({ indexIds: ['b', 'a'] }), NOW);
    expect(plan.entries.map((e) => e.id)).toEqual(['a', 'b']);
    expect(() => buildPlan(records, parseExecutionInput({ indexIds: ['a', 'zzz'] }), NOW)).toThrow(/indexIds: 1 unknown index id\(s\).*zzz/);
  });
});

describe('report', () => {
  const plan = buildPlan(
    [
      { valid: true, index: index({ id: 'a', name: 'alpha' }) },
      { valid: true, index: index({ id: 'b', name: 'beta' }) },
      { valid: true, index: index({ id: 'c', name: 'gamma', storageBytes: 1e12 }) },
    ],
    parseExecutionInput({}),
    NOW,
  );
  const base = { executionId: 'x', dryRun: false, plan, latency: {}, warnings: [], now: new Date(NOW) };

  it('merges results with the plan, one entry per index, and fails the run when an index failed', () => {
    const report = buildReport({
      ...base,
      results: [
        { id: 'a', outcome: 'optimized' },
        { id: 'b', outcome: 'failed', reason: 'health red after optimization' },
      ],
      latency: { before: { status: 'measured', latencyMs: 120, throughputRate: 8.3 }, after: { status: 'unavailable', reason: 'rate limited' } },
    });
    expect(report.indexes).toEqual([
      { id: 'a', name: 'alpha', outcome: 'optimized', reason: null, effect: null },
      { id: 'b', name: 'beta', outcome: 'failed', reason: 'health red after optimization', effect: null },
      { id: 'c', name: 'gamma', outcome: 'skipped', reason: expect.stringContaining('archival'), effect: null },
    ]);
    expect(report.summary).toEqual({ total: 3, optimized: 1, skipped: 1, failed: 1, planned: 0 });
    expect(report.queryLatencyMs).toEqual({ before: 120, after: null });
    expect(report.warnings).toEqual(['query latency after the batch not measured: rate limited']);
    expect(report.error).toEqual({ name: 'Run.IndexesFailed', cause: expect.stringContaining('1 of 3 indexes failed. beta: health red') });
  });

  it("a fleet's run says which org: in its report and its notification's headline; a single org's does not", () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:X-Optimizer:prod-eu-1';
    const fleetRun = buildReport({ ...base, executionId: arn, org: 'prod-eu', results: [{ id: 'a', outcome: 'optimized' }, { id: 'b', outcome: 'optimized' }] });
    expect(fleetRun.org).toBe('prod-eu');
    expect(runNotice(fleetRun, 's3://b/k', null).headline).toBe('Genesys index optimizer run prod-eu-1 (org prod-eu): succeeded');
    const single = buildReport({ ...base, executionId: arn, results: [{ id: 'a', outcome: 'optimized' }, { id: 'b', outcome: 'optimized' }] });
    expect(single.org).toBeNull();
    expect(runNotice(single, 's3://b/k', null).headline).toBe('Genesys index optimizer run prod-eu-1: succeeded');
  });

  it('names a run-level error (a missing permission) instead of counting failures', () => {
    const report = buildReport({
      ...base,
      results: [
        { id: 'a', outcome: 'failed', reason: 'forbidden (403): the OAuth client\'s role lacks the permission search:write', errorName: 'Genesys.Forbidden' },
        { id: 'b', outcome: 'failed', reason: 'same', errorName: 'Genesys.Forbidden' },
      ],
    });
    expect(report.error?.name).toBe('Genesys.Forbidden');
    expect(report.error?.cause).toContain('search:write');
  });

  it('marks indexes without a result as failed, and plans only in a dry run', () => {
    const stopped = buildReport({ ...base, results: [{ id: 'a', outcome: 'optimized' }], stateError: { Error: 'States.Runtime', Cause: '{"errorMessage":"boom"}' } });
    expect(stopped.indexes.find((i) => i.id === 'b')).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('the run stopped') });
    expect(stopped.error).toEqual({ name: 'States.Runtime', cause: 'boom' });
    const dry = buildReport({ ...base, dryRun: true, results: null });
    expect(dry.summary).toEqual({ total: 3, optimized: 0, skipped: 1, failed: 0, planned: 2 });
    expect(dry.error).toBeNull();
  });
});

describe('index effect', () => {
  it('regressed only when latency after exceeds before by more than the allowed share, and only when both were measured', () => {
    const before = { queryLatencyMs: 100, diskUsage: 50 };
    expect(effectOf(before, { queryLatencyMs: 120, diskUsage: 45 }, 0.2)).toEqual({
      queryLatencyMs: { before: 100, after: 120 },
      diskUsage: { before: 50, after: 45 },
      regressed: false,
    });
    expect(effectOf(before, { queryLatencyMs: 121, diskUsage: 45 }, 0.2).regressed).toBe(true);
    expect(effectOf(before, { queryLatencyMs: 101, diskUsage: 45 }, 0).regressed).toBe(true);
    expect(effectOf(NOT_MEASURED, { queryLatencyMs: 500, diskUsage: 45 }, 0.2)).toMatchObject({ queryLatencyMs: { before: null, after: 500 }, regressed: false });
  });

  it('the median change counts only indexes measured twice', () => {
    const e = (b: number | null, a: number | null) => effectOf({ queryLatencyMs: b, diskUsage: null }, { queryLatencyMs: a, diskUsage: null }, 0.2);
    expect(medianLatencyChange([e(100, 50), e(100, 150), e(100, 80), e(null, 10)])).toBe(-0.2);
    expect(medianLatencyChange([e(100, 50), e(100, 70)])).toBe(-0.4);
    expect(medianLatencyChange([e(null, 50)])).toBeNull();
  });
});

describe('retryOf', () => {
  it('names the execution a retry retries: an execution ARN, or refused naming the field', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:GenesysIndexOptimizer-Optimizer:weekly-2026-12-06';
    expect(parseExecutionInput({ retryOf: arn }).retryOf).toBe(arn);
    expect(() => parseExecutionInput({ retryOf: 'weekly' })).toThrow(/^retryOf: must be the ARN of the execution this run retries, got the string "weekly"$/);
    expect(() => parseExecutionInput({ retryOf: 7 })).toThrow(/^retryOf: /);
  });
});
