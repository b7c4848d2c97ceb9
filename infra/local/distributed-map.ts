/**
 * A Distributed Map run as Step Functions runs it, for the local engine (which would run it
 * inline): the items come from its ItemReader (an S3 GetObject by the state machine's role), each
 * item is a child execution of its own (own history, own quotas) started under the state
 * machine's states:StartExecution permission, at most MaxConcurrency at once; failed children
 * count against ToleratedFailurePercentage/Count (0 when unset: one failure fails the Map, and the
 * children still running are stopped); and the results go to its ResultWriter (S3 PutObject by
 * the state machine's role: manifest.json and one file per status) or, without one, into the
 * Map's result, which the 256 KiB payload quota bounds.
 */
import { randomUUID } from 'node:crypto';
import { applyTemplate } from './payload-template.ts';
import { MAX_PAYLOAD_BYTES, payloadBytes, QuotaExceeded } from './quotas.ts';

type Json = any;

export interface ChildRun {
  name: string;
  executionArn: string;
  input: Json;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: Json;
  error?: { Error: string; Cause: string };
  startDate: string;
  stopDate: string;
}

export interface MapRunHost {
  /** The parent execution's context object ($$). */
  context: { Execution: { Id: string; Name: string }; StateMachine: { Id: string; Name: string } };
  /** Runs one child execution of the item processor. */
  runChild(child: { index: number; name: string; executionArn: string; input: Json; stateMachineArn: string }): Promise<ChildRun>;
  /** Stops the children still running (a Map that failed). */
  stopChildren(): void;
  /** S3 as the state machine's role. */
  getObject(bucket: string, key: string): Promise<string>;
  putObject(bucket: string, key: string, body: string): Promise<void>;
  /** IAM for the state machine's role (states:StartExecution for the children). */
  authorize(action: string, resource: string): Promise<{ allowed: boolean; message: string }>;
}

class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function threshold(state: Json, input: Json, total: number): number {
  const percentage = state.ToleratedFailurePercentagePath ? (applyTemplate({ 'v.$': state.ToleratedFailurePercentagePath }, input, {}) as Json).v : state.ToleratedFailurePercentage;
  const count = state.ToleratedFailureCountPath ? (applyTemplate({ 'v.$': state.ToleratedFailureCountPath }, input, {}) as Json).v : state.ToleratedFailureCount;
  const limits: number[] = [];
  if (typeof percentage === 'number') limits.push(Math.floor((percentage / 100) * total));
  if (typeof count === 'number') limits.push(count);
  // Neither set: no failure is tolerated.
  return limits.length === 0 ? 0 : Math.max(...limits);
}

async function readItems(host: MapRunHost, state: Json, input: Json): Promise<Json[]> {
  if (!state.ItemReader) {
    const items = state.ItemsPath ? (applyTemplate({ 'v.$': state.ItemsPath }, input, host.context) as Json).v : input;
    if (!Array.isArray(items)) throw new StatesError('States.Runtime', 'the Map state\'s items are not an array');
    return items;
  }
  const reader = state.ItemReader;
  if (reader.Resource !== 'arn:aws:states:::s3:getObject' || reader.ReaderConfig?.InputType !== 'JSON') {
    throw new Error(`ItemReader ${JSON.stringify(reader)}: a local run reads JSON objects from S3 only`);
  }
  const { Bucket, Key } = applyTemplate(reader.Parameters, input, host.context, 'ItemReader.Parameters') as { Bucket: string; Key: string };
  let text: string;
  try {
    text = await host.getObject(Bucket, Key);
  } catch (err) {
    throw new StatesError('States.ItemReaderFailed', `reading s3://${Bucket}/${Key}: ${(err as Error).name}: ${(err as Error).message}`);
  }
  const items = JSON.parse(text) as unknown;
  if (!Array.isArray(items)) throw new StatesError('States.ItemReaderFailed', `s3://${Bucket}/${Key} is not a JSON array`);
  return items;
}

