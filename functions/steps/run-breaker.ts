/**
 * The run-level stop: when more than a set share of the finished indexes has failed, the indexes
 * not yet started are not touched (something is wrong org-wide: a bad directive, an outage).
 * Each finished index leaves one marker object in the run store; starting an index counts them.
 */
import type { Safety } from '../domain/execution-input.ts';
import { outcomeKey, outcomePrefix, type FinishedOutcome, type RunStore } from '../store/run-store.ts';

export type BreakerVerdict = { stop: false } | { stop: true; reason: string };

export async function recordFinished(store: RunStore, executionId: string, indexId: string, outcome: FinishedOutcome): Promise<void> {
  await store.putJson(outcomeKey(executionId, outcome, indexId), { indexId, outcome, at: new Date().toISOString() });
}

export async function checkBreaker(store: RunStore, executionId: string, safety: Safety): Promise<BreakerVerdict> {
  const [failed, optimized] = await Promise.all([
    store.list(outcomePrefix(executionId, 'failed')),
    store.list(outcomePrefix(executionId, 'optimized')),
  ]);
  const finished = failed.length + optimized.length;
  if (finished < safety.minFinishedIndexes || finished === 0) return { stop: false };
  const share = failed.length / finished;
  if (share <= safety.maxFailedShare) return { stop: false };
  return {
    stop: true,
    reason: `run stopped: ${failed.length} of ${finished} finished indexes failed, more than the ${Math.round(safety.maxFailedShare * 100)}% allowed (safety.maxFailedShare); this index was not started`,
  };
}
