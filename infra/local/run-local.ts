/**
 * Runs the synthesized state machine locally, as a rehearsal of an AWS run. The engine is
 * aws-local-stepfunctions; each Task state calls the real handler, in its function's own worker
 * thread, the way the Lambda runtime would (JSON in, JSON out, a thrown error becomes the state's
 * Error and Cause, the function's timeout from the template applies), as that function's role: every AWS call it
 * makes goes to the local AWS endpoint (real-protocol S3 and DynamoDB, Secrets Manager,
 * EventBridge and Step Functions), where it is evaluated against the role's policies from the
 * template. The Distributed Map runs as AWS runs it (distributed-map.ts), and the quotas AWS
 * enforces (payloads, history) end the run here as they would there.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { StateMachine, type RunOptions } from 'aws-local-stepfunctions';
import type { RunReport } from '../../functions/domain/report.ts';
import { errorMessageOf } from '../../functions/shared/lambda-cause.ts';
import { runKey, runPrefix } from '../../functions/store/run-store.ts';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';
import { IamAuthorizer } from './aws/iam.ts';
import { ADMIN, startLocalAws, type LocalAws, type RecordedCall, type SecretValue } from './aws/local-aws.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/resources.ts';
import { INTEGRATION, synthesizeDefinition, taskStates, type FunctionRole, type LocalPrincipal, type SynthesizedDefinition } from './definition.ts';
import { runDistributedMap, type ChildRun } from './distributed-map.ts';
import { forLocalEngine, LOCAL_TIMEOUT_FIELD, standInForDistributedMaps, withAwsTaskTimeouts } from './engine-definition.ts';
import { LocalFunction } from './function-pool.ts';
import { ExecutionQuota, MAX_PAYLOAD_BYTES, payloadBytes, QuotaExceeded } from './quotas.ts';

type Handler = (event: never) => Promise<unknown>;
type Json = any;
export type AnyEvent = {
  type: string;
  timestamp: number;
  index?: number;
  state?: { name: string; input: unknown; output?: unknown };
  input?: unknown;
  Error?: string;
  Cause?: unknown;
  output?: unknown;
};

export interface LocalTarget {
  /** Genesys endpoints: kept in the OAuth client's secret, as a deployment against such hosts would. */
  apiUrl?: string;
  loginUrl?: string;
  region?: string;
  /** The OAuth client, stored in the stack's Secrets Manager secret for the run. */
  clientId?: string;
  clientSecret?: string;
  /** The secret's value as stored instead (a malformed one), or the error Secrets Manager answers with. */
  secret?: SecretValue;
}

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
  /** AWS calls IAM refused during the run. */
  denials: RecordedCall[];
  /** AWS calls made during the run, by "principal service:Operation" (the runner's own not included). */
  callCounts: Record<string, number>;
  aws: LocalAws;
}

const HANDLER_MODULES: Record<FunctionRole, string> = {
  fetch: '../../functions/handlers/fetch.ts',
  validate: '../../functions/handlers/validate.ts',
  optimize: '../../functions/handlers/optimize.ts',
  verify: '../../functions/handlers/verify.ts',
  report: '../../functions/handlers/report.ts',
  approval: '../../functions/handlers/approval.ts',
};

/** The deployment's functions, kept per local AWS and environment (warm containers across runs). */
const pools = new WeakMap<LocalAws, Map<string, Record<FunctionRole, LocalFunction>>>();

function functionsFor(aws: LocalAws, environments: Record<FunctionRole, Record<string, string>>): Record<FunctionRole, LocalFunction> {
  let byEnv = pools.get(aws);
  if (!byEnv) {
    byEnv = new Map();
    pools.set(aws, byEnv);
    const all = byEnv;
    aws.onClose(async () => {
      await Promise.all([...all.values()].flatMap((fns) => Object.values(fns).map((f) => f.close())));
    });
  }
  const key = JSON.stringify(environments);
  let fns = byEnv.get(key);
  if (!fns) {
    fns = Object.fromEntries(
      (Object.keys(HANDLER_MODULES) as FunctionRole[]).map((role) => [role, new LocalFunction(role, new URL(HANDLER_MODULES[role], import.meta.url).href, environments[role])]),
    ) as Record<FunctionRole, LocalFunction>;
    byEnv.set(key, fns);
  }
  return fns;
}

/** What the Lambda runtime does with a thrown error: name → Error, JSON body → Cause. */
function asLambdaError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const wrapped = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }));
  wrapped.name = e.name;
  return wrapped;
}

const namedError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

function causeText(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined ? '' : JSON.stringify(cause);
  return errorMessageOf(cause);
}

