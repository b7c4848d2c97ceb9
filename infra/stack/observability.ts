/**
 * What an operator reads after a run: one log group per function and one for the state machine
 * (all with the same retention), the saved Logs Insights queries over them, and the dashboard of
 * the optimizer's metrics and the state machine's execution counts (in a fleet, also the Fleet
 * state machine's and a row per org).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { LogGroup, QueryDefinition, QueryString, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SERVICE_NAME } from '../../functions/shared/logger.ts';
import { METRIC, METRICS_NAMESPACE, ORG_DIMENSION } from '../../functions/shared/metrics.ts';
import type { OrgAlarms } from './alarms.ts';
import type { OptimizerFunctions } from './state-machine.ts';

export type FunctionName = keyof OptimizerFunctions;
export const FUNCTION_NAMES: readonly FunctionName[] = ['fetch', 'validate', 'optimize', 'verify', 'report', 'approval'];

export const DEFAULT_LOG_RETENTION_DAYS = 90;

/** The retention CloudWatch Logs accepts for a number of days (an unsupported number is a synth error). */
export function retentionFromDays(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number');
  if (!allowed.includes(days as RetentionDays)) {
    throw new Error(`logRetentionDays: ${days} is not a retention CloudWatch Logs supports (one of ${allowed.filter((d) => d !== RetentionDays.INFINITE).join(', ')}, or ${RetentionDays.INFINITE} for never expire)`);
  }
  return days as RetentionDays;
}

export interface RunLogsProps {
  /** Days log events are kept (a value CloudWatch Logs supports). */
  retentionDays: number;
  /** The state machine's name: its log group is named after it. */
  stateMachineName: string;
  approvalStateMachineName: string;
}

/** The log groups, created before the functions and the state machine so that both can be pointed at them. */
export class RunLogs extends Construct {
  readonly functions: Record<FunctionName, LogGroup>;
  readonly stateMachine: LogGroup;
  readonly approvalStateMachine: LogGroup;

