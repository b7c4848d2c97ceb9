// The bench's arithmetic, checked against the README's ("Performance": the lower bound, time
// compression). Every expected value is worked by hand from the formulas the README states, in the
// comment beside it, so that a change to the code that changes a reported number has to change the
// README's reasoning too. No optimizer runs here: those take minutes (npm run bench).
import { describe, expect, it } from 'vitest';
import { MAX_CONCURRENCY } from '../functions/domain/execution-input.ts';
import { parseBenchArgs, REAL_TIME_INDEXES } from '../infra/bench/args.ts';
import { callsNeeded, healthReadsNeeded, lowerBoundSeconds, minimumCalls } from '../infra/bench/bound.ts';
import { benchExecutionInput, checkInput } from '../infra/bench/input.ts';
import { benchOrg, REAL_REFRESH_SECONDS } from '../infra/bench/org.ts';
import { healthReadsAfterPut, requestStats } from '../infra/bench/request-stats.ts';
import type { OrgResult } from '../infra/bench/results.ts';
import { secondRunComparison, secondRunComparisons } from '../infra/bench/second-run.ts';
import { secondRunLines, targetLines } from '../infra/bench/table.ts';
import { benchSeconds, scaleBudget, scaledOrgSettings, scaleTimings } from '../infra/bench/scale.ts';
import { parseScenario } from '../infra/simulator/scenario.ts';
import type { RecordedRequest } from '../infra/simulator/server.ts';

/** The default timings, in real-world seconds: settle 30, poll 15, give up after 900. */
const DEFAULTS = { settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900 };

describe('health reads: 1 + ceil(max(0, refresh − settle) / poll)', () => {
  // Settle 30, poll 15: reads at 30, 45, 60, 75 s after the PUT; a read finds the index healthy
  // once its refresh is over.
  it.each([
    [0, 1], // over before the read at 30
    [12, 1],
    [27, 1],
    [30, 1], // 30 − 30 = 0: over exactly at the first read
    [30.5, 2], // ceil(0.5 / 15) = 1
    [42, 2], // ceil(12 / 15) = 1
    [45, 2], // ceil(15 / 15) = 1
    [46, 3], // ceil(16 / 15) = 2
    [57, 3], // ceil(27 / 15) = 2
    [60, 3], // ceil(30 / 15) = 2
    [61, 4], // ceil(31 / 15) = 3
  ])('refresh %s s at the default timings: %i', (refresh, reads) => {
    expect(healthReadsNeeded(refresh, DEFAULTS)).toBe(reads);
  });

  it('follows the timings it is given', () => {
    // settle 10, poll 5: 1 + ceil(47 / 5) = 1 + 10
    expect(healthReadsNeeded(57, { settleSeconds: 10, healthPollSeconds: 5 })).toBe(11);
    // settle 60: every one of the bench org's refreshes is over at the first read
    for (const r of REAL_REFRESH_SECONDS) expect(healthReadsNeeded(r, { settleSeconds: 60, healthPollSeconds: 15 })).toBe(1);
  });

  it("the bench org's refreshes (12, 27, 42, 57 s) need 1, 1, 2 and 3 reads, none within 3 s of a read", () => {
    expect(REAL_REFRESH_SECONDS.map((r) => healthReadsNeeded(r, DEFAULTS))).toEqual([1, 1, 2, 3]);
    const reads = [30, 45, 60, 75];
    for (const r of REAL_REFRESH_SECONDS) for (const t of reads) expect(Math.abs(r - t)).toBeGreaterThanOrEqual(3);
  });
});

