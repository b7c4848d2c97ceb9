/**
 * The deployment's SNS topics and what SNS checks when a message is published to one: the topic
 * exists, the message is one SNS takes, and, for a topic encrypted with a KMS key (server-side
 * encryption), that the publisher may use the key. SNS encrypts with a data key of the topic's key,
 * so a publisher needs kms:GenerateDataKey and kms:Decrypt on it, by the key's policy or, where
 * the key policy lets IAM decide, by its own
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html); without them SNS answers
 * KMSAccessDenied.
 */
import type { IamRequest } from './iam.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalResources } from './resources.ts';

export interface Topic {
  arn: string;
  /** The key SSE encrypts the topic's messages with. */
  keyArn?: string;
}

export interface PublishedMessage {
  topicArn: string;
  subject?: string;
  message: string;
  /** Who published: a principal of the stack, or the AWS service that delivered (`events.amazonaws.com`). */
  principal: string;
  at: number;
}

/** "at most 256 KB in size (262,144 bytes, not 262,144 characters)", Publish API reference. */
export const MAX_MESSAGE_BYTES = 262_144;

export function topicsOf(resources: LocalResources): Map<string, Topic> {
  const keys = resources.ofType('AWS::KMS::Key').map(([id]) => resources.byId.get(id)!);
  const topics = new Map<string, Topic>();
  for (const [id, t] of resources.ofType('AWS::SNS::Topic')) {
    const arn = resources.byId.get(id)!.arn;
    const keyId = t.Properties?.KmsMasterKeyId;
    if (keyId === undefined) {
      topics.set(arn, { arn });
      continue;
    }
    const named = String(resources.resolve(keyId));
    const key = keys.find((k) => k.arn === named || k.ref === named);
    // An alias or a key outside the template (alias/aws/sns among them) has a policy a local run cannot read.
    if (!key) throw new Error(`topic ${id} is encrypted with ${named}, which is not a key of this template: a local run cannot evaluate its key policy`);
    topics.set(arn, { arn, keyArn: key.arn });
  }
  return topics;
}

/** SNS's answer to a message it refuses, if it does (InvalidParameter). */
export function invalidPublish(message: string, subject: string | undefined): string | undefined {
  if (message === '') return 'Invalid parameter: Empty message';
  if (Buffer.byteLength(message, 'utf8') > MAX_MESSAGE_BYTES) return 'Invalid parameter: Message too long';
  // "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long."
  if (subject !== undefined && (subject === '' || subject.length >= 100 || /[\u0000-\u001f\u007f]/.test(subject))) return 'Invalid parameter: Subject';
  return undefined;
}

/**
 * What SNS asks KMS for when `topic` is encrypted, on the publisher's behalf. The encryption
 * context names the topic (`aws:sns:topicArn`, which key policies can condition on). A principal
 * of the account is known to KMS by its account and as calling through SNS; an AWS service
 * (`source`: EventBridge for a rule) by the resource it acts for, as key policies name it.
 */
export function kmsChecksFor(topic: Topic, source?: { arn: string }): IamRequest[] {
  if (!topic.keyArn) return [];
  const context: Record<string, string> = {
    'kms:EncryptionContext:aws:sns:topicArn': topic.arn,
    ...(source
      ? { 'aws:SourceArn': source.arn, 'aws:SourceAccount': LOCAL_ACCOUNT }
      : { 'kms:ViaService': `sns.${LOCAL_REGION}.amazonaws.com`, 'kms:CallerAccount': LOCAL_ACCOUNT }),
  };
  return ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({ action, resource: topic.keyArn!, context }));
}
