/**
 * The run report: every index of the plan exactly once with its outcome and reason, the
 * query latency before and after, and the error the execution ends with, if any.
 */
import { errorMessageOf } from '../shared/lambda-cause.ts';
import type { Plan } from './plan.ts';
import { medianLatencyChange, type IndexEffect } from './effect.ts';
import type { ApprovalDecision } from './approval.ts';
import type { TimelineEntry } from './timeline.ts';

export type Outcome = 'optimized' | 'skipped' | 'failed' | 'planned';

/** One index's outcome as the function that decided it recorded it. */
export interface IndexResult {
  id: string;
  outcome: 'optimized' | 'skipped' | 'failed';
  reason?: string;
  errorName?: string;
  /** An optimized index: its latency and disk use before and after. */
  effect?: IndexEffect;
  /**
   * What happened to it, call by call and wait by wait (at most MAX_TIMELINE_ENTRIES), for the
   * run's page. Recorded by optimize and verify; never copied into report.json's entries.
   */
  timeline?: TimelineEntry[];
}

export interface LatencyReading {
  status: 'measured' | 'unavailable' | 'retry';
  latencyMs?: number;
  throughputRate?: number;
  reason?: string;
}

export interface ReportEntry {
  id: string;
  name: string | null;
  outcome: Outcome;
  reason: string | null;
  /** What the optimization did to the index (optimized indexes; values null where not measured), else null. */
  effect: IndexEffect | null;
}

export interface RunError {
  name: string;
  cause: string;
}

export interface RunReport {
  executionId: string;
  /** The org the run optimized, in a deployment that manages several; null in a single-org one. */
  org: string | null;
  dryRun: boolean;
  /** The execution whose failed indexes this run tried again, or null. */
  retryOf: string | null;
  /** The operator's decision on the plan, when the run asked for one (null: not asked). */
  approval: ApprovalDecision | null;
  finishedAt: string;
  summary: { total: number; optimized: number; skipped: number; failed: number; planned: number };
  queryLatencyMs: { before: number | null; after: number | null };
  /** The median relative change of the optimized indexes' own latency (after / before − 1), null if none was measured twice. */
  medianIndexLatencyChange: number | null;
  /** The optimized indexes whose latency got worse by more than policy.maxLatencyRegression. */
  regressions: Array<{ id: string; name: string | null; before: number; after: number }>;
  /** The seed's throughput figure, 1000 / (latencyMs + 0.1). */
  throughputRate: { before: number | null; after: number | null };
  indexes: ReportEntry[];
  warnings: string[];
  /** Set when the execution ends failed, with the error it fails with. */
  error: RunError | null;
}

/** Failures that every index would hit alike; the run fails with their name rather than a count. */
export const RUN_LEVEL_ERRORS = ['Genesys.Forbidden', 'Genesys.CredentialsInvalid', 'Config.Credentials', 'Config.RunStore'];

export interface ReportInput {
  executionId: string;
  org?: string | null;
  dryRun: boolean;
  /** The execution this run retried the failed indexes of, if it is a retry. */
  retryOf?: string | null;
  /** The decision on the plan, when one was asked for: anything but an approval leaves every index unchanged. */
  approval?: ApprovalDecision | null;
  plan: Plan;
  results: IndexResult[] | null;
  latency: { before?: LatencyReading | null; after?: LatencyReading | null };
  warnings: string[];
  /** The Map itself failed (not one index): { Error, Cause } from the state machine's Catch. */
  stateError?: { Error?: string; Cause?: string } | null;
  now: Date;
}

function causeText(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  const message = errorMessageOf(cause);
  // Only plain text is unbounded; a Lambda message is the function's own, bounded, reason.
  if (message !== cause) return message;
  return cause.length > 500 ? `${cause.slice(0, 499)}…` : cause;
}

