/**
 * Runs the Fleet state machine locally, as a rehearsal of AWS: the definition exactly as the stack
 * synthesizes it with the `orgs` setting, executed by aws-local-stepfunctions. Its Lambda tasks
 * (PlanFleet, AssessWave, FleetReport) call the real fleet handler in its own worker thread, as
 * the fleet function's role; each StartOrgRun (`states:startExecution.sync:2` of the optimizer)
 * is a real, complete optimizer execution (run-local.ts executeOptimizer: its Distributed Map,
 * approval, quotas, IAM, run-guard registration and audit events), started under the Fleet
 * machine's role as Step Functions starts it, and followed to its end. Every org's run reads its
 * own secret (`<secretName>/<org>`), provisioned from that org's target.
 *
 * The org runs of a wave run at once on one local AWS and one function pool, as they share one
 * account and warm Lambda containers in AWS: the functions start as new containers once, when the
 * fleet starts, and each run keeps its own history, quotas, invocations and events.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { FleetReport, OrgSetting } from '../../functions/domain/fleet.ts';
import type { FleetOutcome } from '../../functions/handlers/fleet.ts';
import { runKey } from '../../functions/store/run-store.ts';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';
import type { IamAuthorizer } from './aws/iam.ts';
import { ADMIN, type LocalAws, type RecordedCall } from './aws/local-aws.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/resources.ts';
import { INTEGRATION, synthesizeDefinition, taskStates, type SynthesizedDefinition } from './definition.ts';
import {
  authorizeSyncStart,
  causeText,
  checkExecutionName,
  clientsAs,
  deployLocally,
  ExecutionAccount,
  functionHandlers,
  namedError,
  STATE_CONTEXT,
  type AnyEvent,
  type InvocationTracker,
  type LocalTarget,
} from './deployment.ts';
import { forLocalEngine, withAwsTaskTimeouts } from './engine-definition.ts';
import { checkQuota, ExecutionQuota, MAX_PAYLOAD_BYTES, payloadBytes, QuotaExceeded } from './quotas.ts';
import { executeOptimizer, type LocalRunResult } from './run-local.ts';

type Json = any;

/** An event of the fleet execution (the engine's), or the start or end of one org's run. */
export type LocalFleetEvent = AnyEvent & {
  /** OrgRunStarted, OrgRunEnded: the org, its wave and its execution. */
  org?: string;
  wave?: number;
  executionArn?: string;
  /** OrgRunEnded: how the org's execution ended, its error, and its report's counts. */
  status?: LocalRunResult['status'];
  error?: LocalRunResult['error'];
  summary?: NonNullable<LocalRunResult['report']>['summary'] | null;
  regressions?: number;
};

export interface LocalFleetOptions {
  /** The fleet's orgs: the `orgs` setting as parseOrgSettings reads it (a local fleet file's hosts and `simulator` are ignored here). */
  orgs: OrgSetting[];
  /**
   * Each org's Genesys and OAuth client, stored in its secret `<secretName>/<org>`. An org without
   * one keeps the value CloudFormation generates (no usable client), as a deployment nobody has
   * configured that org's secret in: its runs fail on their credentials.
   */
  targets: ReadonlyMap<string, LocalTarget> | Record<string, LocalTarget>;
  /** The fleet execution's input: `{"orgs"?, "dryRun"?, "input"?, "maxConcurrentOrgs"?}`. */
  input: unknown;
  /** Where the local AWS keeps the run bucket's objects and its list of executions (when `aws` is not given). */
  storeDir: string;
  /** A local AWS already running (tests). */
  aws?: LocalAws;
  /** Reuse one synthesis (it must have been made with these orgs). */
  synthesized?: SynthesizedDefinition;
  executionName?: string;
  /** The fleet execution's events, and OrgRunStarted / OrgRunEnded for each org's run. */
  onEvent?: (event: LocalFleetEvent) => void;
  /** Every event of every org's run (a Map child's carry its item `index`). */
  onOrgEvent?: (org: string, event: AnyEvent) => void;
  /** The functions' log lines (Powertools JSON); without it they go to stdout as in Lambda. */
  onLogLine?: (line: string) => void;
  /** Function settings as a stack setting would give them. */
  environment?: Record<string, string>;
  /** Changes the deployment's policies (a test taking a permission away, e.g. from 'fleetStateMachine'). */
  iam?: (iam: IamAuthorizer) => void;
  /** Stop the fleet (and every org run still going) and fail it after this long. */
  timeoutMs?: number;
  invocationDelayMs?: () => number;
  /** An org run's plan waits for approval (see LocalRunOptions.onApprovalRequested). */
  onApprovalRequested?: (request: { org: string; executionId: string; messages: string[] }) => void;
}

