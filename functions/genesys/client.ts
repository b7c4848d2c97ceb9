/**
 * The one typed Genesys Cloud client: every path, header, response check and error mapping of
 * the contract lives here. Retries that need waiting (429, busy, refreshing) are left to the
 * state machine; the client only re-fetches a token once after a 401, which needs no wait.
 */
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
  type GenesysErrorDetails,
} from './errors.ts';
import { redact } from './redact.ts';
import type { GenesysHosts } from './regions.ts';
import { parseRetryAfter } from './retry-after.ts';
import {
  ShapeError,
  readIndexHealth,
  readIndexPage,
  readTokenGrant,
  type IndexHealth,
  type IndexPage,
} from './shapes.ts';
import { InventoryCollector, type IndexInventory } from './inventory.ts';
import { TokenCache, sharedTokenCache } from './token-cache.ts';

export type { IndexInventory } from './inventory.ts';

export interface GenesysCredentials {
  clientId: string;
  clientSecret: string;
}

/** The seed's optimization directives (contract: "Optimization"). */
export interface OptimizationDirectives {
  refreshPolicy: string;
  reindexStrategy: string;
  shardOptimization: { rebalanceStrategy: string; forceMerge: boolean; replicaTrigger: boolean };
  validationRules: { checkDiskUsage: boolean; checkQueryLatency: boolean };
}

/** Paths of the contract. The index endpoints come from the seed, not Genesys' public reference, so they can be changed. */
export interface GenesysPaths {
  token: string;
  indexes: string;
  analyticsQuery: string;
}

export const DEFAULT_PATHS: GenesysPaths = {
  token: '/oauth/token',
  indexes: '/api/v2/search/indexes',
  analyticsQuery: '/api/v2/analytics/conversations/details/query',
};

/** The permission each call needs; a 403 names it (the seed's names for the index endpoints). */
export const REQUIRED_PERMISSIONS = {
  list: 'search:read',
  health: 'search:read',
  put: 'search:write',
  probe: 'analytics:conversationDetail:view',
} as const;
type ApiCall = keyof typeof REQUIRED_PERMISSIONS;

/** Each API call by the client's method that makes it (the name a run's timeline shows). */
export const CALL_METHOD = {
  list: 'listIndexPage',
  health: 'getHealth',
  put: 'putOptimization',
  probe: 'probeQueryLatency',
} as const satisfies Record<ApiCall, keyof GenesysClient>;

export interface ResponseInfo {
  call: ApiCall | 'token';
  endpoint: string;
  /** The HTTP status; 0 when no answer came (a timeout, a refused or reset connection). */
  status: number;
  correlationId?: string;
  durationMs: number;
}

export interface GenesysClientOptions {
  hosts: GenesysHosts;
  credentials: GenesysCredentials;
  /** Per request, including reading the body. */
  timeoutMs?: number;
  /** Asked for on each list call; the server may cap it. */
  pageSize?: number;
  paths?: Partial<GenesysPaths>;
  tokenCache?: TokenCache;
  /**
   * Called after every HTTP response, and after every request that got none (status 0), for logs,
   * metrics and the run's timeline; never given headers or bodies.
   */
  onResponse?: (info: ResponseInfo) => void;
}

export interface Correlated {
  correlationId?: string;
}
export type HealthReading = Correlated & ({ state: 'reported'; health: IndexHealth } | { state: 'refreshing' });
export interface LatencyProbe extends Correlated {
  latencyMs: number;
  /** The seed's figure: 1000 / (latencyMs + 0.1). */
  throughputRate: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_PAGE_SIZE = 100;
const MAX_MESSAGE_CHARS = 300;

interface Sent {
  status: number;
  headers: Headers;
  body: unknown;
  /** The body was not empty and not JSON (then `body` is undefined). */
  notJson: boolean;
  correlationId?: string;
}

export class GenesysClient {
  private readonly hosts: GenesysHosts;
  private readonly credentials: GenesysCredentials;
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly paths: GenesysPaths;
  private readonly tokens: TokenCache;
  private readonly tokenKey: string;
  private readonly onResponse: ((info: ResponseInfo) => void) | undefined;

