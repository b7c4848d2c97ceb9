// The Genesys Cloud simulator over real HTTP on loopback: the contract in
// /work/shared/genesys-contract.md, the scenario's behaviours and faults, and the CLI.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseScenario, ScenarioError } from '../infra/simulator/scenario.ts';
import { loadDemoScenario } from '../infra/simulator/scenario-file.ts';
import { startSimulator } from '../infra/simulator/server.ts';
import type { Simulator } from '../infra/simulator/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GOOD_QUERY = { interval: '2026-11-22T00:00:00.000Z/2026-11-23T00:00:00.000Z', order: 'desc', paging: { pageSize: 10, pageNumber: 1 } };
const DIRECTIVES = {
  refreshPolicy: 'on_demand',
  reindexStrategy: 'async_background',
  shardOptimization: { rebalanceStrategy: 'even_distribution', forceMerge: true, replicaTrigger: true },
  validationRules: { checkDiskUsage: true, checkQueryLatency: true },
};

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function sim(json: unknown = {}): Promise<Simulator> {
  const s = await startSimulator({ scenario: parseScenario(json) });
  running.push(s);
  return s;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

function tokenRequest(s: Simulator, opts: { auth?: string; body?: string; contentType?: string } = {}): Promise<Response> {
  return fetch(`${s.loginUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      Authorization: opts.auth ?? basic(s.credentials.clientId, s.credentials.clientSecret),
      'Content-Type': opts.contentType ?? 'application/x-www-form-urlencoded',
    },
    body: opts.body ?? 'grant_type=client_credentials',
  });
}

async function token(s: Simulator): Promise<string> {
  const res = await tokenRequest(s);
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function api(s: Simulator, tok: string | undefined, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = {};
  if (tok !== undefined) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = contentType;
  return fetch(`${s.apiUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function json(res: Response): Promise<Record<string, any>> {
  return (await res.json()) as Record<string, any>;
}

const put = (s: Simulator, tok: string, id: string, body: unknown = DIRECTIVES) => api(s, tok, 'PUT', `/api/v2/search/indexes/${id}`, body);
const health = (s: Simulator, tok: string, id: string) => api(s, tok, 'GET', `/api/v2/search/indexes/${id}/health`);
const list = (s: Simulator, tok: string, query = '') => api(s, tok, 'GET', `/api/v2/search/indexes${query}`);
const probe = (s: Simulator, tok: string, body: unknown = GOOD_QUERY) => api(s, tok, 'POST', '/api/v2/analytics/conversations/details/query', body);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectStandardError(body: Record<string, any>, status: number, code: string): void {
  expect(body).toMatchObject({ status, code, messageParams: expect.any(Object), details: expect.any(Array), errors: [] });
  expect(typeof body.message).toBe('string');
  expect(body.contextId).toMatch(UUID);
  expect(typeof body.messageWithParams).toBe('string');
}

function indexes(n: number, behaviour: Record<string, unknown> = {}): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `ix-${i + 1}`, name: `interactions-${i + 1}`, type: 'conversation', status: 'active', shardCount: 10, replicaCount: 2,
    maxDocumentCount: 1000, storageBytes: 1024, lastRefresh: '2026-11-01T00:00:00.000Z', behaviour,
  }));
}

