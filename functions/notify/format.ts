/**
 * How messages to people are written: `text` for e-mail, `chat` for Amazon Q Developer in chat
 * applications (AWS Chatbot), which renders only its custom-notification JSON in Slack or Teams.
 */
export const NOTIFICATION_FORMATS = ['text', 'chat'] as const;
export type NotificationFormat = (typeof NOTIFICATION_FORMATS)[number];

export function notificationFormat(value: string | undefined): NotificationFormat {
  return (NOTIFICATION_FORMATS as readonly string[]).includes(value ?? '') ? (value as NotificationFormat) : 'text';
}

/** The message body: the text, or the custom notification carrying it (title, markdown description). */
export function messageBody(message: { subject: string; text: string }, format: NotificationFormat): string {
  if (format === 'text') return message.text;
  return JSON.stringify({ version: '1.0', source: 'custom', content: { textType: 'client-markdown', title: message.subject, description: message.text } });
}