/**
 * `$$.State.EnteredTime`, which the engine does not give. It is read when a state's Parameters are
 * evaluated, as the state is entered, so the time of reading is the time it entered (to the millisecond).
 */
const STATE_CONTEXT = Object.freeze({
  get EnteredTime(): string {
    return new Date().toISOString();
  },
});

/** Clients that sign as `principal` (the runner itself, or the state machine's role). */
export function clientsAs(aws: LocalAws, principal: string) {
  const config = { endpoint: aws.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: principal, secretAccessKey: 'local' } };
  return { s3: new S3Client({ ...config, forcePathStyle: true }), db: new DynamoDBClient(config), sfn: new SFNClient(config) };
}

/** The stack's resources in the local AWS, as `cdk deploy` would create them (idempotent). */
async function provision(aws: LocalAws, admin: ReturnType<typeof clientsAs>, synthesized: SynthesizedDefinition, target: LocalTarget): Promise<{ bucket: string }> {
  const { resources } = synthesized;
  const bucket = resources.only('AWS::S3::Bucket').name;
  try {
    await admin.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((err as Error).name)) throw err;
  }
  for (const [id, table] of resources.ofType('AWS::DynamoDB::Table')) {
    const p = resources.resolve(table.Properties);
    try {
      await admin.db.send(new CreateTableCommand({ TableName: resources.byId.get(id)!.name, KeySchema: p.KeySchema, AttributeDefinitions: p.AttributeDefinitions, BillingMode: p.BillingMode }));
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  for (const [id] of resources.ofType('AWS::Events::EventBus')) aws.eventBuses.add(resources.byId.get(id)!.name);
  const secret = resources.only('AWS::SecretsManager::Secret');
  aws.secretArns.set(secret.name, secret.arn);
  aws.secretArns.set(secret.arn, secret.arn);
  const hosts = { ...(target.region ? { region: target.region } : {}), ...(target.apiUrl ? { apiUrl: target.apiUrl } : {}), ...(target.loginUrl ? { loginUrl: target.loginUrl } : {}) };
  aws.secrets.set(secret.arn, target.secret ?? { secretString: JSON.stringify({ clientId: target.clientId, clientSecret: target.clientSecret, ...hosts }) });
  return { bucket };
}

/**
 * Each function's environment, as Lambda gives it: the variables the template sets on that
 * function, resolved to the local resources, and credentials naming its role (the local AWS
 * endpoint knows the caller by them, as AWS knows a role's session by its credentials).
 */
function functionEnvironments(synthesized: SynthesizedDefinition, aws: LocalAws, overrides: Record<string, string>): Record<FunctionRole, Record<string, string>> {
  const out = {} as Record<FunctionRole, Record<string, string>>;
  for (const [arn, role] of synthesized.functionsByArn) {
    const [, fn] = synthesized.resources.ofType('AWS::Lambda::Function').find(([id]) => synthesized.resources.byId.get(id)!.arn === arn)!;
    const vars = synthesized.resources.resolve(fn.Properties?.Environment?.Variables ?? {}) as Record<string, string>;
    const { NODE_OPTIONS: _sourceMaps, ...rest } = vars;
    out[role] = {
      ...rest,
      ...overrides,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: role,
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }
  return out;
}

export async function runLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const synthesized = options.synthesized ?? synthesizeDefinition();
  const { resources } = synthesized;
  const ownAws = options.aws ? null : await startLocalAws({ dir: options.storeDir });
  const aws = options.aws ?? ownAws!;
  const iam = new IamAuthorizer(resources, synthesized.roles);
  options.iam?.(iam);
  aws.iam = iam;
  const denialsBefore = aws.denials.length;
  const countsBefore = new Map(aws.counts);

  const functions = functionsFor(aws, functionEnvironments(synthesized, aws, options.environment ?? {}));
  const tasks = taskStates(synthesized.definition, synthesized.functionsByArn);
  /** The approval machine's Tasks that wait for a callback (the only kind it has). */
  const approvalTasks = Object.entries(synthesized.approval.definition['States'] as Record<string, Record<string, unknown>>)
    .filter(([, st]) => st['Resource'] === INTEGRATION.lambdaWaitForTaskToken)
    .map(([n]) => n);
  const arnOf = new Map([...synthesized.functionsByArn].map(([arn, role]) => [role, arn]));
  const timeoutOf = new Map<FunctionRole, number>();
  for (const [arn, role] of synthesized.functionsByArn) {
    const fn = resources.ofType('AWS::Lambda::Function').find(([id]) => resources.byId.get(id)!.arn === arn);
    timeoutOf.set(role, Number(fn?.[1].Properties?.Timeout ?? 3));
  }
  const invocations = Object.fromEntries(Object.keys(HANDLER_MODULES).map((role) => [role, 0])) as Record<FunctionRole, number>;
  const events: AnyEvent[] = [];
  const emit = (e: AnyEvent) => {
    events.push(e);
    options.onEvent?.(e);
  };
  let transitions = 0;
  let maxPayloadBytes = 0;
  /** Invocations not yet returned: a run is over when they are (their logs and writes belong to it). */
  const inflight = new Set<Promise<unknown>>();

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
  const invoke = async (role: FunctionRole, stateName: string, input: unknown, quota: ExecutionQuota, fail: (e: QuotaExceeded) => void, principal: LocalPrincipal = 'stateMachine') => {
    try {
      quota.events(3, `task ${stateName}`);
    } catch (err) {
      // Past the history quota the execution ends; it is not the task's error to catch.
      if (err instanceof QuotaExceeded) fail(err);
      throw err;
    }
    const allowed = await iam.authorize(principal, { action: 'lambda:InvokeFunction', resource: arnOf.get(role)! });
    if (!allowed.allowed) throw namedError('Lambda.AWSLambdaException', `${allowed.message} (Service: Lambda, Status Code: 403, Error Code: AccessDeniedException)`);
    invocations[role]++;
    const delay = options.invocationDelayMs?.() ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const seconds = timeoutOf.get(role)!;
    let timer: NodeJS.Timeout | undefined;
    let output: unknown;
    const invocation = functions[role].invoke(input);
    inflight.add(invocation);
    void invocation.catch(() => undefined).finally(() => inflight.delete(invocation));
    try {
      output = await Promise.race([
        invocation,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(namedError('Sandbox.Timedout', `Task timed out after ${seconds.toFixed(2)} seconds`)), seconds * 1000);
        }),
      ]);
    } catch (err) {
      throw asLambdaError(err);
    } finally {
      clearTimeout(timer);
    }
    const result = JSON.parse(JSON.stringify(output ?? null)) as unknown;
    try {
      quota.payload(`the result of task ${stateName}`, result);
    } catch (err) {
      if (err instanceof QuotaExceeded) fail(err);
      throw err;
    }
    return result;
  };

  const handlersFor = (quota: ExecutionQuota, fail: (e: QuotaExceeded) => void, states: Map<string, FunctionRole>) => {
    const h: NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']> = {};
    for (const [stateName, role] of states) {
      h[stateName] = async (input) => {
        const { [LOCAL_TIMEOUT_FIELD]: _carried, ...payload } = input as Record<string, unknown>;
        return (await invoke(role, stateName, Array.isArray(input) || typeof input !== 'object' || input === null ? input : payload, quota, fail)) as never;
      };
    }
    return h;
  };

  /** Accounts one event of an execution against its quotas; ends it when one is exceeded. */
  const account = (quota: ExecutionQuota, fail: (e: QuotaExceeded) => void, e: AnyEvent) => {
    try {
      if (e.type === 'StateEntered') {
        transitions++;
        quota.events(2, `state ${e.state?.name}`);
        quota.payload(`the input of state ${e.state?.name}`, e.state?.input);
      }
      if (e.type === 'StateExited') quota.payload(`the output of state ${e.state?.name}`, e.state?.output);
    } catch (err) {
      if (err instanceof QuotaExceeded) fail(err);
      else throw err;
    }
    maxPayloadBytes = Math.max(maxPayloadBytes, quota.maxPayloadBytes);
  };

  const local = withAwsTaskTimeouts(forLocalEngine(synthesized.definition));
  const { definition: parentDefinition, maps } = standInForDistributedMaps(local);
  const validation = { validationOptions: { checkArn: true, checkPaths: true } };
  const parent = new StateMachine(parentDefinition as never, validation);
  const parentQuota = new ExecutionQuota(`execution ${name}`);
  let parentFailure: { name: string; cause: string } | null = null;
  let parentExecution: ReturnType<StateMachine['run']> | null = null;
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
    try {
      parentQuota.events(4, `task ${stateName}`);
    } catch (err) {
      if (err instanceof QuotaExceeded) failParent(err);
      throw err;
    }
    const target = String(input.StateMachineArn);
    if (target !== synthesized.approval.arn) throw new Error(`${stateName} starts ${target}: a local run starts only the approval state machine (${synthesized.approval.arn})`);
    const childName = randomUUID();
    const childArn = `${target.replace(':stateMachine:', ':execution:')}:${childName}`;
    const managedRule = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`;
    for (const [action, resource] of [
      ['states:StartExecution', target],
      ['states:DescribeExecution', childArn],
      ['states:StopExecution', childArn],
      ['events:PutTargets', managedRule],
      ['events:PutRule', managedRule],
      ['events:DescribeRule', managedRule],
    ] as const) {
      const allowed = await iam.authorize('stateMachine', { action, resource });
      // Named as the Lambda integration's are (Lambda.AWSLambdaException): <service>.<exception>.
      if (!allowed.allowed) throw namedError('StepFunctions.AWSStepFunctionsException', `${allowed.message} (Service: AWSStepFunctions, Status Code: 400, Error Code: AccessDeniedException)`);
    }
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
      options.onApprovalRequested?.({ executionId, messages: aws.published.filter((m) => m.at >= startDate).map((m) => m.message) });
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
      for await (const e of execution.eventLogs as AsyncIterable<AnyEvent>) account(quota, failChild, e);
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
            account(quota, failChild, e);
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

  const { bucket } = await provision(aws, admin, synthesized, options.target);
  // EventBridge rules, SNS topics and their policies are the deployment's.
  aws.resources = resources;
  // Each run's functions start as new containers: no secret, token or client cached by the last run.
  await Promise.all(Object.values(functions).map((f) => f.newContainer()));
  // Registered like Step Functions lists RUNNING executions, so the run guard sees this run.
  const unregister = aws.executions.register({ executionArn: executionId, stateMachineArn: stateMachine.arn, name, startDate: startTime, input: JSON.stringify(options.input ?? {}), pid: process.pid });
  for (const f of Object.values(functions)) f.logSink = options.onLogLine ?? null;
  let failure: { name: string; cause: string } | null = null;
  let output: unknown = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    if (payloadBytes(options.input ?? {}) > MAX_PAYLOAD_BYTES) {
      // StartExecution refuses it: the execution never exists.
      throw Object.assign(new Error(`the execution input is ${payloadBytes(options.input ?? {})} bytes, more than the ${MAX_PAYLOAD_BYTES} bytes Step Functions accepts`), { name: 'InvalidExecutionInput' });
    }
    const execution = parent.run(options.input as never, { noThrowOnAbort: true, overrides: { taskResourceLocalHandlers: parentHandlers }, context: context as never });
    parentExecution = execution;
    if (options.timeoutMs) {
      timer = setTimeout(() => {
        parentFailure ??= { name: 'States.Aborted', cause: `the local run took longer than ${options.timeoutMs} ms` };
        abortAll();
      }, options.timeoutMs);
    }
    const consume = (async () => {
      for await (const event of execution.eventLogs as AsyncIterable<AnyEvent>) {
        account(parentQuota, failParent, event);
        if (event.type === 'ExecutionFailed') failure = { name: event.Error ?? 'States.Runtime', cause: causeText(event.Cause) };
        emit(event);
      }
    })();
    try {
      output = await execution.result;
    } catch (err) {
      const e = err as Error & { cause?: Error };
      failure ??= { name: e.cause?.name ?? e.name, cause: causeText(e.cause?.message ?? e.message) };
    }
    await consume;
    // A parent that ended (failed, timed out) stops its Map Run's children, as Step Functions does.
    abortAll();
    await Promise.allSettled([...inflight]);
  } catch (err) {
    if (!(err instanceof QuotaExceeded) && (err as Error).name !== 'InvalidExecutionInput') throw err;
    failure = { name: (err as Error).name, cause: (err as Error).message };
  } finally {
    if (timer) clearTimeout(timer);
    for (const f of Object.values(functions)) f.logSink = null;
    unregister();
  }
  if (parentFailure) failure = parentFailure;

  const reportKey = runKey(executionId, 'report');
  let report: RunReport | null = null;
  try {
    report = await new S3RunStore(bucket, admin.s3).getJson<RunReport>(reportKey);
  } catch {
    report = null;
  }
  const result: LocalRunResult = {
    executionId,
    status: failure ? 'FAILED' : 'SUCCEEDED',
    output: failure ? null : output,
    error: failure,
    report,
    reportPath: `s3://${bucket}/${reportKey}`,
    reportFile: join(aws.s3Dir, bucket, `${reportKey}._S3rver_object`),
    runDir: join(aws.s3Dir, bucket, runPrefix(executionId)),
    maxPayloadBytes,
    transitions,
    historyEvents: parentQuota.historyEvents,
    invocations,
    events,
    denials: aws.denials.slice(denialsBefore),
    callCounts: Object.fromEntries(
      [...aws.counts].map(([k, n]) => [k, n - (countsBefore.get(k) ?? 0)] as const).filter(([k, n]) => n > 0 && !k.startsWith(`${ADMIN} `)),
    ),
    aws,
  };
  if (ownAws) await ownAws.close();
  return result;
}