function notApprovedReason(a: ApprovalDecision | null | undefined): string | null {
  if (!a || a.status === 'approved') return null;
  if (a.status === 'timedOut') return `not started: no decision on the plan before ${a.at}`;
  return `not started: the plan was rejected by ${a.by ?? 'an operator'}${a.reason ? ` (${a.reason})` : ''}`;
}

export function buildReport(input: ReportInput): RunReport {
  const notApproved = notApprovedReason(input.approval);
  const byId = new Map((input.results ?? []).map((r) => [r.id, r]));
  const indexes: ReportEntry[] = input.plan.entries.map((entry) => {
    const name = entry.name ?? null;
    if (entry.decision !== 'qualifies') return { id: entry.id, name, outcome: 'skipped', reason: entry.reason ?? entry.decision, effect: null };
    if (input.dryRun) return { id: entry.id, name, outcome: 'planned', reason: null, effect: null };
    if (notApproved) return { id: entry.id, name, outcome: 'planned', reason: notApproved, effect: null };
    const result = byId.get(entry.id);
    if (!result) {
      return {
        id: entry.id,
        name,
        outcome: 'failed',
        reason: 'no outcome recorded: its function failed unexpectedly or the run stopped before it finished (see the execution history and the function logs)',
        effect: null,
      };
    }
    return { id: entry.id, name, outcome: result.outcome, reason: result.reason ?? null, effect: result.outcome === 'optimized' ? (result.effect ?? null) : null };
  });
  const count = (o: Outcome) => indexes.filter((i) => i.outcome === o).length;
  const summary = {
    total: indexes.length,
    optimized: count('optimized'),
    skipped: count('skipped'),
    failed: count('failed'),
    planned: count('planned'),
  };
  const latency = (r: LatencyReading | null | undefined) => (r?.status === 'measured' ? (r.latencyMs ?? null) : null);
  const throughput = (r: LatencyReading | null | undefined) => (r?.status === 'measured' ? (r.throughputRate ?? null) : null);
  const warnings = [...input.warnings];
  for (const [phase, r] of [['before', input.latency.before], ['after', input.latency.after]] as const) {
    if (r && r.status !== 'measured') warnings.push(`query latency ${phase} the batch not measured: ${r.reason ?? r.status}`);
  }
  return {
    executionId: input.executionId,
    org: input.org ?? null,
    dryRun: input.dryRun,
    retryOf: input.retryOf ?? null,
    approval: input.approval ?? null,
    finishedAt: input.now.toISOString(),
    summary,
    queryLatencyMs: { before: latency(input.latency.before), after: latency(input.latency.after) },
    medianIndexLatencyChange: medianLatencyChange(indexes.flatMap((i) => (i.effect ? [i.effect] : []))),
    regressions: indexes.flatMap((i) =>
      i.effect?.regressed ? [{ id: i.id, name: i.name, before: i.effect.queryLatencyMs.before!, after: i.effect.queryLatencyMs.after! }] : [],
    ),
    throughputRate: { before: throughput(input.latency.before), after: throughput(input.latency.after) },
    indexes,
    warnings,
    error: runError(input, summary.failed, indexes),
  };
}

function runError(input: ReportInput, failed: number, indexes: ReportEntry[]): RunError | null {
  if (input.stateError) {
    return { name: input.stateError.Error ?? 'States.Runtime', cause: causeText(input.stateError.Cause) };
  }
  const runLevel = (input.results ?? []).find((r) => r.outcome === 'failed' && r.errorName && RUN_LEVEL_ERRORS.includes(r.errorName));
  if (runLevel) return { name: runLevel.errorName!, cause: runLevel.reason ?? runLevel.errorName! };
  if (failed === 0) return null;
  const examples = indexes
    .filter((i) => i.outcome === 'failed')
    .slice(0, 3)
    .map((i) => `${i.name ?? i.id}: ${i.reason}`);
  return { name: 'Run.IndexesFailed', cause: `${failed} of ${indexes.length} indexes failed. ${examples.join(' | ')}${failed > 3 ? ' | …' : ''}` };
}
