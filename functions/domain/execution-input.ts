/**
 * The execution input, the same for the schedule, a manual execution and `npm start`. Every
 * field is optional; unknown fields are refused so that a typo ("dryrun") cannot silently turn a
 * dry run into a real one.
 */
import type { OptimizationDirectives } from '../genesys/client.ts';
import { DEFAULT_DIRECTIVES } from './directives.ts';
import { describeValue, InputError, isJsonObject } from './input-error.ts';
import { longestFirstReadDelay } from './refresh-timing.ts';
import { listOrgNames, ORG_NAME } from './orgs.ts';

export interface Policy {
  maxShards: number;
  maxReplicas: number;
  maxStorageBytes: number;
  /** Skip an index refreshed less than this many hours ago. */
  cooldownHours: number;
  /** Read each index's health before its PUT and skip it when red or already refreshing. */
  healthCheckBeforePut: boolean;
  /** An index whose query latency after its optimization exceeds before by more than this share is reported as regressed. */
  maxLatencyRegression: number;
}

export interface Timing {
  /** Wait after an accepted PUT before the first health read. */
  settleSeconds: number;
  /** Wait between health reads while the index refreshes (and before retrying a busy index). */
  healthPollSeconds: number;
  /** Give up on an index that is not green or yellow this long after its PUT was accepted. */
  healthTimeoutSeconds: number;
}

export interface Retries {
  /** Attempts per Genesys call (a PUT, a list page, the probe) that fail with a busy answer or a transient error (5xx, network). */
  maxAttempts: number;
  /** A 429 asking for a longer wait than this fails the index instead (the Genesys SDKs' bound). */
  maxRetryAfterSeconds: number;
  /**
   * Attempts per call answered 429 (rate limited), counted apart from maxAttempts: a 429 only says
   * the org's shared budget is spent for now, so a run paced faster than the org's limit slows down
   * rather than failing indexes. Still bounded: at most this many waits of maxRetryAfterSeconds.
   */
  maxThrottledAttempts: number;
}

export interface Safety {
  /** Stop starting indexes once more than this share (0–1) of those started so far has failed. */
  maxFailedShare: number;
  /** …but only once at least this many have started, so one early failure does not stop a run. */
  minIndexesBeforeStop: number;
}

/** Whether the plan waits for an operator's decision before anything changes (the callback pattern). */
export interface Approval {
  required: boolean;
  /** How long the plan waits for a decision; then nothing is changed and the run reports `timedOut`. */
  timeoutHours: number;
}

/** The wait as a Task timeout takes it: whole seconds, at least one. */
export function approvalTimeoutSeconds(approval: Approval): number {
  return Math.max(1, Math.round(approval.timeoutHours * 3600));
}

export interface RunConfig {
  /** The org this run optimizes, in a deployment that manages several (the `orgs` stack setting); null in a single-org one. */
  org: string | null;
  dryRun: boolean;
  approval: Approval;
  /** Only these indexes; null means every index of the org. */
  indexIds: string[] | null;
  /** The execution whose failed indexes this run tries again (npm start / npm run execute --retry-failed). */
  retryOf: string | null;
  policy: Policy;
  directives: OptimizationDirectives;
  timing: Timing;
  retries: Retries;
  safety: Safety;
  /** The run's share of the OAuth client's Genesys API rate limit (300/min by default), in calls per minute. */
  apiBudgetPerMinute: number;
  maxConcurrency: number;
}

export const DEFAULT_POLICY: Policy = {
  maxShards: 50,
  maxReplicas: 3,
  maxStorageBytes: 10_737_418_240,
  cooldownHours: 0,
  healthCheckBeforePut: true,
  maxLatencyRegression: 0.2,
};
export const DEFAULT_APPROVAL_TIMEOUT_HOURS = 24;
/** A weekend and a day: a decision that takes longer belongs to the next run. The state machine's timeout allows for it. */
export const MAX_APPROVAL_TIMEOUT_HOURS = 72;
export const DEFAULT_TIMING: Timing = { settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900 };
export const DEFAULT_RETRIES: Retries = { maxAttempts: 5, maxRetryAfterSeconds: 180, maxThrottledAttempts: 20 };
export const DEFAULT_SAFETY: Safety = { maxFailedShare: 0.5, minIndexesBeforeStop: 5 };
/** Half of Genesys' default 300 requests per minute per token: the rest is left to the org's other integrations. */
export const DEFAULT_API_BUDGET_PER_MINUTE = 150;

/**
 * Indexes in flight at once (the Distributed Map's MaxConcurrency; it allows 10,000). Most of an
 * index's time is spent waiting (its slot, the settle, polls), so keeping the budget busy takes
 * many at once; a thousand covers the largest budget at the default timings.
 */
