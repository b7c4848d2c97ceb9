/**
 * Runs the synthesized state machine locally, as a rehearsal of an AWS run. The engine is
 * aws-local-stepfunctions; each Task state calls the real handler, in its function's own worker
 * thread, the way the Lambda runtime would (JSON in, JSON out, a thrown error becomes the state's
 * Error and Cause, the function's timeout from the template applies), as that function's role: every AWS call it
 * makes goes to the local AWS endpoint (real-protocol S3 and DynamoDB, Secrets Manager,
 * EventBridge and Step Functions), where it is evaluated against the role's policies from the
 * template. The Distributed Map runs as AWS runs it (distributed-map.ts), and the quotas AWS
 * enforces (payloads, history) end the run here as they would there.
 *
 * runLocally deploys the stack locally (deployment.ts) and runs one execution on it;
 * executeOptimizer runs one execution on a deployment that is already there, which is how the
 * Fleet machine's StartOrgRun starts each org's run (fleet-local.ts), several at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import type { RunReport } from '../../functions/domain/report.ts';
import { runKey, runPrefix } from '../../functions/store/run-store.ts';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';
import type { IamAuthorizer } from './aws/iam.ts';
import { ADMIN, type LocalAws, type RecordedCall } from './aws/local-aws.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/resources.ts';
import { INTEGRATION, taskStates, type FunctionRole, type SynthesizedDefinition } from './definition.ts';
import {
  authorizeSyncStart,
  causeText,
  clientsAs,
  deployLocally,
  ExecutionAccount,
  functionHandlers,
  invokeFunction,
  namedError,
  rawCause,
  STATE_CONTEXT,
  type AnyEvent,
  type ExecutionDescription,
  type InvocationTracker,
  type LocalDeployment,
  type LocalTarget,
} from './deployment.ts';
import { runDistributedMap, type ChildRun } from './distributed-map.ts';
import { forLocalEngine, standInForDistributedMaps, withAwsTaskTimeouts } from './engine-definition.ts';
import { checkQuota, ExecutionQuota, MAX_PAYLOAD_BYTES, payloadBytes, QuotaExceeded } from './quotas.ts';

type Json = any;
export type { AnyEvent, LocalTarget } from './deployment.ts';
export { clientsAs } from './deployment.ts';

export interface LocalRunOptions {
  input: unknown;
  target: LocalTarget;
  /** Where the local AWS keeps the run bucket's objects and its list of executions (when `aws` is not given). */
  storeDir: string;
  /** A local AWS already running (tests run many executions against one). */
  aws?: LocalAws;
  executionName?: string;
  /** Every execution event, as it happens (progress display, tests); a Map child's carry its item `index`. */
  onEvent?: (event: AnyEvent) => void;
  /** The functions' log lines (Powertools JSON); without it they go to stdout as in Lambda. */
  onLogLine?: (line: string) => void;
  /** Reuse one synthesis across runs (tests). */
  synthesized?: SynthesizedDefinition;
  /** Function settings as a stack setting would give them (GENESYS_TIMEOUT_MS, …), for this run. */
  environment?: Record<string, string>;
  /** Changes the deployment's policies for this run (a test taking a permission away). */
  iam?: (iam: IamAuthorizer) => void;
  /** Stop waiting and fail the run after this long. */
  timeoutMs?: number;
  /** Milliseconds between a Task's start and its function's (a cold start, a slow invoke): tests of what pacing tolerates. */
  invocationDelayMs?: () => number;
  /**
   * A plan waits for approval: its task token is in the run store and its summary was published
   * to the notification topic (`messages`, as subscribers receive them). The decision is sent the
   * way an operator sends it, SendTaskSuccess with the stored token (infra/cli/approval-decision.ts).
   */
  onApprovalRequested?: (request: { executionId: string; messages: string[] }) => void;
}

