import { Logger } from '@aws-lambda-powertools/logger';

export const SERVICE_NAME = 'genesys-index-optimizer';

/**
 * One Powertools logger per function. JSON lines carry executionId, indexId, correlationId,
 * action and outcome as keys so CloudWatch Logs Insights can filter on them. Nothing logged here
 * ever holds a credential: handlers log ids, statuses and error summaries only.
 */
export function createLogger(functionRole: string): Logger {
  return new Logger({ serviceName: SERVICE_NAME, persistentKeys: { function: functionRole } });
}