export const MAX_CONCURRENCY = 1_000;
/** A Wait state accepts up to a year; anything near it is a mistake, so timings are bounded to a day. */
const MAX_SECONDS = 86_400;
/**
 * Step Functions refuses an execution input (and a state payload) over 256 KiB, and the checked
 * config carries the ids through every state. A count would say nothing about that (5,000 ids of
 * 200 characters are a megabyte): the size is what is bounded, with room left for the rest.
 */
export const MAX_INDEX_IDS_KIB = 200;
/** Rate limits are set per OAuth client, 300 a minute by default; far above any real org's limit is a typo. */
export const MAX_API_BUDGET_PER_MINUTE = 10_000;

type Json = Record<string, unknown>;

const isObject = isJsonObject;
const describe = describeValue;

function objectAt(v: unknown, field: string): Json {
  if (!isObject(v)) throw new InputError(field, `must be an object, got ${describe(v)}`);
  return v;
}

function noUnknown(o: Json, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      const where = field ? `${field}.${key}` : key;
      throw new InputError(where, `unknown field; allowed here: ${allowed.join(', ')}`);
    }
  }
}

function numberAt(o: Json, key: string, field: string, fallback: number, min: number, max: number, integer = true): number {
  const v = o[key];
  if (v === undefined) return fallback;
  const where = field ? `${field}.${key}` : key;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(where, `must be a number, got ${describe(v)}`);
  if (integer && !Number.isInteger(v)) throw new InputError(where, `must be a whole number, got ${v}`);
  if (v < min || v > max) throw new InputError(where, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function booleanAt(o: Json, key: string, field: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new InputError(field ? `${field}.${key}` : key, `must be true or false, got ${describe(v)}`);
  return v;
}

function parseIndexIds(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new InputError('indexIds', `must be an array of index ids, got ${describe(v)}`);
  if (v.length === 0) throw new InputError('indexIds', 'is empty; leave it out to optimize every index');
  const ids = v.map((id, i) => {
    if (typeof id !== 'string' || id.trim() === '') throw new InputError(`indexIds[${i}]`, `must be a non-empty string, got ${describe(id)}`);
    if (id.length > 200) throw new InputError(`indexIds[${i}]`, 'is longer than 200 characters');
    return id.trim();
  });
  // The list as given, in UTF-8 as Step Functions counts it: it is what the execution input
  // holds, and the trimmed, deduplicated list the run carries is never larger.
  const bytes = Buffer.byteLength(JSON.stringify(v), 'utf8');
  if (bytes > MAX_INDEX_IDS_KIB * 1024) {
    const kib = Math.ceil((bytes / 1024) * 10) / 10;
    throw new InputError(
      'indexIds',
      `is ${kib} KiB as JSON (${v.length} ids); at most ${MAX_INDEX_IDS_KIB} KiB, because the execution input must fit Step Functions' 256 KiB quota`,
    );
  }
  return [...new Set(ids)];
}

function parseDirectives(v: unknown): OptimizationDirectives {
  if (v === undefined) return structuredClone(DEFAULT_DIRECTIVES);
  const o = objectAt(v, 'directives');
  noUnknown(o, ['refreshPolicy', 'reindexStrategy', 'shardOptimization', 'validationRules'], 'directives');
  const text = (key: 'refreshPolicy' | 'reindexStrategy'): string => {
    const value = o[key];
    if (value === undefined) return DEFAULT_DIRECTIVES[key];
    if (typeof value !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(value)) {
      throw new InputError(`directives.${key}`, `must be a lower-case identifier such as "${DEFAULT_DIRECTIVES[key]}", got ${describe(value)}`);
    }
    return value;
  };
  const shard = o['shardOptimization'] === undefined ? {} : objectAt(o['shardOptimization'], 'directives.shardOptimization');
  noUnknown(shard, ['rebalanceStrategy', 'forceMerge', 'replicaTrigger'], 'directives.shardOptimization');
  const rules = o['validationRules'] === undefined ? {} : objectAt(o['validationRules'], 'directives.validationRules');
  noUnknown(rules, ['checkDiskUsage', 'checkQueryLatency'], 'directives.validationRules');
  const rebalance = shard['rebalanceStrategy'] ?? DEFAULT_DIRECTIVES.shardOptimization.rebalanceStrategy;
  if (typeof rebalance !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(rebalance)) {
    throw new InputError('directives.shardOptimization.rebalanceStrategy', `must be a lower-case identifier, got ${describe(rebalance)}`);
  }
  const d = DEFAULT_DIRECTIVES;
  return {
    refreshPolicy: text('refreshPolicy'),
    reindexStrategy: text('reindexStrategy'),
    shardOptimization: {
      rebalanceStrategy: rebalance,
      forceMerge: booleanAt(shard, 'forceMerge', 'directives.shardOptimization', d.shardOptimization.forceMerge),
      replicaTrigger: booleanAt(shard, 'replicaTrigger', 'directives.shardOptimization', d.shardOptimization.replicaTrigger),
    },
    validationRules: {
      checkDiskUsage: booleanAt(rules, 'checkDiskUsage', 'directives.validationRules', d.validationRules.checkDiskUsage),
      checkQueryLatency: booleanAt(rules, 'checkQueryLatency', 'directives.validationRules', d.validationRules.checkQueryLatency),
    },
  };
}

export const INPUT_FIELDS = ['dryRun', 'indexIds', 'policy', 'directives', 'timing', 'retries', 'safety', 'apiBudgetPerMinute', 'maxConcurrency', 'retryOf', 'approval', 'org'] as const;

/** An execution ARN: what `retryOf` names. */
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_/-]{1,160}:[A-Za-z0-9_.-]{1,80}$/;

function parseRetryOf(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !EXECUTION_ARN.test(v)) throw new InputError('retryOf', `must be the ARN of the execution this run retries, got ${describe(v)}`);
  return v;
}

