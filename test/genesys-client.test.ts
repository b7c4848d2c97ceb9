// The typed Genesys client (functions/genesys/*) and withGenesysClient, over real HTTP against the
// project's Genesys Cloud simulator on loopback: paging, tokens, the error classes of the
// contract, malformed responses, the latency probe, hosts, Retry-After parsing, credential
// rotation and that no secret or token ever leaves the client in an error or a log record.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseScenario } from '../infra/simulator/scenario.ts';
import { startSimulator } from '../infra/simulator/server.ts';
import type { Endpoint, RecordedRequest, Simulator } from '../infra/simulator/server.ts';
import { GenesysClient, REQUIRED_PERMISSIONS } from '../functions/genesys/client.ts';
import type { GenesysClientOptions, OptimizationDirectives, ResponseInfo } from '../functions/genesys/client.ts';
import {
  CredentialsInvalidError,
  ForbiddenError,
  GenesysError,
  IndexBusyError,
  MalformedResponseError,
  NotFoundError,
  RateLimitedError,
  RejectedError,
  TransientError,
} from '../functions/genesys/errors.ts';
import { RETIRED_TOKENS_KEPT, TOKEN_EXPIRY_MARGIN_MS, TokenCache } from '../functions/genesys/token-cache.ts';
import { DEFAULT_RETRY_AFTER_SECONDS, parseRetryAfter } from '../functions/genesys/retry-after.ts';
import { REDACTED, redact } from '../functions/genesys/redact.ts';
import { InvalidBaseUrlError, REGION_DOMAINS, UnknownRegionError, domainForRegion, resolveHosts } from '../functions/genesys/regions.ts';
import { withGenesysClient } from '../functions/credentials/with-client.ts';
import type { CredentialsSource } from '../functions/credentials/index.ts';

const CLIENT_ID = 'optimizer-client';
const SECRET = 'S3CR3T-do-not-leak-0123456789';

const DIRECTIVES: OptimizationDirectives = {
  refreshPolicy: 'on_demand',
  reindexStrategy: 'async_background',
  shardOptimization: { rebalanceStrategy: 'even_distribution', forceMerge: true, replicaTrigger: true },
  validationRules: { checkDiskUsage: true, checkQueryLatency: true },
};

// ---------------------------------------------------------------------------------------------
// Helpers

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function sim(json: Record<string, unknown> = {}): Promise<Simulator> {
  const s = await startSimulator({
    scenario: parseScenario({ credentials: { clientId: CLIENT_ID, clientSecret: SECRET }, ...json }),
  });
  cleanups.push(() => s.close());
  return s;
}

function record(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `idx-${String(i).padStart(2, '0')}`,
    name: `Index ${i}`,
    type: 'conversation',
    status: 'active',
    shardCount: 5,
    replicaCount: 1,
    maxDocumentCount: 1_000_000,
    storageBytes: 1_000_000 + i,
    lastRefresh: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

function indexes(n: number, behaviour?: Record<string, unknown>): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => record(i + 1, behaviour === undefined ? {} : { behaviour }));
}

function client(s: Simulator | { apiUrl: string; loginUrl: string }, opts: Partial<GenesysClientOptions> = {}): GenesysClient {
  return new GenesysClient({
    hosts: { apiUrl: s.apiUrl, loginUrl: s.loginUrl },
    credentials: { clientId: CLIENT_ID, clientSecret: SECRET },
    tokenCache: new TokenCache(),
    timeoutMs: 2_000,
    ...opts,
  });
}

function calls(s: Simulator, endpoint: Endpoint): RecordedRequest[] {
  return s.requests.filter((r) => r.endpoint === endpoint);
}

function last(s: Simulator, endpoint: Endpoint): RecordedRequest {
  const r = calls(s, endpoint).at(-1);
  if (r === undefined) throw new Error(`no ${endpoint} request was recorded`);
  return r;
}

async function failure<E extends Error>(p: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  let outcome: unknown;
  try {
    outcome = await p;
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    expect(err).toBeInstanceOf(GenesysError);
    return err as E;
  }
  throw new Error(`expected ${type.name}, but the call succeeded with ${JSON.stringify(outcome)}`);
}

