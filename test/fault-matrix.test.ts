// The fault matrix: each row is a simulator scenario (plus, where the row needs it, an execution
// input, a target, a secret's value or an IAM policy with a permission taken away) executed through the synthesized state machine
// locally (infra/local/run-local.ts), with the real handlers calling the Genesys Cloud simulator
// over real HTTP. Each row asserts how every index ended, what the simulator saw (how many PUTs
// per index and when) and the report or, for a run that fails before it has a plan, the error.
//
// Every row also checks two invariants: no index is PUT more often than its retries allow, and
// nothing is lost (every index of the inventory is in the report exactly once). The last test
// scans everything every row produced for the client secret, its Basic form and every token.
//
// Runs share the file's local AWS and functions, so the tests of this file run one after the other.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import type { LocalTarget } from '../infra/local/run-local.ts';
import type { SecretValue } from '../infra/local/aws/local-aws.ts';
import type { RecordedRequest, Simulator } from '../infra/simulator/server.ts';
import { TokenStore } from '../infra/simulator/tokens.ts';
import { DEFAULT_RETRIES, INPUT_FIELDS, MAX_API_BUDGET_PER_MINUTE } from '../functions/domain/execution-input.ts';
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
  useLocalRuns,
  type Run,
  type RunExtras,
} from './support/local-run.ts';

// A recognisable OAuth client: every row's org uses it, and the leak scan looks for it.
const CLIENT_ID = 'fault-matrix-client';
const SECRET = 'FaultMatrix-S3cr3t-7d1c9b2e5a';
const BASIC = Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64');
const WRONG_SECRET = 'Wr0ng-FaultMatrix-Secret-44c1';

// ---------------------------------------------------------------------------------------------
// What every run produced, kept for the leak scan (store files are read before they are removed).
interface Produced {
  label: string;
  lines: string[];
  result: Run['result'];
  storeFiles: Array<[string, string]>;
}
const produced: Produced[] = [];
let currentLabel = '';
const { startSim, runAgainst } = useLocalRuns({
  onRun: (r) => {
    produced.push({
      label: currentLabel,
      lines: r.lines,
      result: r.result,
      storeFiles: filesUnder(r.storeDir).map((f) => [`store file ${f.slice(r.storeDir.length)}`, readFileSync(f, 'utf8')] as [string, string]),
    });
  },
});

// Every access token the simulator issues during this file, for the leak scan.
const issuedTokens: string[] = [];
let issueSpy: ReturnType<typeof vi.spyOn> | undefined;
beforeAll(() => {
  const original = TokenStore.prototype.issue;
  issueSpy = vi.spyOn(TokenStore.prototype, 'issue').mockImplementation(function (this: TokenStore, now?: number) {
    const token = original.call(this, now);
    issuedTokens.push(token);
    return token;
  });
});

afterAll(() => {
  issueSpy?.mockRestore();
});

// ---------------------------------------------------------------------------------------------
// Rows.

type Scenario = { org?: Record<string, unknown>; indexes?: unknown[] };

interface Row {
  name: string;
  scenario: Scenario;
  /** Merged over { timing: FAST }. */
  input?: Record<string, unknown>;
  /** Overrides of the run's target (the simulator's URLs and the matrix's credentials). */
  target?: (sim: Simulator) => Partial<LocalTarget> | Promise<Partial<LocalTarget>>;
  /** Function settings for the run, as the stack would set them (e.g. GENESYS_TIMEOUT_MS). */
  env?: Record<string, string>;
  /** Narrows the stack's IAM policies for the run (a permission taken away). */
  iam?: RunExtras['iam'];
  /** The run meets IAM denials (otherwise any fails the row). */
  expectDenials?: boolean;
  /**
   * The ids the report must hold, each exactly once. Default: every id of the scenario.
   * null: the run fails before a plan exists, and there must be no report.
   */
  reported?: string[] | null;
  /** How the execution ends: null = SUCCEEDED, otherwise FAILED with this error. */
  error: { name: string; cause: RegExp } | null;
  check?: (r: Run) => void;
  timeoutMs?: number;
}

const org = (scenario: Scenario): Record<string, unknown> => ({ credentials: { clientId: CLIENT_ID, clientSecret: SECRET }, ...scenario });

function scenarioIds(scenario: Scenario): string[] {
  return (scenario.indexes ?? []).flatMap((ix) => {
    const id = (ix as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? [id] : [];
  });
}

/**
 * Rows run unpaced where the optimizer paces its own calls (apiBudgetPerMinute): the matrix is
 * about Genesys' answers, and the simulator's own limits are set per row.
 */
const UNPACED: Record<string, unknown> = { apiBudgetPerMinute: MAX_API_BUDGET_PER_MINUTE };

const statuses = (rs: RecordedRequest[]) => rs.map((q) => q.status);
const atLeast = (ms: number) => (gap: number) => expect(gap).toBeGreaterThanOrEqual(ms);
const apiCalls = (sim: Simulator) => sim.requests.filter((q) => q.endpoint !== 'token');

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function runRow(row: Row): Promise<Run> {
  currentLabel = row.name;
  const sim = await startSim(org(row.scenario));
  const input = { timing: FAST, ...UNPACED, ...row.input };
  const target = (await row.target?.(sim)) ?? {};
  const r = await runAgainst(sim, input, target, {
    ...(row.iam ? { iam: row.iam } : {}),
    ...(row.expectDenials ? { expectDenials: true } : {}),
    ...(row.env ? { environment: row.env } : {}),
  });

  // How the execution ended.
  if (row.error === null) {
    expect(r.result.error, 'the run succeeded').toBeNull();
    expect(r.result.status).toBe('SUCCEEDED');
  } else {
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe(row.error.name);
    expect(r.result.error?.cause).toMatch(row.error.cause);
  }
  // Nothing lost: every index of the inventory in the report exactly once, or no report at all.
  if (row.reported === null) {
    expect(r.result.report, 'no report: the run failed before it had a plan').toBeNull();
    expect(puts(r.sim), 'no PUT without a plan').toHaveLength(0);
  } else {
    expectReportCovers(r, row.reported ?? scenarioIds(row.scenario));
    if (r.result.error) expect(r.result.report!.error).toEqual(r.result.error);
  }
  // No index PUT more often than its retries allow (errors and 429s have separate bounds), none accepted twice.
  const retries = { ...DEFAULT_RETRIES, ...(input as { retries?: Partial<typeof DEFAULT_RETRIES> }).retries };
  const putsById = new Map<string, RecordedRequest[]>();
  for (const q of puts(r.sim)) putsById.set(q.indexId!, [...(putsById.get(q.indexId!) ?? []), q]);
  for (const [id, p] of putsById) {
    const throttled = p.filter((q) => q.status === 429).length;
    expect(throttled, `PUTs of ${id} answered 429`).toBeLessThanOrEqual(retries.maxThrottledAttempts);
    expect(p.length - throttled, `other PUTs of ${id}`).toBeLessThanOrEqual(retries.maxAttempts);
    expect(p.filter((q) => q.status >= 200 && q.status < 300).length, `accepted PUTs of ${id}`).toBeLessThanOrEqual(1);
  }
  row.check?.(r);
  return r;
}

function matrix(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const row of rows) it(row.name, async () => void (await runRow(row)), row.timeoutMs ?? 30_000);
  });
}