function parseApproval(v: unknown): Approval {
  if (v === undefined || v === null) return { required: false, timeoutHours: DEFAULT_APPROVAL_TIMEOUT_HOURS };
  const o = objectAt(v, 'approval');
  noUnknown(o, ['required', 'timeoutHours'], 'approval');
  const hours = numberAt(o, 'timeoutHours', 'approval', DEFAULT_APPROVAL_TIMEOUT_HOURS, 0, MAX_APPROVAL_TIMEOUT_HOURS, false);
  if (hours === 0) throw new InputError('approval.timeoutHours', 'must be more than 0');
  return { required: booleanAt(o, 'required', 'approval', false), timeoutHours: hours };
}

/**
 * `org`: required where the deployment manages several orgs (`orgs`, their names), one of them;
 * refused where it manages one, since there is no other org it could mean.
 */
function parseOrg(v: unknown, orgs: readonly string[] | null): string | null {
  if (orgs === null) {
    if (v === undefined || v === null) return null;
    throw new InputError('org', 'this deployment manages a single org (no orgs setting): leave org out');
  }
  if (v === undefined || v === null) throw new InputError('org', `is required: this deployment manages several orgs (${listOrgNames(orgs)})`);
  if (typeof v !== 'string' || !ORG_NAME.test(v)) throw new InputError('org', `must be the name of one of this deployment's orgs, got ${describe(v)}`);
  if (!orgs.includes(v)) throw new InputError('org', `unknown org ${JSON.stringify(v)}; this deployment's orgs: ${listOrgNames(orgs)}`);
  return v;
}

