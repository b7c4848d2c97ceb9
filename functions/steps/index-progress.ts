/**
 * Where each index is, for `explain`: one small object per index, rewritten by every optimize and
 * verify invocation (its step, attempts, the last error with its Genesys correlation id, when it
 * started). Outcomes stay the record of how an index ended; this says what it is doing meanwhile.
 */
import { RUN_OBJECT, runObjectKey } from '../store/run-layout.ts';
import type { RunStore } from '../store/run-store.ts';

export interface LastError {
  reason: string;
  correlationId: string | null;
  at: string;
}

export interface IndexProgress {
  id: string;
  /** What it is doing now, for a person: "waiting for its API slot", "PUT retrying after a 429", … */
  step: string;
  attempts: number;
  /** Health reads after the PUT so far. */
  polls: number;
  lastError: LastError | null;
  startedAt: string;
  updatedAt: string;
}

/** Reads in flight at once. */
const READ_CONCURRENCY = 32;

export async function recordProgress(store: RunStore, executionId: string, progress: IndexProgress): Promise<void> {
  await store.putJson(runObjectKey(executionId, RUN_OBJECT.progress(progress.id)), progress);
}

export async function readProgress(store: RunStore, executionId: string): Promise<IndexProgress[]> {
  const keys = await store.list(runObjectKey(executionId, RUN_OBJECT.progresses));
  const out: IndexProgress[] = [];
  for (let i = 0; i < keys.length; i += READ_CONCURRENCY) {
    out.push(...(await Promise.all(keys.slice(i, i + READ_CONCURRENCY).map((k) => store.getJson<IndexProgress>(k)))));
  }
  return out;
}

const WHY: Record<string, string> = {
  paced: 'waiting for its API slot',
  throttled: 'retrying after a 429',
  busy: 'retrying: the index was busy (503)',
  transient: 'retrying after an error',
  refreshing: 'refreshing',
};

/** The step an optimize result leaves the index in. */
export function optimizeStep(status: string, cause?: string): string {
  if (status === 'accepted') return 'PUT accepted, settling';
  if (status === 'retry') return cause === 'paced' ? WHY['paced']! : `PUT ${WHY[cause ?? 'transient'] ?? 'retrying'}`;
  return status;
}

/** The step a health read leaves the index in. */
export function verifyStep(status: string, cause?: string): string {
  if (status === 'healthy') return 'healthy';
  if (status === 'poll') return cause === 'refreshing' ? 'polling health: refreshing' : `polling health: ${WHY[cause ?? 'transient'] ?? 'retrying'}`;
  return status;
}
