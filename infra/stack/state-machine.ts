/**
 * The optimizer's workflow, readable in one place. Every wait (Retry-After on 429, a busy index,
 * settling after a PUT, health polling) is a Wait state here; the Lambdas never sleep. The
 * functions report what happened as data (`status`), and the Choice states branch on it.
 *
 *   ValidateInput → (another real run still going → AlreadyRunning)
 *     → FetchInventory ⟲ → MakePlan → (dry run or nothing to do → Report)
 *     → ProbeLatencyBefore ⟲ → OptimizeIndexes (Map, per index:
 *          Optimize ⟲ retry → Settle → Verify ⟲ poll → Optimized | Skipped | Failed)
 *     → ProbeLatencyAfter ⟲ → Report → RunSucceeded | RunFailed
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

export interface OptimizerFunctions {
  fetch: IFunction;
  validate: IFunction;
  optimize: IFunction;
  verify: IFunction;
  report: IFunction;
}

/** State names are part of the contract with the local runner and the progress display. */
export const STATE = {
  validateInput: 'ValidateInput',
  fetchInventory: 'FetchInventory',
  makePlan: 'MakePlan',
  probeBefore: 'ProbeLatencyBefore',
  probeAfter: 'ProbeLatencyAfter',
  optimizeIndexes: 'OptimizeIndexes',
  optimize: 'Optimize',
  verify: 'Verify',
  report: 'Report',
} as const;

const EXECUTION_ID = sfn.JsonPath.stringAt('$$.Execution.Id');

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
  const common = {
    executionId: sfn.JsonPath.stringAt('$.executionId'),
    indexId: sfn.JsonPath.stringAt('$.indexId'),
    timing: sfn.JsonPath.objectAt('$.timing'),
    retries: sfn.JsonPath.objectAt('$.retries'),
    apiBudgetPerMinute: sfn.JsonPath.numberAt('$.apiBudgetPerMinute'),
  };
  const result = (id: string, fields: Record<string, unknown>) =>
    new sfn.Pass(scope, id, { parameters: { id: sfn.JsonPath.stringAt('$.indexId'), ...fields } });

  const optimized = result('Optimized', { outcome: 'optimized' });
  const skipped = result('Skipped', { outcome: 'skipped', reason: sfn.JsonPath.stringAt('$.optimize.reason') });
  const optimizeFailed = result('OptimizeFailed', {
    outcome: 'failed',
    reason: sfn.JsonPath.stringAt('$.optimize.reason'),
    errorName: sfn.JsonPath.stringAt('$.optimize.errorName'),
  });
  const verifyFailed = result('VerifyFailed', {
    outcome: 'failed',
    reason: sfn.JsonPath.stringAt('$.verify.reason'),
    errorName: sfn.JsonPath.stringAt('$.verify.errorName'),
  });
  // A function that crashed or timed out: this index fails, the others go on.
  const unexpected = result('UnexpectedFailure', {
    outcome: 'failed',
    reason: sfn.JsonPath.format('unexpected error {} (see the function logs)', sfn.JsonPath.stringAt('$.error.Error')),
    errorName: sfn.JsonPath.stringAt('$.error.Error'),
  });

  const optimize = task(
    scope,
    STATE.optimize,
    fns.optimize,
    {
      ...common,
      directives: sfn.JsonPath.objectAt('$.directives'),
      healthCheckBeforePut: sfn.JsonPath.stringAt('$.healthCheckBeforePut'),
      safety: sfn.JsonPath.objectAt('$.safety'),
      position: sfn.JsonPath.numberAt('$.position'),
      progress: sfn.JsonPath.objectAt('$.optimize'),
    },
    '$.optimize',
    Duration.seconds(60),
  ).addCatch(unexpected, { resultPath: '$.error' });

  const verify = task(
    scope,
    STATE.verify,
    fns.verify,
    {
      ...common,
      check: 'health',
      healthDeadline: sfn.JsonPath.stringAt('$.optimize.healthDeadline'),
      progress: sfn.JsonPath.objectAt('$.verify'),
    },
    '$.verify',
    Duration.seconds(60),
  ).addCatch(unexpected, { resultPath: '$.error' });

  // The settle time, or longer when the API budget puts the first health read later.
  const settle = new sfn.Wait(scope, 'Settle', { time: sfn.WaitTime.secondsPath('$.optimize.settleSeconds') }).next(verify);

  verify.next(
    new sfn.Choice(scope, 'VerifyOutcome')
      .when(sfn.Condition.stringEquals('$.verify.status', 'healthy'), optimized)
      .when(sfn.Condition.stringEquals('$.verify.status', 'poll'), waitThen(scope, 'PollWait', '$.verify.waitSeconds', verify))
      .otherwise(verifyFailed),
  );

  return optimize.next(
    new sfn.Choice(scope, 'OptimizeOutcome')
      .when(sfn.Condition.stringEquals('$.optimize.status', 'accepted'), settle)
      .when(sfn.Condition.stringEquals('$.optimize.status', 'retry'), waitThen(scope, 'WaitBeforeRetry', '$.optimize.waitSeconds', optimize))
      .when(sfn.Condition.stringEquals('$.optimize.status', 'skipped'), skipped)
      .otherwise(optimizeFailed),
  );
}

