/**
 * A local deployment of the stack: what `cdk deploy` would create (the run bucket, the pacer
 * table, the audit bus, every Genesys secret with its value), the IAM policies every call is
 * evaluated against, and the functions, each in a worker thread of its own with the environment
 * the template gives it. Executions run on it (run-local.ts: the optimizer's; fleet-local.ts: the
 * Fleet machine's, which starts the optimizer's for each org): several at once share it as they
 * share one account in AWS, each with its own history, quotas and run-guard registration.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { RunOptions } from 'aws-local-stepfunctions';
import { errorMessageOf } from '../../functions/shared/lambda-cause.ts';
import { IamAuthorizer } from './aws/iam.ts';
import { ADMIN, startLocalAws, type LocalAws, type RecordedCall, type SecretValue } from './aws/local-aws.ts';
import { LOCAL_REGION, type LocalResource } from './aws/resources.ts';
import { synthesizeDefinition, type FleetFunctionRole, type FunctionRole, type LocalPrincipal, type SynthesizedDefinition } from './definition.ts';
import { LOCAL_TIMEOUT_FIELD } from './engine-definition.ts';
import { LocalFunction } from './function-pool.ts';
import { checkQuota, ExecutionQuota, QuotaExceeded } from './quotas.ts';

type Json = any;

/** Every function a deployment may have: the optimizer's, and the fleet's (with orgs). */
export type LocalFunctionName = FunctionRole | FleetFunctionRole;

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
  /** The OAuth client, stored in the Secrets Manager secret for the run. */
  clientId?: string;
  clientSecret?: string;
  /** The secret's value as stored instead (a malformed one), or the error Secrets Manager answers with. */
  secret?: SecretValue;
}

export interface LocalDeploymentOptions {
  /** Where the local AWS keeps the run bucket's objects and its list of executions (when `aws` is not given). */
  storeDir: string;
  /** A local AWS already running (tests run many executions against one). */
  aws?: LocalAws;
  /** Reuse one synthesis across runs (tests). */
  synthesized?: SynthesizedDefinition;
  /** The stack's own secret (a single-org deployment's Genesys). */
  target?: LocalTarget;
  /** Each org's secret, by org name (a deployment with orgs). */
  orgTargets?: ReadonlyMap<string, LocalTarget>;
  /** Function settings as a stack setting would give them (GENESYS_TIMEOUT_MS, …). */
  environment?: Record<string, string>;
  /** Changes the deployment's policies (a test taking a permission away). */
  iam?: (iam: IamAuthorizer) => void;
  /** Milliseconds between a Task's start and its function's (a cold start, a slow invoke). */
  invocationDelayMs?: () => number;
}

export interface LocalDeployment {
  synthesized: SynthesizedDefinition;
  aws: LocalAws;
  iam: IamAuthorizer;
  /** The run bucket's name. */
  bucket: string;
  functions: Partial<Record<LocalFunctionName, LocalFunction>>;
  arnOf: Map<LocalFunctionName, string>;
  /** Each function's timeout from the template, in seconds. */
  timeoutOf: Map<LocalFunctionName, number>;
  invocationDelayMs: (() => number) | undefined;
  /** Starts every function as a new container (no cached secret, token or client). */
  newContainers(): Promise<void>;
  /** Where every function's log lines go (null: this process's stdout, as in Lambda). */
  setLogSink(sink: ((line: string) => void) | null): void;
  /** Stops the local AWS when the deployment started it. */
  close(): Promise<void>;
}

const HANDLER_MODULES: Record<LocalFunctionName, string> = {
  fetch: '../../functions/handlers/fetch.ts',
  validate: '../../functions/handlers/validate.ts',
  optimize: '../../functions/handlers/optimize.ts',
  verify: '../../functions/handlers/verify.ts',
  report: '../../functions/handlers/report.ts',
  approval: '../../functions/handlers/approval.ts',
  fleet: '../../functions/handlers/fleet.ts',
};

/** The deployment's functions, kept per local AWS and environment (warm containers across runs). */
const pools = new WeakMap<LocalAws, Map<string, Partial<Record<LocalFunctionName, LocalFunction>>>>();

function functionsFor(aws: LocalAws, environments: Partial<Record<LocalFunctionName, Record<string, string>>>): Partial<Record<LocalFunctionName, LocalFunction>> {
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
      (Object.keys(environments) as LocalFunctionName[]).map((role) => [role, new LocalFunction(role, new URL(HANDLER_MODULES[role], import.meta.url).href, environments[role]!)]),
    ) as Partial<Record<LocalFunctionName, LocalFunction>>;
    byEnv.set(key, fns);
  }
  return fns;
}

