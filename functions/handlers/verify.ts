/** Verify: one health read for one index, or the org's query-latency probe. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { auditEvent } from '../audit/audit-event.ts';
import { emitAudit } from '../audit/audit-trail.ts';
import type { Retries } from '../domain/execution-input.ts';
import { withGenesysClient } from '../credentials/with-client.ts';
import { reasonOf } from '../shared/bounded-error.ts';
import { clientSettings } from '../shared/genesys-settings.ts';
import { recordGenesysResponses, taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { METRIC, MetricUnit } from '../shared/metrics.ts';
import { sharedCredentials, sharedRunStore } from '../shared/singletons.ts';
import { recordOutcome } from '../steps/index-outcomes.ts';
import { recordProgress, verifyStep } from '../steps/index-progress.ts';
import { recordRunLevelStop } from '../steps/run-breaker.ts';
import { RUN_LEVEL_ERRORS } from '../domain/report.ts';
import { pacerFor, refreshMemoryFor } from '../pacing/index.ts';
import { probeLatency, type ProbeProgress, type ProbeResult } from '../steps/probe-latency.ts';
import { isRunLevel } from '../steps/retry-decision.ts';
import { verifyIndex, type VerifyRequest, type VerifyResult } from '../steps/verify-index.ts';
import type { IndexItem } from '../shared/workflow-contract.ts';
import { appendTimeline, waitEntry } from '../domain/timeline.ts';

/** `attempts`: the PUT attempts it took (the Optimize state's), for explain. */
type HealthEvent = TaskEvent & { check: 'health'; attempts?: number } & Pick<IndexItem, 'apiBudgetPerMinute'> & VerifyRequest;
type LatencyEvent = TaskEvent & { check: 'latency'; phase: 'before' | 'after'; retries: Retries; apiBudgetPerMinute: number; progress: ProbeProgress };
export type VerifyEvent = HealthEvent | LatencyEvent;

const logger = createLogger('verify');