/** `orgs`: the names of the deployment's orgs, or null for a single-org deployment (the default). */
export function parseExecutionInput(raw: unknown, orgs: readonly string[] | null = null): RunConfig {
  // The console's "Start execution" sends {} by default, the CLI may send nothing at all.
  const input = raw === undefined || raw === null ? {} : raw;
  if (!isObject(input)) throw new InputError('input', `must be a JSON object, got ${describe(input)}`);
  noUnknown(input, INPUT_FIELDS, '');

  const p = input['policy'] === undefined ? {} : objectAt(input['policy'], 'policy');
  noUnknown(p, ['maxShards', 'maxReplicas', 'maxStorageBytes', 'cooldownHours', 'healthCheckBeforePut', 'maxLatencyRegression'], 'policy');
  const policy: Policy = {
    maxShards: numberAt(p, 'maxShards', 'policy', DEFAULT_POLICY.maxShards, 1, 100_000),
    maxReplicas: numberAt(p, 'maxReplicas', 'policy', DEFAULT_POLICY.maxReplicas, 0, 1_000),
    maxStorageBytes: numberAt(p, 'maxStorageBytes', 'policy', DEFAULT_POLICY.maxStorageBytes, 1, Number.MAX_SAFE_INTEGER),
    cooldownHours: numberAt(p, 'cooldownHours', 'policy', DEFAULT_POLICY.cooldownHours, 0, 24 * 366, false),
    healthCheckBeforePut: booleanAt(p, 'healthCheckBeforePut', 'policy', DEFAULT_POLICY.healthCheckBeforePut),
    maxLatencyRegression: numberAt(p, 'maxLatencyRegression', 'policy', DEFAULT_POLICY.maxLatencyRegression, 0, 10, false),
  };

  const t = input['timing'] === undefined ? {} : objectAt(input['timing'], 'timing');
  noUnknown(t, ['settleSeconds', 'healthPollSeconds', 'healthTimeoutSeconds'], 'timing');
  const timing: Timing = {
    settleSeconds: numberAt(t, 'settleSeconds', 'timing', DEFAULT_TIMING.settleSeconds, 0, MAX_SECONDS),
    healthPollSeconds: numberAt(t, 'healthPollSeconds', 'timing', DEFAULT_TIMING.healthPollSeconds, 1, MAX_SECONDS),
    healthTimeoutSeconds: numberAt(t, 'healthTimeoutSeconds', 'timing', DEFAULT_TIMING.healthTimeoutSeconds, 1, MAX_SECONDS),
  };
  if (timing.healthTimeoutSeconds < timing.healthPollSeconds) {
    throw new InputError('timing.healthTimeoutSeconds', `must be at least timing.healthPollSeconds (${timing.healthPollSeconds}), got ${timing.healthTimeoutSeconds}`);
  }
  // The health deadline runs from the accepted PUT, so a longer settle would make the first
  // read land past it: every index would fail with a health timeout after a pointless wait.
  if (timing.settleSeconds > timing.healthTimeoutSeconds) {
    throw new InputError('timing.settleSeconds', `must be at most timing.healthTimeoutSeconds (${timing.healthTimeoutSeconds}), got ${timing.settleSeconds}`);
  }

  const r = input['retries'] === undefined ? {} : objectAt(input['retries'], 'retries');
  noUnknown(r, ['maxAttempts', 'maxRetryAfterSeconds', 'maxThrottledAttempts'], 'retries');
  const retries: Retries = {
    maxAttempts: numberAt(r, 'maxAttempts', 'retries', DEFAULT_RETRIES.maxAttempts, 1, 20),
    maxRetryAfterSeconds: numberAt(r, 'maxRetryAfterSeconds', 'retries', DEFAULT_RETRIES.maxRetryAfterSeconds, 1, 3_600),
    maxThrottledAttempts: numberAt(r, 'maxThrottledAttempts', 'retries', DEFAULT_RETRIES.maxThrottledAttempts, 1, 100),
  };

  const sf = input['safety'] === undefined ? {} : objectAt(input['safety'], 'safety');
  noUnknown(sf, ['maxFailedShare', 'minIndexesBeforeStop'], 'safety');
  const safety: Safety = {
    maxFailedShare: numberAt(sf, 'maxFailedShare', 'safety', DEFAULT_SAFETY.maxFailedShare, 0, 1, false),
    minIndexesBeforeStop: numberAt(sf, 'minIndexesBeforeStop', 'safety', DEFAULT_SAFETY.minIndexesBeforeStop, 1, 100_000),
  };

  // At least 3: the pacing interval divides by (budget − 2).
  const apiBudgetPerMinute = numberAt(input, 'apiBudgetPerMinute', '', DEFAULT_API_BUDGET_PER_MINUTE, 3, MAX_API_BUDGET_PER_MINUTE);

  return {
    org: parseOrg(input['org'], orgs),
    dryRun: booleanAt(input, 'dryRun', '', false),
    approval: parseApproval(input['approval']),
    indexIds: parseIndexIds(input['indexIds']),
    retryOf: parseRetryOf(input['retryOf']),
    policy,
    directives: parseDirectives(input['directives']),
    timing,
    retries,
    safety,
    apiBudgetPerMinute,
    maxConcurrency: numberAt(input, 'maxConcurrency', '', 0, 1, MAX_CONCURRENCY) || derivedConcurrency(apiBudgetPerMinute, timing),
  };
}

/** Calls one index needs in the common path: the health pre-check, the PUT and one health read. */
export const CALLS_PER_INDEX = 3;

/**
 * Enough indexes at once to keep the API budget busy, no more (Little's law): the budget allows
 * budget / 60 / CALLS_PER_INDEX indexes per second, and each one holds its place in the Map for
 * up to the longest first-read delay (refresh-timing.ts: the settle, or later when the org's
 * refreshes take longer). A quarter more covers waits for slots and polls; more than that would
 * only queue for slots.
 */
export function derivedConcurrency(apiBudgetPerMinute: number, timing: Timing): number {
  const indexesPerSecond = apiBudgetPerMinute / 60 / CALLS_PER_INDEX;
  const secondsEach = Math.max(1, longestFirstReadDelay(timing));
  return Math.min(MAX_CONCURRENCY, Math.max(1, Math.ceil(1.25 * indexesPerSecond * secondsEach)));
}
