/**
 * The contract between the state machine (infra/stack/state-machine.ts) and the functions:
 * where each step's result lives in the execution state, and the statuses and fields the Choice
 * and Wait states read from it. Both sides import these names, and each status table is checked
 * against the step's own result type, so a status a step stops returning (or starts returning)
 * fails the build instead of a Choice state silently taking its Default.
 */
import type { CheckedInput, PlanSummary, StateConfig } from '../handlers/validate.ts';
import type { FetchResult } from '../steps/fetch-inventory.ts';
import type { OptimizeResult } from '../steps/optimize-index.ts';
import type { ProbeResult } from '../steps/probe-latency.ts';
import type { VerifyResult } from '../steps/verify-index.ts';
import type { ReportOutcome } from '../handlers/report.ts';
import type { ApprovalDecision } from '../domain/approval.ts';
import type { Retries, Safety, Timing } from '../domain/execution-input.ts';
import type { OptimizationDirectives } from '../genesys/client.ts';
import type { OptimizeProgress } from '../steps/optimize-index.ts';

type StatusTable<T extends { status: string }> = { readonly [S in T['status']]: S };

export const FETCH_STATUS = { listed: 'listed', retry: 'retry' } as const satisfies StatusTable<FetchResult>;
export const OPTIMIZE_STATUS = { accepted: 'accepted', retry: 'retry', skipped: 'skipped', failed: 'failed' } as const satisfies StatusTable<OptimizeResult>;
export const VERIFY_STATUS = { healthy: 'healthy', poll: 'poll', failed: 'failed' } as const satisfies StatusTable<VerifyResult>;
export const PROBE_STATUS = { measured: 'measured', retry: 'retry', unavailable: 'unavailable' } as const satisfies StatusTable<ProbeResult>;

/** A field of a step's result, named in a JSONPath the state machine reads. */
type Field<T> = Extract<T extends unknown ? keyof T : never, string>;
const field = <T>(name: Field<T>): string => name;

/** Where each step's result is kept in the parent execution's state. */
export const STATE_PATH = {
  config: '$.config',
  guard: '$.guard',
  fetch: '$.fetch',
  plan: '$.plan',
  /** The approval execution's output: { decision }. */
  approval: '$.approval',
  latencyBefore: '$.latency.before',
  latencyAfter: '$.latency.after',
  /** The Distributed Map's result: where its ResultWriter put the child executions' results. */
  mapRun: '$.mapRun',
  /** The error of a Map that failed as a whole (caught). */
  stateError: '$.stateError',
  report: '$.report',
} as const;

/** Where each step's result is kept in one index's (child execution's) state. */
export const INDEX_PATH = {
  optimize: '$.optimize',
  verify: '$.verify',
  /** The error of a function that crashed or timed out (caught). */
  error: '$.error',
} as const;

/** The fields the Choice and Wait states read, each checked to exist on the step's result type. */
export const FIELD = {
  status: field<FetchResult>('status'),
  waitSeconds: field<Extract<OptimizeResult, { status: 'retry' }>>('waitSeconds'),
  settleSeconds: field<Extract<OptimizeResult, { status: 'accepted' }>>('settleSeconds'),
  healthDeadline: field<Extract<OptimizeResult, { status: 'accepted' }>>('healthDeadline'),
  readReserved: field<Extract<OptimizeResult, { status: 'accepted' }>>('readReserved'),
  before: field<Extract<OptimizeResult, { status: 'accepted' }>>('before'),
  startedAt: field<Extract<OptimizeResult, { status: 'accepted' }>>('startedAt'),
  attempts: field<Extract<OptimizeResult, { status: 'accepted' }>>('attempts'),
  lastError: field<Extract<OptimizeResult, { status: 'accepted' }>>('lastError'),
  /** The index's timeline up to its accepted PUT: the first health read appends to it. */
  timeline: field<Extract<OptimizeResult, { status: 'accepted' }>>('timeline'),
  reason: field<Extract<OptimizeResult, { status: 'failed' }>>('reason'),
  errorName: field<Extract<OptimizeResult, { status: 'failed' }>>('errorName'),
  proceed: field<CheckedInput['guard']>('proceed'),
  qualifying: field<PlanSummary>('qualifying'),
  itemsKey: field<PlanSummary>('itemsKey'),
  resultsPrefix: field<PlanSummary>('resultsPrefix'),
  runError: field<ReportOutcome>('error'),
  decisionStatus: `decision.${field<ApprovalDecision>('status')}`,
  approvalRequired: `${field<StateConfig>('approval')}.${field<StateConfig['approval']>('required')}`,
  approvalTimeoutSeconds: `${field<StateConfig>('approval')}.${field<StateConfig['approval']>('timeoutSeconds')}`,
} as const;

/** The one decision that lets a run change indexes. */
export const APPROVED = 'approved' satisfies ApprovalDecision['status'];

export const at = (base: string, name: string): string => `${base}.${name}`;

/**
 * What the Distributed Map gives each index's child execution (its ItemSelector builds exactly
 * these fields), and so what the per-index tasks can pass on to optimize and verify.
 */
export interface IndexItem {
  /** The parent execution's id: the run's objects are keyed by it, not by the child's. */
  executionId: string;
  /** The run's org (RunConfig.org): null in a single-org deployment. */
  org: string | null;
  indexId: string;
  /** How many indexes the Map started before this one. */
  position: number;
  directives: OptimizationDirectives;
  healthCheckBeforePut: boolean;
  /** policy.maxLatencyRegression: how much slower after the PUT counts as a regression. */
  maxLatencyRegression: number;
  timing: Timing;
  retries: Retries;
  safety: Safety;
  apiBudgetPerMinute: number;
  /** The loops' starting counters. */
  optimize: OptimizeProgress;
  verify: { polls: number };
}

/** An item field, as the child execution's state holds it. */
export const itemPath = (field: keyof IndexItem): string => `$.${field}`;