// ---------------------------------------------------------------------------------------------

matrix('the token endpoint', [
  {
    name: 'bad credentials: fails at once with Genesys.CredentialsInvalid, one token request, no API call',
    scenario: { indexes: [index('a'), index('b')] },
    target: () => ({ clientSecret: WRONG_SECRET }),
    reported: null,
    error: { name: 'Genesys.CredentialsInvalid', cause: /refused the OAuth client credentials \(401: Invalid client credentials\); check the client id and secret/ },
    check: (r) => {
      expect(statuses(calls(r.sim, 'token'))).toEqual([401]);
      expect(apiCalls(r.sim)).toHaveLength(0);
    },
  },
  {
    name: '503 then success: the listing waits the backoff and carries on',
    scenario: { org: { faults: { token: [{ status: 503, times: 1 }] } }, indexes: [index('a'), index('b')] },
    error: null,
    check: (r) => {
      const t = calls(r.sim, 'token');
      // Each function that calls Genesys (fetch, optimize, verify) runs in containers of its own and gets its own token, as in Lambda.
      expect(statuses(t)).toEqual([503, 200, 200, 200]);
      expect(t[1]!.at - t[0]!.at).toBeGreaterThanOrEqual(2000);
      expect(calls(r.sim, 'list')[0]!.at).toBeGreaterThanOrEqual(t[1]!.at);
      for (const id of ['a', 'b']) expect(entry(r, id).outcome).toBe('optimized');
    },
  },
  {
    name: 'slower than GENESYS_TIMEOUT_MS once: abandoned at the timeout, retried, the run carries on',
    scenario: { org: { faults: { token: [{ delayMs: 2500, times: 1 }] } }, indexes: [index('a'), index('b')] },
    env: { GENESYS_TIMEOUT_MS: '1000' },
    error: null,
    check: (r) => {
      const t = calls(r.sim, 'token');
      // One token per function that calls Genesys, as in Lambda; the first (fetch's) was abandoned once.
      expect(t.map((q) => [q.status, q.abandoned ?? false])).toEqual([[0, true], [200, false], [200, false], [200, false]]);
      expect(t[1]!.at - t[0]!.at).toBeGreaterThanOrEqual(2000);
      for (const id of ['a', 'b']) expect(entry(r, id).outcome).toBe('optimized');
    },
  },
  {
    name: 'always slower than GENESYS_TIMEOUT_MS: bounded by retries.maxAttempts, then Genesys.Transient naming the timeout',
    scenario: { org: { faults: { token: [{ delayMs: 2500, times: -1 }] } }, indexes: [index('a')] },
    input: { retries: { maxAttempts: 2 } },
    env: { GENESYS_TIMEOUT_MS: '1000' },
    reported: null,
    error: { name: 'Genesys.Transient', cause: /POST \/oauth\/token: no response within 1000 ms \(timeout\)/ },
    check: (r) => {
      expect(calls(r.sim, 'token').map((q) => q.abandoned)).toEqual([true, true]);
      expect(apiCalls(r.sim)).toHaveLength(0);
    },
  },
  {
    name: 'token revoked mid-run (401 on an API call): one new token, the same call repeated once, the run carries on',
    // Each function has its own token: fetch 1 use (the list), verify 5 (2 probes, 3 reads), optimize 6
    // (pre-check and PUT per index). Revoked after 5 uses: exactly one revocation, optimize's.
    scenario: { org: { revokeTokenAfterUses: 5 }, indexes: [index('a'), index('b'), index('c')] },
    input: { maxConcurrency: 1 },
    error: null,
    check: (r) => {
      const seq = [...r.sim.requests].sort((x, y) => x.at - y.at);
      const unauthorized = seq.filter((q) => q.status === 401);
      expect(unauthorized).toHaveLength(1);
      expect(statuses(calls(r.sim, 'token'))).toEqual([200, 200, 200, 200]);
      const i = seq.indexOf(unauthorized[0]!);
      expect(seq[i + 1]!.endpoint).toBe('token');
      expect({ endpoint: seq[i + 2]!.endpoint, indexId: seq[i + 2]!.indexId }).toEqual({ endpoint: unauthorized[0]!.endpoint, indexId: unauthorized[0]!.indexId });
      expect(seq[i + 2]!.status).toBeLessThan(300);
      for (const id of ['a', 'b', 'c']) {
        expect(entry(r, id).outcome).toBe('optimized');
        expect(puts(r.sim, id).filter((q) => q.status === 202)).toHaveLength(1);
      }
    },
  },
]);

matrix('a permission the OAuth client lacks (403)', [
  {
    name: 'on the list (search:read): the run stops with Genesys.Forbidden naming search:read, no report, no PUT',
    scenario: { org: { deniedPermissions: ['search:read'] }, indexes: [index('a'), index('b')] },
    reported: null,
    error: { name: 'Genesys.Forbidden', cause: /GET \/api\/v2\/search\/indexes\?pageSize=100&pageNumber=1: forbidden \(403\): the OAuth client's role lacks the permission search:read/ },
    check: (r) => expect(statuses(calls(r.sim, 'list'))).toEqual([403]),
  },
  {
    name: 'on the PUT (search:write): the first index fails naming search:write and the run stops at once, failing with Genesys.Forbidden',
    scenario: { org: { deniedPermissions: ['search:write'] }, indexes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => index(id)) },
    input: { maxConcurrency: 1 },
    error: { name: 'Genesys.Forbidden', cause: /^PUT \/api\/v2\/search\/indexes\/a: forbidden \(403\): the OAuth client's role lacks the permission search:write/ },
    check: (r) => {
      expect(entry(r, 'a')).toMatchObject({ outcome: 'failed', reason: expect.stringContaining("the OAuth client's role lacks the permission search:write") });
      expect(statuses(puts(r.sim, 'a'))).toEqual([403]);
      // Every PUT would be refused alike: the rest are held back at once, not after safety.minIndexesBeforeStop failures.
      for (const id of ['b', 'c', 'd', 'e', 'f', 'g', 'h']) {
        expect(entry(r, id)).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/^run stopped: index a failed with Genesys\.Forbidden/) });
        expect(puts(r.sim, id)).toHaveLength(0);
      }
    },
  },
]);

