import { FsRunStore } from './fs-run-store.ts';
import { RunStoreError, type RunStore } from './run-store.ts';
import { S3RunStore } from './s3-run-store.ts';

export { runKey, RunStoreError, type RunStore } from './run-store.ts';

/** RUN_BUCKET in AWS (set by the stack), RUN_STORE_DIR for local runs. */
export function runStoreFromEnv(env: NodeJS.ProcessEnv = process.env): RunStore {
  if (env['RUN_BUCKET']) return new S3RunStore(env['RUN_BUCKET']);
  if (env['RUN_STORE_DIR']) return new FsRunStore(env['RUN_STORE_DIR']);
  throw new RunStoreError('neither RUN_BUCKET nor RUN_STORE_DIR is set; the run has nowhere to keep its inventory and report');
}