async function writeResults(host: MapRunHost, state: Json, input: Json, mapRunArn: string, children: ChildRun[]): Promise<Json> {
  const { Bucket, Prefix } = applyTemplate(state.ResultWriter.Parameters, input, host.context, 'ResultWriter.Parameters') as { Bucket: string; Prefix?: string };
  const base = `${Prefix ? `${Prefix.replace(/\/$/, '')}/` : ''}${mapRunArn.split(':').pop()}/`;
  const entry = (c: ChildRun) => ({
    ExecutionArn: c.executionArn,
    Input: JSON.stringify(c.input),
    InputDetails: { Included: true },
    Name: c.name,
    ...(c.status === 'SUCCEEDED' ? { Output: JSON.stringify(c.output), OutputDetails: { Included: true } } : { Error: c.error?.Error, Cause: c.error?.Cause }),
    StartDate: c.startDate,
    StateMachineArn: host.context.StateMachine.Id,
    Status: c.status,
    StopDate: c.stopDate,
  });
  const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size: number }>> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
  try {
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      const of = children.filter((c) => (status === 'SUCCEEDED' ? c.status === 'SUCCEEDED' : c.status !== 'SUCCEEDED'));
      if (of.length === 0) continue;
      const body = JSON.stringify(of.map(entry));
      const key = `${base}${status}_0.json`;
      await host.putObject(Bucket, key, body);
      files[status].push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifestKey = `${base}manifest.json`;
    await host.putObject(Bucket, manifestKey, JSON.stringify({ DestinationBucket: Bucket, MapRunArn: mapRunArn, ResultFiles: files }));
    return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket, Key: manifestKey } };
  } catch (err) {
    throw new StatesError('States.ResultWriterFailed', `writing the Map Run's results to s3://${Bucket}/${base}: ${(err as Error).name}: ${(err as Error).message}`);
  }
}

export async function runDistributedMap(host: MapRunHost, stateName: string, state: Json, input: Json): Promise<Json> {
  const items = await readItems(host, state, input);
  const label = (state.Label as string | undefined) ?? stateName;
  const smName = host.context.StateMachine.Name;
  const mapRunId = randomUUID();
  const mapRunArn = `${host.context.StateMachine.Id.replace(':stateMachine:', ':mapRun:')}/${label}:${mapRunId}`;
  const childStateMachineArn = `${host.context.StateMachine.Id}/${label}`;
  // The children are executions of the state machine's own definition: starting them takes states:StartExecution.
  const start = await host.authorize('states:StartExecution', host.context.StateMachine.Id);
  if (!start.allowed) throw new StatesError('States.Runtime', `the Map Run could not start its child executions: ${start.message}`);

  const concurrencyValue = state.MaxConcurrencyPath ? (applyTemplate({ 'v.$': state.MaxConcurrencyPath }, input, host.context) as Json).v : state.MaxConcurrency;
  const concurrency = typeof concurrencyValue === 'number' && concurrencyValue > 0 ? concurrencyValue : 1_000;
  const tolerated = threshold(state, input, items.length);
  const children: ChildRun[] = new Array(items.length);
  let failed = 0;
  let next = 0;
  let exceeded = false;
  const worker = async () => {
    while (!exceeded && next < items.length) {
      const index = next++;
      const context = { ...host.context, Map: { Item: { Index: index, Value: items[index] } } };
      const childInput = state.ItemSelector ? applyTemplate(state.ItemSelector, input, context, 'ItemSelector') : items[index];
      const name = randomUUID();
      const child = await host.runChild({ index, name, executionArn: `arn:aws:states:${host.context.StateMachine.Id.split(':')[3]}:${host.context.StateMachine.Id.split(':')[4]}:execution:${smName}/${label}:${name}`, input: childInput, stateMachineArn: childStateMachineArn });
      children[index] = child;
      if (child.status !== 'SUCCEEDED') {
        failed++;
        if (failed > tolerated && !exceeded) {
          exceeded = true;
          host.stopChildren();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, items.length)) }, worker));
  if (exceeded) {
    throw new StatesError('States.ExceedToleratedFailureThreshold', `${failed} of ${items.length} child executions failed, more than the ${tolerated} tolerated (${mapRunArn})`);
  }
  const done = children.filter(Boolean);
  if (state.ResultWriter) return writeResults(host, state, input, mapRunArn, done);
  const outputs = done.map((c) => c.output ?? null);
  if (payloadBytes(outputs) > MAX_PAYLOAD_BYTES) {
    throw new QuotaExceeded('States.DataLimitExceeded', `the Map state ${stateName}'s result (every child's output, no ResultWriter) is ${payloadBytes(outputs)} bytes, more than the ${MAX_PAYLOAD_BYTES}-byte payload quota`);
  }
  return outputs;
}