/** What the Lambda runtime does with a thrown error: name → Error, JSON body → Cause. */
export function asLambdaError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const wrapped = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }));
  wrapped.name = e.name;
  return wrapped;
}

export const namedError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/** An execution's Cause as text to read: a Lambda error's JSON gives its message. */
export function causeText(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined ? '' : JSON.stringify(cause);
  return errorMessageOf(cause);
}

/** An execution's Cause as Step Functions keeps it (a Lambda error's JSON as is). */
export function rawCause(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined ? '' : JSON.stringify(cause);
  return cause;
}

/**
 * `$$.State.EnteredTime`, which the engine does not give. It is read when a state's Parameters are
 * evaluated, as the state is entered, so the time of reading is the time it entered (to the millisecond).
 */
export const STATE_CONTEXT = Object.freeze({
  get EnteredTime(): string {
    return new Date().toISOString();
  },
});

/** Clients that sign as `principal` (the runner itself, or the state machine's role). */
export function clientsAs(aws: LocalAws, principal: string) {
  const config = { endpoint: aws.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: principal, secretAccessKey: 'local' } };
  return { s3: new S3Client({ ...config, forcePathStyle: true }), db: new DynamoDBClient(config), sfn: new SFNClient(config) };
}

function secretValueOf(target: LocalTarget): SecretValue {
  if (target.secret) return target.secret;
  const hosts = { ...(target.region ? { region: target.region } : {}), ...(target.apiUrl ? { apiUrl: target.apiUrl } : {}), ...(target.loginUrl ? { loginUrl: target.loginUrl } : {}) };
  return { secretString: JSON.stringify({ clientId: target.clientId, clientSecret: target.clientSecret, ...hosts }) };
}

/**
 * A secret's value as CloudFormation creates it when nobody has put one: a generated string, or
 * the template's JSON with the generated key (an org secret whose hosts the setting gives).
 */
function generatedSecretValue(resources: SynthesizedDefinition['resources'], secret: LocalResource): SecretValue {
  const generate = resources.properties(secret.logicalId).GenerateSecretString as { SecretStringTemplate?: string; GenerateStringKey?: string } | undefined;
  const generated = randomBytes(24).toString('base64url');
  if (generate?.SecretStringTemplate && generate.GenerateStringKey) {
    return { secretString: JSON.stringify({ ...(JSON.parse(generate.SecretStringTemplate) as object), [generate.GenerateStringKey]: generated }) };
  }
  return { secretString: generated };
}

/** The stack's resources in the local AWS, as `cdk deploy` would create them, and each secret's value (idempotent). */
async function provision(aws: LocalAws, synthesized: SynthesizedDefinition, targets: { stack?: LocalTarget | undefined; orgs?: ReadonlyMap<string, LocalTarget> | undefined }): Promise<{ bucket: string }> {
  const { resources } = synthesized;
  const admin = clientsAs(aws, ADMIN);
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
  // Every secret of the template, found by its name or its ARN as Secrets Manager finds it.
  const store = (secret: LocalResource, value: SecretValue) => {
    aws.secretArns.set(secret.name, secret.arn);
    aws.secretArns.set(secret.arn, secret.arn);
    aws.secrets.set(secret.arn, value);
  };
  const { secrets } = synthesized;
  store(secrets.stack, targets.stack ? secretValueOf(targets.stack) : generatedSecretValue(resources, secrets.stack));
  for (const [name, secret] of secrets.orgs) {
    const target = targets.orgs?.get(name);
    store(secret, target ? secretValueOf(target) : generatedSecretValue(resources, secret));
  }
  for (const name of targets.orgs?.keys() ?? []) {
    if (!secrets.orgs.has(name)) throw new Error(`org ${name} has a target but the deployment has no secret for it (synthesize with it in the orgs)`);
  }
  return { bucket };
}

/** The template's Lambda functions: ARN → logical id. */
function functionIds(synthesized: SynthesizedDefinition): Map<LocalFunctionName, string> {
  const { resources } = synthesized;
  const byArn = new Map(resources.ofType('AWS::Lambda::Function').map(([id]) => [resources.byId.get(id)!.arn, id] as const));
  const out = new Map<LocalFunctionName, string>();
  for (const [arn, role] of synthesized.functionsByArn) out.set(role, byArn.get(arn)!);
  if (synthesized.fleet) out.set('fleet', synthesized.fleet.functionId);
  return out;
}

