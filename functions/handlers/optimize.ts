/** Optimize: one PUT of the directives for one index (after a health pre-check on the first attempt). */
import { withGenesysClient } from '../credentials/with-client.ts';
import { clientSettings } from '../shared/genesys-settings.ts';
import { logGenesysResponses, taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedCredentials } from '../shared/singletons.ts';
import { optimizeIndex, type OptimizeRequest, type OptimizeResult } from '../steps/optimize-index.ts';
import { reasonOf } from '../shared/bounded-error.ts';
import { isRunLevel } from '../steps/retry-decision.ts';

export type OptimizeEvent = TaskEvent & OptimizeRequest;

const logger = createLogger('optimize');

export const handler = taskHandler(logger, 'optimization_trigger', async (event: OptimizeEvent, log): Promise<OptimizeResult> => {
  let result: OptimizeResult;
  try {
    result = await withGenesysClient(sharedCredentials(), clientSettings(logGenesysResponses(log)), (client) => optimizeIndex(client, event));
  } catch (err) {
    // Reading the credentials failed: this index fails with the reason, the report names it for the run.
    if (!isRunLevel(err)) throw err;
    result = { status: 'failed', attempts: event.progress.attempts + 1, prechecked: event.progress.prechecked, reason: reasonOf(err), errorName: (err as Error).name };
  }
  const line = { outcome: result.status, attempts: result.attempts, ...('reason' in result ? { reason: result.reason } : {}) };
  if (result.status === 'failed') log.error('optimization failed', line);
  else log.info(`optimization ${result.status}`, line);
  return result;
});
