import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { ResponseInfo } from '../genesys/client.ts';
import { forStateMachine, isExpectedError } from './bounded-error.ts';

/** Every task input carries the execution id ($$.Execution.Id) so log lines can be tied to a run. */
export interface TaskEvent {
  executionId: string;
  indexId?: string;
}

/**
 * Wraps a handler body: a logger of its own for this invocation (the local runner runs many
 * invocations at once in one process, so keys must not be shared), one error line with the
 * error's name, and errors shaped for the state machine. The body stays free of Lambda concerns.
 */
export function taskHandler<E extends TaskEvent, R>(
  logger: Logger,
  action: string,
  body: (event: E, log: Logger) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    const log = logger.createChild();
    if (context) log.addContext(context);
    log.appendKeys({ executionId: event.executionId, action, ...(event.indexId ? { indexId: event.indexId } : {}) });
    try {
      return await body(event, log);
    } catch (err) {
      if (isExpectedError(err)) log.error('task failed', { errorName: err.name, errorMessage: err.message });
      else log.error('task failed unexpectedly', err as Error);
      throw forStateMachine(err);
    }
  };
}

/** Logs each Genesys response (never headers or bodies) and keeps the latest correlation id as a key. */
export function logGenesysResponses(logger: Logger): (info: ResponseInfo) => void {
  return (info) => {
    if (info.correlationId) logger.appendKeys({ correlationId: info.correlationId });
    const line = { call: info.call, endpoint: info.endpoint, status: info.status, durationMs: info.durationMs };
    if (info.status === 429) logger.warn('genesys throttled the call', line);
    else if (info.status >= 400) logger.info('genesys answered with an error', line);
    else logger.debug('genesys response', line);
  };
}