/** The correlation id is on the error and in its message, and it is the one the server sent. */
function expectCorrelated(err: GenesysError, s: Simulator, endpoint: Endpoint): void {
  const sent = last(s, endpoint).correlationId;
  expect(sent).toMatch(/^[0-9a-f-]{36}$/);
  expect(err.correlationId).toBe(sent);
  expect(err.message).toContain(`[correlation id ${sent}]`);
  expect(err.toJSON()).toMatchObject({ name: err.name, correlationId: sent });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

describe('listIndexes', () => {
  it('follows every page when the server caps pageSize', async () => {
    const s = await sim({ org: { pageSizeCap: 5 }, indexes: indexes(23) });
    const inv = await client(s, { pageSize: 100 }).listIndexes();
    const lists = calls(s, 'list');
    expect(lists).toHaveLength(5);
    expect(lists.map((r) => r.pageNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(lists.every((r) => r.status === 200)).toBe(true);
    expect(inv.pages).toBe(5);
    expect(inv.records).toHaveLength(23);
    expect(inv.records.map((r) => (r.valid ? r.index.id : '?'))).toEqual(Array.from({ length: 23 }, (_, i) => `idx-${String(i + 1).padStart(2, '0')}`));
    expect(inv.reportedTotal).toBe(23);
    expect(inv.warnings).toEqual([]);
    expect(calls(s, 'token')).toHaveLength(1);
  });

  it('returns whole, typed records', async () => {
    const s = await sim({ indexes: [record(1, { lastRefresh: undefined }), record(2)] });
    const inv = await client(s).listIndexes();
    expect(inv.records).toEqual([
      { valid: true, index: { id: 'idx-01', name: 'Index 1', type: 'conversation', status: 'active', shardCount: 5, replicaCount: 1, maxDocumentCount: 1_000_000, storageBytes: 1_000_001 } },
      { valid: true, index: { id: 'idx-02', name: 'Index 2', type: 'conversation', status: 'active', shardCount: 5, replicaCount: 1, maxDocumentCount: 1_000_000, storageBytes: 1_000_002, lastRefresh: '2026-01-01T00:00:00.000Z' } },
    ]);
    expect(inv.pages).toBe(1);
  });

  it('reports malformed records, naming the field, and keeps the others valid', async () => {
    const { storageBytes: _dropped, ...missingStorage } = record(3);
    const s = await sim({
      indexes: [
        record(1),
        record(2, { shardCount: 'three' }),
        missingStorage,
        42,
        record(5, { lastRefresh: 'last tuesday' }),
        record(6),
      ],
    });
    const inv = await client(s).listIndexes();
    expect(inv.records).toHaveLength(6);
    const [a, b, c, d, e, f] = inv.records;
    expect(a).toMatchObject({ valid: true, index: { id: 'idx-01' } });
    expect(f).toMatchObject({ valid: true, index: { id: 'idx-06' } });
    expect(b).toEqual({ valid: false, id: 'idx-02', name: 'Index 2', problems: ['entities[1].shardCount must be a non-negative integer, got the string "three"'] });
    expect(c).toEqual({ valid: false, id: 'idx-03', name: 'Index 3', problems: ['entities[2].storageBytes must be a non-negative integer, got nothing'] });
    expect(d).toEqual({ valid: false, problems: ['entities[3] must be an object, got number'] });
    expect(e).toMatchObject({ valid: false, id: 'idx-05', problems: [expect.stringContaining('entities[4].lastRefresh must be an ISO-8601 timestamp')] });
  });

  it('collects every problem of one record', async () => {
    const s = await sim({ indexes: [{ name: '', shardCount: -1, replicaCount: 1.5, storageBytes: 1 }] });
    const [only] = (await client(s).listIndexes()).records;
    expect(only?.valid).toBe(false);
    if (only?.valid !== false) return;
    expect(only.id).toBeUndefined();
    expect(only.problems).toEqual([
      'entities[0].id must be a non-empty string, got nothing',
      'entities[0].name must be a non-empty string, got the string ""',
      'entities[0].shardCount must be a non-negative integer, got number',
      'entities[0].replicaCount must be a non-negative integer, got number',
    ]);
  });

  it('does not loop or lose records when pageCount is too high', async () => {
    const s = await sim({ org: { pageSizeCap: 5, list: { pageCountOffset: 1000 } }, indexes: indexes(23) });
    const inv = await client(s).listIndexes();
    expect(inv.records).toHaveLength(23);
    expect(inv.records.map((r) => (r.valid ? r.index.id : '?')).at(-1)).toBe('idx-23');
    // At most one request past the true last page (which has no nextUri), answered by an empty page.
    expect(calls(s, 'list').length).toBeGreaterThanOrEqual(5);
    expect(calls(s, 'list').length).toBeLessThanOrEqual(6);
    expect(inv.warnings).toEqual([]);
  });

  it('does not lose records when pageCount is too low', async () => {
    const s = await sim({ org: { pageSizeCap: 5, list: { pageCountOffset: -2 } }, indexes: indexes(23) });
    const inv = await client(s).listIndexes();
    expect(calls(s, 'list').map((r) => r.pageNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(inv.records).toHaveLength(23);
    expect(inv.warnings).toEqual([]);
  });

  it('keeps the first of two records with the same id and warns', async () => {
    const scenario = parseScenario({ credentials: { clientId: CLIENT_ID, clientSecret: SECRET }, org: { pageSizeCap: 2 }, indexes: indexes(3) });
    const first = scenario.indexes[0];
    if (first === undefined) throw new Error('no index');
    scenario.indexes.push({ ...first, record: { ...(first.record as object), name: 'the duplicate' } });
    const s = await startSimulator({ scenario });
    cleanups.push(() => s.close());
    const inv = await client(s).listIndexes();
    expect(calls(s, 'list')).toHaveLength(2);
    expect(inv.records.map((r) => (r.valid ? `${r.index.id}:${r.index.name}` : '?'))).toEqual(['idx-01:Index 1', 'idx-02:Index 2', 'idx-03:Index 3']);
    expect(inv.warnings).toEqual([
      expect.stringMatching(/^index idx-01 was listed twice .*page 2.*; kept the first$/),
      'the server reported 4 indexes but listed 3',
    ]);
  });

  it('lists an empty org with one request', async () => {
    const s = await sim({});
    const inv = await client(s).listIndexes();
    expect(inv).toEqual({ records: [], pages: 1, reportedTotal: 0, warnings: [] });
    expect(calls(s, 'list')).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tokens', () => {
  it('sends Basic auth and the form body the login service accepts, and one token serves many calls', async () => {
    const s = await sim({ indexes: indexes(2) });
    const c = client(s);
    await c.listIndexes();
    await c.putOptimization('idx-01', DIRECTIVES);
    await c.getHealth('idx-01');
    await c.probeQueryLatency();
    await c.listIndexes();
    expect(calls(s, 'token')).toEqual([expect.objectContaining({ method: 'POST', path: '/oauth/token', status: 200 })]);
    expect(s.requests.filter((r) => r.endpoint !== 'token').map((r) => [r.endpoint, r.status])).toEqual([
      ['list', 200],
      ['put', 202],
      ['health', 503],
      ['probe', 200],
      ['list', 200],
    ]);
  });

  it('shares one token request between concurrent callers on a cold cache', async () => {
    const s = await sim({ org: { faults: { token: [{ delayMs: 50 }] } }, indexes: indexes(3) });
    const c = client(s);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? c.listIndexes() : c.getHealth('idx-02'))));
    expect(results).toHaveLength(10);
    expect(calls(s, 'token')).toHaveLength(1);
    expect(calls(s, 'list')).toHaveLength(5);
    expect(calls(s, 'health')).toHaveLength(5);
  });

  it('fetches a new token within 60 s of expiry, reading expires_in from the response', async () => {
    expect(TOKEN_EXPIRY_MARGIN_MS).toBe(60_000);
    const s = await sim({ org: { tokenLifetimeSeconds: 300 } });
    let now = 1_000_000;
    const c = client(s, { tokenCache: new TokenCache(() => now) });
    await c.listIndexes();
    expect(calls(s, 'token')).toHaveLength(1);
    now += 240_000 - 1; // 60 s + 1 ms before expiry: still good
    await c.listIndexes();
    expect(calls(s, 'token')).toHaveLength(1);
    now += 1; // exactly 60 s before expiry: renewed
    await c.listIndexes();
    expect(calls(s, 'token')).toHaveLength(2);
    await c.listIndexes();
    expect(calls(s, 'token')).toHaveLength(2);
    expect(calls(s, 'list').every((r) => r.status === 200)).toBe(true);
  });

  it('a token of 61 s is good for one second only', async () => {
    const s = await sim({ org: { tokenLifetimeSeconds: 61 } });
    let now = 0;
    const c = client(s, { tokenCache: new TokenCache(() => now) });
    await c.listIndexes();
    now = 999;
    await c.listIndexes();
    expect(calls(s, 'token')).toHaveLength(1);
    now = 1_000;
    await c.listIndexes();
    expect(calls(s, 'token')).toHaveLength(2);
  });

  it('on a 401 fetches exactly one new token and repeats the call once', async () => {
    const s = await sim({ org: { revokeTokenAfterUses: 1 }, indexes: indexes(1) });
    const c = client(s);
    await c.listIndexes();
    const reading = await c.getHealth('idx-01');
    expect(reading).toMatchObject({ state: 'reported', health: { status: 'green' } });
    expect(calls(s, 'token')).toHaveLength(2);
    expect(s.requests.map((r) => `${r.endpoint}:${r.status}`)).toEqual(['token:200', 'list:200', 'health:401', 'token:200', 'health:200']);
  });

  it('a second 401 is CredentialsInvalid', async () => {
    const s = await sim({ org: { faults: { list: [{ status: 401, times: 2 }] } } });
    const err = await failure(client(s).listIndexes(), CredentialsInvalidError);
    expect(err.name).toBe('Genesys.CredentialsInvalid');
    expect(err.status).toBe(401);
    expect(err.endpoint).toBe('GET /api/v2/search/indexes?pageSize=100&pageNumber=1');
    expect(err.message).toMatch(/freshly issued access token was refused \(401\)/);
    expectCorrelated(err, s, 'list');
    expect(calls(s, 'token')).toHaveLength(2);
    expect(calls(s, 'list')).toHaveLength(2);
  });

  it('bad credentials at the login service are CredentialsInvalid, and no API call is made', async () => {
    const s = await sim({});
    const err = await failure(client(s, { credentials: { clientId: CLIENT_ID, clientSecret: 'wrong-secret-value' } }).listIndexes(), CredentialsInvalidError);
    expect(err.name).toBe('Genesys.CredentialsInvalid');
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_client');
    expect(err.endpoint).toBe('POST /oauth/token');
    expect(err.message).toMatch(/refused the OAuth client credentials \(401: Invalid client credentials\)/);
    expectCorrelated(err, s, 'token');
    expect(calls(s, 'list')).toHaveLength(0);
  });

  it('a 400 from the login service is CredentialsInvalid too', async () => {
    const s = await sim({ org: { faults: { token: [{ status: 400, message: 'client is disabled' }] } } });
    const err = await failure(client(s).listIndexes(), CredentialsInvalidError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('client is disabled');
  });

  it('a 500 from the login service is Transient, and the next call fetches again', async () => {
    const s = await sim({ org: { faults: { token: [{ status: 500 }] } } });
    const c = client(s);
    const err = await failure(c.listIndexes(), TransientError);
    expect(err.name).toBe('Genesys.Transient');
    expect(err.status).toBe(500);
    expect(err.endpoint).toBe('POST /oauth/token');
    expectCorrelated(err, s, 'token');
    await c.listIndexes();
    expect(calls(s, 'token').map((r) => r.status)).toEqual([500, 200]);
  });

  it('a 429 from the login service is RateLimited', async () => {
    const s = await sim({ org: { faults: { token: [{ status: 429, retryAfterSeconds: 9 }] } } });
    const err = await failure(client(s).listIndexes(), RateLimitedError);
    expect(err.retryAfterSeconds).toBe(9);
  });

  it('a slow login service is a Transient timeout', async () => {
    const s = await sim({ org: { faults: { token: [{ delayMs: 600 }] } } });
    const started = Date.now();
    const err = await failure(client(s, { timeoutMs: 150 }).listIndexes(), TransientError);
    expect(Date.now() - started).toBeLessThan(500);
    expect(err.message).toMatch(/no response within 150 ms \(timeout\)/);
    expect(err.endpoint).toBe('POST /oauth/token');
    expect(err.correlationId).toBeUndefined();
    expect(calls(s, 'list')).toHaveLength(0);
  });

  it('token bodies that break the contract are MalformedResponse', async () => {
    const s = await sim({
      org: {
        faults: {
          token: [
            { status: 200, body: { token_type: 'bearer', expires_in: 3600 } },
            { status: 200, body: { access_token: 'abc-def-ghi-jkl', token_type: 'mac', expires_in: 3600 } },
            { status: 200, body: { access_token: 'abc-def-ghi-jkl', token_type: 'bearer' } },
            { status: 200, body: 'malformed-json' },
          ],
        },
      },
    });
    const c = client(s);
    const missing = await failure(c.listIndexes(), MalformedResponseError);
    expect(missing.name).toBe('Genesys.MalformedResponse');
    expect(missing.message).toContain('access_token must be a non-empty string');
    expectCorrelated(missing, s, 'token');
    expect((await failure(c.listIndexes(), MalformedResponseError)).message).toContain('token_type must be "bearer"');
    expect((await failure(c.listIndexes(), MalformedResponseError)).message).toContain('expires_in must be a positive number');
    expect((await failure(c.listIndexes(), MalformedResponseError)).message).toContain('not JSON');
    expect(calls(s, 'list')).toHaveLength(0);
  });

  it('accepts token_type in any case', async () => {
    // The first grant is a token the API does not know: a 401, one new (real) token, one retry.
    const s = await sim({ org: { faults: { token: [{ status: 200, body: { access_token: 'not-issued-by-the-sim', token_type: 'BEARER', expires_in: 3600 } }] } } });
    await client(s).listIndexes();
    expect(s.requests.map((r) => `${r.endpoint}:${r.status}`)).toEqual(['token:200', 'list:401', 'token:200', 'list:200']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('errors', () => {
  it('429 on PUT honours Retry-After', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { put: [{ status: 429, retryAfterSeconds: 7 }] } }) });
    const err = await failure(client(s).putOptimization('idx-01', DIRECTIVES), RateLimitedError);
    expect(err.name).toBe('Genesys.RateLimited');
    expect(err.retryAfterSeconds).toBe(7);
    expect(err.status).toBe(429);
    expect(err.code).toBe('too.many.requests.retry.after');
    expect(err.endpoint).toBe('PUT /api/v2/search/indexes/idx-01');
    expect(err.message).toMatch(/retry after 7 s/);
    expect(err.toJSON()).toMatchObject({ retryAfterSeconds: 7, status: 429 });
    expectCorrelated(err, s, 'put');
  });

  it('prefers the Retry-After header to the number in the message', async () => {
    const s = await sim({
      indexes: indexes(1, { faults: { put: [{ status: 429, retryAfterSeconds: 7, message: 'Rate limit exceeded the maximum. Retry the request in [42] seconds' }] } }),
    });
    const err = await failure(client(s).putOptimization('idx-01', DIRECTIVES), RateLimitedError);
    expect(err.retryAfterSeconds).toBe(7);
    expect(err.message).toContain('Retry the request in [42] seconds');
  });

  it('the org rate limit is RateLimited with a wait inside the window', async () => {
    const s = await sim({ org: { rateLimitPerMinute: 2 } });
    const c = client(s);
    await c.listIndexes();
    await c.listIndexes();
    const err = await failure(c.listIndexes(), RateLimitedError);
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(err.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(err.message).toMatch(/Rate limit exceeded the maximum/);
    expectCorrelated(err, s, 'list');
    expect(calls(s, 'list').map((r) => r.status)).toEqual([200, 200, 429]);
  });

  for (const status of [500, 502, 504]) {
    it(`${status} is Transient (PUT, list, probe, health)`, async () => {
      const s = await sim({
        org: { faults: { list: [{ status }], probe: [{ status }] } },
        indexes: indexes(1, { faults: { put: [{ status }], health: [{ status }] } }),
      });
      const c = client(s);
      const cases: Array<[() => Promise<unknown>, Endpoint]> = [
        [() => c.putOptimization('idx-01', DIRECTIVES), 'put'],
        [() => c.listIndexes(), 'list'],
        [() => c.probeQueryLatency(), 'probe'],
        [() => c.getHealth('idx-01'), 'health'],
      ];
      for (const [call, endpoint] of cases) {
        const err = await failure(call(), TransientError);
        expect(err.name).toBe('Genesys.Transient');
        expect(err.status).toBe(status);
        expect(err.message).toContain(`server error (${status})`);
        expectCorrelated(err, s, endpoint);
      }
    });
  }

  it('a socket reset is a Transient network error', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { put: [{ reset: true }] } }) });
    const c = client(s);
    await c.listIndexes(); // the token is fetched and the connection is warm
    const err = await failure(c.putOptimization('idx-01', DIRECTIVES), TransientError);
    expect(err.message).toMatch(/network error/);
    expect(err.endpoint).toBe('PUT /api/v2/search/indexes/idx-01');
    expect(err.status).toBeUndefined();
    expect(err.correlationId).toBeUndefined();
    expect(calls(s, 'put').map((r) => r.status)).toEqual([0]);
    expect(s.indexState('idx-01')?.acceptedPutCount).toBe(0);
  });

  it('a refused connection is a Transient network error', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${port}`;
    const err = await failure(client({ apiUrl: url, loginUrl: url }).listIndexes(), TransientError);
    expect(err.message).toMatch(/network error: ECONNREFUSED/);
    expect(err.endpoint).toBe('POST /oauth/token');
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('a slow API call is a Transient timeout', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { health: [{ delayMs: 600 }] } }) });
    const c = client(s, { timeoutMs: 200 });
    await c.listIndexes();
    const started = Date.now();
    const err = await failure(c.getHealth('idx-01'), TransientError);
    expect(Date.now() - started).toBeLessThan(550);
    expect(err.message).toMatch(/no response within 200 ms \(timeout\)/);
    expect(err.endpoint).toBe('GET /api/v2/search/indexes/idx-01/health');
  });

  it('400 is Rejected and keeps Genesys\' message', async () => {
    const s = await sim({ indexes: indexes(1) });
    const err = await failure(client(s).putOptimization('idx-01', { ...DIRECTIVES, refreshPolicy: '' }), RejectedError);
    expect(err.name).toBe('Genesys.Rejected');
    expect(err.status).toBe(400);
    expect(err.code).toBe('bad.request');
    expect(err.message).toContain('rejected (400): refreshPolicy must be a non-empty string');
    expectCorrelated(err, s, 'put');
    expect(s.indexState('idx-01')?.acceptedPutCount).toBe(0);
  });

  it('a long Genesys message is bounded', async () => {
    const long = `Validation failed: ${'x'.repeat(1000)}`;
    const s = await sim({ indexes: indexes(1, { faults: { put: [{ status: 400, message: long }] } }) });
    const err = await failure(client(s).putOptimization('idx-01', DIRECTIVES), RejectedError);
    expect(err.message).toContain('Validation failed: xxx');
    expect(err.message.length).toBeLessThan(500);
  });

  it('409 is Rejected', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { put: [{ status: 409, message: 'Index idx-01 was modified concurrently' }] } }) });
    const err = await failure(client(s).putOptimization('idx-01', DIRECTIVES), RejectedError);
    expect(err.status).toBe(409);
    expect(err.code).toBe('conflict');
    expect(err.message).toContain('rejected (409): Index idx-01 was modified concurrently');
    expectCorrelated(err, s, 'put');
  });

  const forbidden: Array<[string, Endpoint, (c: GenesysClient) => Promise<unknown>]> = [
    ['search:write', 'put', (c) => c.putOptimization('idx-01', DIRECTIVES)],
    ['analytics:conversationDetail:view', 'probe', (c) => c.probeQueryLatency()],
    ['search:read', 'list', (c) => c.listIndexes()],
    ['search:read', 'health', (c) => c.getHealth('idx-01')],
  ];
  for (const [permission, endpoint, call] of forbidden) {
    it(`403 on ${endpoint} is Forbidden, naming ${permission}`, async () => {
      const s = await sim({ org: { deniedPermissions: [permission] }, indexes: indexes(1) });
      const err = await failure(call(client(s)), ForbiddenError);
      expect(err.name).toBe('Genesys.Forbidden');
      expect(err.permission).toBe(permission);
      expect(REQUIRED_PERMISSIONS[endpoint as keyof typeof REQUIRED_PERMISSIONS]).toBe(permission);
      expect(err.message).toContain(`the OAuth client's role lacks the permission ${permission}`);
      expect(err.status).toBe(403);
      expect(err.code).toBe('missing.permissions');
      expect(err.toJSON()).toMatchObject({ permission });
      expectCorrelated(err, s, endpoint);
    });
  }

  it('an unknown index is NotFound, for PUT and health', async () => {
    const s = await sim({ indexes: indexes(1) });
    const c = client(s);
    const put = await failure(c.putOptimization('idx-missing', DIRECTIVES), NotFoundError);
    expect(put.name).toBe('Genesys.NotFound');
    expect(put.status).toBe(404);
    expect(put.message).toContain('Index idx-missing was not found');
    expectCorrelated(put, s, 'put');
    const health = await failure(c.getHealth('idx-missing'), NotFoundError);
    expect(health.endpoint).toBe('GET /api/v2/search/indexes/idx-missing/health');
    expectCorrelated(health, s, 'health');
  });

  it('an index deleted after the listing is NotFound', async () => {
    const s = await sim({ indexes: indexes(1, { deletedAfterList: true }) });
    const c = client(s);
    expect((await c.listIndexes()).records).toHaveLength(1);
    await failure(c.putOptimization('idx-01', DIRECTIVES), NotFoundError);
  });

  it('PUT 503 is IndexBusy: a fault, and a second PUT while the first refresh runs', async () => {
    const s = await sim({ indexes: [record(1, { behaviour: { faults: { put: [{ status: 503 }] } } }), record(2, { behaviour: { refreshSeconds: 30 } })] });
    const c = client(s);
    const faulted = await failure(c.putOptimization('idx-01', DIRECTIVES), IndexBusyError);
    expect(faulted.name).toBe('Genesys.IndexBusy');
    expect(faulted.status).toBe(503);
    expectCorrelated(faulted, s, 'put');
    expect(await c.putOptimization('idx-02', DIRECTIVES)).toMatchObject({ status: 202 });
    const busy = await failure(c.putOptimization('idx-02', DIRECTIVES), IndexBusyError);
    expect(busy.message).toContain('Index idx-02 is refreshing');
    expectCorrelated(busy, s, 'put');
    expect(s.indexState('idx-02')?.acceptedPutCount).toBe(1);
  });

  it('carries the correlation id of successful calls too', async () => {
    const s = await sim({ indexes: indexes(1) });
    const c = client(s);
    const put = await c.putOptimization('idx-01', DIRECTIVES);
    expect(put.correlationId).toBe(last(s, 'put').correlationId);
    const page = await c.listIndexPage(1);
    expect(page.correlationId).toBe(last(s, 'list').correlationId);
  });
});

