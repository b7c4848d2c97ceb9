/**
 * An earlier local run's objects in the local run bucket (`--store`), for the commands that start
 * from one (`npm start -- --retry-failed RUN`): RUN is the execution's ARN, as its report gives it,
 * or just the execution name.
 */
import { runKey, RunStoreError } from '../../functions/store/run-store.ts';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';
import { UsageError } from '../cli/execution-input-arg.ts';
import { ADMIN, type LocalAws } from './aws/local-aws.ts';
import type { SynthesizedDefinition } from './definition.ts';
import { clientsAs } from './run-local.ts';

export function localExecutionArn(synthesized: SynthesizedDefinition, run: string): string {
  if (run.startsWith('arn:')) return run;
  if (!/^[A-Za-z0-9_.-]{1,80}$/.test(run)) throw new UsageError(`not an execution ARN or name: ${JSON.stringify(run)}`);
  return `${synthesized.optimizer.arn.replace(':stateMachine:', ':execution:')}:${run}`;
}

export async function readLocalRunObject<T>(aws: LocalAws, synthesized: SynthesizedDefinition, executionArn: string, object: 'report' | 'config', store: string): Promise<T> {
  const bucket = synthesized.resources.only('AWS::S3::Bucket').name;
  try {
    return await new S3RunStore(bucket, clientsAs(aws, ADMIN).s3).getJson<T>(runKey(executionArn, object));
  } catch (err) {
    if (err instanceof RunStoreError) throw new UsageError(`no ${object} of ${executionArn} in the store ${store} (${err.message}); give --store where that run kept it`);
    throw err;
  }
}