matrix('429 with Retry-After', [
  {
    name: 'on the list, twice: each retry at least Retry-After later, then listed',
    scenario: { org: { faults: { list: [{ status: 429, retryAfterSeconds: 1, times: 2 }] } }, indexes: [index('a')] },
    error: null,
    check: (r) => {
      const l = calls(r.sim, 'list');
      expect(statuses(l)).toEqual([429, 429, 200]);
      gaps(l).forEach(atLeast(1000));
      expect(entry(r, 'a').outcome).toBe('optimized');
    },
  },
  {
    name: 'on the list, always: maxThrottledAttempts list calls, then the run fails with Genesys.RateLimited (no plan, no report)',
    scenario: { org: { faults: { list: [{ status: 429, retryAfterSeconds: 1, times: -1 }] } }, indexes: [index('a')] },
    input: { retries: { maxAttempts: 1, maxThrottledAttempts: 3 } },
    reported: null,
    error: { name: 'Genesys.RateLimited', cause: /rate limited \(429\), retry after 1 s/ },
    check: (r) => {
      const l = calls(r.sim, 'list');
      expect(statuses(l)).toEqual([429, 429, 429]);
      gaps(l).forEach(atLeast(1000));
    },
  },
  {
    name: 'on the PUT: counted apart from errors (maxAttempts 2, maxThrottledAttempts 4), Retry-After apart; always → failed after 4',
    scenario: {
      indexes: [
        index('put-429-3x', { faults: { put: [{ status: 429, retryAfterSeconds: 1, times: 3 }] } }),
        index('put-429-3x-then-500', { faults: { put: [{ status: 429, retryAfterSeconds: 1, times: 3 }, { status: 500, times: 1 }] } }),
        index('put-429-always', { faults: { put: [{ status: 429, retryAfterSeconds: 1, times: -1 }] } }),
        index('calm'),
      ],
    },
    input: { retries: { maxAttempts: 2, maxThrottledAttempts: 4 } },
    error: { name: 'Run.IndexesFailed', cause: /^1 of 4 indexes failed\. name-put-429-always: gave up after 4 rate-limited attempts/ },
    check: (r) => {
      // Three 429s are more than maxAttempts 2: they no longer fail the index.
      expect(entry(r, 'put-429-3x')).toMatchObject({ outcome: 'optimized', reason: null });
      expect(statuses(puts(r.sim, 'put-429-3x'))).toEqual([429, 429, 429, 202]);
      gaps(puts(r.sim, 'put-429-3x')).forEach(atLeast(1000));
      // …nor use up the budget for errors: one 500 after them is retried (2 s backoff, the first error's).
      expect(entry(r, 'put-429-3x-then-500')).toMatchObject({ outcome: 'optimized', reason: null });
      const mixed = puts(r.sim, 'put-429-3x-then-500');
      expect(statuses(mixed)).toEqual([429, 429, 429, 500, 202]);
      gaps(mixed).slice(0, 3).forEach(atLeast(1000));
      expect(gaps(mixed)[3]).toBeGreaterThanOrEqual(2000);
      expect(entry(r, 'put-429-always')).toMatchObject({
        outcome: 'failed',
        reason: expect.stringMatching(/^gave up after 4 rate-limited attempts \(retries\.maxThrottledAttempts\): PUT \/api\/v2\/search\/indexes\/put-429-always: rate limited \(429\), retry after 1 s/),
      });
      expect(statuses(puts(r.sim, 'put-429-always'))).toEqual([429, 429, 429, 429]);
      gaps(puts(r.sim, 'put-429-always')).forEach(atLeast(1000));
      expect(entry(r, 'calm').outcome).toBe('optimized');
    },
  },
  {
    name: 'on the health pre-check: twice then PUT; always → failed after maxThrottledAttempts reads, never PUT',
    scenario: {
      indexes: [
        index('health-429-twice', { faults: { health: [{ status: 429, retryAfterSeconds: 1, times: 2 }] } }),
        index('health-429-always', { faults: { health: [{ status: 429, retryAfterSeconds: 1, times: -1 }] } }),
        index('calm'),
      ],
    },
    input: { retries: { maxThrottledAttempts: 3 } },
    error: { name: 'Run.IndexesFailed', cause: /^1 of 3 indexes failed/ },
    check: (r) => {
      expect(entry(r, 'health-429-twice').outcome).toBe('optimized');
      const h = healthReads(r.sim, 'health-429-twice');
      expect(statuses(h)).toEqual([429, 429, 200, 200]);
      gaps(h.slice(0, 3)).forEach(atLeast(1000));
      expect(statuses(puts(r.sim, 'health-429-twice'))).toEqual([202]);
      expect(entry(r, 'health-429-always')).toMatchObject({
        outcome: 'failed',
        reason: expect.stringMatching(/^gave up after 3 rate-limited attempts \(retries\.maxThrottledAttempts\): GET \/api\/v2\/search\/indexes\/health-429-always\/health: rate limited \(429\)/),
      });
      expect(statuses(healthReads(r.sim, 'health-429-always'))).toEqual([429, 429, 429]);
      gaps(healthReads(r.sim, 'health-429-always')).forEach(atLeast(1000));
      expect(puts(r.sim, 'health-429-always')).toHaveLength(0);
    },
  },
  {
    name: 'on the health reads after the PUT: the waits do not use up the health timeout; always → failed after maxThrottledAttempts',
    scenario: {
      indexes: [
        index('verify-429-once', { faults: { health: [{ status: 429, retryAfterSeconds: 1, times: 1 }] } }),
        // 2 + 2 s of Retry-After: the green reading comes after the 3 s timeout, and counts.
        index('verify-429-past-timeout', { faults: { health: [{ status: 429, retryAfterSeconds: 2, times: 2 }] } }),
        index('verify-429-always', { faults: { health: [{ status: 429, retryAfterSeconds: 1, times: -1 }] } }),
        index('calm'),
      ],
    },
    input: { policy: { healthCheckBeforePut: false }, retries: { maxThrottledAttempts: 3 } },
    error: { name: 'Run.IndexesFailed', cause: /^1 of 4 indexes failed/ },
    check: (r) => {
      expect(entry(r, 'verify-429-once').outcome).toBe('optimized');
      expect(statuses(healthReads(r.sim, 'verify-429-once'))).toEqual([429, 200]);
      gaps(healthReads(r.sim, 'verify-429-once')).forEach(atLeast(1000));

      expect(entry(r, 'verify-429-past-timeout')).toMatchObject({ outcome: 'optimized', reason: null });
      const late = healthReads(r.sim, 'verify-429-past-timeout');
      expect(statuses(late)).toEqual([429, 429, 200]);
      gaps(late).forEach(atLeast(2000));
      expect(late.at(-1)!.at - puts(r.sim, 'verify-429-past-timeout')[0]!.at).toBeGreaterThan(3000);

      const e = entry(r, 'verify-429-always');
      expect(e.outcome).toBe('failed');
      expect(e.reason).toMatch(/^gave up after 3 rate-limited attempts \(retries\.maxThrottledAttempts\): GET \/api\/v2\/search\/indexes\/verify-429-always\/health: rate limited \(429\)/);
      const h = healthReads(r.sim, 'verify-429-always');
      expect(statuses(h)).toEqual([429, 429, 429]);
      gaps(h).forEach(atLeast(1000));
      expect(statuses(puts(r.sim, 'verify-429-always'))).toEqual([202]);
    },
  },
  {
    name: 'on the latency probe: twice then measured; always → bounded, "not measured" warnings, the indexes unaffected',
    scenario: { org: { faults: { probe: [{ status: 429, retryAfterSeconds: 1, times: 2 }] } }, indexes: [index('a')] },
    error: null,
    check: (r) => {
      const p = calls(r.sim, 'probe');
      expect(statuses(p)).toEqual([429, 429, 200, 200]);
      gaps(p.slice(0, 3)).forEach(atLeast(1000));
      expect(r.result.report!.queryLatencyMs.before).toEqual(expect.any(Number));
      expect(entry(r, 'a').outcome).toBe('optimized');
    },
  },
  {
    name: 'on the latency probe, always: maxThrottledAttempts probes before and after, the run still optimizes and says what was not measured',
    scenario: { org: { faults: { probe: [{ status: 429, retryAfterSeconds: 1, times: -1 }] } }, indexes: [index('a'), index('b')] },
    input: { retries: { maxThrottledAttempts: 2 } },
    error: null,
    check: (r) => {
      const p = calls(r.sim, 'probe');
      expect(statuses(p)).toEqual([429, 429, 429, 429]);
      // Within each phase, Retry-After apart (the "after" probe is a new call, made after the batch).
      gaps(p.slice(0, 2)).forEach(atLeast(1000));
      gaps(p.slice(2)).forEach(atLeast(1000));
      // The two "before" probes come before any PUT, the two "after" ones after the last.
      const ps = puts(r.sim);
      expect(p[1]!.at).toBeLessThanOrEqual(ps[0]!.at);
      expect(p[2]!.at).toBeGreaterThanOrEqual(ps.at(-1)!.at);
      expect(r.result.report!.queryLatencyMs).toEqual({ before: null, after: null });
      expect(r.result.report!.warnings).toEqual([
        expect.stringMatching(/^query latency before the batch not measured: gave up after 2 rate-limited attempts \(retries\.maxThrottledAttempts\): POST \/api\/v2\/analytics\/conversations\/details\/query: rate limited \(429\)/),
        expect.stringMatching(/^query latency after the batch not measured: gave up after 2 rate-limited attempts \(retries\.maxThrottledAttempts\): .*rate limited \(429\)/),
      ]);
      for (const id of ['a', 'b']) expect(entry(r, id).outcome).toBe('optimized');
    },
  },
]);

