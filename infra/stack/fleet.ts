/**
 * The fleet: a second state machine, `<stackName>-Fleet`, that runs the optimizer for each org of
 * the `orgs` setting, wave by wave (only in a deployment that has one):
 *
 *   PlanFleet → AnotherWave? ─yes→ NextWave → RunWave (Map over the wave's orgs:
 *        ↑                                      StartOrgRun = StartExecution.sync:2 of the optimizer)
 *        └──────────────── AssessWave ←─────────┘
 *                   └─no→ FleetReport → FleetOutcome → FleetFailed | FleetSucceeded
 *
 * Each org's run is a normal optimizer execution (its own history, report, alarms and one-run
 * guard). AssessWave reads their reports and decides whether the next wave may start: only when
 * every run of this one succeeded without a latency regression. A stopped rollout fails the
 * fleet execution, so its alarm fires; the fleet report names every org, those not started too.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { FleetOrg, FleetProgress, OrgIteration } from '../../functions/domain/fleet.ts';
import type { FleetEvent, FleetOutcome } from '../../functions/handlers/fleet.ts';

import { FLEET_STATE } from './state-names.ts';

export { FLEET_STATE };

/** Where the fleet's state keeps each step's result. */
export const FLEET_PATH = {
  progress: '$.progress',
  /** The wave being run: `{wave: FleetWave}`. */
  current: '$.current',
  waveResults: '$.waveResults',
  outcome: '$.outcome',
} as const;

/** The fields of the progress and the outcome the Choice states read, checked against their types. */
const PROGRESS_FIELD = {
  more: 'more',
  waves: 'waves',
  next: 'next',
  maxConcurrentOrgs: 'maxConcurrentOrgs',
} as const satisfies Record<string, keyof FleetProgress>;
const OUTCOME_ERROR: keyof FleetOutcome = 'error';

export interface FleetMachineProps {
  /** The orgs and their waves, as the `orgs` setting gives them (their hosts live in each org's secret). */
  orgs: FleetOrg[];
  fleetFunction: IFunction;
  optimizer: sfn.IStateMachine;
  stateMachineName: string;
  logGroup: LogGroup;
  /** Where a stopped rollout is told. */
  topic: ITopic;
  /** The longest an org's run may take (the optimizer's own timeout). */
  orgRunTimeout: Duration;
}

/** The Fleet state machine's log group; created with the other log groups. */
export function fleetLogGroup(scope: Construct, stateMachineName: string, retention: RetentionDays): LogGroup {
  return new LogGroup(scope, 'FleetStateMachineLogs', { logGroupName: `/aws/vendedlogs/states/${stateMachineName}`, retention, removalPolicy: RemovalPolicy.DESTROY });
}