  constructor(options: GenesysClientOptions) {
    this.hosts = options.hosts;
    this.credentials = options.credentials;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.paths = { ...DEFAULT_PATHS, ...options.paths };
    this.tokens = options.tokenCache ?? sharedTokenCache;
    this.tokenKey = TokenCache.keyFor(this.hosts.loginUrl, this.credentials.clientId, this.credentials.clientSecret);
    this.onResponse = options.onResponse;
  }

  /** Every index of the org, following every page. */
  async listIndexes(): Promise<IndexInventory> {
    const collector = new InventoryCollector();
    while (!collector.add(await this.listIndexPage(collector.nextPage)));
    return collector.finish();
  }

  async listIndexPage(pageNumber: number): Promise<IndexPage & Correlated> {
    const path = `${this.paths.indexes}?pageSize=${this.pageSize}&pageNumber=${pageNumber}`;
    const res = await this.api('list', 'GET', path);
    const page = this.read(res, `GET ${path}`, readIndexPage);
    if (page.pageNumber !== pageNumber) {
      throw new MalformedResponseError(`pageNumber is ${page.pageNumber}, expected ${pageNumber}`, {
        endpoint: `GET ${path}`,
        status: res.status,
        ...correlation(res),
      });
    }
    return { ...page, ...correlation(res) };
  }

  /** PUT the optimization directives. Resolves when Genesys accepted them (200/202/204). */
  async putOptimization(indexId: string, directives: OptimizationDirectives): Promise<Correlated & { status: number }> {
    const res = await this.api('put', 'PUT', this.indexPath(indexId), directives);
    return { status: res.status, ...correlation(res) };
  }

  /** One health read. 503 means the index is refreshing or rebalancing: not an error here. */
  async getHealth(indexId: string): Promise<HealthReading> {
    const path = `${this.indexPath(indexId)}/health`;
    const res = await this.api('health', 'GET', path, undefined, [503]);
    if (res.status === 503) return { state: 'refreshing', ...correlation(res) };
    return { state: 'reported', health: this.read(res, `GET ${path}`, readIndexHealth), ...correlation(res) };
  }

  /**
   * Times one analytics conversation-details query over the previous whole UTC day (an interval
   * ending "now" would shift while data arrives).
   */
  async probeQueryLatency(now: Date = new Date()): Promise<LatencyProbe> {
    const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const start = new Date(end.getTime() - 86_400_000);
    const body = {
      interval: `${start.toISOString()}/${end.toISOString()}`,
      order: 'desc',
      paging: { pageSize: 10, pageNumber: 1 },
    };
    // The token is fetched first so the measurement is the query alone.
    await this.token();
    const started = performance.now();
    const res = await this.api('probe', 'POST', this.paths.analyticsQuery, body);
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    return { latencyMs, throughputRate: 1000 / (latencyMs + 0.1), ...correlation(res) };
  }

  private indexPath(indexId: string): string {
    return `${this.paths.indexes}/${encodeURIComponent(indexId)}`;
  }

  private token(): Promise<string> {
    return this.tokens.get(this.tokenKey, () => this.fetchToken());
  }

  private async fetchToken() {
    const endpoint = `POST ${this.paths.token}`;
    const basic = Buffer.from(`${this.credentials.clientId}:${this.credentials.clientSecret}`).toString('base64');
    const res = await this.send('token', endpoint, `${this.hosts.loginUrl}${this.paths.token}`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${basic}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: 'grant_type=client_credentials',
    });
    const details: GenesysErrorDetails = { endpoint, status: res.status, ...correlation(res) };
    if (res.status === 200) return this.read(res, endpoint, readTokenGrant);
    const oauth = asRecord(res.body);
    const why = this.clean(String(oauth['error_description'] ?? oauth['description'] ?? oauth['error'] ?? ''));
    if (res.status === 400 || res.status === 401) {
      throw new CredentialsInvalidError(
        `the login service refused the OAuth client credentials (${res.status}${why ? `: ${why}` : ''}); check the client id and secret`,
        { ...details, ...(typeof oauth['error'] === 'string' ? { code: oauth['error'] } : {}) },
      );
    }
    throw this.classify('token', res, details);
  }