// ---------------------------------------------------------------------------------------------

describe('putOptimization and health', () => {
  it('PUTs the directives as JSON and the index refreshes, then reports green', async () => {
    const s = await sim({ indexes: indexes(1, { refreshSeconds: 0.3, health: { status: 'yellow', diskUsage: 50, queryLatencyMs: 100 } }) });
    const c = client(s);
    const before = await c.getHealth('idx-01');
    expect(before).toMatchObject({ state: 'reported', health: { status: 'yellow', diskUsage: 50, queryLatencyMs: 100 } });
    const put = await c.putOptimization('idx-01', DIRECTIVES);
    expect(put.status).toBe(202);
    expect(s.indexState('idx-01')?.lastDirectives).toEqual(DIRECTIVES);
    const during = await c.getHealth('idx-01');
    expect(during).toEqual({ state: 'refreshing', correlationId: last(s, 'health').correlationId });
    expect(last(s, 'health').status).toBe(503);
    await sleep(350);
    const after = await c.getHealth('idx-01');
    expect(after).toEqual({
      state: 'reported',
      health: { status: 'green', diskUsage: 46, queryLatencyMs: 75, shardStatus: 'all primary and replica shards allocated' },
      correlationId: last(s, 'health').correlationId,
    });
  });

  it('a health 200 "yellow" while refreshing is a reading, not "refreshing"', async () => {
    const s = await sim({ indexes: indexes(1, { refreshSeconds: 30, refreshingHealth: 'yellow' }) });
    const c = client(s);
    await c.putOptimization('idx-01', DIRECTIVES);
    expect(await c.getHealth('idx-01')).toMatchObject({ state: 'reported', health: { status: 'yellow', shardStatus: 'shards relocating: refresh in progress' } });
  });

  it('a health 503 fault reads as refreshing', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { health: [{ status: 503, body: 'malformed-json' }] } }) });
    const c = client(s);
    expect(await c.getHealth('idx-01')).toMatchObject({ state: 'refreshing' });
    expect(await c.getHealth('idx-01')).toMatchObject({ state: 'reported', health: { status: 'green' } });
  });

  it('encodes index ids in the path', async () => {
    const s = await sim({ indexes: [record(1, { id: 'idx a/b?c' })] });
    const c = client(s);
    expect((await c.putOptimization('idx a/b?c', DIRECTIVES)).status).toBe(202);
    expect(last(s, 'put').indexId).toBe('idx a/b?c');
    expect(s.indexState('idx a/b?c')?.lastDirectives).toEqual(DIRECTIVES);
  });

  it('a 2xx PUT whose body is not JSON is still accepted (the body is not used)', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { put: [{ status: 200, body: 'malformed-json' }, { status: 204 }] } }) });
    const c = client(s);
    expect(await c.putOptimization('idx-01', DIRECTIVES)).toMatchObject({ status: 200 });
    expect(await c.putOptimization('idx-01', DIRECTIVES)).toMatchObject({ status: 204 });
  });
});

