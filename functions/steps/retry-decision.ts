/**
 * How a failed Genesys call continues: wait and try again, or give up. The waiting itself is a
 * Wait state in the state machine; this only decides how long, and when to stop.
 */
import { CredentialsConfigError } from '../credentials/errors.ts';
import type { Retries } from '../domain/execution-input.ts';
import {
  CredentialsInvalidError,
  ForbiddenError,
  GenesysError,
  IndexBusyError,
  RateLimitedError,
  TransientError,
} from '../genesys/errors.ts';
import { RunStoreError } from '../store/run-store.ts';
import { reasonOf } from '../shared/bounded-error.ts';

/** Why a call is tried again: shown in the execution history next to the wait. */
export type RetryCause = 'throttled' | 'busy' | 'transient';

export type RetryDecision =
  | {
      retry: true;
      cause: RetryCause;
      waitSeconds: number;
      reason: string;
      /** Genesys said how long (Retry-After): never wait less. */
      mandated: boolean;
    }
  | { retry: false; reason: string; errorName?: string };

/** Backoff for transient errors: 2, 4, 8, … seconds, at most a minute. */
export function backoffSeconds(attempt: number): number {
  return Math.min(60, 2 ** Math.max(1, attempt));
}

/**
 * Errors that no retry of this index can fix and that will hit every other index too: the run
 * reports them by name so the operator fixes the cause (a permission, the secret).
 */
export function isRunLevel(err: unknown): boolean {
  return (
    err instanceof ForbiddenError ||
    err instanceof CredentialsInvalidError ||
    err instanceof CredentialsConfigError ||
    err instanceof RunStoreError
  );
}

/**
 * `attempt` counts every attempt of the call, this one included; `throttledBefore` how many of the
 * earlier ones were answered 429. The two kinds of failure have separate bounds: errors (5xx, a
 * network error, a busy index) count against retries.maxAttempts, since after a few something is
 * wrong; a 429 says nothing about the call, only that the org's shared budget is spent for now,
 * so it counts against the larger retries.maxThrottledAttempts. A run paced faster than the org's
 * rate limit then slows down instead of failing indexes, and is still bounded (each wait is at
 * most retries.maxRetryAfterSeconds).
 */
export function decideRetry(err: unknown, attempt: number, retries: Retries, busyWaitSeconds: number, throttledBefore = 0): RetryDecision {
  const reason = reasonOf(err);
  const name = err instanceof Error ? err.name : 'Error';
  const giveUp = (why: string): RetryDecision => ({ retry: false, reason: why, errorName: name });
  if (err instanceof RateLimitedError) {
    if (err.retryAfterSeconds > retries.maxRetryAfterSeconds) {
      return giveUp(`rate limited: Genesys asked for a ${err.retryAfterSeconds} s wait, more than the ${retries.maxRetryAfterSeconds} s bound (${reason})`);
    }
    const throttled = throttledBefore + 1;
    if (throttled >= retries.maxThrottledAttempts) {
      return giveUp(`gave up after ${throttled} rate-limited attempts (retries.maxThrottledAttempts): ${reason}`);
    }
    return { retry: true, cause: 'throttled', waitSeconds: err.retryAfterSeconds, reason, mandated: true };
  }
  if (err instanceof IndexBusyError || err instanceof TransientError) {
    const errors = attempt - throttledBefore;
    if (errors >= retries.maxAttempts) return giveUp(`gave up after ${errors} attempts: ${reason}`);
    const wait = err instanceof IndexBusyError ? busyWaitSeconds : backoffSeconds(errors);
    return { retry: true, cause: err instanceof IndexBusyError ? 'busy' : 'transient', waitSeconds: wait, reason, mandated: false };
  }
  if (err instanceof GenesysError || isRunLevel(err)) return giveUp(reason);
  throw err;
}
