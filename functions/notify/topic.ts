/**
 * Messages for people, on the alarm topic (NOTIFICATION_TOPIC_ARN): the same topic the alarms
 * use, so whoever is subscribed for alarms (e-mail, chat) sees what waits for them too.
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import { messageBody, notificationFormat } from './format.ts';
import { lazily } from '../shared/lazily.ts';

export class NotificationTopicError extends Error {
  override name = 'Config.NotificationTopic';
}

let client: { endpoint: string | undefined; sns: SNSClient } | undefined;
// On the first message.
const snsSdk = lazily(() => import('@aws-sdk/client-sns'));

export async function publishToTopic(message: { subject: string; text: string }, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const topicArn = env['NOTIFICATION_TOPIC_ARN'];
  if (!topicArn) throw new NotificationTopicError('NOTIFICATION_TOPIC_ARN is not set; the plan cannot be sent to anyone for approval');
  const { PublishCommand, SNSClient } = await snsSdk();
  // Kept for the container's life; a new one only for a process that changes endpoints (local runs, tests).
  if (client === undefined || client.endpoint !== env['AWS_ENDPOINT_URL']) client = { endpoint: env['AWS_ENDPOINT_URL'], sns: new SNSClient({}) };
  const res = await client.sns.send(new PublishCommand({ TopicArn: topicArn, Subject: message.subject, Message: messageBody(message, notificationFormat(env['NOTIFICATION_FORMAT'])) }));
  return res.MessageId ?? '';
}