describe('list pages: ceil(indexes / min(100, the org’s page-size cap))', () => {
  const pages = (n: number, cap: number) => callsNeeded(Array<number>(n).fill(12), DEFAULTS, cap).listPages;

  it.each([
    [100, 100, 1],
    [1000, 100, 10],
    [1001, 100, 11], // one index over: a page of its own
    [100, 25, 4], // the org caps pages at 25
    [100, 30, 4], // ceil(100 / 30) = ceil(3.33)
    [1000, 25, 40],
    [100, 1000, 1], // a cap above the client's page size: the client still asks for 100
    [250, 1000, 3], // ceil(250 / 100)
  ])('%i indexes, cap %i: %i pages', (n, cap, expected) => {
    expect(pages(n, cap)).toBe(expected);
  });

  it('an empty org still reads its one (empty) page', () => {
    expect(pages(0, 100)).toBe(1);
  });
});

describe('the bound: the minimum calls, a pre-check, a PUT and one read per index', () => {
  it('100 indexes: 1 page + 2 probes + 3 × 100 = 303 calls, 303 / 150 min = 121.2 s', () => {
    expect(minimumCalls(100, 100)).toBe(303);
    expect(lowerBoundSeconds(minimumCalls(100, 100), 150)).toBeCloseTo(121.2, 9);
  });

  it('1,000 indexes: 10 pages + 2 + 3,000 = 3,012 calls, 3,012 / 150 = 20.08 min', () => {
    expect(minimumCalls(1000, 100)).toBe(3012);
    expect(lowerBoundSeconds(minimumCalls(1000, 100), 150)).toBeCloseTo(1204.8, 9);
  });

  it('pages follow the page-size cap: 1,000 indexes at 30 a page are 34 pages, 3,036 calls', () => {
    expect(minimumCalls(1000, 30)).toBe(34 + 2 + 3000);
  });
});

describe("reads at the settle timings, for comparison (default timings, budget 150/min)", () => {
  it('100 indexes: 1 + 2 + 100 + 100 + 175 = 378 calls, 378 / 150 min = 151 s', () => {
    const org = benchOrg(100, 7.5);
    const cap = parseScenario(org.scenario).org.pageSizeCap;
    expect(cap).toBe(100);
    const needed = callsNeeded(org.realRefreshSeconds, DEFAULTS, cap);
    // 25 indexes of each refresh time: 25 × (1 + 1 + 2 + 3) = 175 health reads
    expect(needed).toEqual({ listPages: 1, probes: 2, prechecks: 100, puts: 100, healthReads: 175, total: 378 });
    // 378 / 150 = 2.52 min = 151.2 s
    expect(lowerBoundSeconds(needed.total, 150)).toBeCloseTo(151.2, 9);
  });

  it('1,000 indexes: 10 + 2 + 1,000 + 1,000 + 1,750 = 3,762 calls, 3,762 / 150 = 25.1 min', () => {
    const org = benchOrg(1000, 7.5);
    const needed = callsNeeded(org.realRefreshSeconds, DEFAULTS, parseScenario(org.scenario).org.pageSizeCap);
    expect(needed).toEqual({ listPages: 10, probes: 2, prechecks: 1000, puts: 1000, healthReads: 1750, total: 3762 });
    // 3,762 / 150 = 25.08 min = 1,504.8 s
    expect(lowerBoundSeconds(needed.total, 150)).toBeCloseTo(1504.8, 9);
    expect((lowerBoundSeconds(needed.total, 150) / 60).toFixed(1)).toBe('25.1');
  });

  it('the same at k = 7.5 and at k = 1: the effective timings are the defaults', () => {
    for (const k of [7.5, 1]) {
      const org = benchOrg(100, k);
      expect(callsNeeded(org.realRefreshSeconds, scaleTimings(k).effective, 100).total).toBe(378);
    }
  });

  it('at a k that rounds the timings, the bound follows the timings that ran', () => {
    // k = 7: settle round(30/7 = 4.29) = 4 → 28 s, poll round(15/7 = 2.14) = 2 → 14 s.
    // Reads: 12 → 1; 27 → 1; 42 → 1 + ceil(14/14) = 2; 57 → 1 + ceil(29/14) = 1 + 3 = 4.
    // 25 × (1 + 1 + 2 + 4) = 200 reads; 1 + 2 + 100 + 100 + 200 = 403 calls.
    const org = benchOrg(100, 7);
    expect(callsNeeded(org.realRefreshSeconds, scaleTimings(7).effective, 100).total).toBe(403);
  });

  it('the bound scales with the budget', () => {
    // 378 calls at 300/min: 75.6 s; at 75/min: 302.4 s
    expect(lowerBoundSeconds(378, 300)).toBeCloseTo(75.6, 9);
    expect(lowerBoundSeconds(378, 75)).toBeCloseTo(302.4, 9);
  });
});