/** One org's run, as the fleet started it. */
export interface OrgRunResult {
  org: string;
  wave: number;
  executionArn: string;
  result: LocalRunResult;
}

export interface LocalFleetResult {
  executionId: string;
  status: 'SUCCEEDED' | 'FAILED';
  /** The fleet execution's output (FleetSucceeded: the outcome), null when it failed. */
  output: FleetOutcome | null;
  /** The fleet execution's error: Fleet.Stopped, Fleet.OrgsFailed, or what ended it before its report (Input.Invalid, …). */
  error: { name: string; cause: string } | null;
  /** The fleet report from the run store (null when the fleet failed before writing it). */
  report: FleetReport | null;
  reportPath: string;
  reportFile: string;
  /** Every org run the fleet started, in the order they started. */
  orgRuns: OrgRunResult[];
  events: LocalFleetEvent[];
  /** AWS calls IAM refused during the fleet: the functions' and the Fleet machine's own (StartExecution, …). */
  denials: RecordedCall[];
  /** AWS calls the functions made during the fleet, by "principal service:Operation". */
  callCounts: Record<string, number>;
  /** Largest state input or output of the fleet execution, in bytes. */
  maxPayloadBytes: number;
  /** States entered by the fleet execution (its Map iterations included; the org runs' are theirs). */
  transitions: number;
  /** The fleet execution's history, counted as AWS records it (quota: 25,000 events). */
  historyEvents: number;
  /** Invocations of the fleet function. */
  invocations: { fleet: number };
  aws: LocalAws;
}

type States = Record<string, Record<string, unknown>>;

/** The Task states (at any depth) that use an integration, by state name. */
function integrationStates(definition: Record<string, unknown>, resource: string): string[] {
  const found: string[] = [];
  const visit = (states: States) => {
    for (const [name, state] of Object.entries(states)) {
      if (state['Type'] === 'Task' && state['Resource'] === resource) found.push(name);
      const nested = (state['ItemProcessor'] ?? state['Iterator']) as { States?: States } | undefined;
      if (nested?.States) visit(nested.States);
      for (const branch of (state['Branches'] as Array<{ States: States }> | undefined) ?? []) visit(branch.States);
    }
  };
  visit(definition['States'] as States);
  return found;
}

const targetsMap = (t: LocalFleetOptions['targets']): Map<string, LocalTarget> => (t instanceof Map ? new Map(t) : new Map(Object.entries(t as Record<string, LocalTarget>)));

