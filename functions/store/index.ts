import { RunStoreError, type RunStore } from './run-store.ts';
import { S3RunStore } from './s3-run-store.ts';

export { runKey, RunStoreError, type RunStore } from './run-store.ts';

/** RUN_BUCKET, set by the stack (a local run deploys the same stack against a local S3 server). */
export function runStoreFromEnv(env: NodeJS.ProcessEnv = process.env): RunStore {
  if (env['RUN_BUCKET']) return new S3RunStore(env['RUN_BUCKET']);
  throw new RunStoreError('RUN_BUCKET is not set; the run has nowhere to keep its inventory and report');
}