describe('time compression: timings divided by k, rounded to whole seconds, at least 1', () => {
  it('k = 7.5 keeps the defaults whole: 30/7.5 = 4, 15/7.5 = 2, 900/7.5 = 120, 180/7.5 = 24', () => {
    const t = scaleTimings(7.5);
    expect(t.timing).toEqual({ settleSeconds: 4, healthPollSeconds: 2, healthTimeoutSeconds: 120 });
    expect(t.maxRetryAfterSeconds).toBe(24);
    expect(t.effective).toEqual({ settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900, maxRetryAfterSeconds: 180 });
  });

  it('k = 5 and k = 15 keep them whole too', () => {
    // 30/5, 15/5, 900/5, 180/5 and 30/15, 15/15, 900/15, 180/15
    expect(scaleTimings(5).timing).toEqual({ settleSeconds: 6, healthPollSeconds: 3, healthTimeoutSeconds: 180 });
    expect(scaleTimings(5).maxRetryAfterSeconds).toBe(36);
    expect(scaleTimings(15).timing).toEqual({ settleSeconds: 2, healthPollSeconds: 1, healthTimeoutSeconds: 60 });
    expect(scaleTimings(15).maxRetryAfterSeconds).toBe(12);
  });

  it('k = 1 is real time: nothing changes', () => {
    const t = scaleTimings(1);
    expect(t.timing).toEqual(DEFAULTS);
    expect(t.maxRetryAfterSeconds).toBe(180);
    expect(t.effective).toEqual({ ...DEFAULTS, maxRetryAfterSeconds: 180 });
  });

  it('k = 4 rounds halves up: 7.5 → 8, 3.75 → 4, 225, 45; effective 32, 16, 900, 180', () => {
    const t = scaleTimings(4);
    expect(t.timing).toEqual({ settleSeconds: 8, healthPollSeconds: 4, healthTimeoutSeconds: 225 });
    expect(t.maxRetryAfterSeconds).toBe(45);
    expect(t.effective).toEqual({ settleSeconds: 32, healthPollSeconds: 16, healthTimeoutSeconds: 900, maxRetryAfterSeconds: 180 });
  });

  it('k = 7: 4.29 → 4, 2.14 → 2, 128.57 → 129, 25.71 → 26; effective 28, 14, 903, 182', () => {
    const t = scaleTimings(7);
    expect(t.timing).toEqual({ settleSeconds: 4, healthPollSeconds: 2, healthTimeoutSeconds: 129 });
    expect(t.maxRetryAfterSeconds).toBe(26);
    expect(t.effective).toEqual({ settleSeconds: 28, healthPollSeconds: 14, healthTimeoutSeconds: 903, maxRetryAfterSeconds: 182 });
  });

  it('k = 100: 0.3 and 0.15 would round to 0 and become 1; 9, 1.8 → 2; effective 100, 100, 900, 200', () => {
    const t = scaleTimings(100);
    expect(t.timing).toEqual({ settleSeconds: 1, healthPollSeconds: 1, healthTimeoutSeconds: 9 });
    expect(t.maxRetryAfterSeconds).toBe(2);
    expect(t.effective).toEqual({ settleSeconds: 100, healthPollSeconds: 100, healthTimeoutSeconds: 900, maxRetryAfterSeconds: 200 });
  });

  it('the budget: B·k per wall-clock minute, a whole number, so round(B·k)/k runs', () => {
    expect(scaleBudget(150, 7.5)).toEqual({ perWallMinute: 1125, effective: 150 }); // 150 × 7.5
    expect(scaleBudget(150, 1)).toEqual({ perWallMinute: 150, effective: 150 });
    // 151 × 3.3 = 498.3 → 498, and 498 / 3.3 = 150.91 a real minute
    const odd = scaleBudget(151, 3.3);
    expect(odd.perWallMinute).toBe(498);
    expect(odd.effective).toBeCloseTo(150.909, 3);
  });

  it('the rate limit keeps 300 per window and shortens the window to 60/k s: 8 s at k = 7.5, 60 s at k = 1', () => {
    expect(scaledOrgSettings(7.5)).toMatchObject({ rateLimitPerMinute: 300, rateLimitWindowSeconds: 8 });
    expect(scaledOrgSettings(1)).toMatchObject({ rateLimitPerMinute: 300, rateLimitWindowSeconds: 60 });
    expect(scaledOrgSettings(5)).toMatchObject({ rateLimitPerMinute: 300, rateLimitWindowSeconds: 12 });
  });

  it('probe latency is divided by k, the token lifetime too but in whole seconds', () => {
    // 40 / 7.5 = 5.33 ms; 86,399 / 7.5 = 11,519.87 → 11,520 s
    expect(scaledOrgSettings(7.5).probeLatencyMs).toBeCloseTo(5.333, 3);
    expect(scaledOrgSettings(7.5).tokenLifetimeSeconds).toBe(11_520);
    expect(scaledOrgSettings(1)).toMatchObject({ probeLatencyMs: 40, tokenLifetimeSeconds: 86_399 });
  });

  it("the org's refresh times are divided by k, and the scenario takes them", () => {
    const org = benchOrg(8, 7.5);
    // 12, 27, 42, 57 s at 7.5: 1.6, 3.6, 5.6, 7.6 s of wall time
    const refresh = (org.scenario['indexes'] as Array<{ behaviour: { refreshSeconds: number } }>).map((i) => i.behaviour.refreshSeconds);
    expect(refresh.slice(0, 4).map((r) => r.toFixed(2))).toEqual(['1.60', '3.60', '5.60', '7.60']);
    expect(org.realRefreshSeconds).toEqual([12, 27, 42, 57, 12, 27, 42, 57]);
    expect(() => parseScenario(org.scenario)).not.toThrow();
  });

  it('reported times are wall time × k', () => {
    // 200 s of wall time at 7.5 is 1,500 real-world seconds (25 min)
    expect(benchSeconds(200_000, 7.5)).toBe(1500);
    expect(benchSeconds(151_200, 1)).toBeCloseTo(151.2, 9);
  });
});

