/**
 * The response shapes of the contract, checked field by field. A check names the field that is
 * wrong so the error can say "entities[3].shardCount must be a number" instead of crashing later.
 */

export interface IndexConfig {
  id: string;
  name: string;
  type?: string;
  status?: string;
  shardCount: number;
  replicaCount: number;
  maxDocumentCount?: number;
  storageBytes: number;
  /** ISO-8601; absent when the index has never been refreshed. */
  lastRefresh?: string;
}

/** One inventory record: either a well-formed index or what is known of a malformed one. */
export type IndexRecord =
  | { valid: true; index: IndexConfig }
  | { valid: false; id?: string; name?: string; problems: string[] };

export interface IndexPage {
  records: IndexRecord[];
  pageNumber: number;
  pageCount: number;
  total?: number;
  nextUri?: string;
}

export const HEALTH_STATUSES = ['green', 'yellow', 'red'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface IndexHealth {
  status: HealthStatus;
  diskUsage?: number;
  queryLatencyMs?: number;
  shardStatus?: string;
}

export interface TokenGrant {
  accessToken: string;
  expiresInSeconds: number;
}

/** Thrown by the readers below; the client wraps it into a MalformedResponseError. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'string') return typeof value;
  // Long strings are not quoted, not even in part: a misplaced token or secret would be long.
  return value.length <= 32 ? `the string ${JSON.stringify(value)}` : `a string of ${value.length} characters`;
}

export function asObject(value: unknown, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ShapeError(`${field} must be an object, got ${describe(value)}`);
  }
  return value as Json;
}

function requireString(o: Json, key: string, prefix: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) {
    throw new ShapeError(`${prefix}${key} must be a non-empty string, got ${v === undefined ? 'nothing' : describe(v)}`);
  }
  return v;
}

function requireCount(o: Json, key: string, prefix: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new ShapeError(`${prefix}${key} must be a non-negative integer, got ${v === undefined ? 'nothing' : describe(v)}`);
  }
  return v;
}

function optionalNumber(o: Json, key: string, prefix: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ShapeError(`${prefix}${key} must be a number, got ${describe(v)}`);
  }
  return v;
}

function optionalString(o: Json, key: string, prefix: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ShapeError(`${prefix}${key} must be a string, got ${describe(v)}`);
  return v;
}

export function readTokenGrant(body: unknown): TokenGrant {
  const o = asObject(body, 'body');
  const accessToken = o['access_token'];
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    // Never describe the value: it may be a token.
    throw new ShapeError('access_token must be a non-empty string');
  }
  const tokenType = o['token_type'];
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
    throw new ShapeError(`token_type must be "bearer", got ${describe(tokenType)}`);
  }
  const expiresIn = o['expires_in'];
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new ShapeError(`expires_in must be a positive number of seconds, got ${describe(expiresIn)}`);
  }
  return { accessToken, expiresInSeconds: expiresIn };
}

/** Reads one IndexConfig; every problem is collected so the report can list them all. */
export function readIndexRecord(value: unknown, field: string): IndexRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { valid: false, problems: [`${field} must be an object, got ${describe(value)}`] };
  }
  const o = value as Json;
  const problems: string[] = [];
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (err instanceof ShapeError) {
        problems.push(`${field}.${err.message}`);
        return undefined;
      }
      throw err;
    }
  };
  const id = attempt(() => requireString(o, 'id', ''));
  const name = attempt(() => requireString(o, 'name', ''));
  const type = attempt(() => optionalString(o, 'type', ''));
  const status = attempt(() => optionalString(o, 'status', ''));
  const shardCount = attempt(() => requireCount(o, 'shardCount', ''));
  const replicaCount = attempt(() => requireCount(o, 'replicaCount', ''));
  const maxDocumentCount = attempt(() => optionalNumber(o, 'maxDocumentCount', ''));
  const storageBytes = attempt(() => requireCount(o, 'storageBytes', ''));
  const lastRefresh = attempt(() => {
    const v = optionalString(o, 'lastRefresh', '');
    if (v !== undefined && Number.isNaN(Date.parse(v))) {
      throw new ShapeError(`lastRefresh must be an ISO-8601 timestamp, got ${describe(v)}`);
    }
    return v;
  });
  if (problems.length > 0 || id === undefined || name === undefined) {
    return {
      valid: false,
      ...(typeof o['id'] === 'string' && o['id'] ? { id: o['id'] } : {}),
      ...(typeof o['name'] === 'string' && o['name'] ? { name: o['name'] } : {}),
      problems,
    };
  }
  const index: IndexConfig = {
    id,
    name,
    shardCount: shardCount!,
    replicaCount: replicaCount!,
    storageBytes: storageBytes!,
  };
  if (type !== undefined) index.type = type;
  if (status !== undefined) index.status = status;
  if (maxDocumentCount !== undefined) index.maxDocumentCount = maxDocumentCount;
  if (lastRefresh !== undefined) index.lastRefresh = lastRefresh;
  return { valid: true, index };
}

export function readIndexPage(body: unknown): IndexPage {
  const o = asObject(body, 'body');
  const entities = o['entities'];
  if (!Array.isArray(entities)) {
    throw new ShapeError(`entities must be an array, got ${entities === undefined ? 'nothing' : describe(entities)}`);
  }
  const pageNumber = requireCount(o, 'pageNumber', '');
  const pageCount = requireCount(o, 'pageCount', '');
  const total = optionalNumber(o, 'total', '') ?? optionalNumber(o, 'totalCount', '');
  const nextUri = optionalString(o, 'nextUri', '');
  const page: IndexPage = {
    records: entities.map((e, i) => readIndexRecord(e, `entities[${i}]`)),
    pageNumber,
    pageCount,
  };
  if (total !== undefined) page.total = total;
  if (nextUri) page.nextUri = nextUri;
  return page;
}

export function readIndexHealth(body: unknown): IndexHealth {
  const o = asObject(body, 'body');
  const raw = o['status'];
  const status = typeof raw === 'string' ? raw.toLowerCase() : raw;
  if (!HEALTH_STATUSES.includes(status as HealthStatus)) {
    throw new ShapeError(`status must be one of ${HEALTH_STATUSES.join(', ')}, got ${raw === undefined ? 'nothing' : describe(raw)}`);
  }
  const health: IndexHealth = { status: status as HealthStatus };
  const diskUsage = optionalNumber(o, 'diskUsage', '');
  const queryLatencyMs = optionalNumber(o, 'queryLatencyMs', '');
  const shardStatus = optionalString(o, 'shardStatus', '');
  if (diskUsage !== undefined) health.diskUsage = diskUsage;
  if (queryLatencyMs !== undefined) health.queryLatencyMs = queryLatencyMs;
  if (shardStatus !== undefined) health.shardStatus = shardStatus;
  return health;
}