// ---------------------------------------------------------------------------------------------

describe('malformed responses', () => {
  it('health body that is not JSON', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { health: [{ status: 200, body: 'malformed-json' }] } }) });
    const err = await failure(client(s).getHealth('idx-01'), MalformedResponseError);
    expect(err.name).toBe('Genesys.MalformedResponse');
    expect(err.status).toBe(200);
    expect(err.message).toContain('not JSON');
    expectCorrelated(err, s, 'health');
  });

  it('health status outside green/yellow/red names status', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { health: [{ status: 200, body: { status: 'purple', diskUsage: 1 } }, { body: { status: 'green', diskUsage: 'lots' } }] } }) });
    const c = client(s);
    const err = await failure(c.getHealth('idx-01'), MalformedResponseError);
    expect(err.message).toContain('status must be one of green, yellow, red, got the string "purple"');
    expectCorrelated(err, s, 'health');
    expect((await failure(c.getHealth('idx-01'), MalformedResponseError)).message).toContain('diskUsage must be a number');
  });

  it('health status in upper case is accepted', async () => {
    const s = await sim({ indexes: indexes(1, { faults: { health: [{ body: { status: 'GREEN' } }] } }) });
    expect(await client(s).getHealth('idx-01')).toMatchObject({ state: 'reported', health: { status: 'green' } });
  });

  it('list bodies that break the contract name the field', async () => {
    const s = await sim({
      org: {
        faults: {
          list: [
            { body: { entities: 'x', pageNumber: 1, pageCount: 1 } },
            { body: { entities: [], pageCount: 1 } },
            { body: { entities: [], pageNumber: 2, pageCount: 3 } },
            { body: 'empty' },
            { body: 'malformed-json' },
          ],
        },
      },
    });
    const c = client(s);
    const entities = await failure(c.listIndexes(), MalformedResponseError);
    expect(entities.message).toContain('entities must be an array, got the string "x"');
    expectCorrelated(entities, s, 'list');
    expect((await failure(c.listIndexes(), MalformedResponseError)).message).toContain('pageNumber must be a non-negative integer, got nothing');
    expect((await failure(c.listIndexes(), MalformedResponseError)).message).toContain('pageNumber is 2, expected 1');
    expect((await failure(c.listIndexes(), MalformedResponseError)).message).toContain('body must be an object');
    expect((await failure(c.listIndexes(), MalformedResponseError)).message).toContain('not JSON');
  });
});