describe("the busiest minute: a sliding window of 60/k wall seconds over the simulator's log", () => {
  const at = (ms: number[], endpoint: RecordedRequest['endpoint'] = 'health'): RecordedRequest[] =>
    ms.map((t, i) => ({ at: t, method: 'GET', path: '/x', endpoint, status: 200, correlationId: `c${i}` }));

  it('k = 7.5: calls less than 8,000 ms apart share a minute; token requests do not count', () => {
    // 0, 4,000 and 7,999 fall in one 8 s window; 8,000 starts a window that holds 4,000, 7,999 and 8,000
    const stats = requestStats([...at([0, 4000, 7999, 8000]), ...at([1000, 2000], 'token')], 7.5);
    expect(stats.apiCalls).toBe(4);
    expect(stats.tokenRequests).toBe(2);
    expect(stats.peakPerMinute).toBe(3);
  });

  it('k = 1: the window is a real minute', () => {
    expect(requestStats(at([0, 30_000, 59_999, 60_000, 119_999]), 1).peakPerMinute).toBe(3);
  });
});

describe("the bench's execution input, as the optimizer parses it", () => {
  it('k = 7.5: the compressed timings and 150 × 7.5 = 1,125 calls a wall-clock minute; the optimizer derives its concurrency', () => {
    const input = benchExecutionInput(7.5, 150, null);
    expect(input).toEqual({ timing: { settleSeconds: 4, healthPollSeconds: 2, healthTimeoutSeconds: 120 }, retries: { maxRetryAfterSeconds: 24 }, apiBudgetPerMinute: 1125 });
    expect(checkInput(input)).toEqual({ maxConcurrency: expect.any(Number) });
  });

  it('k = 1 (--real-time): the defaults as they are', () => {
    const input = benchExecutionInput(1, 150, null);
    expect(input).toEqual({ timing: DEFAULTS, retries: { maxRetryAfterSeconds: 180 }, apiBudgetPerMinute: 150 });
    expect('problem' in checkInput(input)).toBe(false);
  });

  it('--concurrency is passed and parsed as given', () => {
    expect(checkInput(benchExecutionInput(7.5, 150, 12))).toEqual({ maxConcurrency: 12 });
  });

  it('an input the optimizer refuses comes back with its reason, not a guess', () => {
    // 0.2/min at k = 1 rounds to 0 calls a minute: below the parser's minimum
    const refused = checkInput(benchExecutionInput(1, 0.2, null));
    expect(refused).toEqual({ problem: expect.stringContaining('apiBudgetPerMinute') });
    const tooMany = checkInput(benchExecutionInput(7.5, 150, MAX_CONCURRENCY + 1));
    expect(tooMany).toEqual({ problem: expect.stringContaining('maxConcurrency') });
  });
});

