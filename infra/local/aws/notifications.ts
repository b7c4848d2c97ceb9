/**
 * What SNS does with a message, and how EventBridge hands a rule's event to SNS, once the
 * endpoint has authorized the request itself: a publish to a topic of the deployment, of a message
 * SNS takes, with the topic's KMS key usable by the publisher; a delivery by events.amazonaws.com,
 * allowed by the topic's policy and, for an encrypted topic, by the key's policy, for that rule.
 */
import type { IamDecision, IamRequest } from './iam.ts';
import type { EventRule } from './event-rules.ts';
import { LOCAL_ACCOUNT } from './resources.ts';
import { invalidPublish, kmsChecksFor, type PublishedMessage, type Topic } from './sns-topics.ts';

/** Who delivers a rule's event to its targets: EventBridge, as the service principal resource policies name. */
export const EVENTS_PRINCIPAL = 'events.amazonaws.com';

/** Evaluates and records one request: of a principal of the stack, or (`asService`) of an AWS service acting for it. */
export type Authorize = (principal: string, service: string, operation: string, check: IamRequest, asService?: boolean) => Promise<IamDecision>;

export type PublishOutcome = { error: 'NotFound' | 'InvalidParameter' | 'KMSAccessDenied'; message: string } | { messageId: string };

export interface Notifications {
  /** SNS Publish, after IAM allowed sns:Publish on the topic. */
  publish(topicArn: string, message: string, subject: string | undefined, principal: string): Promise<PublishOutcome>;
  /**
   * A rule's delivery of a matched event to its SNS targets. A delivery the policies refuse
   * publishes nothing (EventBridge counts a failed invocation) and is a denial of the endpoint.
   */
  deliver(event: Record<string, unknown>, rule: EventRule, receivedAt: number): Promise<void>;
}

export function notifications(deps: { topics: () => Map<string, Topic>; authorize: Authorize; published: PublishedMessage[]; newId: () => string }): Notifications {
  const publish = async (topicArn: string, message: string, subject: string | undefined, principal: string, rule?: EventRule): Promise<PublishOutcome> => {
    const topic = deps.topics().get(topicArn);
    if (!topic) return { error: 'NotFound', message: 'Topic does not exist' };
    const invalid = invalidPublish(message, subject);
    if (invalid) return { error: 'InvalidParameter', message: invalid };
    for (const check of kmsChecksFor(topic, rule)) {
      const decision = await deps.authorize(principal, 'kms', check.action.slice('kms:'.length), check, rule !== undefined);
      if (!decision.allowed) return { error: 'KMSAccessDenied', message: `${decision.message} (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)` };
    }
    deps.published.push({ topicArn, ...(subject !== undefined ? { subject } : {}), message, principal, at: Date.now() });
    return { messageId: deps.newId() };
  };
  return {
    publish: (topicArn, message, subject, principal) => publish(topicArn, message, subject, principal),
    deliver: async (event, rule, receivedAt) => {
      for (const target of rule.targets) {
        const check = { action: 'sns:Publish', resource: target.topic.arn, context: { 'aws:SourceArn': rule.arn, 'aws:SourceAccount': LOCAL_ACCOUNT } };
        if (!(await deps.authorize(EVENTS_PRINCIPAL, 'sns', 'Publish', check, true)).allowed) continue;
        const message = target.input({ event, ruleArn: rule.arn, ruleName: rule.name, ingestedAt: new Date(receivedAt).toISOString() });
        await publish(target.topic.arn, message, undefined, EVENTS_PRINCIPAL, rule);
      }
    },
  };
}
