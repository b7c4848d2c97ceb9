/** Least privilege in the run bucket: which objects each function reads, writes and lists. */
import type { FunctionName } from './observability.ts';

export interface RunStoreAccess {
  /** Object keys under runs/<state machine>/<execution name>/ the function reads... */
  get: string[];
  /** ...and writes. */
  put: string[];
  /**
   * s3:ListBucket: on the whole bucket ('bucket': a missing object then reads as NoSuchKey, a clear
   * RunStoreError, rather than AccessDenied; the report also lists the outcomes), for key prefixes
   * only, or not at all.
   */
  list?: 'bucket' | string[];
}

/**
 * What each function does in the run store (functions/store): the inventory, the plan, the report,
 * and one small object per index outcome (runs/.../outcomes/<optimized|skipped|failed>/<index>.json).
 */
export const RUN_STORE_ACCESS: Record<FunctionName, RunStoreAccess> = {
  // Lists the inventory; resumes a paused listing from what it saved.
  fetch: { get: ['inventory.json'], put: ['inventory.json'], list: 'bucket' },
  validate: { get: ['inventory.json'], put: ['plan.json'], list: 'bucket' },
  // Records skipped and failed indexes; the run-level stop counts the failed ones.
  optimize: { get: [], put: ['outcomes/skipped/*', 'outcomes/failed/*'], list: ['outcomes/failed/'] },
  // Records optimized and failed indexes.
  verify: { get: [], put: ['outcomes/optimized/*', 'outcomes/failed/*'] },
  // Reads the plan and the outcomes back, writes the report.
  report: { get: ['plan.json', 'outcomes/*'], put: ['report.json'], list: 'bucket' },
};
