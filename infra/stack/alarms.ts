/**
 * Alarms that call for a person: a run that failed, timed out or was aborted, and an optimized
 * index that answers slower than before. They go to the notification topic (infra/stack/notifications.ts).
 * A run with failed indexes ends failed: RunFailed tells of it, so IndexesFailed (kept for the
 * dashboard) sends nothing of its own, and such a run raises one alarm notification, not two.
 *
 * A fleet (the `orgs` setting): every run is an org's, and its metrics carry the dimensions
 * service and Org, never service alone. So IndexesFailed and LatencyRegressed are one pair per
 * org, named after it (`<stack> <org>: …`), in place of the pair a single-org deployment has: an
 * alarm that says which org, and none that could never see data. Each alarm is $0.10 a month
 * (standard resolution): 3 + 2 × orgs, plus the Fleet's own (infra/stack/fleet.ts).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC } from '../../functions/shared/metrics.ts';
import type { NotificationTopic } from './notifications.ts';
import { optimizerMetric, orgMetric } from './observability.ts';

export interface OptimizerAlarmsProps {
  stateMachine: IStateMachine;
  topic: NotificationTopic;
  /** A fleet's org names: a pair of index alarms per org instead of the deployment-wide pair. */
  orgs?: readonly string[] | undefined;
}

/** Short enough that an alarm fires within minutes of the run ending. */
const ALARM_PERIOD = Duration.minutes(5);

/** An org's alarms: its failed indexes (no action, as the deployment-wide one) and its regressions (notifies). */
export interface OrgAlarms {
  indexesFailed: Alarm;
  latencyRegressed: Alarm;
}

export class OptimizerAlarms extends Construct {
  /** The deployment-wide alarms (the runs'; and the index pair without orgs). */
  readonly alarms: Alarm[];
  /** A fleet's alarms per org, by org name (empty without orgs). */
  readonly byOrg: Map<string, OrgAlarms> = new Map();

  constructor(scope: Construct, id: string, props: OptimizerAlarmsProps) {
    super(scope, id);
    const sm = props.stateMachine;
    const alarm = (id: string, metric: IMetric, description: string, notify = true, alarmName?: string) => {
      const a = new Alarm(this, id, {
        metric,
        alarmDescription: description,
        ...(alarmName ? { alarmName } : {}),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // No run, no data: that is not a problem.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (notify) a.addAlarmAction(new SnsAction(props.topic.topic));
      return a;
    };
    const sum = { period: ALARM_PERIOD, statistic: 'Sum' };
    const failedText = 'No action: the run ends failed, and RunFailed notifies.';
    const regressedText = "(see the report's regressions and the Index Latency Regressed audit events)";
    this.alarms = [
      alarm('RunFailed', sm.metricFailed(sum), 'An optimizer run failed (failed indexes, bad input, Genesys credentials or permissions). See the execution and the saved queries.'),
      alarm('RunTimedOut', sm.metricTimedOut(sum), 'An optimizer run hit the state machine timeout (12 hours, plus the longest approval wait).'),
      alarm('RunAborted', sm.metricAborted(sum), 'An optimizer run was stopped before it finished.'),
    ];
    if (!props.orgs) {
      this.alarms.push(
        alarm('IndexesFailed', optimizerMetric(METRIC.indexesFailed, 'Sum', undefined, ALARM_PERIOD), `A run reported failed indexes (IndexesFailed ≥ 1). ${failedText}`, false),
        alarm(
          'LatencyRegressed',
          optimizerMetric(METRIC.latencyRegressions, 'Sum', undefined, ALARM_PERIOD),
          `An optimized index answers slower than before by more than policy.maxLatencyRegression ${regressedText}.`,
        ),
      );
      return;
    }
    const stackName = Stack.of(this).stackName;
    for (const org of props.orgs) {
      const pair: OrgAlarms = {
        indexesFailed: alarm(
          `IndexesFailed-${org}`,
          orgMetric(org, METRIC.indexesFailed, 'Sum', undefined, ALARM_PERIOD),
          `Org ${org}: a run reported failed indexes (IndexesFailed ≥ 1, dimension Org=${org}). ${failedText}`,
          false,
          `${stackName} ${org}: indexes failed`,
        ),
        latencyRegressed: alarm(
          `LatencyRegressed-${org}`,
          orgMetric(org, METRIC.latencyRegressions, 'Sum', undefined, ALARM_PERIOD),
          `Org ${org}: an optimized index answers slower than before by more than policy.maxLatencyRegression ${regressedText}; a fleet rollout stops after this wave.`,
          true,
          `${stackName} ${org}: latency regressed`,
        ),
      };
      this.byOrg.set(org, pair);
    }
  }
}