// The simulator's limit is per token, in fixed windows: Retry-After is the time to the window's end.
function rateLimitedRow(n: number, maxConcurrency: number, perWindow: number, windowSeconds: number): Row {
  const ids = Array.from({ length: n }, (_, i) => `paced-${String(i + 1).padStart(2, '0')}`);
  return {
    name: `${perWindow} requests per ${windowSeconds} s window, ${n} indexes, maxConcurrency ${maxConcurrency}: every index optimized, none failed by throttling`,
    scenario: { org: { rateLimitPerMinute: perWindow, rateLimitWindowSeconds: windowSeconds }, indexes: ids.map((id) => index(id)) },
    input: { maxConcurrency },
    error: null,
    timeoutMs: 90_000,
    check: (r) => {
      for (const id of ids) {
        expect(entry(r, id), id).toMatchObject({ outcome: 'optimized', reason: null });
        expect(puts(r.sim, id).filter((q) => q.status === 202), id).toHaveLength(1);
      }
      const throttled = r.sim.requests.filter((q) => q.status === 429);
      expect(throttled.length, 'the limit really was hit').toBeGreaterThan(0);
      // Never faster than the window allows, counting only the calls it let through. The limit is per
      // token, and each function that calls Genesys has its own: the busiest token bounds the time.
      const servedByToken = new Map<string, number>();
      for (const q of r.sim.requests) if (q.endpoint !== 'token' && q.status !== 429) servedByToken.set(q.tokenId ?? '', (servedByToken.get(q.tokenId ?? '') ?? 0) + 1);
      const served = Math.max(...servedByToken.values());
      expect(r.wallMs).toBeGreaterThanOrEqual(Math.floor((served - 1) / perWindow) * windowSeconds * 1000);
      const perCall = new Map<string, number>();
      for (const q of throttled) perCall.set(`${q.endpoint} ${q.indexId ?? ''}`, (perCall.get(`${q.endpoint} ${q.indexId ?? ''}`) ?? 0) + 1);
      const worst = Math.max(...perCall.values());
      console.log(`${r.wallMs} ms, ${r.sim.requests.length} requests, ${throttled.length} answered 429, at most ${worst} for one index and endpoint`);
    },
  };
}

matrix("an org-wide rate limit lower than the run's pace", [
  // 16 indexes × 3 calls (pre-check, PUT, health) + list + 2 probes = 51 calls at 10 per 3 s.
  rateLimitedRow(16, 5, 10, 3),
  // Four times the concurrency the limit allows: single calls meet more 429s than retries.maxAttempts (5),
  // and health reads wait past the 3 s health timeout. Neither may fail an index.
  rateLimitedRow(30, 20, 10, 2),
]);

