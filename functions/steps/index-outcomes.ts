/**
 * Each index's outcome, kept as one small object in the run store by the function that decided
 * it. The state machine does not carry the results: thousands of them, each with a reason, would
 * not fit a 256 KB state payload. The report reads them back from here.
 */
import type { IndexResult } from '../domain/report.ts';
import { outcomeKey, outcomePrefix, type RunStore } from '../store/run-store.ts';
import { RUN_OBJECT, runObjectKey } from '../store/run-layout.ts';

const OUTCOMES = ['optimized', 'skipped', 'failed'] as const;
/** Reads in flight at once when collecting outcomes for the report. */
const READ_CONCURRENCY = 32;

export async function recordOutcome(store: RunStore, executionId: string, result: IndexResult): Promise<void> {
  await store.putJson(outcomeKey(executionId, result.outcome, result.id), result);
}

export async function countFailed(store: RunStore, executionId: string): Promise<number> {
  return (await store.list(outcomePrefix(executionId, 'failed'))).length;
}

/** Every recorded outcome (an optimized one carries the index's effect, so every one is read). */
export async function readOutcomes(store: RunStore, executionId: string): Promise<IndexResult[]> {
  const base = runObjectKey(executionId, RUN_OBJECT.outcomes());
  const keys = await store.list(base);
  const results: IndexResult[] = [];
  const toRead: string[] = [];
  for (const key of keys) {
    const [outcome, file] = key.slice(base.length).split('/');
    if (!outcome || !file || !(OUTCOMES as readonly string[]).includes(outcome)) continue;
    toRead.push(key);
  }
  for (let i = 0; i < toRead.length; i += READ_CONCURRENCY) {
    results.push(...(await Promise.all(toRead.slice(i, i + READ_CONCURRENCY).map((k) => store.getJson<IndexResult>(k)))));
  }
  return results;
}
