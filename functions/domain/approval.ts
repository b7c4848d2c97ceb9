/**
 * Approving a plan before anything changes: what the operator is shown (the plan's summary and the
 * exact commands to decide), and the decision the run goes on with. The decision reaches the state
 * machine as the output of a callback (SendTaskSuccess), so anyone allowed to send one could send
 * anything: it is read here, strictly, and only an unmistakable approval lets the run change indexes.
 */
import { InputError } from './input-error.ts';
import type { Plan } from './plan.ts';

export const APPROVAL_STATUS = ['approved', 'rejected', 'timedOut'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUS)[number];

export interface ApprovalDecision {
  status: ApprovalStatus;
  /** Who decided (the caller's identity), null for a timeout. */
  by: string | null;
  /** When it was decided (ISO 8601). */
  at: string;
  reason: string | null;
}

/** How many indexes of each kind a message lists by name; the plan in the run store has them all. */
export const LISTED_INDEXES = 50;
const MAX_REASON = 500;

export interface ApprovalSummary {
  executionId: string;
  total: number;
  toOptimize: number;
  skipped: number;
  /** The first LISTED_INDEXES of each, with names and (skipped) reasons. */
  indexesToOptimize: Array<{ id: string; name: string | null }>;
  indexesSkipped: Array<{ id: string; name: string | null; reason: string }>;
  /** Where the whole plan is (s3://…). */
  plan: string;
  /** When the plan stops waiting and the run ends without changes. */
  expiresAt: string;
  commands: { approve: string; reject: string };
}

/** The shell commands that decide this run: copied from a message and pasted, so quoted for a POSIX shell. */
export function decisionCommands(executionId: string): ApprovalSummary['commands'] {
  const arn = `'${executionId.replace(/'/g, `'\\''`)}'`;
  return {
    approve: `npm run execute -- --approve ${arn}`,
    reject: `npm run execute -- --reject ${arn} --reason 'why'`,
  };
}

export function approvalSummary(plan: Plan, executionId: string, planLocation: string, expiresAt: Date): ApprovalSummary {
  const qualifying = plan.entries.filter((e) => e.decision === 'qualifies');
  const skipped = plan.entries.filter((e) => e.decision !== 'qualifies');
  return {
    executionId,
    total: plan.entries.length,
    toOptimize: qualifying.length,
    skipped: skipped.length,
    indexesToOptimize: qualifying.slice(0, LISTED_INDEXES).map((e) => ({ id: e.id, name: e.name ?? null })),
    indexesSkipped: skipped.slice(0, LISTED_INDEXES).map((e) => ({ id: e.id, name: e.name ?? null, reason: e.reason ?? e.decision })),
    plan: planLocation,
    expiresAt: expiresAt.toISOString(),
    commands: decisionCommands(executionId),
  };
}

const label = (e: { id: string; name: string | null }) => (e.name ? `${e.name} (${e.id})` : e.id);
const more = (shown: number, total: number) => (total > shown ? [`  … and ${total - shown} more (see the plan)`] : []);

/** The summary as a person reads it (e-mail, chat, the terminal). */
export function approvalText(s: ApprovalSummary): { subject: string; text: string } {
  const run = s.executionId.split(':').pop() ?? s.executionId;
  const lines = [
    `The Genesys index optimizer run ${run} has a plan and waits for a decision until ${s.expiresAt}.`,
    `Nothing changes unless it is approved; rejected or not decided in time, the run ends without changes.`,
    '',
    `${s.total} indexes: ${s.toOptimize} to optimize, ${s.skipped} skipped.`,
    '',
    `To optimize (${s.toOptimize}):`,
    ...s.indexesToOptimize.map((e) => `  ${label(e)}`),
    ...more(s.indexesToOptimize.length, s.toOptimize),
    ...(s.skipped > 0 ? ['', `Skipped (${s.skipped}):`, ...s.indexesSkipped.map((e) => `  ${label(e)}: ${e.reason}`), ...more(s.indexesSkipped.length, s.skipped)] : []),
    '',
    `Approve: ${s.commands.approve}`,
    `Reject:  ${s.commands.reject}`,
    '',
    `Execution: ${s.executionId}`,
    `Plan: ${s.plan}`,
  ];
  // SNS subjects: ASCII, no line breaks, at most 100 characters.
  const subject = `Approve the index optimizer plan? ${s.toOptimize} to optimize (${run})`.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
  return { subject, text: lines.join('\n') };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A decision as the run received it; anything else is an error naming the field (and the run changes nothing). */
export function parseDecision(v: unknown): ApprovalDecision {
  if (!isObject(v)) throw new InputError('approval.decision', `must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  const status = v['status'];
  if (typeof status !== 'string' || !(APPROVAL_STATUS as readonly string[]).includes(status)) {
    throw new InputError('approval.decision.status', `must be one of ${APPROVAL_STATUS.join(', ')}, got ${JSON.stringify(status)}`);
  }
  const at = v['at'];
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) throw new InputError('approval.decision.at', `must be an ISO 8601 time, got ${JSON.stringify(at)}`);
  const text = (field: 'by' | 'reason'): string | null => {
    const value = v[field];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') throw new InputError(`approval.decision.${field}`, `must be a string, got ${typeof value}`);
    return value.length > MAX_REASON ? `${value.slice(0, MAX_REASON - 1)}…` : value;
  };
  return { status: status as ApprovalStatus, by: text('by'), at: new Date(at).toISOString(), reason: text('reason') };
}

/** A decision in words: "approved by <who> at <when> (<why>)", or "timed out at <when>". */
export function describeDecision(a: ApprovalDecision): string {
  if (a.status === 'timedOut') return `timed out at ${a.at}`;
  return `${a.status} by ${a.by ?? 'unknown'} at ${a.at}${a.reason ? ` (${a.reason})` : ''}`;
}

/** The decision an operator sends (the output of SendTaskSuccess). */
export function decision(status: 'approved' | 'rejected', by: string, reason: string | null, at = new Date()): ApprovalDecision {
  return { status, by, at: at.toISOString(), reason: reason && reason.trim() !== '' ? reason.trim().slice(0, MAX_REASON) : null };
}