async function checkHealth(event: HealthEvent, log: Logger, metrics: Metrics): Promise<VerifyResult> {
  const responses = recordGenesysResponses(log, metrics);
  let result: VerifyResult;
  try {
    result = await withGenesysClient(sharedCredentials(event.org), clientSettings(responses.onResponse), (c, config) =>
      verifyIndex(c, event, pacerFor(config.credentials.clientId, event.apiBudgetPerMinute), Date.now, async (seconds, afterRefreshing) => {
        try {
          await refreshMemoryFor(config.credentials.clientId).observe(event.indexId, seconds, afterRefreshing);
        } catch (err) {
          // The index is verified either way: a memory that cannot learn only costs later indexes a poll.
          log.warn('refresh memory not updated', { errorName: (err as Error).name, errorMessage: (err as Error).message, refreshedWithinSeconds: seconds });
        }
      }),
    );
  } catch (err) {
    if (!isRunLevel(err)) throw err;
    result = { status: 'failed', polls: event.progress.polls + 1, reason: reasonOf(err), errorName: (err as Error).name };
  }
  // The first read goes on from the optimize part (its progress starts as { polls: 0 }), later ones from their own.
  // A read that found the index refreshing is followed by a poll; one that failed (429, 5xx, no answer) by a retry.
  const waitReason = (cause: string) => (cause === 'refreshing' ? 'poll' : cause === 'paced' ? 'slot' : 'retry');
  const wait = result.status === 'poll' ? [waitEntry(waitReason(result.cause), result.waitSeconds, result.reason)] : [];
  result = { ...result, timeline: appendTimeline(event.progress.timeline ?? event.timeline, [...responses.calls(), ...wait]) };
  const at = new Date().toISOString();
  // A wait for its slot is not an error.
  const erred = (result.status === 'poll' && result.cause !== 'refreshing' && result.cause !== 'paced') || result.status === 'failed';
  const lastError = erred && 'reason' in result ? { reason: result.reason, correlationId: responses.correlationId(), at } : (event.progress.lastError ?? event.priorError ?? undefined);
  if (lastError) result = { ...result, lastError };
  await recordProgress(sharedRunStore(), event.executionId, {
    id: event.indexId,
    step: verifyStep(result.status, result.status === 'poll' ? result.cause : undefined),
    attempts: event.attempts ?? 1,
    polls: result.polls,
    lastError: lastError ?? null,
    startedAt: event.startedAt ?? at,
    updatedAt: at,
  });
  const reason = 'reason' in result ? result.reason : null;
  if (result.status === 'healthy') {
    await recordOutcome(sharedRunStore(), event.executionId, { id: event.indexId, outcome: 'optimized', effect: result.effect, timeline: result.timeline ?? [] });
    if (result.effect.regressed) metrics.addMetric(METRIC.latencyRegressions, MetricUnit.Count, 1);
  }
  if (result.status === 'failed') {
    await recordOutcome(sharedRunStore(), event.executionId, {
      id: event.indexId,
      outcome: 'failed',
      reason: result.reason,
      ...(result.errorName ? { errorName: result.errorName } : {}),
      timeline: result.timeline ?? [],
    });
    if (result.errorName && RUN_LEVEL_ERRORS.includes(result.errorName)) {
      await recordRunLevelStop(sharedRunStore(), event.executionId, event.indexId, result.errorName, result.reason);
    }
  }
  const line = {
    outcome: result.status,
    polls: result.polls,
    ...(result.status === 'healthy' ? { health: result.health, diskUsagePercent: result.diskUsage } : {}),
    ...(reason ? { reason } : {}),
    ...(result.status === 'poll' ? { cause: result.cause, waitSeconds: result.waitSeconds } : {}),
  };
  if (result.status === 'failed') log.error('health verification failed', line);
  else log.info(`health verification: ${result.status}`, line);
  // Polls are progress, not events: the audit trail records the verdict.
  if (result.status !== 'poll') {
    const healthy = result.status === 'healthy' ? result : null;
    await emitAudit(log, [
      auditEvent({
        executionId: event.executionId,
        org: event.org ?? null,
        indexId: event.indexId,
        action: 'health_verification',
        status: healthy ? healthy.health : 'failed',
        latencyMs: healthy?.queryLatencyMs ?? null,
        throughputRate: healthy?.queryLatencyMs !== undefined && healthy ? 1000 / (healthy.queryLatencyMs + 0.1) : null,
        diskUsagePercent: healthy?.diskUsage ?? null,
        correlationId: responses.correlationId(),
        reason,
      }),
      // A regression is worth an event of its own: other systems' rules can route it to whoever owns the index.
      ...(healthy?.effect.regressed
        ? [
            auditEvent({
              executionId: event.executionId,
              org: event.org ?? null,
              indexId: event.indexId,
              action: 'latency_regressed',
              status: 'regressed',
              latencyMs: healthy.effect.queryLatencyMs.after,
              diskUsagePercent: healthy.effect.diskUsage.after,
              correlationId: responses.correlationId(),
              reason: `query latency ${healthy.effect.queryLatencyMs.before} ms before, ${healthy.effect.queryLatencyMs.after} ms after (more than ${Math.round(event.maxLatencyRegression * 100)}% slower)`,
            }),
          ]
        : []),
    ]);
  }
  return result;
}

async function checkLatency(event: LatencyEvent, log: Logger, metrics: Metrics): Promise<ProbeResult> {
  log.appendKeys({ action: 'latency_probe' });
  const responses = recordGenesysResponses(log, metrics);
  let result: ProbeResult;
  try {
    result = await withGenesysClient(sharedCredentials(event.org), clientSettings(responses.onResponse), (c, config) =>
      probeLatency(c, event.retries, event.progress, pacerFor(config.credentials.clientId, event.apiBudgetPerMinute)),
    );
  } catch (err) {
    if (!isRunLevel(err)) throw err;
    result = { status: 'unavailable', attempts: event.progress.attempts + 1, reason: reasonOf(err), errorName: (err as Error).name };
  }
  log.info(`query latency ${event.phase}: ${result.status}`, { phase: event.phase, outcome: result.status, ...result });
  // Carried through the retries, so the last result (in the state, for the report) has every attempt's call.
  return { ...result, calls: appendTimeline(event.progress.calls, responses.calls()) };
}

export const handler = taskHandler(logger, 'health_verification', async (event: VerifyEvent, log, metrics): Promise<VerifyResult | ProbeResult> =>
  event.check === 'latency' ? checkLatency(event, log, metrics) : checkHealth(event, log, metrics),
);
