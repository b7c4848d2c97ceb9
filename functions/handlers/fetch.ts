/** Fetch: lists the org's index inventory (every page) into the run store. */
import type { Retries } from '../domain/execution-input.ts';
import { withGenesysClient } from '../credentials/with-client.ts';
import { clientSettings } from '../shared/genesys-settings.ts';
import { recordGenesysResponses, taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedCredentials, sharedRunStore } from '../shared/singletons.ts';
import { pacerFor } from '../pacing/index.ts';
import { fetchInventory, type FetchProgress, type FetchResult } from '../steps/fetch-inventory.ts';
import { appendTimeline } from '../domain/timeline.ts';

export interface FetchEvent extends TaskEvent {
  retries: Retries;
  apiBudgetPerMinute: number;
  progress: FetchProgress;
}

const logger = createLogger('fetch');

export const handler = taskHandler(logger, 'fetch_inventory', async (event: FetchEvent, log, metrics): Promise<FetchResult> => {
  const responses = recordGenesysResponses(log, metrics);
  const listed = await withGenesysClient(sharedCredentials(event.org), clientSettings(responses.onResponse), (client, config) =>
    fetchInventory(client, sharedRunStore(), event.executionId, event.retries, event.progress, pacerFor(config.credentials.clientId, event.apiBudgetPerMinute)),
  );
  // Carried through the retries, so the last result (in the state, for the report) has every page's call.
  const result: FetchResult = { ...listed, calls: appendTimeline(event.progress.calls, responses.calls()) };
  if (result.status === 'listed') {
    log.info('inventory listed', { outcome: 'listed', indexes: result.indexes, pages: result.pages, warnings: result.warnings });
  } else {
    log.warn('inventory listing paused', { outcome: 'retry', waitSeconds: result.waitSeconds, reason: result.reason, attempts: result.attempts });
  }
  return result;
});
