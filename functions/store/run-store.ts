import { RUN_OBJECT, runObjectKey, type RecordedOutcome } from './run-layout.ts';

/**
 * Where a run keeps what is too big for the state payload (256 KB): the inventory, the plan and
 * the report. An S3 bucket (locally, the same code against a local S3 server). Handlers see only this interface.
 */
export interface RunStore {
  putJson(key: string, value: unknown): Promise<void>;
  /** A text object served as it is (the run's page: `text/html; charset=utf-8`). */
  putText(key: string, body: string, contentType: string): Promise<void>;
  getJson<T>(key: string): Promise<T>;
  /** Keys under a prefix (ending in /), in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** Where an object lives, for people: s3://bucket/key or a file path. */
  locate(key: string): string;
}

export class RunStoreError extends Error {
  override name = 'Config.RunStore';
}

export { runPrefix, type RecordedOutcome } from './run-layout.ts';

/** A whole-run object's key (run-layout.ts RUN_OBJECT). */
export function runKey(executionId: string, object: 'config' | 'inventory' | 'plan' | 'items' | 'report' | 'reportPage' | 'approval' | 'fleetReport'): string {
  return runObjectKey(executionId, RUN_OBJECT[object]);
}

export function outcomePrefix(executionId: string, outcome: RecordedOutcome): string {
  return runObjectKey(executionId, RUN_OBJECT.outcomes(outcome));
}

export function outcomeKey(executionId: string, outcome: RecordedOutcome, indexId: string): string {
  return runObjectKey(executionId, RUN_OBJECT.outcome(outcome, indexId));
}