export interface LocalRunResult {
  executionId: string;
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: { name: string; cause: string } | null;
  /** The stored report, when the run got far enough to write one. */
  report: RunReport | null;
  /** Where the report is: s3://bucket/key, and the local S3 server's file of it. */
  reportPath: string;
  reportFile: string;
  /** This run's objects in the local S3 server's directory (each object a `<key>._S3rver_object` file). */
  runDir: string;
  /** Largest state input or output seen in any execution, in bytes (Step Functions allows 256 KiB). */
  maxPayloadBytes: number;
  /** States entered, in the parent and every child execution: what Step Functions Standard bills. */
  transitions: number;
  /** The parent execution's history, counted as AWS records it (quota: 25,000 events). */
  historyEvents: number;
  invocations: Record<FunctionRole, number>;
  events: AnyEvent[];
  /**
   * AWS calls IAM refused during the run. Several executions at once on one local AWS (a fleet's
   * org runs) share one record: each one's list and counts then include the others' calls of that time.
   */
  denials: RecordedCall[];
  /** AWS calls made during the run, by "principal service:Operation" (the runner's own not included). */
  callCounts: Record<string, number>;
  aws: LocalAws;
}

/** One execution of the optimizer on a deployment (runLocally's, or a fleet's StartOrgRun). */
export interface OptimizerExecutionOptions {
  input: unknown;
  executionName?: string;
  onEvent?: (event: AnyEvent) => void;
  onApprovalRequested?: LocalRunOptions['onApprovalRequested'];
  /** Stop waiting and fail the run after this long. */
  timeoutMs?: number;
  /** Stops the execution (StopExecution: the fleet execution that started it ended). */
  signal?: AbortSignal;
}

/** A run's result, and its description as Step Functions gives it (DescribeExecution, a .sync:2 task). */
export interface OptimizerExecution extends LocalRunResult {
  description: ExecutionDescription;
}

export async function runLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const deployment = await deployLocally({
    storeDir: options.storeDir,
    target: options.target,
    ...(options.aws ? { aws: options.aws } : {}),
    ...(options.synthesized ? { synthesized: options.synthesized } : {}),
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.iam ? { iam: options.iam } : {}),
    ...(options.invocationDelayMs ? { invocationDelayMs: options.invocationDelayMs } : {}),
  });
  try {
    // Each run's functions start as new containers: no secret, token or client cached by the last run.
    await deployment.newContainers();
    deployment.setLogSink(options.onLogLine ?? null);
    try {
      const { description: _description, ...result } = await executeOptimizer(deployment, {
        input: options.input,
        ...(options.executionName !== undefined ? { executionName: options.executionName } : {}),
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(options.onApprovalRequested ? { onApprovalRequested: options.onApprovalRequested } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      });
      return result;
    } finally {
      deployment.setLogSink(null);
    }
  } finally {
    await deployment.close();
  }
}

/**
 * One execution of the optimizer's state machine on a local deployment, as Step Functions runs
 * it: registered as RUNNING for the run guard (with its input), its Distributed Map's children and
 * its approval execution as executions of their own, every Task as the real function. Several
 * may run at once on one deployment (a fleet's org runs): each has its own history, quotas,
 * invocations and events.
 */
