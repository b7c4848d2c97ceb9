/**
 * Messages for people, on one SNS topic (encrypted, publish over TLS only; `alarmEmail`
 * subscribes an address): the alarms, the plans that wait for approval (published by the approval
 * function) and, once per run, the run-completed notification, made from the run's audit event
 * by an EventBridge rule with an input transformer, so subscribers read text rather than the event.
 * `notificationFormat` picks the text: `text` for e-mail (EventBridge delivers each line of a text
 * template as a JSON string, quotes included) or `chat`, Amazon Q Developer's (AWS Chatbot's)
 * custom-notification JSON, which it renders in Slack or Microsoft Teams.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, type IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { AUDIT_DETAIL_TYPE, AUDIT_SOURCE } from '../../functions/audit/audit-event.ts';
import type { RunNotice } from '../../functions/domain/run-notice.ts';
import { NOTIFICATION_FORMATS, type NotificationFormat } from '../../functions/notify/format.ts';

export { NOTIFICATION_FORMATS, type NotificationFormat };

export interface NotificationTopicProps {
  /** Subscribes this address to the topic (the recipient confirms by e-mail). */
  email?: string | undefined;
}

export class NotificationTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    // CloudWatch cannot publish to a topic encrypted with the AWS managed key (alias/aws/sns): it
    // needs a customer managed key whose policy lets it generate data keys.
    this.key = new Key(this, 'TopicKey', {
      description: `${stack.stackName}: encrypts the optimizer's notification topic`,
      enableKeyRotation: true,
      // The key protects notifications in transit through SNS only: nothing stays encrypted with it.
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
      displayName: `${stack.stackName} notifications`,
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
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
  }
}

export interface RunCompletedNotificationProps {
  bus: IEventBus;
  topic: NotificationTopic;
  format: NotificationFormat;
}

/** The notice's fields, in the order a message shows them. */
const LINES: ReadonlyArray<keyof RunNotice> = ['headline', 'counts', 'failures', 'regressions', 'approval', 'execution', 'page', 'report'];
const LABEL: Partial<Record<keyof RunNotice, string>> = { execution: 'Execution: ', page: 'Page: ', report: 'Report: ' };

/** One message per run, from the run's audit event (its `notice`). */
export class RunCompletedNotification extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: RunCompletedNotificationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const field = (name: keyof RunNotice) => EventField.fromPath(`$.detail.notice.${name}`);
    const message =
      props.format === 'chat'
        ? RuleTargetInput.fromObject({
            version: '1.0',
            source: 'custom',
            content: {
              textType: 'client-markdown',
              title: field('headline'),
              description: LINES.filter((l) => l !== 'headline').map((l) => `${LABEL[l] ?? ''}${field(l)}`).join('\n'),
            },
          })
        : RuleTargetInput.fromMultilineText(LINES.map((l) => `${LABEL[l] ?? ''}${field(l)}`).join('\n'));
    // A fixed name, so that the key's policy can name the rule without referring to it (the rule
    // refers to the topic, the topic to the key: a cycle otherwise).
    const ruleName = `${stack.stackName}-run-completed`;
    this.rule = new Rule(this, 'Rule', {
      ruleName,
      eventBus: props.bus,
      description: 'One readable message per optimizer run, to the notification topic',
      eventPattern: { source: [AUDIT_SOURCE], detailType: [AUDIT_DETAIL_TYPE.run_complete] },
    });
    // Not CDK's SnsTopic target: it lets events.amazonaws.com publish to the topic and use its key
    // for any rule of any account. This rule alone may, by the confused-deputy conditions AWS recommends.
    this.rule.addTarget({ bind: () => ({ arn: props.topic.topic.topicArn, input: message }) });
    const events = new ServicePrincipal('events.amazonaws.com');
    const thisRule = {
      StringEquals: {
        'aws:SourceAccount': stack.account,
        'aws:SourceArn': stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${props.bus.eventBusName}/${ruleName}` }),
      },
    };
    props.topic.topic.addToResourcePolicy(
      new PolicyStatement({ sid: 'RunCompletedRulePublish', principals: [events], actions: ['sns:Publish'], resources: [props.topic.topic.topicArn], conditions: thisRule }),
    );
    // EventBridge publishes to an encrypted topic only if the key's policy lets it use the key.
    props.topic.key.addToResourcePolicy(
      new PolicyStatement({ sid: 'RunCompletedRuleEncrypt', principals: [events], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'], conditions: thisRule }),
    );
  }
}
