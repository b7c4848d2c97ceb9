/**
 * Where a run keeps what is too big for the state payload (256 KB): the inventory, the plan and
 * the report. In AWS an S3 bucket; locally a directory. Handlers see only this interface.
 */
export interface RunStore {
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T>;
  /** Keys under a prefix (ending in /), in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** Where an object lives, for people: s3://bucket/key or a file path. */
  locate(key: string): string;
}

export class RunStoreError extends Error {
  override name = 'Config.RunStore';
}

/**
 * Objects of one execution live under runs/<state machine>/<execution name>/. An execution ARN
 * is arn:aws:states:<region>:<account>:execution:<state machine>:<name>.
 */
export function runPrefix(executionId: string): string {
  const parts = executionId.split(':');
  const tail = parts.length >= 8 ? parts.slice(6, 8) : [executionId];
  const safe = tail.map((p) => p.replace(/[^A-Za-z0-9._-]/g, '_'));
  return `runs/${safe.join('/')}/`;
}

export function runKey(executionId: string, object: 'inventory' | 'plan' | 'report'): string {
  return `${runPrefix(executionId)}${object}.json`;
}

export type RecordedOutcome = 'optimized' | 'skipped' | 'failed';

/** One small object per index: concurrent writers never touch the same key. */
export function outcomePrefix(executionId: string, outcome: RecordedOutcome): string {
  return `${runPrefix(executionId)}outcomes/${outcome}/`;
}

export function outcomeKey(executionId: string, outcome: RecordedOutcome, indexId: string): string {
  return `${outcomePrefix(executionId, outcome)}${encodeURIComponent(indexId)}.json`;
}