export async function executeOptimizer(deployment: LocalDeployment, options: OptimizerExecutionOptions): Promise<OptimizerExecution> {
  const { synthesized, aws, iam } = deployment;
  const denialsBefore = aws.denials.length;
  const countsBefore = new Map(aws.counts);

  const tasks = taskStates(synthesized.definition, synthesized.functionsByArn);
  /** The approval machine's Tasks that wait for a callback (the only kind it has). */
  const approvalTasks = Object.entries(synthesized.approval.definition['States'] as Record<string, Record<string, unknown>>)
    .filter(([, st]) => st['Resource'] === INTEGRATION.lambdaWaitForTaskToken)
    .map(([n]) => n);
  const tracker: InvocationTracker = { invocations: Object.fromEntries([...new Set(synthesized.functionsByArn.values())].map((role) => [role, 0])), inflight: new Set() };
  const events: AnyEvent[] = [];
  const emit = (e: AnyEvent) => {
    events.push(e);
    options.onEvent?.(e);
  };
  const account = new ExecutionAccount();

  const stateMachine = synthesized.optimizer;
  const stateMachineName = stateMachine.name;
  const name = options.executionName ?? `local-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const executionId = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${stateMachineName}:${name}`;
  const startTime = new Date().toISOString();
  const context = {
    Execution: { Id: executionId, Name: name, Input: options.input, StartTime: startTime, RoleArn: iam.principals.get('stateMachine')!.roleArn },
    StateMachine: { Id: stateMachine.arn, Name: stateMachineName },
    State: STATE_CONTEXT,
  };

  /** One Task state's invocation of a function, as Step Functions and Lambda make it. */
  const invoke = (role: FunctionRole, stateName: string, input: unknown, quota: ExecutionQuota, fail: (e: QuotaExceeded) => void, principal: 'stateMachine' | 'approvalStateMachine' = 'stateMachine') =>
    invokeFunction(deployment, tracker, { role, stateName, input, quota, fail, principal });
  const handlersFor = (quota: ExecutionQuota, fail: (e: QuotaExceeded) => void, states: Map<string, FunctionRole>) => functionHandlers(deployment, tracker, quota, fail, states, 'stateMachine');

  const local = withAwsTaskTimeouts(forLocalEngine(synthesized.definition));
  const { definition: parentDefinition, maps } = standInForDistributedMaps(local);
  const validation = { validationOptions: { checkArn: true, checkPaths: true } };
  const parent = new StateMachine(parentDefinition as never, validation);
  const parentQuota = new ExecutionQuota(`execution ${name}`);
  let parentFailure: { name: string; cause: string } | null = null;
  let parentExecution: ReturnType<StateMachine['run']> | null = null;
  let stopped = false;
  const failParent = (e: Error) => {
    parentFailure ??= { name: e.name, cause: e.message };
    abortAll();
  };

  const { s3: stateMachineS3 } = clientsAs(aws, 'stateMachine');
  const admin = clientsAs(aws, ADMIN);
  const runningChildren = new Set<ReturnType<StateMachine['run']>>();
  const abortAll = () => {
    for (const c of runningChildren) c.abort();
    parentExecution?.abort();
  };
  const parentHandlers = handlersFor(parentQuota, failParent, new Map([...tasks].filter(([stateName]) => !isChildState(stateName))));
  const approvalMachine = new StateMachine(withAwsTaskTimeouts(forLocalEngine(synthesized.approval.definition)) as never, validation);
  for (const [stateName, state] of Object.entries(parentDefinition['States'] as Record<string, Record<string, unknown>>)) {
    if (state['Resource'] !== INTEGRATION.startExecutionSync) continue;
    parentHandlers[stateName] = async (input) => (await runNestedExecution(stateName, input as Json)) as never;
  }

  /**
   * StartExecution .sync:2, as Step Functions runs it: the state machine's role must be allowed to
   * start the execution, follow it (DescribeExecution, and the managed EventBridge rule it is told
   * through) and stop it; the nested execution runs with its own role, history and quotas; its
   * output is the task's `Output`, and its failure fails the task with States.TaskFailed.
   */
  async function runNestedExecution(stateName: string, input: Json): Promise<Json> {
    checkQuota(failParent, () => parentQuota.events(4, `task ${stateName}`));
    const target = String(input.StateMachineArn);
    if (target !== synthesized.approval.arn) throw new Error(`${stateName} starts ${target}: a local run starts only the approval state machine (${synthesized.approval.arn})`);
    const childName = randomUUID();
    const childArn = `${target.replace(':stateMachine:', ':execution:')}:${childName}`;
    await authorizeSyncStart(deployment, 'stateMachine', target, childArn);
    const childInput = input.Input as Json;
    parentQuota.payload(`the input of ${childArn}`, childInput);
    const quota = new ExecutionQuota(`nested execution ${childName}`);
    const startDate = Date.now();
    // As long and opaque as Step Functions' own; it is only ever written to the run store by the function.
    const token = randomBytes(96).toString('base64');
    let failure: { Error: string; Cause: string } | null = null;
    let execution: ReturnType<StateMachine['run']> | null = null;
    const failChild = (e: QuotaExceeded) => {
      failure ??= { Error: e.name, Cause: e.message };
      execution?.abort();
    };
    const waitForTaskToken = async (params: Json): Promise<Json> => {
      const role = synthesized.functionsByArn.get(String(params.FunctionName));
      if (!role) throw new Error(`the approval task invokes ${String(params.FunctionName)}, which is not one of the optimizer's functions`);
      const decided = aws.callbacks.await(token, target);
      try {
        await invoke(role, 'RequestApproval', params.Payload, quota, failChild, 'approvalStateMachine');
      } catch (err) {
        aws.callbacks.cancel(token);
        throw err;
      }
      // This run's messages: other runs of the deployment (a fleet's org runs) publish at the same time.
      options.onApprovalRequested?.({ executionId, messages: aws.published.filter((m) => m.at >= startDate && m.message.includes(name)).map((m) => m.message) });
      const callback = await decided;
      if (callback.kind === 'failure') throw namedError(callback.error ?? 'States.TaskFailed', callback.cause ?? '');
      return JSON.parse(callback.output) as Json;
    };
    execution = approvalMachine.run(childInput, {
      noThrowOnAbort: true,
      overrides: { taskResourceLocalHandlers: Object.fromEntries(approvalTasks.map((n) => [n, waitForTaskToken])) as never },
      context: {
        Execution: { Id: childArn, Name: childName, Input: childInput, StartTime: new Date(startDate).toISOString(), RoleArn: iam.principals.get('approvalStateMachine')!.roleArn },
        StateMachine: { Id: target, Name: synthesized.approval.name },
        // The engine has no task tokens: the one Task that waits for a callback gets this one.
        Task: { Token: token },
        State: STATE_CONTEXT,
      } as never,
    });
    runningChildren.add(execution);
    const consume = (async () => {
      for await (const e of execution.eventLogs as AsyncIterable<AnyEvent>) account.account(quota, failChild, e);
    })();
    let output: Json = null;
    try {
      output = await execution.result;
    } catch (err) {
      const e = err as Error & { cause?: Error };
      failure ??= { Error: e.cause?.name ?? e.name, Cause: causeText(e.cause?.message ?? e.message) };
    } finally {
      aws.callbacks.cancel(token);
      runningChildren.delete(execution);
      await consume.catch(() => undefined);
    }
    if (failure) throw namedError('States.TaskFailed', JSON.stringify({ ExecutionArn: childArn, StateMachineArn: target, Status: 'FAILED', Error: failure.Error, Cause: failure.Cause }));
    if (output === null) throw namedError('States.TaskFailed', JSON.stringify({ ExecutionArn: childArn, StateMachineArn: target, Status: 'ABORTED' }));
    return { ExecutionArn: childArn, Input: childInput, InputDetails: { Included: true }, Name: childName, Output: output, OutputDetails: { Included: true }, StartDate: startDate, StateMachineArn: target, Status: 'SUCCEEDED', StopDate: Date.now() };
  }
  function isChildState(stateName: string): boolean {
    return [...maps.values()].some((m) => stateName in ((m['ItemProcessor'] as { States: object }).States ?? {}));
  }
  for (const [mapName, mapState] of maps) {
    const processor = mapState['ItemProcessor'] as { StartAt: string; States: Record<string, unknown> };
    const child = new StateMachine({ StartAt: processor.StartAt, States: processor.States } as never, validation);
    const childTasks = new Map([...tasks].filter(([stateName]) => stateName in processor.States));
    parentHandlers[mapName] = async (input) => {
      parentQuota.events(2, `the Map Run of ${mapName}`);
      const runChild = async (c: { index: number; name: string; executionArn: string; input: Json; stateMachineArn: string }): Promise<ChildRun> => {
        const quota = new ExecutionQuota(`child execution ${c.name} (item ${c.index})`);
        const startDate = new Date().toISOString();
        let failure: { Error: string; Cause: string } | null = null;
        let execution: ReturnType<StateMachine['run']> | null = null;
        const failChild = (e: QuotaExceeded) => {
          failure ??= { Error: e.name, Cause: e.message };
          execution?.abort();
        };
        const finish = (status: ChildRun['status'], extra: Partial<ChildRun>): ChildRun => {
          emit({ type: status === 'SUCCEEDED' ? 'MapIterationSucceeded' : 'MapIterationFailed', timestamp: Date.now(), index: c.index, ...(extra.error ?? {}) });
          return { name: c.name, executionArn: c.executionArn, input: c.input, status, startDate, stopDate: new Date().toISOString(), ...extra };
        };
        emit({ type: 'MapIterationStarted', timestamp: Date.now(), index: c.index, input: c.input });
        try {
          quota.payload('its input', c.input);
        } catch (err) {
          return finish('FAILED', { error: { Error: (err as Error).name, Cause: (err as Error).message } });
        }
        execution = child.run(c.input, {
          noThrowOnAbort: true,
          overrides: { taskResourceLocalHandlers: handlersFor(quota, failChild, childTasks) },
          context: { Execution: { Id: c.executionArn, Name: c.name, Input: c.input, StartTime: startDate, RoleArn: context.Execution.RoleArn }, StateMachine: { Id: c.stateMachineArn, Name: `${stateMachineName}/${mapName}` }, State: STATE_CONTEXT } as never,
        });
        runningChildren.add(execution);
        const consume = (async () => {
          for await (const e of execution.eventLogs as AsyncIterable<AnyEvent>) {
            account.account(quota, failChild, e);
            // The child's own start and end are told by the MapIteration events around it.
            if (!e.type.startsWith('Execution')) emit({ ...e, index: c.index });
          }
        })();
        try {
          const output = await execution.result;
          await consume;
          if (failure) return finish('FAILED', { error: failure });
          // An aborted execution ends with null (noThrowOnAbort); every child's workflow ends with an object.
          if (output === null) return finish('ABORTED', { error: { Error: 'States.Aborted', Cause: 'the Map Run was stopped' } });
          return finish('SUCCEEDED', { output });
        } catch (err) {
          await consume.catch(() => undefined);
          const e = err as Error & { cause?: Error };
          return finish('FAILED', { error: failure ?? { Error: e.cause?.name ?? e.name, Cause: causeText(e.cause?.message ?? e.message) } });
        } finally {
          runningChildren.delete(execution);
        }
      };
      try {
        return await runDistributedMap(
          {
            context,
            runChild,
            stopChildren: () => {
              for (const c of runningChildren) c.abort();
            },
            getObject: async (Bucket, Key) => (await stateMachineS3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString('utf-8'),
            putObject: async (Bucket, Key, Body) => void (await stateMachineS3.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'application/json' }))),
            authorize: (action, resource) => iam.authorize('stateMachine', { action, resource }),
          },
          mapName,
          mapState,
          input,
        );
      } catch (err) {
        // Neither can be caught (States.ALL does not match them): they end the execution.
        if (err instanceof QuotaExceeded || (err as Error).name === 'States.Runtime') failParent(err as Error);
        throw err;
      }
    };
  }

  // Registered like Step Functions lists RUNNING executions (with its input, as DescribeExecution gives it), so the run guard sees this run.
  const unregister = aws.executions.register({ executionArn: executionId, stateMachineArn: stateMachine.arn, name, startDate: startTime, input: JSON.stringify(options.input ?? {}), pid: process.pid });
  let failure: { name: string; cause: string } | null = null;
  /** The failure's Cause as Step Functions keeps it (a Lambda error's JSON as is). */
  let failureCause: string | null = null;
  let output: unknown = null;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    abortAll();
  };
  if (options.signal?.aborted) stopped = true;
  options.signal?.addEventListener('abort', stop);
  try {
    if (payloadBytes(options.input ?? {}) > MAX_PAYLOAD_BYTES) {
      // StartExecution refuses it: the execution never exists.
      throw Object.assign(new Error(`the execution input is ${payloadBytes(options.input ?? {})} bytes, more than the ${MAX_PAYLOAD_BYTES} bytes Step Functions accepts`), { name: 'InvalidExecutionInput' });
    }
    const execution = parent.run(options.input as never, { noThrowOnAbort: true, overrides: { taskResourceLocalHandlers: parentHandlers }, context: context as never });
    parentExecution = execution;
    if (stopped) execution.abort();
    if (options.timeoutMs) {
      timer = setTimeout(() => {
        parentFailure ??= { name: 'States.Aborted', cause: `the local run took longer than ${options.timeoutMs} ms` };
        abortAll();
      }, options.timeoutMs);
    }
    const consume = (async () => {
      for await (const event of execution.eventLogs as AsyncIterable<AnyEvent>) {
        account.account(parentQuota, failParent, event);
        if (event.type === 'ExecutionFailed') {
          failure = { name: event.Error ?? 'States.Runtime', cause: causeText(event.Cause) };
          failureCause = rawCause(event.Cause);
        }
        emit(event);
      }
    })();
    try {
      output = await execution.result;
    } catch (err) {
      const e = err as Error & { cause?: Error };
      failure ??= { name: e.cause?.name ?? e.name, cause: causeText(e.cause?.message ?? e.message) };
      failureCause ??= rawCause(e.cause?.message ?? e.message);
    }
    await consume;
    // A parent that ended (failed, timed out) stops its Map Run's children, as Step Functions does.
    abortAll();
    await Promise.allSettled([...tracker.inflight]);
  } catch (err) {
    if (!(err instanceof QuotaExceeded) && (err as Error).name !== 'InvalidExecutionInput') throw err;
    failure = { name: (err as Error).name, cause: (err as Error).message };
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
    unregister(failure || parentFailure ? 'FAILED' : stopped ? 'ABORTED' : 'SUCCEEDED');
  }
  if (parentFailure) {
    failure = parentFailure;
    failureCause = (parentFailure as { cause: string }).cause;
  }
  // Stopped from outside (StopExecution): the engine's abort ends it with no output and no error.
  const aborted = !failure && stopped;
  if (aborted) failure = { name: 'States.Aborted', cause: 'the execution was stopped' };

  const reportKey = runKey(executionId, 'report');
  let report: RunReport | null = null;
  try {
    report = await new S3RunStore(deployment.bucket, admin.s3).getJson<RunReport>(reportKey);
  } catch {
    report = null;
  }
  const finalFailure = failure as { name: string; cause: string } | null;
  const description: ExecutionDescription = {
    ExecutionArn: executionId,
    Input: options.input ?? {},
    InputDetails: { Included: true },
    Name: name,
    StartDate: Date.parse(startTime),
    StateMachineArn: stateMachine.arn,
    Status: aborted ? 'ABORTED' : finalFailure ? 'FAILED' : 'SUCCEEDED',
    StopDate: Date.now(),
    ...(finalFailure
      ? aborted
        ? {}
        : { Error: finalFailure.name, Cause: failureCause ?? finalFailure.cause }
      : { Output: output, OutputDetails: { Included: true as const } }),
  };
  return {
    executionId,
    status: finalFailure ? 'FAILED' : 'SUCCEEDED',
    output: finalFailure ? null : output,
    error: finalFailure,
    report,
    reportPath: `s3://${deployment.bucket}/${reportKey}`,
    reportFile: join(aws.s3Dir, deployment.bucket, `${reportKey}._S3rver_object`),
    runDir: join(aws.s3Dir, deployment.bucket, runPrefix(executionId)),
    maxPayloadBytes: account.maxPayloadBytes,
    transitions: account.transitions,
    historyEvents: parentQuota.historyEvents,
    invocations: tracker.invocations as Record<FunctionRole, number>,
    events,
    denials: aws.denials.slice(denialsBefore),
    callCounts: Object.fromEntries(
      [...aws.counts].map(([k, n]) => [k, n - (countsBefore.get(k) ?? 0)] as const).filter(([k, n]) => n > 0 && !k.startsWith(`${ADMIN} `)),
    ),
    aws,
    description,
  };
}
