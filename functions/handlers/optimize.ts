/** Optimize: one PUT of the directives for one index (after a health pre-check on the first attempt). */
import { auditEvent } from '../audit/audit-event.ts';
import { emitAudit } from '../audit/audit-trail.ts';
import { withGenesysClient } from '../credentials/with-client.ts';
import { reasonOf } from '../shared/bounded-error.ts';
import { clientSettings } from '../shared/genesys-settings.ts';
import { recordGenesysResponses, taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedCredentials, sharedRunStore } from '../shared/singletons.ts';
import { recordOutcome } from '../steps/index-outcomes.ts';
import { optimizeStep, recordProgress } from '../steps/index-progress.ts';
import { pacerFor, refreshMemoryFor } from '../pacing/index.ts';
import { checkBreaker, recordRunLevelStop } from '../steps/run-breaker.ts';
import { RUN_LEVEL_ERRORS } from '../domain/report.ts';
import type { IndexItem } from '../shared/workflow-contract.ts';
import { optimizeIndex, type OptimizeRequest, type OptimizeResult } from '../steps/optimize-index.ts';
import { isRunLevel } from '../steps/retry-decision.ts';
import { appendTimeline, waitEntry, type WaitEntry } from '../domain/timeline.ts';

/** What the Optimize state passes: the item's fields (workflow-contract.ts) and the attempt so far. */
export type OptimizeEvent = TaskEvent & OptimizeRequest & Pick<IndexItem, 'safety' | 'apiBudgetPerMinute' | 'position'>;

const logger = createLogger('optimize');

/** What this index's refresh (or else the org's) has taken; without either the first read is at the settle time, as configured. */
async function expectedRefresh(clientId: string, indexId: string, log: { warn: (message: string, extra: Record<string, unknown>) => void }): Promise<number | null> {
  try {
    return await refreshMemoryFor(clientId).expected(indexId);
  } catch (err) {
    log.warn('refresh memory not readable; first health read at the settle time', { errorName: (err as Error).name, errorMessage: (err as Error).message });
    return null;
  }
}

/** The Wait the state machine makes after this result: for its API slot, before a retry, or the settle. */
function nextWait(result: OptimizeResult): WaitEntry[] {
  if (result.status === 'retry') return [result.cause === 'paced' ? waitEntry('slot', result.waitSeconds) : waitEntry('retry', result.waitSeconds, result.reason)];
  if (result.status === 'accepted') return [waitEntry('settle', result.settleSeconds)];
  return [];
}

export const handler = taskHandler(logger, 'optimization_trigger', async (event: OptimizeEvent, log, metrics): Promise<OptimizeResult> => {
  const began = new Date().toISOString();
  const responses = recordGenesysResponses(log, metrics);
  const store = sharedRunStore();
  let result: OptimizeResult;
  // Only an index that has not started yet can be held back (one mid-retry finishes its course),
  // and only when its first call is due, so that a wait for its slot does not miss a stop.
  const holdBack = async () => {
    const breaker = await checkBreaker(store, event.executionId, event.safety, event.position);
    return breaker.stop ? breaker.reason : null;
  };
  try {
    result = await withGenesysClient(sharedCredentials(event.org), clientSettings(responses.onResponse), (client, config) =>
      optimizeIndex(client, event, pacerFor(config.credentials.clientId, event.apiBudgetPerMinute), holdBack, Date.now, () => expectedRefresh(config.credentials.clientId, event.indexId, log)),
    );
  } catch (err) {
    // Reading the credentials failed: this index fails with the reason, the report names it for the run.
    if (!isRunLevel(err)) throw err;
    result = { status: 'failed', attempts: event.progress.attempts + 1, prechecked: event.progress.prechecked, reason: reasonOf(err), errorName: (err as Error).name };
  }
  // What explain shows: when the index began, and its last error (a wait for a slot is not one).
  const at = new Date().toISOString();
  const erred = result.status === 'failed' || (result.status === 'retry' && result.cause !== 'paced');
  const lastError = erred && 'reason' in result ? { reason: result.reason, correlationId: responses.correlationId(), at } : event.progress.lastError;
  // Always present (null when none), so the Verify state can pass it on; the timeline too.
  result = { ...result, startedAt: event.progress.startedAt ?? began, lastError: lastError ?? null, timeline: appendTimeline(event.progress.timeline, [...responses.calls(), ...nextWait(result)]) };
  await recordProgress(store, event.executionId, {
    id: event.indexId,
    step: optimizeStep(result.status, result.status === 'retry' ? result.cause : undefined),
    attempts: result.attempts,
    polls: 0,
    lastError: lastError ?? null,
    startedAt: result.startedAt!,
    updatedAt: at,
  });
  const reason = 'reason' in result ? result.reason : null;
  if (result.status === 'failed' || result.status === 'skipped') {
    await recordOutcome(store, event.executionId, {
      id: event.indexId,
      outcome: result.status,
      reason: result.reason,
      ...(result.status === 'failed' && result.errorName ? { errorName: result.errorName } : {}),
      timeline: result.timeline ?? [],
    });
  }
  if (result.status === 'failed' && result.errorName && RUN_LEVEL_ERRORS.includes(result.errorName)) {
    await recordRunLevelStop(store, event.executionId, event.indexId, result.errorName, result.reason);
  }
  const line = { outcome: result.status, attempts: result.attempts, ...(reason ? { reason } : {}), ...(result.status === 'retry' ? { cause: result.cause, waitSeconds: result.waitSeconds } : {}) };
  if (result.status === 'failed') log.error('optimization failed', line);
  else log.info(`optimization ${result.status}`, line);
  await emitAudit(log, [
    auditEvent({
      executionId: event.executionId,
      org: event.org ?? null,
      indexId: event.indexId,
      action: 'optimization_trigger',
      status: result.status,
      latencyMs: responses.genesysMs(),
      replicationTrigger: event.directives.shardOptimization.replicaTrigger,
      correlationId: responses.correlationId(),
      reason,
    }),
  ]);
  return result;
});