describe('parseScenario', () => {
  it('applies every default', () => {
    const s = parseScenario({ indexes: [{ id: 'a' }] });
    expect(s.credentials).toEqual({ clientId: 'sim-client', clientSecret: 'sim-secret' });
    expect(s.org).toEqual({
      tokenLifetimeSeconds: 86399, rateLimitPerMinute: 300, rateLimitWindowSeconds: 60, defaultPageSize: 25, pageSizeCap: 100,
      probeLatencyMs: 40, deniedPermissions: [], faults: { token: [], list: [], probe: [] },
      list: { pageCountOffset: 0, ignorePageSizeCap: false },
    });
    expect(s.indexes[0]).toEqual({
      id: 'a', record: { id: 'a' },
      behaviour: {
        refreshSeconds: 2, refreshingHealth: 'unavailable', health: { status: 'green' }, healthAfterRefresh: { status: 'green' },
        initiallyRefreshingSeconds: 0, deletedAfterList: false, faults: { put: [], health: [] },
      },
    });
    expect(parseScenario({ org: { faults: { list: [{ status: 500 }] } } }).org.faults.list).toEqual([{ status: 500, times: 1, reset: false }]);
  });

  it('names the bad field', () => {
    const bad = (json: unknown) => () => parseScenario(json);
    const ix = [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd', behaviour: { refreshSeconds: -1 } }];
    expect(bad({ indexes: ix })).toThrow(new ScenarioError('scenario.indexes[3].behaviour.refreshSeconds must be a non-negative number'));
    expect(bad({ org: { rateLimitPerMinute: 1.5 } })).toThrow('scenario.org.rateLimitPerMinute must be a positive integer');
    expect(bad({ org: { faults: { lsit: [] } } })).toThrow('scenario.org.faults.lsit is not a known field');
    expect(bad({ org: { faults: { list: [{ status: 503, times: -2 }] } } })).toThrow('scenario.org.faults.list[0].times');
    expect(bad({ org: { faults: { list: [{ times: 2 }] } } })).toThrow('scenario.org.faults.list[0] must set at least one of');
    expect(bad({ indexes: [{ id: 'x', behaviour: { health: 'blue' } }] })).toThrow('scenario.indexes[0].behaviour.health must be');
    expect(bad({ indexes: [{ id: 'x' }, { id: 'x' }] })).toThrow('scenario.indexes[1].id duplicates scenario.indexes[0].id');
    expect(bad({ credentials: { clientId: '' } })).toThrow('scenario.credentials.clientId must be a non-empty string');
    expect(bad([])).toThrow('scenario must be an object');
  });

  it('keeps malformed records verbatim and only addresses string ids', () => {
    const s = parseScenario({ indexes: [{ name: 'no-id' }, { id: 42 }, 'not-an-object', { id: 'ok', shardCount: 'twelve', behaviour: {} }] });
    expect(s.indexes.map((i) => i.id)).toEqual([undefined, undefined, undefined, 'ok']);
    expect(s.indexes.map((i) => i.record)).toEqual([{ name: 'no-id' }, { id: 42 }, 'not-an-object', { id: 'ok', shardCount: 'twelve' }]);
  });
});

describe('token endpoint', () => {
  it('issues a bearer token for client credentials, with a correlation id', async () => {
    const s = await sim({ org: { tokenLifetimeSeconds: 3600 } });
    const res = await tokenRequest(s, { body: 'grant_type=client_credentials&scope=ignored' });
    expect(res.status).toBe(200);
    expect(res.headers.get('ININ-Correlation-Id')).toMatch(UUID);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await json(await tokenRequest(s))).access_token).not.toBe(body.access_token);
  });

  it('rejects bad credentials, grants and content types with OAuth errors', async () => {
    const s = await sim({ credentials: { clientId: 'cid', clientSecret: 'shh' } });
    const wrong = await tokenRequest(s, { auth: basic('cid', 'nope') });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('ININ-Correlation-Id')).toMatch(UUID);
    const wrongBody = await json(wrong);
    expect(wrongBody.error).toBe('invalid_client');
    expect(typeof wrongBody.description).toBe('string');
    expect(wrongBody.error_description).toBe(wrongBody.description);
    expect((await tokenRequest(s, { auth: 'Bearer x' })).status).toBe(401);
    const grant = await tokenRequest(s, { auth: basic('cid', 'shh'), body: 'grant_type=password' });
    expect(grant.status).toBe(400);
    expect((await json(grant)).error).toBe('unsupported_grant_type');
    const ctype = await tokenRequest(s, { auth: basic('cid', 'shh'), contentType: 'application/json', body: '{}' });
    expect(ctype.status).toBe(400);
    expect((await json(ctype)).error).toBe('invalid_request');
    expect((await tokenRequest(s, { auth: basic('cid', 'shh') })).status).toBe(200);
  });
});

