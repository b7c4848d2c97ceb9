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

/** Too many of the indexes started so far failed. */
interface ShareStop {
  kind?: 'share';
  failed: number;
  startedBefore: number;
  maxFailedShare: number;
}

/** One index met an error every index would meet alike (a permission, the credentials). */
interface RunLevelStop {
  kind: 'runLevel';
  indexId: string;
  errorName: string;
  reason: string;
}

type StopRecord = ShareStop | RunLevelStop;

const stopPrefix = (executionId: string) => runObjectKey(executionId, RUN_OBJECT.stops);

function stopReason(stop: StopRecord): string {
  if (stop.kind === 'runLevel') {
    return `run stopped: index ${stop.indexId} failed with ${stop.errorName}, which every index would meet (${stop.reason}); this index was not started`;
  }
  return (
    `run stopped: ${stop.failed} of the ${stop.startedBefore} indexes started before the stop failed, ` +
    `more than the ${Math.round(stop.maxFailedShare * 100)}% allowed (safety.maxFailedShare); this index was not started`
  );
}

/**
 * An error every index would meet alike stops the run at once: waiting for minIndexesBeforeStop
 * failures would only spend the org's API budget (and the operator's patience) on the same refusal.
 */
export async function recordRunLevelStop(store: RunStore, executionId: string, indexId: string, errorName: string, reason: string): Promise<void> {
  const stop: RunLevelStop = { kind: 'runLevel', indexId, errorName, reason };
  await store.putJson(runObjectKey(executionId, RUN_OBJECT.stop('run-level')), stop);
}

/** `startedBefore`: how many indexes the Map started before this one (its item index). */
export async function checkBreaker(store: RunStore, executionId: string, safety: Safety, startedBefore: number): Promise<BreakerVerdict> {
  // With maxFailedShare 1 no share of failures stops the run: the failures need no counting.
  const share = safety.maxFailedShare < 1 && startedBefore > 0 && startedBefore >= safety.minIndexesBeforeStop;
  const prefix = stopPrefix(executionId);
  const [stopped, failed] = await Promise.all([store.list(prefix), share ? countFailed(store, executionId) : Promise.resolve(0)]);
  if (stopped.length > 0) {
    const records = await Promise.all(stopped.map((key) => store.getJson<StopRecord>(key)));
    // A run-level error says more than a count; among counts, the earliest stop (fewest started before) says when it happened.
    const runLevel = records.find((r): r is RunLevelStop => r.kind === 'runLevel');
    if (runLevel) return { stop: true, reason: stopReason(runLevel) };
    const first = (records as ShareStop[]).reduce((a, b) => (b.startedBefore < a.startedBefore ? b : a));
    return { stop: true, reason: stopReason(first) };
  }
  if (!share || failed / startedBefore <= safety.maxFailedShare) return { stop: false };
  const stop: ShareStop = { kind: 'share', failed, startedBefore, maxFailedShare: safety.maxFailedShare };
  await store.putJson(runObjectKey(executionId, RUN_OBJECT.stop(String(startedBefore))), stop);
  return { stop: true, reason: stopReason(stop) };
}
