/**
 * The run-level stop: when more than a set share of the indexes started so far has failed, the
 * ones not yet started are not touched (something is wrong org-wide: a bad directive, an outage).
 * The share is failed / started-before-this-one: in-flight indexes count as not failed, so the
 * stop errs on the side of going on by at most maxConcurrency indexes. Only the failures are
 * listed, which stays cheap however large the org.
 *
 * Once stopped, the run stays stopped: the first stop is kept in the run store and every later
 * index sees it. (Recomputed each time, the share would fall as held-back indexes raised the
 * count of those "started before", and every few indexes one would be PUT again.)
 */
import type { Safety } from '../domain/execution-input.ts';
import type { RunStore } from '../store/run-store.ts';
import { RUN_OBJECT, runObjectKey } from '../store/run-layout.ts';
import { countFailed } from './index-outcomes.ts';

export type BreakerVerdict = { stop: false } | { stop: true; reason: string };

interface StopRecord {
  failed: number;
  startedBefore: number;
  maxFailedShare: number;
}

const stopPrefix = (executionId: string) => runObjectKey(executionId, RUN_OBJECT.stops);

function stopReason(stop: StopRecord): string {
  return (
    `run stopped: ${stop.failed} of the ${stop.startedBefore} indexes started before the stop failed, ` +
    `more than the ${Math.round(stop.maxFailedShare * 100)}% allowed (safety.maxFailedShare); this index was not started`
  );
}

/** `startedBefore`: how many indexes the Map started before this one (its item index). */
export async function checkBreaker(store: RunStore, executionId: string, safety: Safety, startedBefore: number): Promise<BreakerVerdict> {
  if (startedBefore === 0 || startedBefore < safety.minIndexesBeforeStop) return { stop: false };
  const prefix = stopPrefix(executionId);
  const [stopped, failed] = await Promise.all([store.list(prefix), countFailed(store, executionId)]);
  // Concurrent indexes may each record the stop; the earliest one (fewest started before) says when it happened.
  if (stopped.length > 0) {
    const records = await Promise.all(stopped.map((key) => store.getJson<StopRecord>(key)));
    const first = records.reduce((a, b) => (b.startedBefore < a.startedBefore ? b : a));
    return { stop: true, reason: stopReason(first) };
  }
  if (failed / startedBefore <= safety.maxFailedShare) return { stop: false };
  const stop: StopRecord = { failed, startedBefore, maxFailedShare: safety.maxFailedShare };
  await store.putJson(runObjectKey(executionId, RUN_OBJECT.stop(String(startedBefore))), stop);
  return { stop: true, reason: stopReason(stop) };
}
