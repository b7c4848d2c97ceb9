/**
 * Alarms that call for a person: a run that failed, timed out or was aborted, a run with
 * failed indexes, and an optimized index that answers slower than before. They go to one SNS topic (encrypted, publish over TLS only); `alarmEmail`
 * subscribes an address to it.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC } from '../../functions/shared/metrics.ts';
import { optimizerMetric } from './observability.ts';

export interface OptimizerAlarmsProps {
  stateMachine: IStateMachine;
  /** Subscribes this address to the alarm topic (the recipient confirms by e-mail). */
  alarmEmail?: string | undefined;
}

/** Short enough that an alarm fires within minutes of the run ending. */
const ALARM_PERIOD = Duration.minutes(5);

export class OptimizerAlarms extends Construct {
  readonly topic: Topic;
  readonly key: Key;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: OptimizerAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');

    // CloudWatch cannot publish to a topic encrypted with the AWS managed key (alias/aws/sns): it
    // needs a customer managed key whose policy lets it generate data keys.
    this.key = new Key(this, 'TopicKey', {
      description: `${stack.stackName}: encrypts the optimizer's alarm topic`,
      enableKeyRotation: true,
      // The key protects alarm notifications in transit through SNS only: nothing stays encrypted with it.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // Only this account's alarms may use the key (the confused-deputy guard AWS recommends for service principals).
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      displayName: `${stack.stackName} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, so the alarms of this account must be allowed explicitly.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const sm = props.stateMachine;
    const alarm = (id: string, metric: IMetric, description: string) => {
      const a = new Alarm(this, id, {
        metric,
        alarmDescription: description,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // No run, no data: that is not a problem.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new SnsAction(this.topic));
      return a;
    };
    const sum = { period: ALARM_PERIOD, statistic: 'Sum' };
    this.alarms = [
      alarm('RunFailed', sm.metricFailed(sum), 'An optimizer run failed (failed indexes, bad input, Genesys credentials or permissions). See the execution and the saved queries.'),
      alarm('RunTimedOut', sm.metricTimedOut(sum), 'An optimizer run hit the state machine timeout.'),
      alarm('RunAborted', sm.metricAborted(sum), 'An optimizer run was stopped before it finished.'),
      alarm('IndexesFailed', optimizerMetric(METRIC.indexesFailed, 'Sum', undefined, ALARM_PERIOD), 'A run reported failed indexes (IndexesFailed ≥ 1).'),
      alarm(
        'LatencyRegressed',
        optimizerMetric(METRIC.latencyRegressions, 'Sum', undefined, ALARM_PERIOD),
        "An optimized index answers slower than before by more than policy.maxLatencyRegression (see the report's regressions and the Index Latency Regressed audit events).",
      ),
    ];
  }
}
