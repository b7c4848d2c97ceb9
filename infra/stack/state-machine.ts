/**
 * The optimizer's workflow, readable in one place. Every wait (Retry-After on 429, a busy index,
 * settling after a PUT, health polling) is a Wait state here; the Lambdas never sleep. The
 * functions report what happened as data (`status`), and the Choice states branch on it.
 *
 *   ValidateInput → (another real run still going → AlreadyRunning)
 *     → FetchInventory ⟲ → MakePlan → (dry run or nothing to do → Report)
 *     → (approval required: AwaitApproval → not approved → Report)
 *     → ProbeLatencyBefore ⟲ → OptimizeIndexes (Map, per index:
 *          Optimize ⟲ retry → Settle → Verify ⟲ poll → Optimized | Skipped | Failed)
 *     → ProbeLatencyAfter ⟲ → Report → RunSucceeded | RunFailed
 */
import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { RUN_OBJECT, RUNS_ROOT } from '../../functions/store/run-layout.ts';
import type { ApprovalInput } from './approval.ts';
import { APPROVED, at, FETCH_STATUS, FIELD, INDEX_PATH, itemPath, OPTIMIZE_STATUS, PROBE_STATUS, STATE_PATH, VERIFY_STATUS, type IndexItem } from '../../functions/shared/workflow-contract.ts';

export interface OptimizerFunctions {
  fetch: IFunction;
  validate: IFunction;
  optimize: IFunction;
  verify: IFunction;
  report: IFunction;
  approval: IFunction;
}

import { STATE } from './state-names.ts';

export { STATE };

const EXECUTION_ID = sfn.JsonPath.stringAt('$$.Execution.Id');
/** The run's org (null in a single-org deployment): every task gets it, for its credentials, log lines, metrics and audit events. */
const ORG = sfn.JsonPath.stringAt('$.config.org');

/** Any run's object of this relative key (run-layout.ts), as an S3 object ARN. */
const runObjects = (bucket: IBucket, relative: string) => bucket.arnForObjects(`${RUNS_ROOT}*/${relative}`);

/**
 * The Map reads each run's ids from its items object. CDK's reader would grant s3:GetObject on
 * the whole bucket (the key is a path into the state); this grants the items objects only.
 */
class RunItemsReader extends sfn.S3JsonItemReader {
  private readonly runBucket: IBucket;
  constructor(bucket: IBucket) {
    super({ bucket, key: sfn.JsonPath.stringAt(at(STATE_PATH.plan, FIELD.itemsKey)) });
    this.runBucket = bucket;
  }
  override providePolicyStatements(): PolicyStatement[] {
    return [new PolicyStatement({ actions: ['s3:GetObject'], resources: [runObjects(this.runBucket, RUN_OBJECT.items)] })];
  }
}

/** Each child execution's result goes to the run's map-results/ (not the state): only there may Step Functions write. */
class RunResultWriter extends sfn.ResultWriterV2 {
  private readonly runBucket: IBucket;
  constructor(bucket: IBucket) {
    super({ bucket, prefix: sfn.JsonPath.stringAt(at(STATE_PATH.plan, FIELD.resultsPrefix)) });
    this.runBucket = bucket;
  }
  override providePolicyStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        // What AWS documents for ResultWriter: the writes, and cleaning up a multipart upload.
        actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [runObjects(this.runBucket, `${RUN_OBJECT.mapResults}*`)],
      }),
    ];
  }
}

