import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { CALL_METHOD, type ResponseInfo } from '../genesys/client.ts';
import type { CallEntry } from '../domain/timeline.ts';
import { forStateMachine, isExpectedError } from './bounded-error.ts';
import { createMetrics, METRIC, MetricUnit, ORG_DIMENSION } from './metrics.ts';

/** Every task input carries the execution id ($$.Execution.Id) so log lines can be tied to a run. */
export interface TaskEvent {
  executionId: string;
  indexId?: string;
  /** The run's org in a deployment that manages several: a key of every log line and a dimension of every metric. */
  org?: string | null;
}

/**
 * Wraps a handler body: a logger of its own for this invocation (the local runner runs many
 * invocations at once in one process, so keys must not be shared), one error line with the
 * error's name, and errors shaped for the state machine. The body stays free of Lambda concerns.
 */
export function taskHandler<E extends TaskEvent, R>(
  logger: Logger,
  action: string,
  body: (event: E, log: Logger, metrics: Metrics) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    const log = logger.createChild();
    const metrics = createMetrics();
    if (context) log.addContext(context);
    log.appendKeys({ executionId: event.executionId, action, ...(event.indexId ? { indexId: event.indexId } : {}), ...(event.org ? { org: event.org } : {}) });
    // Only a fleet's runs have it: a single-org deployment's metrics keep the dimensions its alarms and dashboard read.
    if (event.org) metrics.addDimension(ORG_DIMENSION, event.org);
    try {
      return await body(event, log, metrics);
    } catch (err) {
      if (isExpectedError(err)) log.error('task failed', { errorName: err.name, errorMessage: err.message });
      else log.error('task failed unexpectedly', err as Error);
      throw forStateMachine(err);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

export interface ResponseRecorder {
  onResponse: (info: ResponseInfo) => void;
  /** The latest ININ-Correlation-Id, for audit events. */
  correlationId(): string | null;
  /** Time spent waiting for Genesys in this invocation. */
  genesysMs(): number;
  /** The API calls of this invocation in order, answered or not, for the run's timeline (token calls are not among them). */
  calls(): CallEntry[];
}

/**
 * Logs each Genesys response (never headers or bodies), keeps the latest correlation id as a log
 * key, counts 429s as the ThrottledCalls metric, and keeps each API call for the timeline.
 */
export function recordGenesysResponses(log: Logger, metrics: Metrics, now: () => Date = () => new Date()): ResponseRecorder {
  let latest: string | null = null;
  let total = 0;
  const calls: CallEntry[] = [];
  return {
    onResponse: (info) => {
      total += info.durationMs;
      if (info.call !== 'token') calls.push({ kind: 'call', at: now().toISOString(), call: CALL_METHOD[info.call], status: info.status, durationMs: info.durationMs });
      if (info.correlationId) {
        latest = info.correlationId;
        log.appendKeys({ correlationId: info.correlationId });
      }
      const line = { call: info.call, endpoint: info.endpoint, status: info.status, durationMs: info.durationMs };
      if (info.status === 429) {
        metrics.addMetric(METRIC.throttledCalls, MetricUnit.Count, 1);
        log.warn('genesys throttled the call', line);
      } else if (info.status === 0) log.info('genesys gave no answer', line);
      else if (info.status >= 400) log.info('genesys answered with an error', line);
      else log.debug('genesys response', line);
    },
    correlationId: () => latest,
    genesysMs: () => total,
    calls: () => [...calls],
  };
}
