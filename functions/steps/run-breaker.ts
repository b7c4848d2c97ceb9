/**
 * The run-level stop: when more than a set share of the indexes started so far has failed, the
 * ones not yet started are not touched (something is wrong org-wide: a bad directive, an outage).
 * The share is failed / started-before-this-one: in-flight indexes count as not failed, so the
 * stop errs on the side of going on by at most maxConcurrency indexes. Only the failures are
 * listed, which stays cheap however large the org.
 */
import type { Safety } from '../domain/execution-input.ts';
import type { RunStore } from '../store/run-store.ts';
import { countFailed } from './index-outcomes.ts';

export type BreakerVerdict = { stop: false } | { stop: true; reason: string };

/** `startedBefore`: how many indexes the Map started before this one (its item index). */
export async function checkBreaker(store: RunStore, executionId: string, safety: Safety, startedBefore: number): Promise<BreakerVerdict> {
  if (startedBefore === 0 || startedBefore < safety.minIndexesBeforeStop) return { stop: false };
  const failed = await countFailed(store, executionId);
  if (failed / startedBefore <= safety.maxFailedShare) return { stop: false };
  return {
    stop: true,
    reason: `run stopped: ${failed} of the ${startedBefore} indexes started before this one failed, more than the ${Math.round(safety.maxFailedShare * 100)}% allowed (safety.maxFailedShare); this index was not started`,
  };
}