matrix('rejected, server errors and broken connections', [
  {
    name: '400 on the PUT: failed after exactly one PUT, Genesys\' message kept in the reason',
    scenario: {
      indexes: [
        index('rejected', { faults: { put: [{ status: 400, times: -1, message: "Validation failed: reindexStrategy 'async_background' is not supported for this index type" }] } }),
        index('calm'),
      ],
    },
    error: { name: 'Run.IndexesFailed', cause: /^1 of 2 indexes failed\. name-rejected: PUT .*rejected \(400\)/ },
    check: (r) => {
      expect(entry(r, 'rejected')).toMatchObject({
        outcome: 'failed',
        reason: expect.stringMatching(/^PUT \/api\/v2\/search\/indexes\/rejected: rejected \(400\): Validation failed: reindexStrategy 'async_background' is not supported for this index type \[correlation id [0-9a-f-]{36}\]$/),
      });
      expect(statuses(puts(r.sim, 'rejected'))).toEqual([400]);
      expect(entry(r, 'calm').outcome).toBe('optimized');
    },
  },
  {
    name: '500/502/503/504 and socket resets on the PUT: bounded retries with backoff, then failed with the reason; once → optimized',
    scenario: {
      indexes: [
        index('put-500', { faults: { put: [{ status: 500, times: -1 }] } }),
        index('put-502', { faults: { put: [{ status: 502, times: -1 }] } }),
        index('put-503', { faults: { put: [{ status: 503, times: -1, message: 'Cluster rebalancing in progress' }] } }),
        index('put-504', { faults: { put: [{ status: 504, times: -1 }] } }),
        index('put-reset', { faults: { put: [{ reset: true, times: -1 }] } }),
        index('put-reset-once', { faults: { put: [{ reset: true, times: 1 }] } }),
        index('put-502-once', { faults: { put: [{ status: 502, times: 1 }] } }),
        index('health-500-once', { faults: { health: [{ status: 500, times: 1 }] } }),
      ],
    },
    input: { retries: { maxAttempts: 3 }, maxConcurrency: 8 },
    error: { name: 'Run.IndexesFailed', cause: /^5 of 8 indexes failed/ },
    check: (r) => {
      const expected: Array<[string, RegExp, number]> = [
        ['put-500', /server error \(500\)/, 500],
        ['put-502', /server error \(502\)/, 502],
        ['put-503', /index busy \(503\): refreshing or rebalancing: Cluster rebalancing in progress/, 503],
        ['put-504', /server error \(504\)/, 504],
        ['put-reset', /network error: /, 0],
      ];
      for (const [id, why, status] of expected) {
        const e = entry(r, id);
        expect(e.outcome, id).toBe('failed');
        expect(e.reason, id).toMatch(new RegExp(`^gave up after 3 attempts: PUT /api/v2/search/indexes/${id}: ${why.source}`));
        const p = puts(r.sim, id);
        expect(statuses(p), id).toEqual([status, status, status]);
        // Transient errors back off 2 s then 4 s; a busy index waits healthPollSeconds.
        const [first, second] = gaps(p);
        if (status === 503) gaps(p).forEach(atLeast(1000));
        else {
          expect(first, id).toBeGreaterThanOrEqual(2000);
          expect(second, id).toBeGreaterThanOrEqual(4000);
        }
      }
      for (const id of ['put-reset-once', 'put-502-once']) {
        expect(entry(r, id).outcome, id).toBe('optimized');
        expect(puts(r.sim, id).map((q) => q.status), id).toEqual([id === 'put-reset-once' ? 0 : 502, 202]);
        gaps(puts(r.sim, id)).forEach(atLeast(2000));
      }
      expect(entry(r, 'health-500-once').outcome).toBe('optimized');
      expect(statuses(healthReads(r.sim, 'health-500-once'))).toEqual([500, 200, 200]);
      gaps(healthReads(r.sim, 'health-500-once').slice(0, 2)).forEach(atLeast(2000));
    },
  },
  {
    name: '502 on the list once: retried after the backoff, then listed',
    scenario: { org: { faults: { list: [{ status: 502, times: 1 }] } }, indexes: [index('a')] },
    error: null,
    check: (r) => {
      expect(statuses(calls(r.sim, 'list'))).toEqual([502, 200]);
      gaps(calls(r.sim, 'list')).forEach(atLeast(2000));
    },
  },
  {
    name: 'connection refused (the API base URL is a closed port): bounded retries, then Genesys.Transient naming it, no report',
    scenario: { indexes: [index('a')] },
    input: { retries: { maxAttempts: 2 } },
    target: async () => ({ apiUrl: await closedPortUrl() }),
    reported: null,
    error: { name: 'Genesys.Transient', cause: /GET \/api\/v2\/search\/indexes\?pageSize=100&pageNumber=1: network error: ECONNREFUSED/ },
    check: (r) => {
      // The token came from the (working) login host; no API call ever reached a server.
      expect(statuses(calls(r.sim, 'token'))).toEqual([200]);
      expect(apiCalls(r.sim)).toHaveLength(0);
      expect(r.result.invocations.fetch).toBe(2);
    },
  },
]);

matrix('health after the PUT', [
  {
    name: '503 for a while then green → optimized; never green → failed at the health timeout; red → failed',
    scenario: {
      indexes: [
        index('refresh-2s', { refreshSeconds: 2 }),
        index('never-green', { refreshSeconds: 600 }),
        index('goes-red', { healthAfterRefresh: 'red' }),
        index('calm'),
      ],
    },
    input: { timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 4 } },
    error: { name: 'Run.IndexesFailed', cause: /^2 of 4 indexes failed/ },
    check: (r) => {
      const afterPut = (id: string) => healthReadsAfterPut(r.sim, id);
      expect(entry(r, 'refresh-2s')).toMatchObject({ outcome: 'optimized', reason: null });
      const refreshed = afterPut('refresh-2s');
      expect(refreshed.slice(0, -1).every((q) => q.status === 503)).toBe(true);
      expect(refreshed.at(-1)!.status).toBe(200);
      expect(refreshed.length).toBeGreaterThanOrEqual(2);
      // Green only once the 2 s refresh is over, polled no faster than healthPollSeconds.
      expect(refreshed.at(-1)!.at - puts(r.sim, 'refresh-2s')[0]!.at).toBeGreaterThanOrEqual(2000);
      gaps(refreshed).forEach(atLeast(1000));

      const e = entry(r, 'never-green');
      expect(e.outcome).toBe('failed');
      expect(e.reason).toMatch(/^health timeout: still refreshing \(503\) 4 s after the PUT was accepted/);
      const waited = afterPut('never-green');
      expect(waited.every((q) => q.status === 503)).toBe(true);
      expect(waited.at(-1)!.at - puts(r.sim, 'never-green')[0]!.at).toBeGreaterThanOrEqual(3900);
      expect(waited.at(-1)!.at - puts(r.sim, 'never-green')[0]!.at).toBeLessThan(7000);

      expect(entry(r, 'goes-red')).toMatchObject({ outcome: 'failed', reason: 'health red after optimization' });
      for (const id of ['refresh-2s', 'never-green', 'goes-red', 'calm']) expect(statuses(puts(r.sim, id)), id).toEqual([202]);
    },
  },
]);

// ---------------------------------------------------------------------------------------------
// Malformed answers.

/** A list page with `n` generated records (only for dry runs: they have no runtime behind them). */
function hugePage(n: number): Record<string, unknown> {
  const entities = Array.from({ length: n }, (_, i) => {
    const { behaviour: _b, ...record } = index(`bulk-${String(i).padStart(5, '0')}`);
    return record;
  });
  return { entities, pageSize: n, pageNumber: 1, total: n, totalCount: n, pageCount: 1 };
}
const HUGE = 3000;
const HUGE_IDS = Array.from({ length: HUGE }, (_, i) => `bulk-${String(i).padStart(5, '0')}`);