describe('bench options', () => {
  it('--real-time and --skip-orgs are off unless given', () => {
    expect(parseBenchArgs([])).toMatchObject({ realTime: false, skipOrgs: false, scale: 7.5, budget: 150, sizes: [100, 1000] });
    expect(parseBenchArgs(['--real-time', '--skip-orgs'])).toMatchObject({ realTime: true, skipOrgs: true });
    expect(REAL_TIME_INDEXES).toBe(100);
  });

  it('--second-run is off unless given', () => {
    expect(parseBenchArgs([])).toMatchObject({ secondRun: false });
    expect(parseBenchArgs(['--sizes', '100', '--second-run'])).toMatchObject({ secondRun: true, sizes: [100] });
  });
});

describe('health reads after the PUT: what the optimizer spent waiting for refreshes', () => {
  let n = 0;
  const req = (at: number, endpoint: RecordedRequest['endpoint'], indexId?: string, status = 200): RecordedRequest => ({
    at,
    method: endpoint === 'put' ? 'PUT' : 'GET',
    path: '/x',
    endpoint,
    ...(indexId !== undefined ? { indexId } : {}),
    status,
    correlationId: `c${n++}`,
  });

  it('counts the reads after each index’s first accepted PUT, not its pre-check, by arrival', () => {
    const requests = [
      req(0, 'list'),
      req(1, 'health', 'a'), // a's pre-check: before its PUT
      req(2, 'health', 'b'), // b's pre-check
      req(3, 'put', 'a', 202),
      req(4, 'put', 'b', 429), // b's PUT throttled: not accepted
      req(5, 'put', 'b', 202),
      req(9, 'health', 'a', 503), // a still refreshing: 1
      req(12, 'health', 'b'), // b: 2
      req(11, 'health', 'a'), // a healthy: 3 (logged after b's, arrived before it)
      req(13, 'health', 'c'), // c was never PUT: none
      req(14, 'probe'),
    ];
    // a: 2 reads after its PUT, b: 1, c: 0 → 3 reads, 1.5 per PUT index
    expect(healthReadsAfterPut(requests)).toBe(3);
  });

  it('a health read that arrived before the PUT is a pre-check even when logged after it', () => {
    // arrival order: pre-check at 1, PUT at 2, read at 5
    expect(healthReadsAfterPut([req(2, 'put', 'a', 202), req(1, 'health', 'a'), req(5, 'health', 'a')])).toBe(1);
  });

  it('nothing PUT, nothing read after', () => {
    expect(healthReadsAfterPut([req(0, 'list'), req(1, 'health', 'a')])).toBe(0);
  });
});