/** The latency probe with its own 429 loop; a probe that cannot be measured never fails the run. */
function probe(scope: Construct, id: string, fns: OptimizerFunctions, phase: 'before' | 'after', next: sfn.IChainable): sfn.IChainable {
  const path = `$.latency.${phase}`;
  const call = task(
    scope,
    id,
    fns.verify,
    {
      check: 'latency',
      phase,
      executionId: EXECUTION_ID,
      retries: sfn.JsonPath.objectAt('$.config.retries'),
      apiBudgetPerMinute: sfn.JsonPath.numberAt('$.config.apiBudgetPerMinute'),
      progress: sfn.JsonPath.objectAt(path),
    },
    path,
    Duration.seconds(60),
  );
  return call.next(
    new sfn.Choice(scope, `${id}Outcome`)
      .when(sfn.Condition.stringEquals(`${path}.status`, 'retry'), waitThen(scope, `${id}Wait`, `${path}.waitSeconds`, call))
      .otherwise(next),
  );
}

export function buildDefinition(scope: Construct, fns: OptimizerFunctions): sfn.IChainable {
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
      retries: sfn.JsonPath.objectAt('$.config.retries'),
      apiBudgetPerMinute: sfn.JsonPath.numberAt('$.config.apiBudgetPerMinute'),
      progress: sfn.JsonPath.objectAt('$.fetch'),
    },
    '$.fetch',
    Duration.minutes(5),
  );

  const makePlan = task(
    scope,
    STATE.makePlan,
    fns.validate,
    { action: 'plan', executionId: EXECUTION_ID, config: sfn.JsonPath.objectAt('$.config') },
    '$.plan',
    Duration.minutes(2),
  );

  const report = task(scope, STATE.report, fns.report, { executionId: EXECUTION_ID, state: sfn.JsonPath.objectAt('$') }, '$.report', Duration.minutes(2));
  report.next(
    new sfn.Choice(scope, 'RunOutcome')
      .when(
        sfn.Condition.isPresent('$.report.error'),
        new sfn.Fail(scope, 'RunFailed', { errorPath: '$.report.error.name', causePath: '$.report.error.cause' }),
      )
      .otherwise(new sfn.Succeed(scope, 'RunSucceeded', { outputPath: '$.report' })),
  );

  const optimizeIndexes = new sfn.DistributedMap(scope, STATE.optimizeIndexes, {
    itemsPath: '$.plan.indexes',
    // Runs each index as its own child execution, so a large org never meets the parent's 25,000-event history limit.
    mapExecutionType: sfn.StateMachineType.STANDARD,
    maxConcurrencyPath: '$.config.maxConcurrency',
    itemSelector: {
      executionId: EXECUTION_ID,
      indexId: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
      position: sfn.JsonPath.numberAt('$$.Map.Item.Index'),
      directives: sfn.JsonPath.objectAt('$.config.directives'),
      healthCheckBeforePut: sfn.JsonPath.stringAt('$.config.policy.healthCheckBeforePut'),
      timing: sfn.JsonPath.objectAt('$.config.timing'),
      retries: sfn.JsonPath.objectAt('$.config.retries'),
      safety: sfn.JsonPath.objectAt('$.config.safety'),
      apiBudgetPerMinute: sfn.JsonPath.numberAt('$.config.apiBudgetPerMinute'),
      optimize: { attempts: 0, prechecked: false },
      verify: { polls: 0 },
    },
    // Each index's outcome is recorded in the run store by the function that decided it; carried
    // here, thousands of results with their reasons would outgrow the 256 KB state payload.
    resultPath: sfn.JsonPath.DISCARD,
  });
  optimizeIndexes.itemProcessor(perIndexWorkflow(scope, fns));
  optimizeIndexes.addCatch(report, { resultPath: '$.stateError' });

  const probeAfter = probe(scope, STATE.probeAfter, fns, 'after', report);
  optimizeIndexes.next(probeAfter);
  const probeBefore = probe(scope, STATE.probeBefore, fns, 'before', optimizeIndexes);

  makePlan.next(
    new sfn.Choice(scope, 'AnythingToOptimize')
      .when(sfn.Condition.booleanEquals('$.config.dryRun', true), report)
      .when(sfn.Condition.isNotPresent('$.plan.indexes[0]'), report)
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
      .when(sfn.Condition.stringEquals('$.fetch.status', 'retry'), waitThen(scope, 'WaitBeforeListingAgain', '$.fetch.waitSeconds', fetchInventory))
      .otherwise(makePlan),
  );
  return validateInput.next(
    new sfn.Choice(scope, 'MayRun')
      .when(sfn.Condition.booleanEquals('$.guard.proceed', false), alreadyRunning)
      .otherwise(start),
  );
}