matrix('malformed answers', [
  {
    name: 'malformed records in the list: each skipped "malformed record: <field>", the others optimized',
    scenario: {
      indexes: [
        index('calm-1'),
        index('no-shard-count', {}, { shardCount: undefined }),
        index('replicas-as-text', {}, { replicaCount: 'two' }),
        index('bad-timestamp', {}, { lastRefresh: 'yesterday' }),
        42,
        { name: 'no-id-at-all', shardCount: 1, replicaCount: 1, storageBytes: 1 },
        index('calm-2'),
      ],
    },
    reported: ['calm-1', 'no-shard-count', 'replicas-as-text', 'bad-timestamp', '(no id: record 5 of the listing)', '(no id: record 6 of the listing)', 'calm-2'],
    error: null,
    check: (r) => {
      expect(entry(r, 'no-shard-count')).toMatchObject({ outcome: 'skipped', reason: 'malformed record: entities[1].shardCount must be a non-negative integer, got nothing' });
      expect(entry(r, 'replicas-as-text')).toMatchObject({ outcome: 'skipped', reason: 'malformed record: entities[2].replicaCount must be a non-negative integer, got the string "two"' });
      expect(entry(r, 'bad-timestamp')).toMatchObject({ outcome: 'skipped', reason: 'malformed record: entities[3].lastRefresh must be an ISO-8601 timestamp, got the string "yesterday"' });
      expect(entry(r, '(no id: record 5 of the listing)')).toMatchObject({ outcome: 'skipped', reason: 'malformed record: entities[4] must be an object, got number' });
      expect(entry(r, '(no id: record 6 of the listing)')).toMatchObject({ name: 'no-id-at-all', outcome: 'skipped', reason: 'malformed record: entities[5].id must be a non-empty string, got nothing' });
      for (const id of ['no-shard-count', 'replicas-as-text', 'bad-timestamp']) {
        expect(puts(r.sim, id), id).toHaveLength(0);
        expect(healthReads(r.sim, id), id).toHaveLength(0);
      }
      for (const id of ['calm-1', 'calm-2']) expect(entry(r, id).outcome).toBe('optimized');
      expect(puts(r.sim)).toHaveLength(2);
    },
  },
  {
    name: 'malformed health bodies after the PUT: that index failed naming the field, the others optimized',
    scenario: {
      indexes: [
        index('health-no-status', { faults: { health: [{ body: { diskUsage: 41.5 }, times: -1 }] } }),
        index('health-purple', { faults: { health: [{ body: { status: 'purple' }, times: -1 }] } }),
        index('health-disk-as-text', { faults: { health: [{ body: { status: 'green', diskUsage: 'lots' }, times: -1 }] } }),
        index('health-array', { faults: { health: [{ body: [], times: -1 }] } }),
        index('health-not-json', { faults: { health: [{ body: 'malformed-json', times: -1 }] } }),
        index('calm'),
      ],
    },
    // The run-level stop is not what this row is about: calm (item 5) must be tried whatever order the five failures land in.
    input: { policy: { healthCheckBeforePut: false }, maxConcurrency: 6, safety: { maxFailedShare: 1 } },
    error: { name: 'Run.IndexesFailed', cause: /^5 of 6 indexes failed/ },
    check: (r) => {
      const expected: Array<[string, string]> = [
        ['health-no-status', 'response does not match the contract: status must be one of green, yellow, red, got nothing'],
        ['health-purple', 'response does not match the contract: status must be one of green, yellow, red, got the string "purple"'],
        ['health-disk-as-text', 'response does not match the contract: diskUsage must be a number, got the string "lots"'],
        ['health-array', 'response does not match the contract: body must be an object, got an array'],
        ['health-not-json', 'the 200 response body is not JSON'],
      ];
      for (const [id, why] of expected) {
        expect(entry(r, id).outcome, id).toBe('failed');
        expect(entry(r, id).reason, id).toContain(`GET /api/v2/search/indexes/${id}/health: ${why}`);
        expect(statuses(puts(r.sim, id)), id).toEqual([202]);
        expect(healthReads(r.sim, id), id).toHaveLength(1);
      }
      expect(entry(r, 'calm').outcome).toBe('optimized');
    },
  },
  ...(
    [
      ['entities of the wrong type', { entities: 'none', pageNumber: 1, pageCount: 1 }, /: response does not match the contract: entities must be an array, got the string "none"/],
      ['pageCount missing', { entities: [], pageNumber: 1 }, /: response does not match the contract: pageCount must be a non-negative integer, got nothing/],
      ['pageNumber of the wrong type', { entities: [], pageNumber: '1', pageCount: 1 }, /: response does not match the contract: pageNumber must be a non-negative integer, got the string "1"/],
      ['not JSON', 'malformed-json', /: the 200 response body is not JSON/],
      ['an empty body', 'empty', /: response does not match the contract: body must be an object, got undefined/],
    ] as const
  ).map(([what, body, cause]): Row => ({
    name: `a malformed list page (${what}): the run fails with Genesys.MalformedResponse naming it, no retry, no PUT`,
    scenario: { org: { faults: { list: [{ body, times: -1 }] } }, indexes: [index('a'), index('b')] },
    reported: null,
    error: { name: 'Genesys.MalformedResponse', cause: new RegExp(`^GET /api/v2/search/indexes\\?pageSize=100&pageNumber=1${cause.source}`) },
    check: (r) => expect(statuses(calls(r.sim, 'list'))).toEqual([200]),
  })),
  {
    name: 'an empty org (an empty first page): succeeded with an empty report, no probe, no PUT',
    scenario: { indexes: [] },
    reported: [],
    error: null,
    check: (r) => {
      expect(statuses(calls(r.sim, 'list'))).toEqual([200]);
      expect(calls(r.sim, 'probe')).toHaveLength(0);
      expect(r.result.report!.summary).toEqual({ total: 0, optimized: 0, skipped: 0, failed: 0, planned: 0 });
    },
  },
  {
    name: `a huge page (${HUGE} records where 100 were asked for): every record planned once, dry run`,
    scenario: { org: { faults: { list: [{ body: hugePage(HUGE), times: 1 }] } }, indexes: [] },
    input: { dryRun: true },
    reported: HUGE_IDS,
    error: null,
    check: (r) => {
      expect(statuses(calls(r.sim, 'list'))).toEqual([200]);
      expect(r.result.report!.summary).toMatchObject({ total: HUGE, planned: HUGE });
      expect(r.result.maxPayloadBytes).toBeLessThan(128 * 1024);
    },
  },
  {
    name: 'a page size the server does not cap (ignorePageSizeCap, 250 indexes): three pages of 100, all planned',
    scenario: {
      org: { pageSizeCap: 10, list: { ignorePageSizeCap: true } },
      indexes: Array.from({ length: 250 }, (_, i) => index(`uncapped-${i}`)),
    },
    input: { dryRun: true },
    error: null,
    check: (r) => {
      expect(calls(r.sim, 'list').map((q) => q.pageNumber)).toEqual([1, 2, 3]);
      expect(r.result.report!.summary).toMatchObject({ total: 250, planned: 250 });
    },
  },
  ...([-1, -3, 2] as const).map((offset): Row => {
    const ids = Array.from({ length: 12 }, (_, i) => `paged-${i + 1}`);
    const pages = offset > 0 ? [1, 2, 3, 4] : [1, 2, 3];
    return {
      name: `a pageCount that lies (${offset > 0 ? '+' : ''}${offset}): nextUri and an empty page decide, all 12 optimized (${pages.length} list calls)`,
      scenario: { org: { pageSizeCap: 5, list: { pageCountOffset: offset } }, indexes: ids.map((id) => index(id)) },
      input: { maxConcurrency: 12 },
      error: null,
      check: (r) => {
        expect(calls(r.sim, 'list').map((q) => q.pageNumber)).toEqual(pages);
        for (const id of ids) expect(entry(r, id).outcome, id).toBe('optimized');
        expect(r.result.report!.warnings).toEqual([]);
      },
    };
  }),
  {
    name: 'an index deleted between the list and the PUT (404): failed with the reason, the others optimized',
    scenario: { indexes: [index('gone', { deletedAfterList: true }), index('calm-1'), index('calm-2')] },
    input: { policy: { healthCheckBeforePut: false } },
    error: { name: 'Run.IndexesFailed', cause: /^1 of 3 indexes failed/ },
    check: (r) => {
      expect(entry(r, 'gone')).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/^PUT \/api\/v2\/search\/indexes\/gone: not found \(404\): Index gone was not found/) });
      expect(statuses(puts(r.sim, 'gone'))).toEqual([404]);
      for (const id of ['calm-1', 'calm-2']) expect(entry(r, id).outcome).toBe('optimized');
    },
  },
]);