  /**
   * One authorised API call. A 401 means the token was revoked or expired early: fetch a new
   * one once and repeat the call once; a second 401 is a credentials problem.
   */
  private async api(call: ApiCall, method: string, path: string, body?: unknown, passStatuses: number[] = []): Promise<Sent> {
    const endpoint = `${method} ${path}`;
    for (let attempt = 1; ; attempt++) {
      const token = await this.token();
      const res = await this.send(call, endpoint, `${this.hosts.apiUrl}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.status === 401) {
        this.tokens.invalidate(this.tokenKey, token);
        if (attempt === 1) continue;
        throw new CredentialsInvalidError(
          'a freshly issued access token was refused (401); the OAuth client may have been deleted or its secret rotated',
          { endpoint, status: 401, ...correlation(res) },
        );
      }
      if ((res.status >= 200 && res.status < 300) || passStatuses.includes(res.status)) return res;
      throw this.classify(call, res, { endpoint, status: res.status, ...correlation(res) });
    }
  }

  private classify(call: ApiCall | 'token', res: Sent, details: GenesysErrorDetails): GenesysError {
    const body = asRecord(res.body);
    const code = typeof body['code'] === 'string' ? body['code'] : undefined;
    const withCode: GenesysErrorDetails = code ? { ...details, code } : details;
    const message = this.clean(typeof body['message'] === 'string' ? body['message'] : '');
    const said = message ? `: ${message}` : '';
    const status = res.status;
    if (status === 429) {
      const seconds = parseRetryAfter(res.headers, res.body);
      return new RateLimitedError(`rate limited (429), retry after ${seconds} s${said}`, withCode, seconds);
    }
    if (status === 403 && call !== 'token') {
      const permission = REQUIRED_PERMISSIONS[call];
      return new ForbiddenError(
        `forbidden (403): the OAuth client's role lacks the permission ${permission}${said}`,
        withCode,
        permission,
      );
    }
    if (status === 404) return new NotFoundError(`not found (404)${said}`, withCode);
    if (status === 503 && call === 'put') {
      return new IndexBusyError(`index busy (503): refreshing or rebalancing${said}`, withCode);
    }
    if (status >= 500) return new TransientError(`server error (${status})${said}`, withCode);
    return new RejectedError(`rejected (${status})${said}`, withCode);
  }

  private async send(call: ApiCall | 'token', endpoint: string, url: string, init: RequestInit): Promise<Sent> {
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      text = await response.text();
    } catch (err) {
      // A call without an answer still took its time and (probably) its place in the org's rate limit.
      this.onResponse?.({ call, endpoint, status: 0, durationMs: Math.round(performance.now() - started) });
      const cause = describeNetworkError(err, this.timeoutMs);
      throw new TransientError(cause, { endpoint }, { cause: err });
    }
    const correlationId = response.headers.get('inin-correlation-id') ?? undefined;
    this.onResponse?.({
      call,
      endpoint,
      status: response.status,
      durationMs: Math.round(performance.now() - started),
      ...(correlationId ? { correlationId } : {}),
    });
    let body: unknown;
    let notJson = false;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        notJson = true;
      }
    }
    // A body that is not JSON is only an error where the body is read (see read()): an accepted
    // PUT whose body nobody needs is still accepted.
    return { status: response.status, headers: response.headers, body, notJson, ...(correlationId ? { correlationId } : {}) };
  }

  private read<T>(res: Sent, endpoint: string, reader: (body: unknown) => T): T {
    if (res.notJson) {
      throw new MalformedResponseError(`the ${res.status} response body is not JSON`, { endpoint, status: res.status, ...correlation(res) });
    }
    try {
      return reader(res.body);
    } catch (err) {
      if (!(err instanceof ShapeError)) throw err;
      throw new MalformedResponseError(`response does not match the contract: ${this.clean(err.message)}`, {
        endpoint,
        status: res.status,
        ...correlation(res),
      });
    }
  }

  /** Bounds and scrubs text that came from the server before it goes into an error. */
  private clean(text: string): string {
    const { clientId, clientSecret } = this.credentials;
    // The Basic credential is the secret in another spelling: a server or proxy may echo it.
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    const scrubbed = redact(text, [clientSecret, basic, ...this.tokens.tokens()]);
    return scrubbed.length > MAX_MESSAGE_CHARS ? `${scrubbed.slice(0, MAX_MESSAGE_CHARS)}…` : scrubbed;
  }
}

function correlation(res: { correlationId?: string }): Correlated {
  return res.correlationId ? { correlationId: res.correlationId } : {};
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no response within ${timeoutMs} ms (timeout)`;
  }
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return `network error: ${detail}`;
}