  constructor(scope: Construct, id: string, props: RunLogsProps) {
    super(scope, id);
    const retention = retentionFromDays(props.retentionDays);
    // The functions' logs are the audit trail (one line per index and step): kept when the stack goes.
    this.functions = Object.fromEntries(
      FUNCTION_NAMES.map((name) => [name, new LogGroup(this, `${cap(name)}Logs`, { retention, removalPolicy: RemovalPolicy.RETAIN })]),
    ) as Record<FunctionName, LogGroup>;
    // The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's CloudWatch Logs
    // resource policy (5,120 characters) with one entry per log group. Its content repeats the
    // execution history, so it goes with the stack (a fixed-name group left behind would also block
    // re-creating the stack).
    this.stateMachine = new LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.approvalStateMachine = new LogGroup(this, 'ApprovalStateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${props.approvalStateMachineName}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

/** Names of the saved queries, after the stack name (the console shows "Stack/..." as a folder). */
export const QUERY = {
  failedIndexes: 'failed indexes in a run',
  throttling: 'throttling and retries',
  latency: 'query latency before and after per run',
  oneIndex: 'everything about one index',
} as const;

/** What the operator replaces in the "everything about one index" query. */
export const INDEX_ID_PLACEHOLDER = 'REPLACE-WITH-INDEX-ID';

/**
 * Saved Logs Insights queries over the functions' Powertools JSON lines (keys: level, message,
 * timestamp, service, function, executionId, indexId, correlationId, action, outcome, reason, and
 * per-line fields such as status, endpoint, call, waitSeconds, attempts, polls, summary,
 * queryLatencyMs). The state machine's log group is not among their targets: its lines carry the
 * state as one JSON string, which Logs Insights cannot filter by key (the execution history in
 * the console is the better view of it).
 */
export class SavedQueries extends Construct {
  readonly definitions: Record<keyof typeof QUERY, QueryDefinition>;

  constructor(scope: Construct, id: string, logs: Record<FunctionName, LogGroup>) {
    super(scope, id);
    const prefix = Stack.of(this).stackName;
    const all = FUNCTION_NAMES.map((n) => logs[n]);
    const define = (key: keyof typeof QUERY, logGroups: LogGroup[], queryString: QueryString) =>
      new QueryDefinition(this, cap(key), { queryDefinitionName: `${prefix}/${QUERY[key]}`, queryString, logGroups });

    this.definitions = {
      // Every failed index, with the reason, per run: the step that failed it (optimize, verify;
      // reason) and the report's audit line for each index of the plan (audit.reason), which also
      // covers an index whose function crashed.
      failedIndexes: define(
        'failedIndexes',
        all,
        new QueryString({
          fields: ['@timestamp', 'executionId', 'indexId', 'function', 'message', 'coalesce(reason, audit.reason) as failureReason'],
          filterStatements: ["outcome = 'failed'", 'ispresent(indexId)'],
          sort: '@timestamp desc',
          limit: 1000,
        }),
      ),
      // 429s (status, from the call log lines) and retry decisions (outcome 'retry' with the wait
      // chosen from Retry-After), per run and index; no indexId means the listing or the latency probe.
      throttling: define(
        'throttling',
        [logs.fetch, logs.optimize, logs.verify],
        new QueryString({
          fields: ['@timestamp', 'executionId', 'indexId', 'function', 'call', 'endpoint', 'status', 'outcome', 'waitSeconds', 'attempts'],
          filterStatements: ["status = 429 or outcome = 'retry'"],
          statsStatements: [
            'count(status) as throttledCalls, count(waitSeconds) as retries, sum(waitSeconds) as waitedSeconds, max(waitSeconds) as longestWaitSeconds, max(attempts) as maxAttempts by executionId, indexId',
          ],
          sort: 'throttledCalls desc',
          limit: 1000,
        }),
      ),
      // One line per run: the report function's 'run complete' / 'run failed: <error>' line.
      latency: define(
        'latency',
        [logs.report],
        new QueryString({
          fields: [
            '@timestamp',
            'executionId',
            'outcome',
            'queryLatencyMs.before as latencyBeforeMs',
            'queryLatencyMs.after as latencyAfterMs',
            'queryLatencyMs.before - queryLatencyMs.after as improvementMs',
            'summary.total',
            'summary.optimized',
            'summary.skipped',
            'summary.failed',
            'summary.planned',
          ],
          filterStatements: ['message like /^run (complete|failed)/'],
          sort: '@timestamp desc',
          limit: 200,
        }),
      ),
      // The operator replaces the placeholder with the index id before running it.
      oneIndex: define(
        'oneIndex',
        all,
        new QueryString({
          fields: ['@timestamp', 'function', 'level', 'message', 'executionId', 'action', 'outcome', 'reason', 'status', 'waitSeconds', 'attempts', 'polls', 'correlationId'],
          filterStatements: [`indexId = '${INDEX_ID_PLACEHOLDER}'`],
          sort: '@timestamp asc',
          limit: 10000,
        }),
      ),
    };
  }
}

/** One datapoint per run: runs are weekly (or manual), so a day is the natural bucket. */
export const DASHBOARD_PERIOD = Duration.days(1);

/** An optimizer metric as the functions emit it (Powertools EMF, dimension service). */
export function optimizerMetric(metricName: string, statistic: 'Sum' | 'Average' | 'Maximum', label?: string, period: Duration = DASHBOARD_PERIOD): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}

/** An optimizer metric of one org's runs (a fleet): dimensions service and Org. */
export function orgMetric(org: string, metricName: string, statistic: 'Sum' | 'Average' | 'Maximum' | 'SampleCount', label?: string, period: Duration = DASHBOARD_PERIOD): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME, [ORG_DIMENSION]: org },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}

/**
 * A metric over every org of a fleet: the orgs' series found by a SEARCH (the dimension set
 * service + Org exactly), summed or averaged into one line. One expression, however many orgs.
 */
export function fleetMetric(metricName: string, statistic: 'Sum' | 'Average', label: string, period: Duration = DASHBOARD_PERIOD): MathExpression {
  const search = `SEARCH('{${METRICS_NAMESPACE},${ORG_DIMENSION},service} MetricName="${metricName}" service="${SERVICE_NAME}"', '${statistic}', ${period.toSeconds()})`;
  return new MathExpression({ expression: `${statistic === 'Sum' ? 'SUM' : 'AVG'}(${search})`, usingMetrics: {}, label, period });
}

export interface OptimizerDashboardProps {
  stateMachine: IStateMachine;
  functions: OptimizerFunctions;
  /** The deployment-wide alarms. */
  alarms: IAlarm[];
  /** A fleet's alarms per org (by org name). Non-empty: every run is an org's, so the optimizer graphs sum the orgs. */
  orgAlarms?: ReadonlyMap<string, OrgAlarms> | undefined;
}

export interface FleetDashboardProps {
  /** The Fleet state machine. */
  stateMachine: IStateMachine;
  /** Its alarm: a rollout stopped or an org's run failed. */
  alarm: IAlarm;
}