// ---------------------------------------------------------------------------------------------
// Credentials from Secrets Manager: the stack's secret in the local Secrets Manager endpoint, read
// by the functions through the SDK under their roles' policies.

const secretRow = (name: string, secret: SecretValue, cause: RegExp, extras: Partial<Row> = {}): Row => ({
  name,
  scenario: { indexes: [index('a'), index('b')] },
  target: () => ({ secret }),
  reported: null,
  error: { name: 'Config.Credentials', cause },
  check: (r) => {
    expect(r.sim.requests, 'no Genesys request').toHaveLength(0);
    expect(r.result.invocations).toMatchObject({ fetch: 1, optimize: 0, verify: 0, report: 0, approval: 0 });
    expect(r.result.error!.cause).not.toContain(SECRET);
  },
  ...extras,
});
const SECRET_ARN = /arn:aws:secretsmanager:us-east-1:123456789012:secret:[^ :]+/.source;

matrix('credentials from Secrets Manager', [
  {
    name: 'a good secret: the run reads it (GENESYS_SECRET_ID) once per function, not per invocation, and optimizes',
    scenario: { indexes: [index('a'), index('b'), index('c')] },
    // One index at a time: concurrent first invocations would each read it, as concurrent cold containers do.
    input: { maxConcurrency: 1 },
    error: null,
    check: (r) => {
      for (const id of ['a', 'b', 'c']) expect(entry(r, id).outcome).toBe('optimized');
      // One token per function that calls Genesys, as each has its own containers in Lambda.
      expect(statuses(calls(r.sim, 'token'))).toEqual([200, 200, 200]);
      const reads = Object.entries(r.result.callCounts).filter(([k]) => k.endsWith(' secretsmanager:GetSecretValue'));
      // fetch, optimize and verify each read it once (cached): never validate or report, which hold no credentials.
      expect(reads.map(([k]) => k.split(' ')[0]).sort()).toEqual(['fetch', 'optimize', 'verify']);
      expect(reads.every(([, n]) => n === 1)).toBe(true);
    },
  },
  secretRow('secret missing (ResourceNotFoundException): fails at once with Config.Credentials, no Genesys request',
    { error: { type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." } },
    new RegExp(`^secret ${SECRET_ARN}: not found in Secrets Manager`)),
  secretRow('secret not JSON: fails at once with Config.Credentials, the value never quoted',
    { secretString: `clientId=${CLIENT_ID}\nclientSecret=${SECRET}` },
    new RegExp(`^secret ${SECRET_ARN}: the value is not JSON; expected \\{"clientId": "\\.\\.\\.", "clientSecret": "\\.\\.\\."\\}$`)),
  secretRow('secret without clientSecret: fails at once with Config.Credentials naming the field',
    { secretString: JSON.stringify({ clientId: CLIENT_ID, client_secret: SECRET }) },
    new RegExp(`^secret ${SECRET_ARN}: field clientSecret is missing$`)),
  secretRow('the fetch role without secretsmanager:GetSecretValue: IAM denies it as AWS would, and the run fails at once naming the permission',
    { secretString: JSON.stringify({ clientId: CLIENT_ID, clientSecret: SECRET }) },
    new RegExp(`^secret ${SECRET_ARN}: access denied; the function's role needs secretsmanager:GetSecretValue`),
    {
      iam: (iam) => iam.withoutAction('fetch', 'secretsmanager:GetSecretValue'),
      expectDenials: true,
      target: undefined,
    }),
]);

// ---------------------------------------------------------------------------------------------
// The run-level stop.

const TWELVE = Array.from({ length: 12 }, (_, i) => `bad-${String(i + 1).padStart(2, '0')}`);
const allRejected = { indexes: TWELVE.map((id) => index(id, { faults: { put: [{ status: 400, times: -1, message: 'Validation failed: refreshPolicy on_demand is not allowed' }] } })) };

matrix('the run-level stop (safety)', [
  {
    name: '12 indexes all 400, maxConcurrency 1: the first 5 fail, the other 7 are skipped "run stopped" and never PUT',
    scenario: allRejected,
    input: { maxConcurrency: 1 },
    error: { name: 'Run.IndexesFailed', cause: /^5 of 12 indexes failed\./ },
    check: (r) => {
      for (const id of TWELVE.slice(0, 5)) {
        expect(entry(r, id).outcome, id).toBe('failed');
        expect(statuses(puts(r.sim, id)), id).toEqual([400]);
      }
      for (const id of TWELVE.slice(5)) {
        expect(entry(r, id).outcome, id).toBe('skipped');
        expect(entry(r, id).reason, id).toMatch(/^run stopped: 5 of the 5 indexes started before the stop failed, more than the 50% allowed \(safety\.maxFailedShare\); this index was not started$/);
        expect(puts(r.sim, id), id).toHaveLength(0);
        expect(healthReads(r.sim, id), id).toHaveLength(0);
      }
      expect(r.result.report!.summary).toMatchObject({ failed: 5, skipped: 7 });
    },
  },
  {
    name: 'the same with safety.maxFailedShare 1: none held back, 12 failed after one PUT each',
    scenario: allRejected,
    input: { maxConcurrency: 1, safety: { maxFailedShare: 1 } },
    error: { name: 'Run.IndexesFailed', cause: /^12 of 12 indexes failed\./ },
    check: (r) => {
      for (const id of TWELVE) expect(statuses(puts(r.sim, id)), id).toEqual([400]);
      expect(r.result.report!.summary).toMatchObject({ failed: 12, skipped: 0 });
    },
  },
]);

// ---------------------------------------------------------------------------------------------
// Bad execution input: fails fast, before any Genesys call.

// Under Step Functions' 256 KiB execution input (anything larger never starts: below), over what the input check allows.
const HUGE_ID_LIST = Array.from({ length: 17_000 }, (_, i) => `index-${String(i).padStart(5, '0')}`);
const LONG = 'x'.repeat(200_000);

describe('bad execution input fails fast with Input.Invalid naming the field', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    // wrong types
    ['input not an object', ['dryRun'], /^input: must be a JSON object, got an array$/],
    ['dryRun as a string', { dryRun: 'yes' }, /^dryRun: must be true or false, got the string "yes"$/],
    ['timing as a string', { timing: 'fast' }, /^timing: must be an object, got the string "fast"$/],
    ['policy as an array', { policy: [] }, /^policy: must be an object, got an array$/],
    ['indexIds as a string', { indexIds: 'a' }, /^indexIds: must be an array of index ids, got the string "a"$/],
    ['an index id that is a number', { indexIds: ['a', 7] }, /^indexIds\[1\]: must be a non-empty string, got number 7$/],
    ['maxConcurrency as a string', { maxConcurrency: '5' }, /maxConcurrency: must be a number, got the string "5"$/],
    ['retries.maxAttempts not whole', { retries: { maxAttempts: 2.5 } }, /^retries\.maxAttempts: must be a whole number, got 2\.5$/],
    ['a directive of the wrong type', { directives: { shardOptimization: { forceMerge: 'yes' } } }, /^directives\.shardOptimization\.forceMerge: must be true or false/],
    // unknown fields
    ['an unknown top-level field', { dryrun: true }, /^dryrun: unknown field; allowed here: dryRun, indexIds/],
    ['an unknown nested field', { timing: { settle: 1 } }, /^timing\.settle: unknown field; allowed here: settleSeconds, healthPollSeconds, healthTimeoutSeconds$/],
    ['an unknown directive field', { directives: { shardOptimization: { forcemerge: true } } }, /^directives\.shardOptimization\.forcemerge: unknown field/],
    // negative or absurd timings and limits
    ['a negative settle time', { timing: { settleSeconds: -1 } }, /^timing\.settleSeconds: must be between 0 and 86400, got -1$/],
    ['a zero poll interval', { timing: { healthPollSeconds: 0 } }, /^timing\.healthPollSeconds: must be between 1 and 86400, got 0$/],
    ['an absurd health timeout', { timing: { healthTimeoutSeconds: 1e12 } }, /^timing\.healthTimeoutSeconds: must be between 1 and 86400, got 1000000000000$/],
    ['a health timeout shorter than the poll', { timing: { healthPollSeconds: 60, healthTimeoutSeconds: 30 } }, /^timing\.healthTimeoutSeconds: must be at least timing\.healthPollSeconds \(60\), got 30$/],
    ['a fractional settle time', { timing: { settleSeconds: 0.5 } }, /^timing\.settleSeconds: must be a whole number, got 0\.5$/],
    ['zero attempts', { retries: { maxAttempts: 0 } }, /^retries\.maxAttempts: must be between 1 and 20, got 0$/],
    ['a negative Retry-After bound', { retries: { maxRetryAfterSeconds: -5 } }, /^retries\.maxRetryAfterSeconds: must be between 1 and 3600, got -5$/],
    ['an absurd concurrency', { maxConcurrency: 100_000 }, /maxConcurrency: must be between 1 and 1000, got 100000$/],
    ['a failed share above 1', { safety: { maxFailedShare: 1.5 } }, /^safety\.maxFailedShare: must be between 0 and 1, got 1\.5$/],
    // subsets
    ['an empty index subset', { indexIds: [] }, /^indexIds: is empty; leave it out to optimize every index$/],
    // huge inputs
    [`${HUGE_ID_LIST.length} index ids (${Math.round(JSON.stringify(HUGE_ID_LIST).length / 1024)} KB)`, { indexIds: HUGE_ID_LIST }, /^indexIds: is 232\.5 KiB as JSON \(17000 ids\); at most 200 KiB, because the execution input must fit Step Functions' 256 KiB quota$/],
    ['a 200 KB string as a value', { dryRun: LONG }, /^dryRun: must be true or false, got the string "x{40}…"$/],
    ['a 200 KB index id', { indexIds: [LONG] }, /^indexIds\[0\]: is longer than 200 characters$/],
    ['a 200 KB field name', { [LONG]: true }, /^x{40}…: unknown field; allowed here: dryRun, indexIds/],
  ];

  for (const [what, input, cause] of cases) {
    it(`${what}`, async () => {
      currentLabel = `bad input: ${what}`;
      const sim = await startSim(org({ indexes: [index('a'), index('b')] }));
      const r = await runAgainst(sim, input);
      expect(r.result.status).toBe('FAILED');
      expect(r.result.error?.name).toBe('Input.Invalid');
      expect(r.result.error?.cause).toMatch(cause);
      // A message an operator can read, whatever the size of the input.
      expect(r.result.error!.cause.length).toBeLessThan(400);
      expect(r.sim.requests, 'no Genesys request').toHaveLength(0);
      expect(r.result.report).toBeNull();
      expect(r.result.invocations).toEqual({ fetch: 0, validate: 1, optimize: 0, verify: 0, report: 0, approval: 0 });
    });
  }

  it('an input over 256 KiB: never starts, as StartExecution refuses it, naming its size', async () => {
    currentLabel = 'bad input: over the execution input quota';
    const sim = await startSim(org({ indexes: [index('a')] }));
    const r = await runAgainst(sim, { indexIds: Array.from({ length: 20_000 }, (_, i) => `index-${String(i).padStart(5, '0')}`) });
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('InvalidExecutionInput');
    expect(r.result.error?.cause).toMatch(/^the execution input is \d+ bytes, more than the 262144 bytes Step Functions accepts/);
    expect(r.result.invocations).toEqual({ fetch: 0, validate: 0, optimize: 0, verify: 0, report: 0, approval: 0 });
    expect(r.sim.requests).toHaveLength(0);
  });

  it('an index subset the org does not have: lists, then fails naming the unknown ids, never PUTs', async () => {
    currentLabel = 'bad input: unknown subset';
    const sim = await startSim(org({ indexes: [index('a'), index('b')] }));
    const r = await runAgainst(sim, { indexIds: ['a', 'no-such-index', 'nor-this-one'], timing: FAST, ...UNPACED });
    expect(r.result.status).toBe('FAILED');
    expect(r.result.error?.name).toBe('Input.Invalid');
    expect(r.result.error?.cause).toBe("indexIds: 2 unknown index id(s), not in the org's inventory: no-such-index, nor-this-one");
    expect(new Set(r.sim.requests.map((q) => q.endpoint))).toEqual(new Set(['token', 'list']));
    expect(puts(r.sim)).toHaveLength(0);
    expect(r.result.report).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

describe('secrets never leak', () => {
  it('no log line, event, report, error, output or stored file of any run above holds the secret, its Basic form or a token', () => {
    // Scans every run of this file: all the rows of the matrix and the bad-input cases.
    expect(produced.length, 'runs to scan (run this test with the whole file)').toBeGreaterThanOrEqual(40);
    expect(issuedTokens.length).toBeGreaterThanOrEqual(20);
    const wrongBasic = Buffer.from(`${CLIENT_ID}:${WRONG_SECRET}`).toString('base64');
    const needles: Array<[string, string]> = [
      ['the secret', SECRET],
      ['the Basic credential', BASIC],
      ['the wrong secret', WRONG_SECRET],
      ['the wrong Basic credential', wrongBasic],
      ...issuedTokens.map((t, i) => [`token ${i}`, t] as [string, string]),
    ];
    const leaks = produced.flatMap((p) => findLeaks(p, needles, `[${p.label}] `));
    expect(leaks).toEqual([]);
    const lines = produced.reduce((n, p) => n + p.lines.length, 0);
    console.log(`leak scan: ${produced.length} runs, ${lines} log lines, ${issuedTokens.length} tokens, 0 hits`);
  });
});