/** A Lambda task whose result is the function's own return value (no {Payload} envelope). */
function task(scope: Construct, id: string, fn: IFunction, payload: Record<string, unknown>, resultPath: string | undefined, timeout: Duration): LambdaInvoke {
  const invoke = new LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject(payload),
    payloadResponseOnly: true,
    resultPath,
    taskTimeout: sfn.Timeout.duration(timeout),
    // CDK's default Retry covers Lambda service errors except throttling of the invoke itself.
  });
  invoke.addRetry({
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return invoke;
}

/** A Wait whose length comes from the state (Retry-After, poll interval), then back to `again`. */
function waitThen(scope: Construct, id: string, secondsPath: string, again: sfn.IChainable): sfn.IChainable {
  return new sfn.Wait(scope, id, { time: sfn.WaitTime.secondsPath(secondsPath) }).next(again);
}

function perIndexWorkflow(scope: Construct, fns: OptimizerFunctions): sfn.IChainable {
  const item = (field: keyof IndexItem) => sfn.JsonPath.stringAt(itemPath(field));
  const common = {
    executionId: item('executionId'),
    indexId: item('indexId'),
    org: item('org'),
    timing: item('timing'),
    retries: item('retries'),
    apiBudgetPerMinute: item('apiBudgetPerMinute'),
  };
  const result = (id: string, fields: Record<string, unknown>) => new sfn.Pass(scope, id, { parameters: { id: item('indexId'), ...fields } });

  const optimized = result('Optimized', { outcome: 'optimized' });
  const skipped = result('Skipped', { outcome: 'skipped', reason: sfn.JsonPath.stringAt(at(INDEX_PATH.optimize, FIELD.reason)) });
  const optimizeFailed = result('OptimizeFailed', {
    outcome: 'failed',
    reason: sfn.JsonPath.stringAt(at(INDEX_PATH.optimize, FIELD.reason)),
    errorName: sfn.JsonPath.stringAt(at(INDEX_PATH.optimize, FIELD.errorName)),
  });
  const verifyFailed = result('VerifyFailed', {
    outcome: 'failed',
    reason: sfn.JsonPath.stringAt(at(INDEX_PATH.verify, FIELD.reason)),
    errorName: sfn.JsonPath.stringAt(at(INDEX_PATH.verify, FIELD.errorName)),
  });
  // A function that crashed or timed out: this index fails, the others go on. Its cause goes to
  // the Map's results (ResultWriter), where the report finds it for an index with no outcome recorded.
  const unexpected = result('UnexpectedFailure', {
    outcome: 'failed',
    reason: sfn.JsonPath.format('unexpected error {} (see the function logs)', sfn.JsonPath.stringAt(`${INDEX_PATH.error}.Error`)),
    errorName: sfn.JsonPath.stringAt(`${INDEX_PATH.error}.Error`),
    cause: sfn.JsonPath.stringAt(`${INDEX_PATH.error}.Cause`),
  });

  const optimize = task(
    scope,
    STATE.optimize,
    fns.optimize,
    {
      ...common,
      directives: item('directives'),
      healthCheckBeforePut: item('healthCheckBeforePut'),
      safety: item('safety'),
      position: item('position'),
      progress: sfn.JsonPath.objectAt(INDEX_PATH.optimize),
    },
    INDEX_PATH.optimize,
    Duration.seconds(60),
  ).addCatch(unexpected, { resultPath: INDEX_PATH.error });

  const verify = task(
    scope,
    STATE.verify,
    fns.verify,
    {
      ...common,
      check: 'health',
      healthDeadline: sfn.JsonPath.stringAt(at(INDEX_PATH.optimize, FIELD.healthDeadline)),
      // Whether Optimize reserved the first read's slot (every accepted result says).
      readReserved: sfn.JsonPath.stringAt(at(INDEX_PATH.optimize, FIELD.readReserved)),
      // The pre-check's reading, for the index's effect (the accepted result always carries it).
      before: sfn.JsonPath.objectAt(at(INDEX_PATH.optimize, FIELD.before)),
      // For explain: when the index began, and the PUT attempts it took.
      startedAt: sfn.JsonPath.stringAt(at(INDEX_PATH.optimize, FIELD.startedAt)),
      attempts: sfn.JsonPath.numberAt(at(INDEX_PATH.optimize, FIELD.attempts)),
      priorError: sfn.JsonPath.objectAt(at(INDEX_PATH.optimize, FIELD.lastError)),
      // For the run's page: the index's calls and waits up to here (every optimize result carries it).
      timeline: sfn.JsonPath.listAt(at(INDEX_PATH.optimize, FIELD.timeline)),
      maxLatencyRegression: item('maxLatencyRegression'),
      progress: sfn.JsonPath.objectAt(INDEX_PATH.verify),
    },
    INDEX_PATH.verify,
    Duration.seconds(60),
  ).addCatch(unexpected, { resultPath: INDEX_PATH.error });

  // The settle time, or longer when the API budget puts the first health read later.
  const settle = new sfn.Wait(scope, 'Settle', { time: sfn.WaitTime.secondsPath(at(INDEX_PATH.optimize, FIELD.settleSeconds)) }).next(verify);

  verify.next(
    new sfn.Choice(scope, 'VerifyOutcome')
      .when(sfn.Condition.stringEquals(at(INDEX_PATH.verify, FIELD.status), VERIFY_STATUS.healthy), optimized)
      .when(sfn.Condition.stringEquals(at(INDEX_PATH.verify, FIELD.status), VERIFY_STATUS.poll), waitThen(scope, 'PollWait', at(INDEX_PATH.verify, FIELD.waitSeconds), verify))
      .otherwise(verifyFailed),
  );

  return optimize.next(
    new sfn.Choice(scope, 'OptimizeOutcome')
      .when(sfn.Condition.stringEquals(at(INDEX_PATH.optimize, FIELD.status), OPTIMIZE_STATUS.accepted), settle)
      .when(sfn.Condition.stringEquals(at(INDEX_PATH.optimize, FIELD.status), OPTIMIZE_STATUS.retry), waitThen(scope, 'WaitBeforeRetry', at(INDEX_PATH.optimize, FIELD.waitSeconds), optimize))
      .when(sfn.Condition.stringEquals(at(INDEX_PATH.optimize, FIELD.status), OPTIMIZE_STATUS.skipped), skipped)
      .otherwise(optimizeFailed),
  );
}

/** The latency probe with its own 429 loop; a probe that cannot be measured never fails the run. */
function probe(scope: Construct, id: string, fns: OptimizerFunctions, phase: 'before' | 'after', next: sfn.IChainable): sfn.IChainable {
  const path = phase === 'before' ? STATE_PATH.latencyBefore : STATE_PATH.latencyAfter;
  const call = task(
    scope,
    id,
    fns.verify,
    {
      check: 'latency',
      phase,
      executionId: EXECUTION_ID,
      org: ORG,
      retries: sfn.JsonPath.objectAt('$.config.retries'),
      apiBudgetPerMinute: sfn.JsonPath.numberAt('$.config.apiBudgetPerMinute'),
      progress: sfn.JsonPath.objectAt(path),
    },
    path,
    Duration.seconds(60),
  );
  return call.next(
    new sfn.Choice(scope, `${id}Outcome`)
      .when(sfn.Condition.stringEquals(at(path, FIELD.status), PROBE_STATUS.retry), waitThen(scope, `${id}Wait`, at(path, FIELD.waitSeconds), call))
      .otherwise(next),
  );
}

/**
 * The plan waits for an operator: an execution of the approval state machine (infra/stack/approval.ts),
 * whose output is the decision. Only an exact `approved` goes on to change indexes.
 */
function approvalGate(scope: Construct, approvalMachine: sfn.IStateMachine, approved: sfn.IChainable, notApproved: sfn.IChainable): sfn.TaskStateBase {
  const input: Record<keyof ApprovalInput, unknown> = {
    executionId: EXECUTION_ID,
    org: ORG,
    timeoutSeconds: sfn.JsonPath.numberAt(at(STATE_PATH.config, FIELD.approvalTimeoutSeconds)),
  };
  const awaitApproval = new StepFunctionsStartExecution(scope, STATE.awaitApproval, {
    stateMachine: approvalMachine,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    input: sfn.TaskInput.fromObject(input),
    // The console links the two executions.
    associateWithParent: true,
    resultSelector: { decision: sfn.JsonPath.objectAt('$.Output') },
    resultPath: STATE_PATH.approval,
    comment: 'Waits for the decision on the plan (or its timeout)',
  });
  const status = at(STATE_PATH.approval, FIELD.decisionStatus);
  awaitApproval.next(
    new sfn.Choice(scope, 'Approved')
      .when(sfn.Condition.and(sfn.Condition.isPresent(status), sfn.Condition.stringEquals(status, APPROVED)), approved)
      .otherwise(notApproved),
  );
  return awaitApproval;
}

export function buildDefinition(scope: Construct, fns: OptimizerFunctions, runBucket: IBucket, approvalMachine: sfn.IStateMachine): sfn.IChainable {
  // A bad input fails the execution here, before any Genesys call, with an error naming the field.
  const validateInput = task(
    scope,
    STATE.validateInput,
    fns.validate,
    {
      action: 'input',
      executionId: EXECUTION_ID,
      startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      input: sfn.JsonPath.objectAt('$$.Execution.Input'),
    },
    // No ResultPath: the checked input ({config, guard}) replaces the raw input.
    undefined,
    Duration.seconds(30),
  );
  // The checked config, plus the counters the loops below carry.
  const start = new sfn.Pass(scope, 'StartRun', {
    parameters: {
      config: sfn.JsonPath.objectAt('$.config'),
      fetch: { attempts: 0, resume: false },
      latency: { before: { attempts: 0 }, after: { attempts: 0 } },
    },
  });

  const fetchInventory = task(
    scope,
    STATE.fetchInventory,
    fns.fetch,
    {
      executionId: EXECUTION_ID,
      org: ORG,
      retries: sfn.JsonPath.objectAt('$.config.retries'),
      apiBudgetPerMinute: sfn.JsonPath.numberAt('$.config.apiBudgetPerMinute'),
      progress: sfn.JsonPath.objectAt('$.fetch'),
    },
    STATE_PATH.fetch,
    Duration.minutes(5),
  );

  const makePlan = task(
    scope,
    STATE.makePlan,
    fns.validate,
    // The plan reads the checked input (with its index id list) from the run store, not the state.
    { action: 'plan', executionId: EXECUTION_ID, org: ORG },
    STATE_PATH.plan,
    Duration.minutes(2),
  );

  const report = task(scope, STATE.report, fns.report, { executionId: EXECUTION_ID, org: ORG, state: sfn.JsonPath.objectAt('$') }, STATE_PATH.report, Duration.minutes(2));
  report.next(
    new sfn.Choice(scope, 'RunOutcome')
      .when(
        sfn.Condition.isPresent(at(STATE_PATH.report, FIELD.runError)),
        new sfn.Fail(scope, 'RunFailed', { errorPath: `${at(STATE_PATH.report, FIELD.runError)}.name`, causePath: `${at(STATE_PATH.report, FIELD.runError)}.cause` }),
      )
      .otherwise(new sfn.Succeed(scope, 'RunSucceeded', { outputPath: STATE_PATH.report })),
  );

  const optimizeIndexes = new sfn.DistributedMap(scope, STATE.optimizeIndexes, {
    // The ids come from the run bucket, never through the state (256 KiB would cap the org's size).
    itemReader: new RunItemsReader(runBucket),
    // Without it AWS gathers every child's output into the Map's result, bounded by 256 KiB.
    resultWriterV2: new RunResultWriter(runBucket),
    // Outcomes are data: an index that fails is reported, it must not fail the Map (which would
    // stop the children still running, possibly between a PUT and its verify).
    toleratedFailurePercentage: 100,
    // Runs each index as its own child execution, so a large org never meets the parent's 25,000-event history limit.
    mapExecutionType: sfn.StateMachineType.STANDARD,
    maxConcurrencyPath: '$.config.maxConcurrency',
    // Exactly the contract's item, no more and no less (IndexItem).
    itemSelector: {
      executionId: EXECUTION_ID,
      org: ORG,
      indexId: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
      position: sfn.JsonPath.numberAt('$$.Map.Item.Index'),
      directives: sfn.JsonPath.objectAt('$.config.directives'),
      healthCheckBeforePut: sfn.JsonPath.stringAt('$.config.policy.healthCheckBeforePut'),
      maxLatencyRegression: sfn.JsonPath.numberAt('$.config.policy.maxLatencyRegression'),
      timing: sfn.JsonPath.objectAt('$.config.timing'),
      retries: sfn.JsonPath.objectAt('$.config.retries'),
      safety: sfn.JsonPath.objectAt('$.config.safety'),
      apiBudgetPerMinute: sfn.JsonPath.numberAt('$.config.apiBudgetPerMinute'),
      optimize: { attempts: 0, prechecked: false },
      verify: { polls: 0 },
    } satisfies Record<keyof IndexItem, unknown>,
    // Only where the results were written ({MapRunArn, ResultWriterDetails}): the report reads
    // them for the indexes whose function crashed before recording an outcome.
    resultPath: STATE_PATH.mapRun,
  });
  optimizeIndexes.itemProcessor(perIndexWorkflow(scope, fns));
  optimizeIndexes.addCatch(report, { resultPath: STATE_PATH.stateError });

  const probeAfter = probe(scope, STATE.probeAfter, fns, 'after', report);
  optimizeIndexes.next(probeAfter);
  const probeBefore = probe(scope, STATE.probeBefore, fns, 'before', optimizeIndexes);
  const awaitApproval = approvalGate(scope, approvalMachine, probeBefore, report);
  // The approval execution failed (its function could not keep the token or tell anyone): nothing changed.
  awaitApproval.addCatch(report, { resultPath: STATE_PATH.stateError });

  makePlan.next(
    new sfn.Choice(scope, 'AnythingToOptimize')
      .when(sfn.Condition.booleanEquals('$.config.dryRun', true), report)
      .when(sfn.Condition.numberEquals(at(STATE_PATH.plan, FIELD.qualifying), 0), report)
      .when(sfn.Condition.booleanEquals(at(STATE_PATH.config, FIELD.approvalRequired), true), awaitApproval)
      .otherwise(probeBefore),
  );
  // One real run per org at a time: a later one ends here, cleanly, saying which run it gave way to.
  const alreadyRunning = new sfn.Pass(scope, 'AlreadyRunning', {
    parameters: {
      outcome: 'already-running',
      message: 'another run of this optimizer is still optimizing the org; this run changed nothing',
      runningExecution: sfn.JsonPath.stringAt('$.guard.runningExecution'),
      runningSince: sfn.JsonPath.stringAt('$.guard.startedAt'),
    },
  }).next(new sfn.Succeed(scope, 'GaveWay'));

  start.next(fetchInventory).next(
    new sfn.Choice(scope, 'InventoryOutcome')
      .when(sfn.Condition.stringEquals(at(STATE_PATH.fetch, FIELD.status), FETCH_STATUS.retry), waitThen(scope, 'WaitBeforeListingAgain', at(STATE_PATH.fetch, FIELD.waitSeconds), fetchInventory))
      .otherwise(makePlan),
  );
  return validateInput.next(
    new sfn.Choice(scope, 'MayRun')
      .when(sfn.Condition.booleanEquals(at(STATE_PATH.guard, FIELD.proceed), false), alreadyRunning)
      .otherwise(start),
  );
}