/**
 * Each function's environment, as Lambda gives it: the variables the template sets on that
 * function, resolved to the local resources, and credentials naming its role (the local AWS
 * endpoint knows the caller by them, as AWS knows a role's session by its credentials).
 */
function functionEnvironments(synthesized: SynthesizedDefinition, aws: LocalAws, overrides: Record<string, string>): Partial<Record<LocalFunctionName, Record<string, string>>> {
  const out: Partial<Record<LocalFunctionName, Record<string, string>>> = {};
  for (const [role, id] of functionIds(synthesized)) {
    const vars = synthesized.resources.resolve(synthesized.resources.properties(id).Environment?.Variables ?? {}) as Record<string, string>;
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

/**
 * The stack deployed in the local AWS: resources provisioned, secrets set, IAM policies in force
 * (the deployment's, narrowed by `iam`), and the function pool ready.
 */
export async function deployLocally(options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const synthesized = options.synthesized ?? synthesizeDefinition();
  const { resources } = synthesized;
  const ownAws = options.aws ? null : await startLocalAws({ dir: options.storeDir });
  const aws = options.aws ?? ownAws!;
  try {
    const iam = new IamAuthorizer(resources, synthesized.roles);
    options.iam?.(iam);
    aws.iam = iam;
    const functions = functionsFor(aws, functionEnvironments(synthesized, aws, options.environment ?? {}));
    const arnOf = new Map<LocalFunctionName, string>();
    const timeoutOf = new Map<LocalFunctionName, number>();
    for (const [role, id] of functionIds(synthesized)) {
      arnOf.set(role, resources.byId.get(id)!.arn);
      timeoutOf.set(role, Number(resources.properties(id).Timeout ?? 3));
    }
    const { bucket } = await provision(aws, synthesized, { stack: options.target, orgs: options.orgTargets });
    // EventBridge rules, SNS topics and their policies are the deployment's.
    aws.resources = resources;
    return {
      synthesized,
      aws,
      iam,
      bucket,
      functions,
      arnOf,
      timeoutOf,
      invocationDelayMs: options.invocationDelayMs,
      newContainers: async () => {
        await Promise.all(Object.values(functions).map((f) => f.newContainer()));
      },
      setLogSink: (sink) => {
        for (const f of Object.values(functions)) f.logSink = sink;
      },
      close: async () => {
        if (ownAws) await ownAws.close();
      },
    };
  } catch (err) {
    if (ownAws) await ownAws.close();
    throw err;
  }
}

/** What one execution counts of its own: invocations per function, and those not yet returned. */
export interface InvocationTracker {
  invocations: Partial<Record<LocalFunctionName, number>>;
  /** Invocations not yet returned: an execution is over when they are (their logs and writes belong to it). */
  inflight: Set<Promise<unknown>>;
}

/**
 * One Task state's invocation of a function, as Step Functions and Lambda make it: the history
 * events of the attempt, `lambda:InvokeFunction` for the calling state machine's role, the
 * function's timeout from the template (Sandbox.Timedout), a thrown error as Lambda reports it,
 * and the 256 KiB quota on the result.
 */
export async function invokeFunction(
  deployment: LocalDeployment,
  tracker: InvocationTracker,
  call: { role: LocalFunctionName; stateName: string; input: unknown; quota: ExecutionQuota; fail: (e: QuotaExceeded) => void; principal: LocalPrincipal },
): Promise<unknown> {
  const { role, stateName, input, quota, fail, principal } = call;
  // Past the history quota the execution ends; it is not the task's error to catch.
  checkQuota(fail, () => quota.events(3, `task ${stateName}`));
  const fn = deployment.functions[role];
  const arn = deployment.arnOf.get(role);
  if (!fn || !arn) throw new Error(`task ${stateName} invokes the ${role} function, which this deployment does not have`);
  const allowed = await deployment.iam.authorize(principal, { action: 'lambda:InvokeFunction', resource: arn });
  if (!allowed.allowed) throw namedError('Lambda.AWSLambdaException', `${allowed.message} (Service: Lambda, Status Code: 403, Error Code: AccessDeniedException)`);
  tracker.invocations[role] = (tracker.invocations[role] ?? 0) + 1;
  const delay = deployment.invocationDelayMs?.() ?? 0;
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const seconds = deployment.timeoutOf.get(role)!;
  let timer: NodeJS.Timeout | undefined;
  let output: unknown;
  const invocation = fn.invoke(input);
  tracker.inflight.add(invocation);
  void invocation.catch(() => undefined).finally(() => tracker.inflight.delete(invocation));
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
  checkQuota(fail, () => quota.payload(`the result of task ${stateName}`, result));
  return result;
}

export type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

/** The engine's handlers for Task states that invoke a function, as `principal`. */
export function functionHandlers(
  deployment: LocalDeployment,
  tracker: InvocationTracker,
  quota: ExecutionQuota,
  fail: (e: QuotaExceeded) => void,
  states: ReadonlyMap<string, LocalFunctionName>,
  principal: LocalPrincipal,
): LocalHandlers {
  const h: LocalHandlers = {};
  for (const [stateName, role] of states) {
    h[stateName] = async (input) => {
      const { [LOCAL_TIMEOUT_FIELD]: _carried, ...payload } = input as Record<string, unknown>;
      const event = Array.isArray(input) || typeof input !== 'object' || input === null ? input : payload;
      return (await invokeFunction(deployment, tracker, { role, stateName, input: event, quota, fail, principal })) as never;
    };
  }
  return h;
}

/** One execution's account of its events: transitions (what Standard bills) and the largest payload. */
export class ExecutionAccount {
  transitions = 0;
  maxPayloadBytes = 0;

  /** Accounts one event of an execution against its quotas; ends it when one is exceeded. */
  account(quota: ExecutionQuota, fail: (e: QuotaExceeded) => void, e: AnyEvent): void {
    try {
      if (e.type === 'StateEntered') {
        this.transitions++;
        quota.events(2, `state ${e.state?.name}`);
        quota.payload(`the input of state ${e.state?.name}`, e.state?.input);
      }
      if (e.type === 'StateExited') quota.payload(`the output of state ${e.state?.name}`, e.state?.output);
    } catch (err) {
      if (err instanceof QuotaExceeded) fail(err);
      else throw err;
    }
    this.maxPayloadBytes = Math.max(this.maxPayloadBytes, quota.maxPayloadBytes);
  }
}

/** The execution events a state machine's role must be allowed for a StartExecution .sync:2 of `target` (execution `childArn`). */
export function syncStartChecks(target: string, childArn: string): Array<readonly [string, string]> {
  const managedRule = `arn:aws:events:${LOCAL_REGION}:${target.split(':')[4]}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`;
  return [
    ['states:StartExecution', target],
    ['states:DescribeExecution', childArn],
    ['states:StopExecution', childArn],
    ['events:PutTargets', managedRule],
    ['events:PutRule', managedRule],
    ['events:DescribeRule', managedRule],
  ];
}

/**
 * Authorizes a StartExecution .sync:2 as Step Functions does for the calling state machine's role:
 * starting the execution, following it (DescribeExecution, and the managed EventBridge rule it is
 * told through) and stopping it. A refusal fails the task as the integration's own error;
 * `refused` records it (these are Step Functions' own calls, not a function's).
 */
export async function authorizeSyncStart(deployment: LocalDeployment, principal: LocalPrincipal, target: string, childArn: string, refused?: (call: RecordedCall) => void): Promise<void> {
  for (const [action, resource] of syncStartChecks(target, childArn)) {
    const allowed = await deployment.iam.authorize(principal, { action, resource });
    if (!allowed.allowed) {
      refused?.({ principal, service: action.split(':')[0]!, operation: action.split(':')[1]!, resource, allowed: false, at: Date.now() });
      // Named as the Lambda integration's are (Lambda.AWSLambdaException): <service>.<exception>.
      throw namedError('StepFunctions.AWSStepFunctionsException', `${allowed.message} (Service: AWSStepFunctions, Status Code: 400, Error Code: AccessDeniedException)`);
    }
  }
}

/** An execution's description as DescribeExecution (and a .sync:2 task's result or Cause) gives it. */
export interface ExecutionDescription {
  ExecutionArn: string;
  Input: Json;
  InputDetails: { Included: true };
  Name: string;
  StartDate: number;
  StateMachineArn: string;
  Status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  StopDate: number;
  Output?: Json;
  OutputDetails?: { Included: true };
  Error?: string;
  Cause?: string;
}

/** A valid execution name, as StartExecution checks it (1–80 characters; no spaces, brackets, wildcards or control characters). */
export function checkExecutionName(name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80 || /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw namedError('StepFunctions.InvalidNameException', `Invalid Name: '${String(name)}' (Service: AWSStepFunctions, Status Code: 400, Error Code: InvalidName)`);
  }
  return name;
}