// ---------------------------------------------------------------------------------------------

describe('probeQueryLatency', () => {
  it('sends a body the analytics API accepts and times the query alone', async () => {
    const s = await sim({ org: { probeLatencyMs: 60, faults: { token: [{ delayMs: 250 }] } } });
    const probe = await client(s).probeQueryLatency(new Date('2026-11-23T15:30:00Z'));
    expect(calls(s, 'probe').map((r) => r.status)).toEqual([200]);
    expect(probe.latencyMs).toBeGreaterThan(50);
    // The slow token fetch (250 ms) is not part of the measurement.
    expect(probe.latencyMs).toBeLessThan(240);
    expect(probe.throughputRate).toBeCloseTo(1000 / (probe.latencyMs + 0.1), 10);
    expect(probe.correlationId).toBe(last(s, 'probe').correlationId);
    expect(calls(s, 'token')).toHaveLength(1);
  });

  it('a 2xx probe body that is not JSON does not spoil the measurement', async () => {
    const s = await sim({ org: { faults: { probe: [{ status: 200, body: 'malformed-json' }] } } });
    const probe = await client(s).probeQueryLatency();
    expect(probe.latencyMs).toBeGreaterThanOrEqual(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('hosts', () => {
  it('accepts every domain and every AWS-style name of the contract table', () => {
    expect(Object.keys(REGION_DOMAINS)).toHaveLength(17);
    for (const [aws, domain] of Object.entries(REGION_DOMAINS)) {
      expect(domainForRegion(aws)).toBe(domain);
      expect(domainForRegion(domain)).toBe(domain);
    }
    expect(resolveHosts({ region: 'mypurecloud.ie' })).toEqual({ apiUrl: 'https://api.mypurecloud.ie', loginUrl: 'https://login.mypurecloud.ie' });
    expect(resolveHosts({ region: ' EU-Central-1 ' })).toEqual({ apiUrl: 'https://api.mypurecloud.de', loginUrl: 'https://login.mypurecloud.de' });
    expect(resolveHosts({ region: 'us-east-2' }).loginUrl).toBe('https://login.use2.us-gov-pure.cloud');
    expect(resolveHosts({ region: 'ap-southeast-2' }).apiUrl).toBe('https://api.mypurecloud.com.au');
  });

  it('an unknown region lists the known ones', () => {
    let err: unknown;
    try {
      resolveHosts({ region: 'mars-1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnknownRegionError);
    const e = err as UnknownRegionError;
    expect(e.name).toBe('Config.UnknownRegion');
    expect(e.message).toContain('unknown Genesys Cloud region "mars-1"');
    expect(e.message).toContain('mypurecloud.com (us-east-1)');
    expect(e.message).toContain('mec1.pure.cloud (me-central-1)');
    expect(e.message).toContain('apiUrl and loginUrl');
  });

  it('normalises explicit base URLs and refuses bad ones', () => {
    expect(resolveHosts({ apiUrl: 'http://127.0.0.1:8080/', loginUrl: 'https://login.example.test//' })).toEqual({
      apiUrl: 'http://127.0.0.1:8080',
      loginUrl: 'https://login.example.test',
    });
    expect(resolveHosts({ apiUrl: 'https://proxy.example/genesys/', loginUrl: 'https://proxy.example/login' }).apiUrl).toBe('https://proxy.example/genesys');
    const bad = (apiUrl: string) => () => resolveHosts({ apiUrl, loginUrl: 'https://login.example.test' });
    expect(bad('api.example.test')).toThrow(InvalidBaseUrlError);
    expect(bad('ftp://api.example.test')).toThrow(/must be an http\(s\) URL/);
    expect(bad('https://api.example.test/?x=1')).toThrow(/without credentials, query or fragment/);
    expect(bad('https://user:pw@api.example.test')).toThrow(/without credentials/);
    expect(bad('not a url')).toThrow(/apiUrl: "not a url" is not an absolute URL/);
  });

  it('accepts plain http only to a loopback host', () => {
    for (const url of ['http://127.0.0.1:8080', 'http://127.255.0.1', 'http://localhost:3000', 'http://[::1]:9']) {
      expect(resolveHosts({ apiUrl: url, loginUrl: url }).apiUrl).toBe(url);
    }
    const http = (apiUrl: string, loginUrl: string) => () => resolveHosts({ apiUrl, loginUrl });
    expect(http('http://api.example.test', 'https://login.example.test')).toThrow(InvalidBaseUrlError);
    expect(http('http://api.example.test', 'https://login.example.test')).toThrow(/^apiUrl: plain http to api\.example\.test would send the access tokens in clear; use https/);
    expect(http('https://api.example.test', 'http://192.168.1.5:8080/login')).toThrow(/^loginUrl: plain http to 192\.168\.1\.5:8080 would send the OAuth client secret in clear/);
    expect(http('http://128.0.0.1', 'https://login.example.test')).toThrow(/^apiUrl: plain http/);
    // The error names what is configured wrong, under the name the operator configured it by.
    expect(() => resolveHosts({ apiUrl: 'http://api.example.test', loginUrl: 'https://l.example.test' }, { apiUrl: 'GENESYS_API_URL', loginUrl: 'GENESYS_LOGIN_URL' })).toThrow(/^GENESYS_API_URL: plain http/);
  });

  it('a client on explicit URLs with a trailing slash reaches the simulator', async () => {
    const s = await sim({ indexes: indexes(1) });
    const hosts = resolveHosts({ apiUrl: `${s.apiUrl}/`, loginUrl: `${s.loginUrl}/` });
    expect((await client(hosts).listIndexes()).records).toHaveLength(1);
    expect(calls(s, 'list')[0]?.path).toBe('/api/v2/search/indexes');
  });
});

// ---------------------------------------------------------------------------------------------

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const h = (init: Record<string, string>) => new Headers(init);
  it('reads header seconds, rounding up, at least 1', () => {
    expect(parseRetryAfter(h({ 'Retry-After': '7' }), undefined, now)).toBe(7);
    expect(parseRetryAfter(h({ 'retry-after': ' 2.2 ' }), undefined, now)).toBe(3);
    expect(parseRetryAfter(h({ 'Retry-After': '0' }), undefined, now)).toBe(1);
  });
  it('reads an HTTP-date', () => {
    expect(parseRetryAfter(h({ 'Retry-After': new Date(now + 30_000).toUTCString() }), undefined, now)).toBe(30);
    expect(parseRetryAfter(h({ 'Retry-After': new Date(now - 30_000).toUTCString() }), undefined, now)).toBe(1);
  });
  it('falls back to the "[42]" in the body, then to inin-ratelimit-reset, then to the default', () => {
    const body = { message: 'Rate limit exceeded the maximum. Retry the request in [42] seconds', status: 429 };
    expect(parseRetryAfter(h({}), body, now)).toBe(42);
    expect(parseRetryAfter(h({ 'Retry-After': 'soon' }), body, now)).toBe(42);
    expect(parseRetryAfter(h({ 'inin-ratelimit-reset': '13' }), body, now)).toBe(42);
    expect(parseRetryAfter(h({ 'inin-ratelimit-reset': '13' }), { message: 'slow down' }, now)).toBe(13);
    expect(parseRetryAfter(h({ 'inin-ratelimit-reset': '12.1' }), undefined, now)).toBe(13);
    expect(parseRetryAfter(h({}), { message: 'slow down' }, now)).toBe(DEFAULT_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter(h({}), 'not an object', now)).toBe(60);
  });
});

describe('redact', () => {
  it('replaces long secrets everywhere and leaves short values alone', () => {
    expect(redact(`a ${SECRET} b ${SECRET}`, [SECRET, undefined])).toBe(`a ${REDACTED} b ${REDACTED}`);
    expect(redact('the id is abc', ['abc'])).toBe('the id is abc');
  });
});

// ---------------------------------------------------------------------------------------------

describe('withGenesysClient', () => {
  const OLD = 'old-secret-0000000000';
  const NEW = 'new-secret-1111111111';

  function source(s: Simulator, rotated: boolean): CredentialsSource & { loads: Array<{ fresh?: boolean } | undefined> } {
    const loads: Array<{ fresh?: boolean } | undefined> = [];
    return {
      loads,
      load: async (options) => {
        loads.push(options);
        return {
          hosts: { apiUrl: s.apiUrl, loginUrl: s.loginUrl },
          credentials: { clientId: CLIENT_ID, clientSecret: rotated && options?.fresh ? NEW : OLD },
        };
      },
    };
  }

  it('re-reads the credentials fresh after CredentialsInvalid and retries once with the rotated ones', async () => {
    const s = await sim({ credentials: { clientId: CLIENT_ID, clientSecret: NEW }, indexes: indexes(2) });
    const src = source(s, true);
    let runs = 0;
    const inv = await withGenesysClient(src, { tokenCache: new TokenCache() }, (c) => {
      runs++;
      return c.listIndexes();
    });
    expect(inv.records).toHaveLength(2);
    expect(runs).toBe(2);
    expect(src.loads).toEqual([undefined, { fresh: true }]);
    expect(calls(s, 'token').map((r) => r.status)).toEqual([401, 200]);
  });

  it('without rotation the refusal stands', async () => {
    const s = await sim({ credentials: { clientId: CLIENT_ID, clientSecret: NEW } });
    const src = source(s, false);
    let runs = 0;
    const err = await failure(
      withGenesysClient(src, { tokenCache: new TokenCache() }, (c) => {
        runs++;
        return c.listIndexes();
      }),
      CredentialsInvalidError,
    );
    expect(err.name).toBe('Genesys.CredentialsInvalid');
    expect(runs).toBe(1);
    expect(src.loads).toEqual([undefined, { fresh: true }]);
    expect(calls(s, 'token')).toHaveLength(1);
  });

  it('other errors are not a reason to re-read the secret', async () => {
    const s = await sim({ credentials: { clientId: CLIENT_ID, clientSecret: OLD } });
    const src = source(s, true);
    await failure(withGenesysClient(src, { tokenCache: new TokenCache() }, (c) => c.getHealth('nope')), NotFoundError);
    expect(src.loads).toEqual([undefined]);
  });

  it('the rotated attempt that fails again fails with its own error', async () => {
    const s = await sim({ credentials: { clientId: CLIENT_ID, clientSecret: NEW }, org: { deniedPermissions: ['search:read'] } });
    const src = source(s, true);
    const err = await failure(withGenesysClient(src, { tokenCache: new TokenCache() }, (c) => c.listIndexes()), ForbiddenError);
    expect(err.permission).toBe('search:read');
    expect(src.loads).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A hostile "Genesys" (a proxy gone wrong): it issues its own tokens and echoes the bearer token
 * and the client secret back in every error message.
 */
async function echoingServer(): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  let issued = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const auth = req.headers.authorization ?? '';
      const send = (status: number, json: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'Content-Type': 'application/json', 'ININ-Correlation-Id': `corr-${seen.length}`, ...headers });
        res.end(JSON.stringify(json));
      };
      const echo = `you sent "${auth}", expected secret ${SECRET}`;
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (path === '/oauth/token') {
        issued++;
        return send(200, { access_token: `echo-token-${issued}-abcdefghijklmnop`, token_type: 'bearer', expires_in: 3600 });
      }
      if (path === '/oauth/refuse') return send(401, { error: 'invalid_client', description: echo, error_description: echo });
      if (path === '/oauth/broken') return send(500, { message: echo });
      if (req.method === 'PUT') return send(400, { message: echo, code: 'bad.request' });
      if (path.endsWith('/health')) return send(429, { message: `${echo} [5]` });
      if (path.startsWith('/api/v2/analytics')) return send(403, { message: echo });
      if (path.includes('/api/v2/search/indexes/')) return send(409, { message: echo });
      return send(500, { message: echo });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

class RecordingTokenCache extends TokenCache {
  readonly seen = new Set<string>();
  override async get(key: string, fetchToken: () => Promise<{ accessToken: string; expiresInSeconds: number }>): Promise<string> {
    const token = await super.get(key, fetchToken);
    this.seen.add(token);
    for (const t of this.tokens()) this.seen.add(t);
    return token;
  }
}

/**
 * A server that refuses the first token it issued (401) and then, for every call, names that
 * revoked token in its error message: the client has moved on to a second token by then.
 */
async function revokingServer(): Promise<{ url: string; issued: string[] }> {
  const issued: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const send = (status: number, json: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if ((req.url ?? '').startsWith('/oauth/token')) {
        issued.push(`revocable-token-${issued.length + 1}-abcdefghijklmnop`);
        return send(200, { access_token: issued.at(-1), token_type: 'bearer', expires_in: 3600 });
      }
      if (req.headers.authorization === `Bearer ${issued[0]}`) return send(401, { message: 'token revoked', status: 401 });
      return send(500, { message: `token ${issued[0]} was revoked; you now send ${req.headers.authorization ?? ''}`, status: 500 });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, issued };
}

describe('tokens no longer served are still redacted', () => {
  const grant = (accessToken: string, expiresInSeconds = 3600) => async () => ({ accessToken, expiresInSeconds });

  it('a token refused with a 401 and then echoed in a later error is redacted', async () => {
    const r = await revokingServer();
    const c = client({ apiUrl: r.url, loginUrl: r.url });
    const err = await failure(c.listIndexes(), TransientError);
    expect(r.issued).toHaveLength(2);
    expect(err.message).toContain(`token ${REDACTED} was revoked; you now send Bearer ${REDACTED}`);
    for (const token of r.issued) expect(`${err.message} ${JSON.stringify(err)} ${err.stack}`).not.toContain(token);
  });

  it('the cache keeps invalidated, expired and cleared tokens among those to scrub', async () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    expect(await cache.get('k', grant('first-token-0000000000', 120))).toBe('first-token-0000000000');
    now = 61_000; // inside the expiry margin: replaced
    expect(await cache.get('k', grant('second-token-000000000'))).toBe('second-token-000000000');
    cache.invalidate('k', 'second-token-000000000');
    expect(await cache.get('k', grant('third-token-0000000000'))).toBe('third-token-0000000000');
    await cache.get('other', grant('fourth-token-000000000'));
    cache.clear();
    expect(cache.tokens().sort()).toEqual(['first-token-0000000000', 'fourth-token-000000000', 'second-token-000000000', 'third-token-0000000000']);
    // Cleared tokens are no longer served.
    expect(await cache.get('k', grant('fifth-token-0000000000'))).toBe('fifth-token-0000000000');
  });

  it('keeps only the last RETIRED_TOKENS_KEPT retired tokens, and every live one', async () => {
    const cache = new TokenCache();
    const all: string[] = [];
    for (let i = 0; i < RETIRED_TOKENS_KEPT + 4; i++) {
      const token = `token-${String(i).padStart(3, '0')}-abcdefghijklmnop`;
      all.push(token);
      await cache.get('k', grant(token));
      cache.invalidate('k', token);
    }
    await cache.get('k', grant('live-token-abcdefghijklmnop'));
    const held = cache.tokens();
    expect(held).toHaveLength(RETIRED_TOKENS_KEPT + 1);
    expect(held).toEqual(expect.arrayContaining([...all.slice(4), 'live-token-abcdefghijklmnop']));
    for (const old of all.slice(0, 4)) expect(held).not.toContain(old);
  });
});

describe('no secret or token leaks', () => {
  it('sends the token request and API calls exactly as the contract says', async () => {
    const e = await echoingServer();
    const c = client({ apiUrl: e.url, loginUrl: e.url });
    await failure(c.putOptimization('idx-01', DIRECTIVES), RejectedError);
    const [tokenReq, put] = e.seen;
    expect(e.seen).toHaveLength(2);
    expect(tokenReq).toMatchObject({ method: 'POST', url: '/oauth/token', body: 'grant_type=client_credentials' });
    expect(tokenReq?.headers.authorization).toBe(`Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`);
    expect(tokenReq?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(put).toMatchObject({ method: 'PUT', url: '/api/v2/search/indexes/idx-01' });
    expect(put?.headers.authorization).toBe('Bearer echo-token-1-abcdefghijklmnop');
    expect(put?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(put?.body ?? '')).toEqual(DIRECTIVES);
  });

  it('no error, error JSON, stack or response record contains the secret or a token', async () => {
    const infos: ResponseInfo[] = [];
    const errors: unknown[] = [];
    const caches: RecordingTokenCache[] = [];
    const onResponse = (i: ResponseInfo): void => {
      infos.push(i);
    };
    const collect = async (p: Promise<unknown>): Promise<void> => {
      try {
        await p;
        errors.push(new Error('expected a failure'));
      } catch (err) {
        errors.push(err);
      }
    };
    const mk = (hosts: { apiUrl: string; loginUrl: string }, opts: Partial<GenesysClientOptions> = {}): GenesysClient => {
      const tokenCache = new RecordingTokenCache();
      caches.push(tokenCache);
      return client(hosts, { tokenCache, onResponse, timeoutMs: 300, ...opts });
    };

    // The hostile server echoes the bearer token and the secret into every error body.
    const e = await echoingServer();
    const hostile = mk({ apiUrl: e.url, loginUrl: e.url });
    await collect(hostile.putOptimization('idx-01', DIRECTIVES));
    await collect(hostile.getHealth('idx-01'));
    await collect(hostile.probeQueryLatency());
    await collect(hostile.listIndexes());
    await collect(mk({ apiUrl: e.url, loginUrl: e.url }, { paths: { token: '/oauth/refuse' } }).listIndexes());
    await collect(mk({ apiUrl: e.url, loginUrl: e.url }, { paths: { token: '/oauth/broken' } }).listIndexes());

    // The simulator: messages carrying the secret, 401s, rate limits, timeouts, resets, malformed bodies.
    const withSecret = `client ${CLIENT_ID} with secret ${SECRET} is not allowed`;
    const s = await sim({
      org: {
        revokeTokenAfterUses: 1,
        faults: {
          token: [{ status: 401, message: withSecret }, { status: 503, message: withSecret }],
          list: [{ status: 400, message: withSecret }, { status: 401, times: 2 }, { body: { entities: SECRET, pageNumber: 1, pageCount: 1 } }],
          probe: [{ status: 429, message: withSecret }, { delayMs: 600 }],
        },
      },
      indexes: indexes(1, { faults: { put: [{ status: 409, message: withSecret }, { reset: true }], health: [{ status: 200, body: { status: SECRET } }] } }),
    });
    const sc = mk(s);
    await collect(sc.listIndexes()); // token 401 with the secret in the description
    await collect(sc.listIndexes()); // token 503 with the secret in the message
    await collect(sc.listIndexes()); // 400 with the secret
    await collect(sc.listIndexes()); // two 401s
    await collect(sc.listIndexes()); // entities is the secret
    await collect(sc.putOptimization('idx-01', DIRECTIVES)); // 409 with the secret
    await collect(sc.putOptimization('idx-01', DIRECTIVES)); // reset
    await collect(sc.getHealth('idx-01')); // status is the secret
    await collect(sc.probeQueryLatency()); // 429 with the secret
    await collect(sc.probeQueryLatency()); // timeout
    await collect(mk(s, { credentials: { clientId: CLIENT_ID, clientSecret: `${SECRET}-old` } }).listIndexes());

    const tokens = new Set(caches.flatMap((c) => [...c.seen]));
    expect(tokens.size).toBeGreaterThanOrEqual(5);
    expect([...tokens].every((t) => t.length >= 16)).toBe(true);
    expect(errors).toHaveLength(17);
    for (const err of errors) expect(err).toBeInstanceOf(GenesysError);
    // The hostile server's echo reached the messages, scrubbed.
    expect(errors.some((err) => (err as Error).message.includes(`you sent "Bearer [redacted]", expected secret [redacted]`))).toBe(true);

    const forbidden = [SECRET, Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64'), ...tokens];
    const texts = [
      ...errors.flatMap((err) => {
        const x = err as Error;
        return [x.message, x.stack ?? '', JSON.stringify(x), String(x)];
      }),
      JSON.stringify(infos),
    ];
    expect(infos.length).toBeGreaterThan(15);
    for (const text of texts) {
      for (const bad of forbidden) expect(text).not.toContain(bad);
    }
  });
});
