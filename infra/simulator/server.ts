// A Genesys Cloud look-alike on loopback: the login host's token endpoint and the API host's
// search-index and analytics endpoints, with the scenario's faults, limits and timings. One base
// URL serves as both the login and the API host.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Fault, Scenario } from './scenario.ts';
import { FaultQueue } from './faults.ts';
import { IndexRuntime } from './indexes.ts';
import type { IndexStateView } from './indexes.ts';
import { RateLimiter } from './rate-limiter.ts';
import { TokenStore } from './tokens.ts';
import { defaultMessageFor, errorBody, oauthErrorBody, rateLimitBody } from './errors.ts';
import type { ErrorOptions } from './errors.ts';
import { checkConversationQuery, checkDirectives, pageParam } from './validation.ts';

export type Endpoint = 'token' | 'list' | 'put' | 'health' | 'probe' | 'other';

export interface RecordedRequest {
  /** Arrival time, epoch ms. */
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  endpoint: Endpoint;
  indexId?: string;
  /** Status served; 0 when the connection was reset by a fault or the client gave up first. */
  status: number;
  pageNumber?: number;
  /** True when a scenario fault shaped this response (status, body, delay or reset). */
  faulted?: boolean;
  /** True when the client closed the connection before a delayed answer was ready (its timeout). */
  abandoned?: boolean;
  correlationId: string;
  /** Which access token the call carried, as a short hash (never the token): rate limits are per token. */
  tokenId?: string;
}

export interface SimulatorOptions {
  scenario: Scenario;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Called once per request, when its response is sent. */
  onRequest?: (r: RecordedRequest) => void;
}

export interface Simulator {
  url: string;
  apiUrl: string;
  loginUrl: string;
  port: number;
  credentials: { clientId: string; clientSecret: string };
  /** Every request served so far, in completion order (a live array). */
  requests: RecordedRequest[];
  scenario: Scenario;
  indexState(id: string): IndexStateView | undefined;
  /** Revokes every token issued so far, as an admin rotating the client would. */
  revokeAllTokens(): void;
  close(): Promise<void>;
}

const PERMISSION: Record<Endpoint, string | undefined> = {
  token: undefined,
  list: 'search:read',
  health: 'search:read',
  put: 'search:write',
  probe: 'analytics:conversationDetail:view',
  other: undefined,
};

const MAX_BODY_BYTES = 1024 * 1024;
const MALFORMED_JSON = '{"entities": [{"id": "idx-trunc';
const INDEXES_PATH = '/api/v2/search/indexes';

interface Route {
  endpoint: Endpoint;
  indexId?: string;
}