export async function runFleetLocally(options: LocalFleetOptions): Promise<LocalFleetResult> {
  const synthesized = options.synthesized ?? synthesizeDefinition({ orgs: options.orgs });
  const fleet = synthesized.fleet;
  if (!fleet) throw new Error('the synthesized stack has no fleet: synthesize it with the orgs (synthesizeDefinition({orgs}))');
  const targets = targetsMap(options.targets);
  const unknown = [...targets.keys()].filter((name) => !synthesized.secrets.orgs.has(name));
  if (unknown.length > 0) throw new Error(`a target for org(s) ${unknown.join(', ')}, which the deployment does not have (synthesize with them in the orgs)`);
  const waveOf = new Map((synthesized.orgs ?? options.orgs).map((o) => [o.name, o.wave]));

  const deployment = await deployLocally({
    storeDir: options.storeDir,
    synthesized,
    orgTargets: targets,
    ...(options.aws ? { aws: options.aws } : {}),
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.iam ? { iam: options.iam } : {}),
    ...(options.invocationDelayMs ? { invocationDelayMs: options.invocationDelayMs } : {}),
  });
  try {
    const { aws, iam } = deployment;
    const denialsBefore = aws.denials.length;
    const countsBefore = new Map(aws.counts);
    /** The Fleet machine's own calls IAM refused (Step Functions' calls, not a function's). */
    const refused: RecordedCall[] = [];

    const events: LocalFleetEvent[] = [];
    const emit = (e: LocalFleetEvent) => {
      events.push(e);
      options.onEvent?.(e);
    };
    const account = new ExecutionAccount();
    const tracker: InvocationTracker = { invocations: { fleet: 0 }, inflight: new Set() };

    const machine = fleet.machine;
    const name = options.executionName ?? `local-fleet-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const executionId = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${machine.name}:${name}`;
    const startTime = new Date().toISOString();
    const context = {
      Execution: { Id: executionId, Name: name, Input: options.input, StartTime: startTime, RoleArn: iam.principals.get('fleetStateMachine')!.roleArn },
      StateMachine: { Id: machine.arn, Name: machine.name },
      State: STATE_CONTEXT,
    };

    const quota = new ExecutionQuota(`fleet execution ${name}`);
    let fleetFailure: { name: string; cause: string } | null = null;
    let execution: ReturnType<StateMachine['run']> | null = null;
    /** StopExecution of the org runs still going, when the fleet execution ends before them. */
    const stopOrgRuns = new AbortController();
    const failFleet = (e: Error) => {
      fleetFailure ??= { name: e.name, cause: e.message };
      execution?.abort();
      stopOrgRuns.abort();
    };

    const definition = withAwsTaskTimeouts(forLocalEngine(machine.definition));
    const handlers = functionHandlers(deployment, tracker, quota, failFleet, taskStates(definition, new Map([[fleet.functionArn, 'fleet' as const]])), 'fleetStateMachine');
    const orgRuns: OrgRunResult[] = [];
    const running = new Set<Promise<unknown>>();
    for (const stateName of integrationStates(definition, INTEGRATION.startExecutionSync)) {
      handlers[stateName] = async (input) => {
        const run = startOrgRun(stateName, input as Json);
        running.add(run);
        try {
          return (await run) as never;
        } finally {
          running.delete(run);
        }
      };
    }

    /**
     * StartExecution .sync:2 of the optimizer, as Step Functions runs it for the Fleet machine: its
     * role must be allowed to start the execution, follow it and stop it; the org's run is a
     * complete execution of its own; its output is the task's `Output`, and its failure fails the
     * task with States.TaskFailed, the Cause being the execution's description as JSON.
     */
    async function startOrgRun(stateName: string, input: Json): Promise<Json> {
      // Scheduled, started, submitted, and succeeded or failed.
      checkQuota(failFleet, () => quota.events(4, `task ${stateName}`));
      const target = String(input.StateMachineArn);
      if (target !== synthesized.optimizer.arn) throw new Error(`${stateName} starts ${target}: a local fleet starts only the optimizer's state machine (${synthesized.optimizer.arn})`);
      const runName = checkExecutionName(input.Name);
      const executionArn = `${target.replace(':stateMachine:', ':execution:')}:${runName}`;
      await authorizeSyncStart(deployment, 'fleetStateMachine', target, executionArn, (call) => refused.push(call));
      const runInput = (input.Input ?? {}) as Json;
      checkQuota(failFleet, () => quota.payload(`the input of ${executionArn}`, runInput));
      const org = typeof runInput?.org === 'string' ? (runInput.org as string) : '(no org)';
      const wave = waveOf.get(org) ?? 0;
      emit({ type: 'OrgRunStarted', timestamp: Date.now(), org, wave, executionArn, input: runInput });
      const result = await executeOptimizer(deployment, {
        input: runInput,
        executionName: runName,
        signal: stopOrgRuns.signal,
        ...(options.onOrgEvent ? { onEvent: (e: AnyEvent) => options.onOrgEvent!(org, e) } : {}),
        ...(options.onApprovalRequested ? { onApprovalRequested: (r: { executionId: string; messages: string[] }) => options.onApprovalRequested!({ org, ...r }) } : {}),
      });
      const { description, ...summary } = result;
      orgRuns.push({ org, wave, executionArn, result: summary });
      emit({
        type: 'OrgRunEnded',
        timestamp: Date.now(),
        org,
        wave,
        executionArn,
        status: result.status,
        error: result.error,
        summary: result.report?.summary ?? null,
        regressions: result.report?.regressions.length ?? 0,
      });
      if (description.Status !== 'SUCCEEDED') throw namedError('States.TaskFailed', JSON.stringify(description));
      return description;
    }

    // Registered like Step Functions lists RUNNING executions.
    const unregister = aws.executions.register({ executionArn: executionId, stateMachineArn: machine.arn, name, startDate: startTime, input: JSON.stringify(options.input ?? {}), pid: process.pid });
    // One fleet, one set of containers: its org runs share them, as they share warm containers in AWS.
    await deployment.newContainers();
    deployment.setLogSink(options.onLogLine ?? null);
    let failure: { name: string; cause: string } | null = null;
    let output: unknown = null;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (payloadBytes(options.input ?? {}) > MAX_PAYLOAD_BYTES) {
        throw Object.assign(new Error(`the execution input is ${payloadBytes(options.input ?? {})} bytes, more than the ${MAX_PAYLOAD_BYTES} bytes Step Functions accepts`), { name: 'InvalidExecutionInput' });
      }
      const engine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
      execution = engine.run(options.input as never, { noThrowOnAbort: true, overrides: { taskResourceLocalHandlers: handlers }, context: context as never });
      const current = execution;
      if (options.timeoutMs) {
        timer = setTimeout(() => failFleet(namedError('States.Aborted', `the local fleet took longer than ${options.timeoutMs} ms`)), options.timeoutMs);
      }
      const consume = (async () => {
        for await (const event of current.eventLogs as AsyncIterable<AnyEvent>) {
          account.account(quota, failFleet, event);
          if (event.type === 'ExecutionFailed') failure = { name: event.Error ?? 'States.Runtime', cause: causeText(event.Cause) };
          emit(event);
        }
      })();
      try {
        output = await current.result;
      } catch (err) {
        const e = err as Error & { cause?: Error };
        failure ??= { name: e.cause?.name ?? e.name, cause: causeText(e.cause?.message ?? e.message) };
      }
      await consume;
      // A fleet execution that ended before its org runs (stopped, timed out) stops them, as Step Functions does.
      if (running.size > 0) stopOrgRuns.abort();
      await Promise.allSettled([...running, ...tracker.inflight]);
    } catch (err) {
      if (!(err instanceof QuotaExceeded) && (err as Error).name !== 'InvalidExecutionInput') throw err;
      failure = { name: (err as Error).name, cause: (err as Error).message };
    } finally {
      if (timer) clearTimeout(timer);
      deployment.setLogSink(null);
      unregister(failure || fleetFailure ? 'FAILED' : 'SUCCEEDED');
    }
    if (fleetFailure) failure = fleetFailure;

    const admin = clientsAs(aws, ADMIN);
    const reportKey = runKey(executionId, 'fleetReport');
    let report: FleetReport | null = null;
    try {
      report = await new S3RunStore(deployment.bucket, admin.s3).getJson<FleetReport>(reportKey);
    } catch {
      report = null;
    }
    const finalFailure = failure as { name: string; cause: string } | null;
    const result: LocalFleetResult = {
      executionId,
      status: finalFailure ? 'FAILED' : 'SUCCEEDED',
      output: finalFailure ? null : (output as FleetOutcome),
      error: finalFailure,
      report,
      reportPath: `s3://${deployment.bucket}/${reportKey}`,
      reportFile: join(aws.s3Dir, deployment.bucket, `${reportKey}._S3rver_object`),
      orgRuns,
      events,
      denials: [...aws.denials.slice(denialsBefore), ...refused],
      callCounts: Object.fromEntries(
        [...aws.counts].map(([k, n]) => [k, n - (countsBefore.get(k) ?? 0)] as const).filter(([k, n]) => n > 0 && !k.startsWith(`${ADMIN} `)),
      ),
      maxPayloadBytes: account.maxPayloadBytes,
      transitions: account.transitions,
      historyEvents: quota.historyEvents,
      invocations: { fleet: tracker.invocations.fleet ?? 0 },
      aws,
    };
    return result;
  } finally {
    await deployment.close();
  }
}
