/**
 * State transitions per index, from the execution's events: every state entered inside one Map
 * iteration belongs to that index (what Step Functions Standard bills, one child execution per
 * index in a Distributed Map). Iterations are grouped by how they went: health reads after the
 * PUT, waits for a slot in the API budget (the pacer), and retries after an error (429, busy,
 * transient), read from the Optimize and Verify states' outputs.
 */

interface IterationEvent {
  type: string;
  index?: number;
  state?: { name: string; output?: unknown };
}

export interface PathTransitions {
  /** How the iteration went, e.g. "optimized, 2 health reads after the PUT, 1 budget wait". */
  path: string;
  /** Optimized, with no retry after an error (budget waits and polls allowed). */
  common: boolean;
  healthReads: number;
  indexes: number;
  min: number;
  max: number;
}

export interface TransitionSummary {
  /** Transitions inside the Map iterations, per iteration. */
  perIndexMean: number;
  perIndexMax: number;
  /** Transitions outside the Map (validate, fetch, plan, probes, report): the run's fixed part. */
  runLevel: number;
  /**
   * The common path: an optimized index healthy at its first read after the settle, with no retry
   * after an error (a wait for a budget slot included when most such indexes had one). Each further
   * poll while a refresh runs adds 3 (PollWait, Verify, VerifyOutcome).
   */
  commonPath: PathTransitions | null;
  paths: PathTransitions[];
}

interface Iteration {
  transitions: number;
  optimized: boolean;
  healthReads: number;
  budgetWaits: number;
  retries: Map<string, number>;
}

const field = (output: unknown, key: string): Record<string, unknown> | undefined => {
  const v = (output as Record<string, unknown> | null | undefined)?.[key];
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
};

function label(it: Iteration): string {
  const parts = [it.optimized ? 'optimized' : 'not optimized', `${it.healthReads} health read${it.healthReads === 1 ? '' : 's'} after the PUT`];
  if (it.budgetWaits) parts.push(`${it.budgetWaits} budget wait${it.budgetWaits === 1 ? '' : 's'}`);
  for (const [cause, n] of [...it.retries].sort()) parts.push(`${n} ${cause} retr${n === 1 ? 'y' : 'ies'}`);
  return parts.join(', ');
}

export function transitionSummary(events: readonly IterationEvent[]): TransitionSummary {
  const iterations = new Map<number, Iteration>();
  let runLevel = 0;
  for (const e of events) {
    if (e.index === undefined) {
      if (e.type === 'StateEntered') runLevel++;
      continue;
    }
    let it = iterations.get(e.index);
    if (!it) {
      it = { transitions: 0, optimized: false, healthReads: 0, budgetWaits: 0, retries: new Map() };
      iterations.set(e.index, it);
    }
    const name = e.state?.name;
    if (e.type === 'StateEntered') {
      it.transitions++;
      if (name === 'Optimized') it.optimized = true;
      if (name === 'Verify') it.healthReads++;
    }
    if (e.type === 'StateExited' && (name === 'Optimize' || name === 'Verify')) {
      const result = field(e.state?.output, name === 'Optimize' ? 'optimize' : 'verify');
      const status = result?.['status'];
      const cause = typeof result?.['cause'] === 'string' ? (result['cause'] as string) : 'unknown';
      if (status === 'retry' || status === 'poll') {
        if (cause === 'paced') it.budgetWaits++;
        else if (cause !== 'refreshing') it.retries.set(cause, (it.retries.get(cause) ?? 0) + 1);
      }
    }
  }
  const byPath = new Map<string, { common: boolean; healthReads: number; counts: number[] }>();
  for (const it of iterations.values()) {
    const path = label(it);
    const entry = byPath.get(path) ?? { common: it.optimized && it.retries.size === 0, healthReads: it.healthReads, counts: [] };
    entry.counts.push(it.transitions);
    byPath.set(path, entry);
  }
  const counts = [...iterations.values()].map((i) => i.transitions);
  const paths = [...byPath]
    .map(([path, { common, healthReads, counts: ns }]) => ({ path, common, healthReads, indexes: ns.length, min: Math.min(...ns), max: Math.max(...ns) }))
    .sort((a, b) => b.indexes - a.indexes);
  return {
    perIndexMean: counts.length ? counts.reduce((a, b) => a + b, 0) / counts.length : 0,
    perIndexMax: counts.length ? Math.max(...counts) : 0,
    runLevel,
    commonPath: paths.find((p) => p.common && p.healthReads === 1) ?? paths.find((p) => p.common) ?? null,
    paths,
  };
}