export class FleetMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly stoppedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: FleetMachineProps) {
    super(scope, id);
    const executionId = sfn.JsonPath.stringAt('$$.Execution.Id');
    const progress = (field: string) => `${FLEET_PATH.progress}.${field}`;
    const step = (name: string, payload: Omit<FleetEvent, 'executionId'> & Record<string, unknown>, resultPath: string) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: props.fleetFunction,
        payload: sfn.TaskInput.fromObject({ executionId, ...payload }),
        payloadResponseOnly: true,
        resultPath,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
      }).addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });

    // A bad fleet input fails the execution here, naming the field, before any org's run starts.
    const plan = step(FLEET_STATE.plan, { action: 'plan', input: sfn.JsonPath.objectAt('$$.Execution.Input'), orgs: props.orgs }, FLEET_PATH.progress);

    const nextWave = new sfn.Pass(this, 'NextWave', {
      parameters: { wave: sfn.JsonPath.arrayGetItem(sfn.JsonPath.listAt(progress(PROGRESS_FIELD.waves)), sfn.JsonPath.numberAt(progress(PROGRESS_FIELD.next))) },
      resultPath: FLEET_PATH.current,
    });

    // One org's run: a normal optimizer execution, named after the org (its run-store prefix
    // starts with it), followed to its end. Its failure is this org's result, not the wave's.
    const startOrgRun = new StepFunctionsStartExecution(this, FLEET_STATE.startOrgRun, {
      stateMachine: props.optimizer,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      input: sfn.TaskInput.fromJsonPathAt('$.input'),
      name: sfn.JsonPath.format('{}-{}', sfn.JsonPath.stringAt('$.name'), sfn.JsonPath.uuid()),
      resultSelector: { executionArn: sfn.JsonPath.stringAt('$.ExecutionArn'), output: sfn.JsonPath.objectAt('$.Output') },
      resultPath: '$.run',
      taskTimeout: sfn.Timeout.duration(props.orgRunTimeout),
      comment: "Runs the optimizer for one org and waits for its end",
    });
    const iteration = (fields: Array<keyof OrgIteration>) => Object.fromEntries(fields.map((f) => [f, sfn.JsonPath.stringAt(`$.${f}`)]));
    const orgRunFinished = new sfn.Pass(this, 'OrgRunFinished', { parameters: { ...iteration(['name', 'wave']), run: sfn.JsonPath.objectAt('$.run') } });
    const orgRunFailed = new sfn.Pass(this, 'OrgRunFailed', { parameters: { ...iteration(['name', 'wave']), error: sfn.JsonPath.objectAt('$.error') } });
    startOrgRun.addCatch(orgRunFailed, { resultPath: '$.error' });

    const runWave = new sfn.Map(this, FLEET_STATE.runWave, {
      itemsPath: `${FLEET_PATH.current}.wave.orgs`,
      maxConcurrencyPath: progress(PROGRESS_FIELD.maxConcurrentOrgs),
      resultPath: FLEET_PATH.waveResults,
    });
    runWave.itemProcessor(startOrgRun.next(orgRunFinished));

    const assess = step(
      FLEET_STATE.assess,
      { action: 'assess', progress: sfn.JsonPath.objectAt(FLEET_PATH.progress) as never, wave: sfn.JsonPath.listAt(FLEET_PATH.waveResults) as never },
      FLEET_PATH.progress,
    );

    const report = step(FLEET_STATE.report, { action: 'report', progress: sfn.JsonPath.objectAt(FLEET_PATH.progress) as never }, FLEET_PATH.outcome);
    const errorAt = `${FLEET_PATH.outcome}.${OUTCOME_ERROR}`;
    report.next(
      new sfn.Choice(this, 'FleetOutcome')
        .when(sfn.Condition.isPresent(errorAt), new sfn.Fail(this, 'FleetFailed', { errorPath: `${errorAt}.name`, causePath: `${errorAt}.cause` }))
        .otherwise(new sfn.Succeed(this, 'FleetSucceeded', { outputPath: FLEET_PATH.outcome })),
    );

    const anotherWave = new sfn.Choice(this, 'AnotherWave').when(sfn.Condition.booleanEquals(progress(PROGRESS_FIELD.more), true), nextWave).otherwise(report);
    nextWave.next(runWave).next(assess).next(anotherWave);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(anotherWave)),
      // Every wave could take an org's longest run; a hundred waves is the most the setting allows.
      timeout: Duration.days(30),
      tracingEnabled: true,
      // The state holds org names, inputs, ARNs and summaries: never a secret.
      logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: 'Runs the optimizer for every org, wave by wave, the canaries first',
    });

    // A stopped rollout (or a failed org in the last wave) fails the fleet execution.
    this.stoppedAlarm = new Alarm(this, 'FleetFailedAlarm', {
      alarmName: `${props.stateMachineName} rollout stopped or an org run failed`,
      alarmDescription: 'A fleet execution failed: an org run did not succeed or regressed; later waves were not started. The fleet report (fleet-report.json) names each org.',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.stoppedAlarm.addAlarmAction(new SnsAction(props.topic));
  }
}