describe('API authentication', () => {
  it('answers 401 with the standard body for missing, unknown, expired and revoked tokens', async () => {
    const s = await sim({ org: { tokenLifetimeSeconds: 1 }, indexes: indexes(1) });
    const missing = await list(s, undefined as unknown as string);
    expect(missing.status).toBe(401);
    expectStandardError(await json(missing), 401, 'authentication.required');
    const unknown = await list(s, 'not-a-token');
    expect(unknown.status).toBe(401);
    expectStandardError(await json(unknown), 401, 'bad.credentials');
    expect(unknown.headers.get('inin-ratelimit-allowed')).toBe('300');

    const tok = await token(s);
    expect((await list(s, tok)).status).toBe(200);
    await sleep(1050);
    expect((await list(s, tok)).status).toBe(401);

    const fresh = await token(s);
    s.revokeAllTokens();
    expect((await list(s, fresh)).status).toBe(401);
  });

  it('revokes a token after revokeTokenAfterUses API calls', async () => {
    const s = await sim({ org: { revokeTokenAfterUses: 2 }, indexes: indexes(1) });
    const tok = await token(s);
    expect((await list(s, tok)).status).toBe(200);
    expect((await health(s, tok, 'ix-1')).status).toBe(200);
    const third = await list(s, tok);
    expect(third.status).toBe(401);
    expectStandardError(await json(third), 401, 'bad.credentials');
    expect((await list(s, await token(s))).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('counts per token in a fixed window and answers 429 with Retry-After when over', async () => {
    const s = await sim({ org: { rateLimitPerMinute: 3, rateLimitWindowSeconds: 1 } });
    const tok = await token(s);
    for (let i = 1; i <= 3; i++) {
      const res = await list(s, tok);
      expect(res.status).toBe(200);
      expect(res.headers.get('inin-ratelimit-count')).toBe(String(i));
      expect(res.headers.get('inin-ratelimit-allowed')).toBe('3');
      expect(res.headers.get('inin-ratelimit-reset')).toBe('1');
    }
    const over = await list(s, tok);
    expect(over.status).toBe(429);
    expect(over.headers.get('Retry-After')).toBe('1');
    expect(over.headers.get('ININ-Correlation-Id')).toMatch(UUID);
    const body = await json(over);
    expectStandardError(body, 429, 'too.many.requests.retry.after');
    expect(body.message).toBe('Rate limit exceeded the maximum. Retry the request in [1] seconds');
    expect((await list(s, await token(s))).status).toBe(200);
    await sleep(1050);
    const after = await list(s, tok);
    expect(after.status).toBe(200);
    expect(after.headers.get('inin-ratelimit-count')).toBe('1');
  });
});

describe('index inventory', () => {
  it('pages with the cap, totals and nextUri', async () => {
    const s = await sim({ org: { pageSizeCap: 4 }, indexes: indexes(10) });
    const tok = await token(s);
    const first = await json(await list(s, tok, '?pageSize=50&pageNumber=1'));
    expect(first).toMatchObject({ pageSize: 4, pageNumber: 1, total: 10, totalCount: 10, pageCount: 3, nextUri: '/api/v2/search/indexes?pageSize=4&pageNumber=2' });
    expect(first.entities.map((e: { id: string }) => e.id)).toEqual(['ix-1', 'ix-2', 'ix-3', 'ix-4']);
    expect(first.entities[0]).toEqual({ id: 'ix-1', name: 'interactions-1', type: 'conversation', status: 'active', shardCount: 10, replicaCount: 2, maxDocumentCount: 1000, storageBytes: 1024, lastRefresh: '2026-11-01T00:00:00.000Z' });
    const last = await json(await list(s, tok, '?pageSize=4&pageNumber=3'));
    expect(last.entities.map((e: { id: string }) => e.id)).toEqual(['ix-9', 'ix-10']);
    expect(last.nextUri).toBeUndefined();
    const dflt = await json(await list(s, tok));
    expect(dflt).toMatchObject({ pageSize: 4, pageNumber: 1 });
    const beyond = await json(await list(s, tok, '?pageSize=4&pageNumber=9'));
    expect(beyond.entities).toEqual([]);
    for (const q of ['?pageSize=0', '?pageSize=abc', '?pageNumber=0', '?pageNumber=-1', '?pageSize=2.5']) {
      const res = await list(s, tok, q);
      expect(res.status, q).toBe(400);
      const body = await json(res);
      expectStandardError(body, 400, 'bad.request');
      expect(body.message).toContain(q.slice(1, q.indexOf('=')));
    }
  });

  it('serves malformed records verbatim and honours the list quirks', async () => {
    const s = await sim({
      org: { pageSizeCap: 2, list: { pageCountOffset: -1, ignorePageSizeCap: true } },
      indexes: [{ name: 'no-id' }, { id: 'x', shardCount: 'twelve', behaviour: { health: 'red' } }, 7, ...indexes(3)],
    });
    const tok = await token(s);
    const page = await json(await list(s, tok, '?pageSize=500'));
    expect(page.pageSize).toBe(500);
    expect(page.pageCount).toBe(0);
    expect(page.entities.slice(0, 3)).toEqual([{ name: 'no-id' }, { id: 'x', shardCount: 'twelve' }, 7]);
    expect(page.entities).toHaveLength(6);
    expect((await health(s, tok, 'x')).status).toBe(200);
  });
});

describe('optimization and health', () => {
  it('accepts directives, refreshes (503 health, busy PUT) and settles to healthAfterRefresh', async () => {
    const s = await sim({ indexes: indexes(1, { refreshSeconds: 0.4, health: { status: 'yellow', diskUsage: 50, queryLatencyMs: 100 }, healthAfterRefresh: 'red' }) });
    const tok = await token(s);
    const before = await health(s, tok, 'ix-1');
    expect(before.status).toBe(200);
    expect(await json(before)).toEqual({ status: 'yellow', diskUsage: 50, queryLatencyMs: 100, shardStatus: expect.any(String) });

    const t0 = Date.now();
    const accepted = await put(s, tok, 'ix-1');
    expect(accepted.status).toBe(202);
    expect((await json(accepted)).id).toBe('ix-1');
    const state = s.indexState('ix-1');
    expect(state).toMatchObject({ putCount: 1, acceptedPutCount: 1, refreshing: true, health: { status: 'unavailable' }, lastDirectives: DIRECTIVES });
    expect(Date.parse(state?.lastRefresh ?? '')).toBeGreaterThanOrEqual(t0 - 5);
    const listed = await json(await list(s, tok));
    expect(listed.entities[0].lastRefresh).toBe(state?.lastRefresh);

    const during = await health(s, tok, 'ix-1');
    expect(during.status).toBe(503);
    expectStandardError(await json(during), 503, 'service.unavailable');
    const busy = await put(s, tok, 'ix-1');
    expect(busy.status).toBe(503);
    expect(Number(busy.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    expect(s.indexState('ix-1')).toMatchObject({ putCount: 2, acceptedPutCount: 1 });

    await sleep(450);
    const after = await health(s, tok, 'ix-1');
    expect(after.status).toBe(200);
    expect(await json(after)).toEqual({ status: 'red', diskUsage: 46, queryLatencyMs: 75, shardStatus: expect.any(String) });
    expect(s.indexState('ix-1')).toMatchObject({ refreshing: false, healthCount: 3 });
  });

  it('reports yellow while refreshing when refreshingHealth is yellow, and starts refreshing when told', async () => {
    const s = await sim({
      indexes: [
        { id: 'y', behaviour: { refreshSeconds: 0.3, refreshingHealth: 'yellow' } },
        { id: 'busy', behaviour: { initiallyRefreshingSeconds: 0.3, health: 'green' } },
      ],
    });
    const tok = await token(s);
    expect((await put(s, tok, 'y')).status).toBe(202);
    const during = await health(s, tok, 'y');
    expect(during.status).toBe(200);
    expect((await json(during)).status).toBe('yellow');
    expect(s.indexState('busy')?.refreshing).toBe(true);
    expect((await health(s, tok, 'busy')).status).toBe(503);
    expect((await put(s, tok, 'busy')).status).toBe(503);
    await sleep(350);
    expect((await json(await health(s, tok, 'y'))).status).toBe('green');
    expect((await json(await health(s, tok, 'busy'))).status).toBe('green');
    expect((await put(s, tok, 'busy')).status).toBe(202);
  });

  it('validates the PUT body and answers 404 for unknown and deleted indexes', async () => {
    const s = await sim({ indexes: [...indexes(1), { id: 'gone', behaviour: { deletedAfterList: true } }] });
    const tok = await token(s);
    for (const [body, field] of [[{}, 'refreshPolicy'], [{ refreshPolicy: 5 }, 'refreshPolicy'], [[1], 'JSON object'], ['{nope', 'JSON']] as const) {
      const res = await put(s, tok, 'ix-1', body);
      expect(res.status).toBe(400);
      const err = await json(res);
      expectStandardError(err, 400, 'bad.request');
      expect(err.message).toContain(field);
    }
    expect((await api(s, tok, 'PUT', '/api/v2/search/indexes/ix-1', JSON.stringify(DIRECTIVES), 'text/plain')).status).toBe(415);
    expect(s.indexState('ix-1')).toMatchObject({ acceptedPutCount: 0, refreshing: false });
    for (const res of [await put(s, tok, 'nope'), await health(s, tok, 'nope'), await put(s, tok, 'gone'), await health(s, tok, 'gone')]) {
      expect(res.status).toBe(404);
      expectStandardError(await json(res), 404, 'not.found');
    }
    const listed = await json(await list(s, tok));
    expect(listed.entities.map((e: { id: string }) => e.id)).toEqual(['ix-1', 'gone']);
    expect(s.indexState('nope')).toBeUndefined();
  });
});

describe('conversation details query (latency probe)', () => {
  it('validates the body like the real API', async () => {
    const s = await sim({ org: { probeLatencyMs: 0 } });
    const tok = await token(s);
    const cases: [unknown, string][] = [
      [{ pageSize: 10, interval: 'P1D' }, 'interval'],
      [{}, 'interval'],
      [{ interval: '2026-11-23T00:00:00Z/2026-11-22T00:00:00Z' }, 'interval'],
      [{ interval: '2026-11-22T00:00:00Z/2026-13-45T00:00:00Z' }, 'interval'],
      [{ interval: GOOD_QUERY.interval, paging: { pageSize: 10 } }, 'paging.pageNumber'],
      [{ interval: GOOD_QUERY.interval, paging: { pageSize: 'ten', pageNumber: 1 } }, 'paging.pageSize'],
      [{ interval: GOOD_QUERY.interval, order: 'sideways' }, 'order'],
    ];
    for (const [body, field] of cases) {
      const res = await probe(s, tok, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await json(res);
      expectStandardError(err, 400, 'bad.request');
      expect(err.message).toContain(field);
    }
    const ok = await probe(s, tok);
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ conversations: [], totalHits: 0 });
    expect((await probe(s, tok, { interval: GOOD_QUERY.interval })).status).toBe(200);
  });

  it('takes probeLatencyMs, a bit less once indexes are optimized', async () => {
    // One of one index optimized: 300 ms * (1 - 0.3) = 210 ms.
    const s = await sim({ org: { probeLatencyMs: 300 }, indexes: indexes(1, { refreshSeconds: 0 }) });
    const tok = await token(s);
    let t = performance.now();
    expect((await probe(s, tok)).status).toBe(200);
    const before = performance.now() - t;
    expect((await put(s, tok, 'ix-1')).status).toBe(202);
    t = performance.now();
    expect((await probe(s, tok)).status).toBe(200);
    const after = performance.now() - t;
    expect(before).toBeGreaterThanOrEqual(295);
    expect(after).toBeGreaterThanOrEqual(205);
    expect(after).toBeLessThan(280);
  });
});

describe('permissions', () => {
  it('answers 403 naming the missing permission on the endpoints that need it', async () => {
    const s = await sim({ org: { deniedPermissions: ['search:write', 'analytics:conversationDetail:view'] }, indexes: indexes(1) });
    const tok = await token(s);
    expect((await list(s, tok)).status).toBe(200);
    expect((await health(s, tok, 'ix-1')).status).toBe(200);
    for (const [res, perm] of [[await put(s, tok, 'ix-1'), 'search:write'], [await probe(s, tok), 'analytics:conversationDetail:view']] as const) {
      expect(res.status).toBe(403);
      const err = await json(res);
      expectStandardError(err, 403, 'missing.permissions');
      expect(err.message).toContain(`missing permission ${perm}`);
    }
    expect(s.indexState('ix-1')?.acceptedPutCount).toBe(0);

    const r = await sim({ org: { deniedPermissions: ['search:read'] }, indexes: indexes(1) });
    const rt = await token(r);
    for (const res of [await list(r, rt), await health(r, rt, 'ix-1')]) {
      expect(res.status).toBe(403);
      expect((await json(res)).message).toContain('missing permission search:read');
    }
    expect((await put(r, rt, 'ix-1')).status).toBe(202);
  });
});

describe('fault injection', () => {
  it('consumes faults in order, with times, Retry-After and messages', async () => {
    const s = await sim({
      org: {
        faults: {
          list: [{ status: 500, times: 2 }, { status: 429, retryAfterSeconds: 2 }, { status: 502, message: 'upstream sad' }],
          token: [{ status: 503 }],
          probe: [{ status: 504, times: -1 }],
        },
      },
      indexes: indexes(1, { faults: { put: [{ status: 400, message: 'Validation failed: nope' }], health: [{ status: 503, retryAfterSeconds: 1 }] } }),
    });
    const down = await tokenRequest(s);
    expect(down.status).toBe(503);
    expect(down.headers.get('ININ-Correlation-Id')).toMatch(UUID);
    const tok = await token(s);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await list(s, tok)).status);
    expect(statuses).toEqual([500, 500, 429, 502, 200]);
    const list429 = s.requests.filter((r) => r.endpoint === 'list')[2];
    expect(list429).toMatchObject({ status: 429, faulted: true });

    const s2 = await sim({ org: { faults: { list: [{ status: 429, retryAfterSeconds: 2 }, { status: 502, message: 'upstream sad' }] } } });
    const t2 = await token(s2);
    const r429 = await list(s2, t2);
    expect(r429.headers.get('Retry-After')).toBe('2');
    expect(r429.headers.get('inin-ratelimit-count')).toBe('1');
    const b429 = await json(r429);
    expectStandardError(b429, 429, 'too.many.requests.retry.after');
    expect(b429.message).toBe('Rate limit exceeded the maximum. Retry the request in [2] seconds');
    const b502 = await json(await list(s2, t2));
    expectStandardError(b502, 502, 'bad.gateway');
    expect(b502.message).toBe('upstream sad');

    const rejected = await put(s, tok, 'ix-1');
    expect(rejected.status).toBe(400);
    expect((await json(rejected)).message).toBe('Validation failed: nope');
    expect(s.indexState('ix-1')).toMatchObject({ putCount: 1, acceptedPutCount: 0 });
    expect((await put(s, tok, 'ix-1')).status).toBe(202);
    const h = await health(s, tok, 'ix-1');
    expect(h.status).toBe(503);
    expect(h.headers.get('Retry-After')).toBe('1');
    for (let i = 0; i < 3; i++) expect((await probe(s, tok)).status).toBe(504);
  });

  it('serves malformed, empty and substitute bodies', async () => {
    const s = await sim({
      org: { faults: { list: [{ body: 'malformed-json' }, { body: 'empty', status: 502 }, { body: { entities: 'nope' } }, { status: 500, body: { weird: true } }] } },
    });
    const tok = await token(s);
    const malformed = await list(s, tok);
    expect(malformed.status).toBe(200);
    expect(malformed.headers.get('content-type')).toBe('application/json');
    const text = await malformed.text();
    expect(() => JSON.parse(text)).toThrow();
    const empty = await list(s, tok);
    expect(empty.status).toBe(502);
    expect(await empty.text()).toBe('');
    const substitute = await list(s, tok);
    expect(substitute.status).toBe(200);
    expect(await json(substitute)).toEqual({ entities: 'nope' });
    const weird = await list(s, tok);
    expect(weird.status).toBe(500);
    expect(await json(weird)).toEqual({ weird: true });
    expect((await list(s, tok)).status).toBe(200);
  });

  it('resets connections and delays responses', async () => {
    const s = await sim({
      org: { faults: { probe: [{ reset: true }] } },
      indexes: indexes(1, { faults: { health: [{ delayMs: 250 }, { delayMs: 100, status: 504 }] } }),
    });
    const tok = await token(s);
    await expect(probe(s, tok)).rejects.toThrow();
    expect(s.requests.at(-1)).toMatchObject({ endpoint: 'probe', status: 0, faulted: true });
    expect((await probe(s, tok)).status).toBe(200);

    let t = performance.now();
    const slow = await health(s, tok, 'ix-1');
    expect(slow.status).toBe(200);
    expect((await json(slow)).status).toBe('green');
    expect(performance.now() - t).toBeGreaterThanOrEqual(245);
    t = performance.now();
    expect((await health(s, tok, 'ix-1')).status).toBe(504);
    expect(performance.now() - t).toBeGreaterThanOrEqual(95);
    t = performance.now();
    expect((await health(s, tok, 'ix-1')).status).toBe(200);
    expect(performance.now() - t).toBeLessThan(200);
  });
});

describe('request log and lifecycle', () => {
  it('records every request without secrets', async () => {
    const s = await sim({ credentials: { clientId: 'rec-client', clientSecret: 'super-secret-value' }, indexes: indexes(1) });
    const tok = await token(s);
    await list(s, tok, '?pageSize=5&pageNumber=1');
    await put(s, tok, 'ix-1');
    await health(s, tok, 'ix-1');
    await probe(s, tok);
    await api(s, tok, 'GET', '/api/v2/users/me');
    const t0 = Date.now();
    expect(s.requests.map(({ method, path, endpoint, indexId, status, pageNumber }) => ({ method, path, endpoint, indexId, status, pageNumber }))).toEqual([
      { method: 'POST', path: '/oauth/token', endpoint: 'token', indexId: undefined, status: 200, pageNumber: undefined },
      { method: 'GET', path: '/api/v2/search/indexes', endpoint: 'list', indexId: undefined, status: 200, pageNumber: 1 },
      { method: 'PUT', path: '/api/v2/search/indexes/ix-1', endpoint: 'put', indexId: 'ix-1', status: 202, pageNumber: undefined },
      { method: 'GET', path: '/api/v2/search/indexes/ix-1/health', endpoint: 'health', indexId: 'ix-1', status: 503, pageNumber: undefined },
      { method: 'POST', path: '/api/v2/analytics/conversations/details/query', endpoint: 'probe', indexId: undefined, status: 200, pageNumber: undefined },
      { method: 'GET', path: '/api/v2/users/me', endpoint: 'other', indexId: undefined, status: 404, pageNumber: undefined },
    ]);
    for (const r of s.requests) {
      expect(r.at).toBeLessThanOrEqual(t0);
      expect(r.at).toBeGreaterThan(t0 - 5000);
    }
    const dump = JSON.stringify(s.requests);
    expect(dump).not.toContain('super-secret-value');
    expect(dump).not.toContain(tok);
    expect(dump).not.toContain(Buffer.from('rec-client:super-secret-value').toString('base64'));
  });

  it('closes promptly even with keep-alive sockets and pending slow responses', async () => {
    const s = await startSimulator({ scenario: parseScenario({ indexes: indexes(1, { faults: { health: [{ delayMs: 5000 }] } }) }) });
    const tok = await token(s);
    expect((await list(s, tok)).status).toBe(200);
    const pending = health(s, tok, 'ix-1').then(() => 'answered', () => 'failed');
    await sleep(50);
    const t = performance.now();
    await s.close();
    expect(performance.now() - t).toBeLessThan(500);
    expect(await pending).toBe('failed');
    await expect(fetch(`${s.url}/oauth/token`, { method: 'POST' })).rejects.toThrow();
  });

  it('starts on the requested host and port and refuses a busy port', async () => {
    const a = await sim();
    expect(a.url).toBe(`http://127.0.0.1:${a.port}`);
    expect(a.apiUrl).toBe(a.url);
    expect(a.loginUrl).toBe(a.url);
    await expect(startSimulator({ scenario: parseScenario({}), port: a.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('demo scenario', () => {
  it('covers every optimizer branch over two pages', async () => {
    const demo = await loadDemoScenario();
    const recs = demo.indexes.map((i) => i.record as Record<string, unknown>);
    const b = demo.indexes.map((i) => i.behaviour);
    expect(demo.indexes.length).toBeGreaterThanOrEqual(36);
    expect(demo.org.pageSizeCap).toBe(25);
    expect(recs.filter((r) => typeof r.shardCount === 'number' && r.shardCount > 50)).toHaveLength(2);
    expect(recs.filter((r) => typeof r.replicaCount === 'number' && r.replicaCount > 3)).toHaveLength(1);
    expect(recs.filter((r) => typeof r.storageBytes === 'number' && r.storageBytes > 10737418240)).toHaveLength(2);
    expect(recs.filter((r) => typeof r.shardCount !== 'number')).toHaveLength(1);
    expect(b.filter((x) => x.health.status === 'red')).toHaveLength(1);
    expect(b.filter((x) => x.initiallyRefreshingSeconds > 0)).toHaveLength(1);
    expect(b.filter((x) => x.faults.put[0]?.status === 429)).toHaveLength(2);
    expect(b.filter((x) => x.faults.put[0]?.status === 503)).toHaveLength(1);
    expect(b.filter((x) => x.faults.put[0]?.status === 400)).toHaveLength(1);
    expect(b.filter((x) => x.refreshSeconds >= 3 && x.refreshSeconds <= 5)).toHaveLength(2);
    expect(b.filter((x) => x.healthAfterRefresh.status === 'red')).toHaveLength(1);
    expect(b.filter((x) => x.faults.health.some((f) => f.delayMs === 300))).toHaveLength(1);
    expect(b.filter((x) => x.deletedAfterList)).toHaveLength(1);
    // The demo stays short: no refresh after a PUT outlasts a few seconds. The one index already
    // refreshing at the start is skipped at its pre-check, so its (longer) refresh costs the run
    // nothing; it lasts long enough that a slow start cannot reach it after it ended.
    expect(Math.max(...b.map((x) => x.refreshSeconds))).toBeLessThanOrEqual(6);
    expect(b.filter((x) => x.initiallyRefreshingSeconds > 0).map((x) => x.initiallyRefreshingSeconds)).toEqual([20]);

    const s = await startSimulator({ scenario: demo });
    running.push(s);
    const tok = await token(s);
    const p1 = await json(await list(s, tok, '?pageSize=100&pageNumber=1'));
    const p2 = await json(await list(s, tok, '?pageSize=100&pageNumber=2'));
    expect([p1.pageSize, p1.pageCount, p1.entities.length + p2.entities.length]).toEqual([25, 2, demo.indexes.length]);
    expect(p2.nextUri).toBeUndefined();
  });
});

describe('cli', () => {
  const cli = fileURLToPath(new URL('../infra/simulator/cli.ts', import.meta.url));

  function run(args: string[]): { child: ReturnType<typeof spawn>; out: () => string; err: () => string; exit: Promise<number | null> } {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, out: () => out, err: () => err, exit };
  }

  async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out');
      await sleep(20);
    }
  }

  it('serves the demo, logs each request and stops on SIGINT', async () => {
    const p = run(['--port', '0']);
    await waitFor(() => /base URL.*http:\/\/127\.0\.0\.1:\d+/.test(p.out()));
    const base = /(http:\/\/127\.0\.0\.1:\d+)/.exec(p.out())?.[1] ?? '';
    expect(p.out()).toContain('sim-client');
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { Authorization: basic('sim-client', 'sim-secret'), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const tok = (await json(res)).access_token as string;
    await fetch(`${base}/api/v2/search/indexes?pageNumber=2`, { headers: { Authorization: `Bearer ${tok}` } });
    await waitFor(() => p.out().includes('GET /api/v2/search/indexes page=2 200'));
    expect(p.out()).toMatch(/POST \/oauth\/token 200/);
    expect(p.out()).not.toContain(tok);
    p.child.kill('SIGINT');
    expect(await p.exit).toBe(0);
  });

  it('exits 2 with a clear message on bad arguments or a bad scenario', async () => {
    const badArg = run(['--port', 'eighty']);
    expect(await badArg.exit).toBe(2);
    expect(badArg.err()).toContain('--port must be an integer');
    const bad = run(['--scenario', fileURLToPath(new URL('../package.json', import.meta.url))]);
    expect(await bad.exit).toBe(2);
    expect(bad.err()).toMatch(/scenario\.\w+ is not a known field/);
    const missing = run(['--scenario', '/nonexistent/scenario.json']);
    expect(await missing.exit).toBe(2);
    expect(missing.err()).toContain('cannot read scenario file');
  });
});