export class OptimizerDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly #orgAlarms: ReadonlyMap<string, OrgAlarms>;

  constructor(scope: Construct, id: string, props: OptimizerDashboardProps) {
    super(scope, id);
    const sm = props.stateMachine;
    this.#orgAlarms = props.orgAlarms ?? new Map();
    // In a fleet the metrics carry the Org dimension: the deployment-wide graphs add up the orgs.
    const fleet = this.#orgAlarms.size > 0;
    const metric = (name: string, statistic: 'Sum' | 'Average', label: string): IMetric =>
      fleet ? fleetMetric(name, statistic, label) : optimizerMetric(name, statistic, label);
    const daily = { period: DASHBOARD_PERIOD, statistic: 'Sum' };

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-Optimizer`,
      // Eight weekly runs at a glance.
      defaultInterval: Duration.days(56),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          '## Genesys index optimizer',
          'Counts are sums per day; latency is the probe value of the day\'s run (average if several ran). ' +
            'A failed run or index also raises an alarm. Details of a run: the saved Logs Insights queries and the execution history.' +
            (fleet ? ' A fleet: these graphs add up every org (each org has its row below).' : ''),
        ].join('\n'),
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Runs (executions per day)', [
        sm.metricSucceeded({ ...daily, label: 'Succeeded' }),
        sm.metricFailed({ ...daily, label: 'Failed' }),
        sm.metricTimedOut({ ...daily, label: 'TimedOut' }),
        sm.metricAborted({ ...daily, label: 'Aborted' }),
      ]),
      graph(
        'Indexes per run',
        [
          metric(METRIC.indexesOptimized, 'Sum', 'Optimized'),
          metric(METRIC.indexesSkipped, 'Sum', 'Skipped'),
          metric(METRIC.indexesFailed, 'Sum', 'Failed'),
          metric(METRIC.indexesPlanned, 'Sum', 'Planned (dry run)'),
        ],
        { stacked: true },
      ),
    );
    this.dashboard.addWidgets(
      graph('Query latency before / after (ms)', [
        metric(METRIC.queryLatencyBefore, 'Average', 'Before'),
        metric(METRIC.queryLatencyAfter, 'Average', 'After'),
      ]),
      graph('Genesys throttling (429 responses per day)', [metric(METRIC.throttledCalls, 'Sum', 'ThrottledCalls')]),
      graph('Indexes slower after optimizing (per day)', [metric(METRIC.latencyRegressions, 'Sum', 'Regressed')]),
    );
    this.dashboard.addWidgets(
      graph(
        'Function errors per day',
        FUNCTION_NAMES.map((n) => props.functions[n].metricErrors({ ...daily, label: n })),
      ),
      new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 12, height: 6 }),
    );
  }

  /**
   * A fleet's part: the Fleet state machine's executions and alarm, then a row per org (its
   * indexes, regressions, runs, throttled calls and its two alarms), in the order of the setting.
   * Three widgets per org: CloudWatch takes 500 on a dashboard, 11 are the rest.
   */
  addFleet(props: FleetDashboardProps): void {
    const daily = { period: DASHBOARD_PERIOD, statistic: 'Sum' };
    const fm = props.stateMachine;
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: [
          '## Fleet',
          'Fleet executions roll org runs out wave by wave; a failed one stopped the rollout (its fleet-report.json names every org). ' +
            'Below, one row per org: its metrics carry the dimension Org. Runs = run reports per day.',
        ].join('\n'),
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Fleet executions per day', [
        fm.metricSucceeded({ ...daily, label: 'Succeeded' }),
        fm.metricFailed({ ...daily, label: 'Failed (stopped)' }),
        fm.metricTimedOut({ ...daily, label: 'TimedOut' }),
        fm.metricAborted({ ...daily, label: 'Aborted' }),
        fm.metricStarted({ ...daily, label: 'Started' }),
      ], { width: 18 }),
      new AlarmStatusWidget({ title: 'Fleet alarm', alarms: [props.alarm], width: 6, height: 6 }),
    );
    for (const [org, alarms] of this.#orgAlarms) {
      this.dashboard.addWidgets(
        graph(`${org}: indexes per day`, [
          orgMetric(org, METRIC.indexesOptimized, 'Sum', 'Optimized'),
          orgMetric(org, METRIC.indexesFailed, 'Sum', 'Failed'),
          orgMetric(org, METRIC.latencyRegressions, 'Sum', 'Regressed'),
        ], { width: 10, height: 5 }),
        graph(`${org}: runs and throttling per day`, [orgMetric(org, METRIC.indexesPlanned, 'SampleCount', 'Runs')], {
          right: [orgMetric(org, METRIC.throttledCalls, 'Sum', 'ThrottledCalls')],
          width: 8,
          height: 5,
        }),
        new AlarmStatusWidget({ title: `${org}: alarms`, alarms: [alarms.indexesFailed, alarms.latencyRegressed], width: 6, height: 5 }),
      );
    }
  }
}

function graph(title: string, left: IMetric[], extra: Partial<ConstructorParameters<typeof GraphWidget>[0]> = {}): GraphWidget {
  return new GraphWidget({ title, left, width: 12, height: 6, ...extra });
}

function cap(name: string): string {
  return `${name[0]!.toUpperCase()}${name.slice(1)}`;
}