function route(method: string, path: string): Route | { badPath: string } {
  if (path === '/oauth/token' && method === 'POST') return { endpoint: 'token' };
  if (path === INDEXES_PATH && method === 'GET') return { endpoint: 'list' };
  if (path === '/api/v2/analytics/conversations/details/query' && method === 'POST') return { endpoint: 'probe' };
  const m = /^\/api\/v2\/search\/indexes\/([^/]+)(\/health)?$/.exec(path);
  if (m !== null && m[1] !== undefined) {
    const endpoint = m[2] === undefined ? 'put' : 'health';
    if ((endpoint === 'put' && method === 'PUT') || (endpoint === 'health' && method === 'GET')) {
      try {
        return { endpoint, indexId: decodeURIComponent(m[1]) };
      } catch {
        return { badPath: `Index id in path is not valid percent-encoding: ${m[1]}` };
      }
    }
  }
  return { endpoint: 'other' };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isJsonContentType(req: IncomingMessage): boolean {
  return /^application\/([a-z.+-]*\+)?json\b/i.test(req.headers['content-type'] ?? '');
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(buf: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** One in-flight request: its response, its record, and the ways to finish it. */
class Exchange {
  readonly res: ServerResponse;
  readonly rec: RecordedRequest;
  private readonly done: (r: RecordedRequest) => void;

  constructor(res: ServerResponse, rec: RecordedRequest, done: (r: RecordedRequest) => void) {
    this.res = res;
    this.rec = rec;
    this.done = done;
  }

  get finished(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  sendText(status: number, text: string, headers: Record<string, string> = {}): void {
    if (this.finished) return;
    this.rec.status = status;
    // Recorded before the bytes go out, so a client that has its response can rely on the record.
    this.done(this.rec);
    this.res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    this.res.end(text);
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.sendText(status, JSON.stringify(body), headers);
  }

  error(status: number, message: string, opts: ErrorOptions = {}, headers: Record<string, string> = {}): void {
    this.json(status, errorBody(status, message, this.rec.correlationId, opts), headers);
  }

  /** The client hung up while a delay was running: recorded, so a timeout shows in the request log. */
  abandoned(): void {
    if (this.res.writableEnded) return;
    this.rec.status = 0;
    this.rec.abandoned = true;
    this.done(this.rec);
  }

  reset(): void {
    if (this.finished) return;
    this.rec.status = 0;
    this.done(this.rec);
    this.res.socket?.destroy();
    this.res.destroy();
  }
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  // Cloned because a run mutates records (lastRefresh) and consumes faults; the caller's
  // scenario must stay reusable for the next simulator.
  const scenario: Scenario = structuredClone(opts.scenario);
  const { org } = scenario;
  const requests: RecordedRequest[] = [];
  const tokens = new TokenStore(org.tokenLifetimeSeconds, org.revokeTokenAfterUses);
  const limiter = new RateLimiter(org.rateLimitPerMinute, org.rateLimitWindowSeconds);
  const orgFaults = {
    token: new FaultQueue(org.faults.token),
    list: new FaultQueue(org.faults.list),
    probe: new FaultQueue(org.faults.probe),
  };
  const runtimes = new Map<string, IndexRuntime>();
  for (const entry of scenario.indexes) {
    if (entry.id !== undefined) runtimes.set(entry.id, new IndexRuntime(entry.id, entry));
  }

  let closed = false;
  const sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (closed || ms <= 0) return resolve();
      const s = {
        timer: setTimeout(() => {
          sleepers.delete(s);
          resolve();
        }, ms),
        wake: resolve,
      };
      sleepers.add(s);
    });

  const record = (r: RecordedRequest): void => {
    requests.push(r);
    opts.onRequest?.(r);
  };

  function optimizedShare(now: number): number {
    if (runtimes.size === 0) return 0;
    let n = 0;
    for (const r of runtimes.values()) if (r.acceptedPutCount > 0 && !r.isRefreshing(now)) n += 1;
    return n / runtimes.size;
  }

  /**
   * Serves a fault. Returns true when the fault answered the request; false when it only
   * delayed it and the normal handler should run.
   */
  async function serveFault(x: Exchange, f: Fault, oauthShape: boolean): Promise<boolean> {
    x.rec.faulted = true;
    if (f.delayMs !== undefined) {
      // A client that gives up (its timeout) ends the delay: the request is recorded as abandoned then.
      await Promise.race([sleep(f.delayMs), new Promise<void>((resolve) => x.res.once('close', () => resolve()))]);
    }
    if (closed) return true;
    if (x.finished) {
      x.abandoned();
      return true;
    }
    if (f.reset) {
      x.reset();
      return true;
    }
    if (f.status === undefined && f.body === undefined) return false;
    const status = f.status ?? 200;
    const headers: Record<string, string> = {};
    const retryAfter = f.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
    if (retryAfter !== undefined) headers['Retry-After'] = String(Math.ceil(retryAfter));
    if (f.body === 'empty') x.sendText(status, '', headers);
    else if (f.body === 'malformed-json') x.sendText(status, MALFORMED_JSON, headers);
    else if (f.body !== undefined) x.json(status, f.body.json, headers);
    else if (status < 400) x.sendText(status, status === 204 ? '' : '{}', headers);
    else if (oauthShape && (status === 400 || status === 401)) {
      const error = status === 401 ? 'invalid_client' : 'invalid_request';
      x.json(status, oauthErrorBody(error, f.message ?? defaultMessageFor(status)), headers);
    } else if (status === 429 && f.message === undefined) {
      x.json(status, rateLimitBody(retryAfter ?? 1, x.rec.correlationId), headers);
    } else {
      x.error(status, f.message ?? defaultMessageFor(status), {}, headers);
    }
    return true;
  }

  async function withFaults(x: Exchange, q: FaultQueue, normal: () => Promise<void> | void, oauthShape = false): Promise<void> {
    const f = q.next();
    if (f !== undefined && (await serveFault(x, f, oauthShape))) return;
    await normal();
  }

  async function handleToken(x: Exchange, req: IncomingMessage, body: Buffer): Promise<void> {
    await withFaults(x, orgFaults.token, () => {
      const ctype = req.headers['content-type'] ?? '';
      if (!/^application\/x-www-form-urlencoded\b/i.test(ctype)) {
        return x.json(400, oauthErrorBody('invalid_request', 'Content-Type must be application/x-www-form-urlencoded'));
      }
      const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const decoded = m?.[1] === undefined ? undefined : Buffer.from(m[1], 'base64').toString('utf8');
      const sep = decoded?.indexOf(':') ?? -1;
      if (decoded === undefined || sep < 0) {
        return x.json(401, oauthErrorBody('invalid_client', 'Client authentication is required: send Authorization: Basic base64(clientId:clientSecret)'));
      }
      const { clientId, clientSecret } = scenario.credentials;
      if (!sameSecret(decoded.slice(0, sep), clientId) || !sameSecret(decoded.slice(sep + 1), clientSecret)) {
        return x.json(401, oauthErrorBody('invalid_client', 'Invalid client credentials'));
      }
      const form = new URLSearchParams(body.toString('utf8'));
      const grant = form.get('grant_type');
      if (grant === null) return x.json(400, oauthErrorBody('invalid_request', 'grant_type is required'));
      if (grant !== 'client_credentials') {
        return x.json(400, oauthErrorBody('unsupported_grant_type', `Unsupported grant_type: ${grant}`));
      }
      x.json(200, { access_token: tokens.issue(), token_type: 'bearer', expires_in: org.tokenLifetimeSeconds }, {
        'Cache-Control': 'no-store',
      });
    }, true);
  }

  async function handleList(x: Exchange, url: URL): Promise<void> {
    const size = pageParam(url.searchParams.get('pageSize'), 'pageSize', org.defaultPageSize);
    const number = pageParam(url.searchParams.get('pageNumber'), 'pageNumber', 1);
    if (typeof number === 'number') x.rec.pageNumber = number;
    await withFaults(x, orgFaults.list, () => {
      if (typeof size === 'string') return x.error(400, size, { details: [{ fieldName: 'pageSize' }] });
      if (typeof number === 'string') return x.error(400, number, { details: [{ fieldName: 'pageNumber' }] });
      const pageSize = org.list.ignorePageSizeCap ? size : Math.min(size, org.pageSizeCap);
      const records = scenario.indexes.map((ix) => ix.record);
      const total = records.length;
      const truePageCount = Math.ceil(total / pageSize);
      const uri = (n: number): string => `${INDEXES_PATH}?pageSize=${pageSize}&pageNumber=${n}`;
      const body: Record<string, unknown> = {
        entities: records.slice((number - 1) * pageSize, number * pageSize),
        pageSize,
        pageNumber: number,
        total,
        totalCount: total,
        pageCount: Math.max(0, truePageCount + org.list.pageCountOffset),
        firstUri: uri(1),
        selfUri: uri(number),
        lastUri: uri(Math.max(1, truePageCount)),
      };
      if (number < truePageCount) body.nextUri = uri(number + 1);
      if (number > 1 && number <= truePageCount) body.previousUri = uri(number - 1);
      x.json(200, body);
    });
  }

  function lookupIndex(x: Exchange, id: string): IndexRuntime | undefined {
    const rt = runtimes.get(id);
    if (rt === undefined || rt.deleted) {
      x.error(404, `Index ${id} was not found`, { entityId: id, messageParams: { id } });
      return undefined;
    }
    return rt;
  }

  async function handlePut(x: Exchange, req: IncomingMessage, id: string, body: Buffer): Promise<void> {
    const rt = lookupIndex(x, id);
    if (rt === undefined) return;
    rt.putCount += 1;
    await withFaults(x, rt.putFaults, () => {
      if (!isJsonContentType(req)) return x.error(415, 'Content-Type must be application/json');
      const parsed = parseJson(body);
      if (!parsed.ok) return x.error(400, 'Unable to parse the request body as JSON');
      const problem = checkDirectives(parsed.value);
      if (problem !== undefined) {
        return x.error(400, problem, { details: [{ errorCode: 'invalid.field', fieldName: 'refreshPolicy', entityId: id }] });
      }
      const now = Date.now();
      if (rt.isRefreshing(now)) {
        return x.error(503, `Index ${id} is refreshing; retry when the refresh completes`, { entityId: id }, {
          'Retry-After': String(rt.secondsUntilRefreshed(now)),
        });
      }
      rt.startRefresh(parsed.value, now);
      x.json(202, { id, status: 'accepted', refreshing: rt.isRefreshing(now), lastRefresh: new Date(now).toISOString() });
    });
  }

  async function handleHealth(x: Exchange, id: string): Promise<void> {
    const rt = lookupIndex(x, id);
    if (rt === undefined) return;
    rt.healthCount += 1;
    await withFaults(x, rt.healthFaults, () => {
      const now = Date.now();
      const health = rt.currentHealth(now);
      if (health === undefined) {
        return x.error(503, `Index ${id} is refreshing; health is unavailable until the refresh completes`, { entityId: id });
      }
      x.json(200, health);
    });
  }

  async function handleProbe(x: Exchange, req: IncomingMessage, body: Buffer): Promise<void> {
    await withFaults(x, orgFaults.probe, async () => {
      if (!isJsonContentType(req)) return x.error(415, 'Content-Type must be application/json');
      const parsed = parseJson(body);
      if (!parsed.ok) return x.error(400, 'Unable to parse the request body as JSON');
      const problem = checkConversationQuery(parsed.value);
      if (problem !== undefined) return x.error(400, problem);
      await sleep(org.probeLatencyMs * (1 - 0.3 * optimizedShare(Date.now())));
      x.json(200, { conversations: [], totalHits: 0 });
    });
  }

  /** Bearer check, rate limit and permission, in that order. False when already answered. */
  function admitApiCall(x: Exchange, req: IncomingMessage, endpoint: Endpoint): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = m?.[1];
    if (token !== undefined) x.rec.tokenId = createHash('sha256').update(token).digest('hex').slice(0, 8);
    const check = token === undefined ? undefined : tokens.use(token);
    if (token === undefined || check === undefined || !check.ok) {
      x.res.setHeader('inin-ratelimit-count', '0');
      x.res.setHeader('inin-ratelimit-allowed', String(org.rateLimitPerMinute));
      x.res.setHeader('inin-ratelimit-reset', String(Math.ceil(org.rateLimitWindowSeconds)));
      if (token === undefined) {
        x.error(401, 'No authentication bearer token specified in authorization header.', { code: 'authentication.required' });
      } else {
        x.error(401, 'Invalid login credentials.', { code: 'bad.credentials' });
      }
      return false;
    }
    const rate = limiter.take(token);
    x.res.setHeader('inin-ratelimit-count', String(rate.count));
    x.res.setHeader('inin-ratelimit-allowed', String(rate.limit));
    x.res.setHeader('inin-ratelimit-reset', String(rate.resetSeconds));
    if (!rate.allowed) {
      x.json(429, rateLimitBody(rate.resetSeconds, x.rec.correlationId, rate.limit), { 'Retry-After': String(rate.resetSeconds) });
      return false;
    }
    const needed = PERMISSION[endpoint];
    if (needed !== undefined && org.deniedPermissions.includes(needed)) {
      x.error(403, `Unable to perform the requested action. The OAuth client's role is missing permission ${needed}`, {
        code: 'missing.permissions',
        messageWithParams: "Unable to perform the requested action. The OAuth client's role is missing permission {permission}",
        messageParams: { permission: needed },
      });
      return false;
    }
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const correlationId = randomUUID();
    res.setHeader('ININ-Correlation-Id', correlationId);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const r = route(method, url.pathname);
    const rec: RecordedRequest = {
      at: Date.now(),
      method,
      path: url.pathname,
      endpoint: 'endpoint' in r ? r.endpoint : 'other',
      status: 0,
      correlationId,
    };
    if ('indexId' in r && r.indexId !== undefined) rec.indexId = r.indexId;
    const x = new Exchange(res, rec, record);

    const body = await readBody(req);
    if (body === 'too-large') return x.error(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    if ('badPath' in r) return x.error(400, r.badPath);
    if (r.endpoint === 'token') return handleToken(x, req, body);
    if (!url.pathname.startsWith('/api/')) return x.error(404, `No resource at ${method} ${url.pathname}`);
    if (!admitApiCall(x, req, r.endpoint)) return;
    switch (r.endpoint) {
      case 'list':
        return handleList(x, url);
      case 'put':
        return handlePut(x, req, r.indexId ?? '', body);
      case 'health':
        return handleHealth(x, r.indexId ?? '');
      case 'probe':
        return handleProbe(x, req, body);
      default:
        return x.error(404, `No resource at ${method} ${url.pathname}`);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      const rec: RecordedRequest = {
        at: Date.now(), method: req.method ?? '', path: req.url ?? '', endpoint: 'other', status: 500,
        correlationId: String(res.getHeader('ININ-Correlation-Id') ?? ''),
      };
      new Exchange(res, rec, record).error(500, `Simulator error: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  server.keepAliveTimeout = 5000;

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    apiUrl: url,
    loginUrl: url,
    port,
    credentials: { ...scenario.credentials },
    requests,
    scenario,
    indexState: (id) => runtimes.get(id)?.view(),
    revokeAllTokens: () => tokens.revokeAll(),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const s of sleepers) {
        clearTimeout(s.timer);
        s.wake();
      }
      sleepers.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
    },
  };
}
