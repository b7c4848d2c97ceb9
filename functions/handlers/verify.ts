/** Verify: one health read for one index, or the org's query-latency probe. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Retries } from '../domain/execution-input.ts';
import { withGenesysClient } from '../credentials/with-client.ts';
import { reasonOf } from '../shared/bounded-error.ts';
import { clientSettings } from '../shared/genesys-settings.ts';
import { logGenesysResponses, taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedCredentials } from '../shared/singletons.ts';
import { probeLatency, type ProbeResult } from '../steps/probe-latency.ts';
import { isRunLevel } from '../steps/retry-decision.ts';
import { verifyIndex, type VerifyRequest, type VerifyResult } from '../steps/verify-index.ts';

export type VerifyEvent = TaskEvent &
  (
    | ({ check: 'health' } & VerifyRequest)
    | { check: 'latency'; phase: 'before' | 'after'; retries: Retries; progress: { attempts: number } }
  );

const logger = createLogger('verify');

async function checkHealth(event: TaskEvent & VerifyRequest, log: Logger): Promise<VerifyResult> {
  let result: VerifyResult;
  try {
    result = await withGenesysClient(sharedCredentials(), clientSettings(logGenesysResponses(log)), (c) => verifyIndex(c, event));
  } catch (err) {
    if (!isRunLevel(err)) throw err;
    result = { status: 'failed', polls: event.progress.polls + 1, reason: reasonOf(err), errorName: (err as Error).name };
  }
  const line = { outcome: result.status, polls: result.polls, ...('health' in result ? { health: result.health, diskUsagePercent: result.diskUsage } : {}), ...('reason' in result ? { reason: result.reason } : {}) };
  if (result.status === 'failed') log.error('health verification failed', line);
  else log.info(`health verification: ${result.status}`, line);
  return result;
}

async function checkLatency(event: TaskEvent & { phase: string; retries: Retries; progress: { attempts: number } }, log: Logger): Promise<ProbeResult> {
  let result: ProbeResult;
  try {
    result = await withGenesysClient(sharedCredentials(), clientSettings(logGenesysResponses(log)), (c) => probeLatency(c, event.retries, event.progress));
  } catch (err) {
    if (!isRunLevel(err)) throw err;
    result = { status: 'unavailable', attempts: event.progress.attempts + 1, reason: reasonOf(err), errorName: (err as Error).name };
  }
  log.info(`query latency ${event.phase}: ${result.status}`, { phase: event.phase, outcome: result.status, ...result });
  return result;
}

export const handler = taskHandler(logger, 'health_verification', async (event: VerifyEvent, log): Promise<VerifyResult | ProbeResult> => {
  if (event.check === 'latency') {
    log.appendKeys({ action: 'latency_probe' });
    return checkLatency(event, log);
  }
  return checkHealth(event, log);
});
