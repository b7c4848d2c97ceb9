/**
 * `explain`: for a running or finished run, one line per index: how it ended, or the step it is
 * in; its attempts; its last error with the Genesys correlation id; when it started. Read from the
 * run store (the plan, each index's outcome and progress), the same for a local run and in AWS.
 */
import type { Plan } from '../../functions/domain/plan.ts';
import { readOutcomes } from '../../functions/steps/index-outcomes.ts';
import { readProgress, type LastError } from '../../functions/steps/index-progress.ts';
import { runKey, type RunStore } from '../../functions/store/run-store.ts';

export interface ExplainRow {
  id: string;
  name: string | null;
  /** How it ended, or that it has not yet. */
  outcome: 'optimized' | 'skipped' | 'failed' | 'in progress' | 'not started';
  /** The reason it ended so, or the step it is in. */
  detail: string | null;
  attempts: number | null;
  polls: number | null;
  lastError: LastError | null;
  startedAt: string | null;
}

export async function explainRun(store: RunStore, executionId: string): Promise<ExplainRow[]> {
  let plan: Plan;
  try {
    plan = await store.getJson<Plan>(runKey(executionId, 'plan'));
  } catch {
    throw new Error(`${executionId} has no plan yet (it is still listing the org, or it failed before planning)`);
  }
  const [outcomes, progress] = await Promise.all([readOutcomes(store, executionId), readProgress(store, executionId)]);
  const outcomeOf = new Map(outcomes.map((o) => [o.id, o]));
  const progressOf = new Map(progress.map((p) => [p.id, p]));
  return plan.entries.map((entry): ExplainRow => {
    const name = entry.name ?? null;
    const p = progressOf.get(entry.id);
    const seen = { attempts: p?.attempts ?? null, polls: p?.polls ?? null, lastError: p?.lastError ?? null, startedAt: p?.startedAt ?? null };
    if (entry.decision !== 'qualifies') return { id: entry.id, name, outcome: 'skipped', detail: entry.reason ?? entry.decision, ...seen };
    const o = outcomeOf.get(entry.id);
    if (o) return { id: entry.id, name, outcome: o.outcome, detail: o.reason ?? null, ...seen };
    if (p) return { id: entry.id, name, outcome: 'in progress', detail: p.step, ...seen };
    return { id: entry.id, name, outcome: 'not started', detail: null, ...seen };
  });
}

const ORDER: Record<ExplainRow['outcome'], number> = { failed: 0, 'in progress': 1, 'not started': 2, skipped: 3, optimized: 4 };

export function formatExplain(rows: readonly ExplainRow[]): string {
  const sorted = [...rows].sort((a, b) => ORDER[a.outcome] - ORDER[b.outcome] || (a.name ?? a.id).localeCompare(b.name ?? b.id));
  const nameWidth = Math.min(40, Math.max(5, ...sorted.map((r) => (r.name ?? r.id).length)));
  const lines = [`${'INDEX'.padEnd(nameWidth)}  ${'OUTCOME / STEP'.padEnd(44)}  TRIES  STARTED              REASON / LAST ERROR`];
  for (const r of sorted) {
    const inProgress = r.outcome === 'in progress';
    const state = inProgress ? `in progress: ${r.detail ?? ''}` : r.outcome;
    const tries = r.attempts === null ? '' : `${r.attempts}${r.polls ? `+${r.polls}` : ''}`;
    const why = inProgress ? (r.lastError ? `last error: ${r.lastError.reason}` : '') : (r.detail ?? '');
    const correlationId = r.lastError?.correlationId;
    const correlation = why && correlationId && !why.includes(correlationId) ? ` [correlation id ${correlationId}]` : '';
    lines.push(`${(r.name ?? r.id).slice(0, nameWidth).padEnd(nameWidth)}  ${state.slice(0, 44).padEnd(44)}  ${tries.padEnd(5)}  ${(r.startedAt ?? '').slice(0, 19).padEnd(19)}  ${why}${correlation}`.trimEnd());
  }
  const count = (o: ExplainRow['outcome']) => rows.filter((r) => r.outcome === o).length;
  lines.push('', `${rows.length} indexes: ${count('optimized')} optimized, ${count('skipped')} skipped, ${count('failed')} failed, ${count('in progress')} in progress, ${count('not started')} not started`);
  return lines.join('\n');
}