describe("a second run of the same org beside its first", () => {
  // Made-up runs of the bench org of 100 indexes, worked by hand:
  // first: 1 page + 2 probes + 100 pre-checks + 100 PUTs + 131 reads = 334 calls, 3.34 per index, 1.31 reads per index;
  // second: the same with 100 reads = 303 calls (the minimum), 3.03 per index, 1.00 read per index.
  const org = (run: OrgResult['run'], calls: number, reads: number, wallSeconds: number) =>
    ({ indexes: 100, run, callsMade: calls, callsPerIndex: calls / 100, healthReadsPerIndex: reads / 100, minimumCalls: 303, boundSeconds: 121.2, ratioToBound: wallSeconds / 121.2, wallSeconds,
      // only for the target lines
      transitionsPerIndex: 9, transitions: { total: 900, commonPath: null }, costPer1000Usd: 0.27 }) as unknown as OrgResult;
  const first = org('first', 334, 131, 180);
  const second = org('second', 303, 100, 150);

  it('what the memory saves: 334 − 303 = 31 calls; the minimum is 303 / 100 = 3.03 calls per index', () => {
    const c = secondRunComparison(first, second);
    expect(c).toEqual({
      indexes: 100,
      first: { calls: 334, callsPerIndex: 3.34, healthReadsPerIndex: 1.31, ratioToBound: 180 / 121.2, wallSeconds: 180 },
      second: { calls: 303, callsPerIndex: 3.03, healthReadsPerIndex: 1, ratioToBound: 150 / 121.2, wallSeconds: 150 },
      callsSaved: 31,
      minimumCallsPerIndex: 3.03,
    });
    // 180 / 121.2 = 1.485…, 150 / 121.2 = 1.237…
    expect(c.first.ratioToBound).toBeCloseTo(1.485, 3);
    expect(c.second.ratioToBound).toBeCloseTo(1.238, 3);
  });

  it('1,000 indexes: the minimum is 3,012 / 1,000 = 3.012, rounded to 3 decimals', () => {
    const big = (run: OrgResult['run']) => ({ ...first, run, indexes: 1000, minimumCalls: 3012 }) as OrgResult;
    expect(secondRunComparison(big('first'), big('second')).minimumCallsPerIndex).toBe(3.012);
  });

  it('pairs each second run with the first run of its size, whatever else ran', () => {
    const other = { ...org('first', 3042, 1030, 1480), indexes: 1000, minimumCalls: 3012 } as OrgResult;
    const pairs = secondRunComparisons([first, second, other]);
    expect(pairs.map((p) => [p.indexes, p.callsSaved])).toEqual([[100, 31]]);
    expect(secondRunComparisons([first, other])).toEqual([]);
  });

  it('refuses to compare runs of different orgs, or in the wrong order', () => {
    expect(() => secondRunComparison(second, first)).toThrow(/first run of the same org/);
    expect(() => secondRunComparison(first, { ...second, indexes: 1000 })).toThrow(/first run of the same org/);
  });

  it('the printed table has a row per run, and the targets say what the second run cost', () => {
    const c = secondRunComparison(first, second);
    const lines = secondRunLines([c]).join('\n');
    expect(lines).toMatch(/100\s+first\s+334\s+3\.34\s+1\.31\s+1\.49\s+3\.0/);
    expect(lines).toMatch(/100\s+second\s+303\s+3\.03\s+1\.00\s+1\.24\s+2\.5/);
    expect(lines).toContain('31 calls fewer');
    const results = { orgs: [first, second], secondRuns: [c], realTime: null, bundles: [], floor: null, settings: { effectiveBudgetPerMinute: 150 } } as never;
    const targets = targetLines(results);
    expect(targets).toContain('  reported  a second run of the same org, 100 indexes: 3.03 calls per index (first run 3.34, minimum 3.03)');
    expect(targets).toContain('  reported  cost per 1,000 indexes, org 100, second run: $0.27');
  });
});
