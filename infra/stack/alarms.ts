/**
 * Alarms that call for a person: a run that failed, timed out or was aborted, and an optimized
 * index that answers slower than before. They go to the notification topic (infra/stack/notifications.ts).
 * A run with failed indexes ends failed: RunFailed tells of it, so IndexesFailed (kept for the
 * dashboard) sends nothing of its own, and such a run raises one alarm notification, not two.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC } from '../../functions/shared/metrics.ts';
import type { NotificationTopic } from './notifications.ts';
import { optimizerMetric } from './observability.ts';

export interface OptimizerAlarmsProps {
  stateMachine: IStateMachine;
  topic: NotificationTopic;
}

/** Short enough that an alarm fires within minutes of the run ending. */
const ALARM_PERIOD = Duration.minutes(5);

export class OptimizerAlarms extends Construct {
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: OptimizerAlarmsProps) {
    super(scope, id);
    const sm = props.stateMachine;
    const alarm = (id: string, metric: IMetric, description: string, notify = true) => {
      const a = new Alarm(this, id, {
        metric,
        alarmDescription: description,
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
    this.alarms = [
      alarm('RunFailed', sm.metricFailed(sum), 'An optimizer run failed (failed indexes, bad input, Genesys credentials or permissions). See the execution and the saved queries.'),
      alarm('RunTimedOut', sm.metricTimedOut(sum), 'An optimizer run hit the state machine timeout (12 hours, plus the longest approval wait).'),
      alarm('RunAborted', sm.metricAborted(sum), 'An optimizer run was stopped before it finished.'),
      alarm('IndexesFailed', optimizerMetric(METRIC.indexesFailed, 'Sum', undefined, ALARM_PERIOD), 'A run reported failed indexes (IndexesFailed ≥ 1). No action: the run ends failed, and RunFailed notifies.', false),
      alarm(
        'LatencyRegressed',
        optimizerMetric(METRIC.latencyRegressions, 'Sum', undefined, ALARM_PERIOD),
        "An optimized index answers slower than before by more than policy.maxLatencyRegression (see the report's regressions and the Index Latency Regressed audit events).",
      ),
    ];
  }
}
