/**
 * One optimization attempt for one index: on the first attempt a health pre-check (never PUT an
 * index that is red or already refreshing), then the PUT of the directives. Calls are paced by
 * the run's API budget: whoever schedules a wait before a call also reserves the call's slot.
 */
import type { Retries, Timing } from '../domain/execution-input.ts';
import type { GenesysClient, OptimizationDirectives } from '../genesys/client.ts';
import type { CallPacer } from '../pacing/index.ts';
import { decideRetry, type RetryCause } from './retry-decision.ts';
import { NOT_MEASURED, sampleOf, type HealthSample } from '../domain/effect.ts';
import type { LastError } from './index-progress.ts';
import { firstReadDelay } from '../domain/refresh-timing.ts';
import type { TimelineEntry } from '../domain/timeline.ts';

export interface OptimizeProgress {
  /** Attempts made so far (0 before the first); waiting for a slot in the budget is not one. */
  attempts: number;
  /** The pre-check passed; later attempts (after a 429 or a busy answer) skip it. */
  prechecked: boolean;
  /** The next attempt's calls already have their slots in the API budget: make them at once. */
  slotReserved?: boolean;
  /** Attempts answered 429 so far: bounded by retries.maxThrottledAttempts, not retries.maxAttempts. */
  throttled?: number;
  /** The index's health before its PUT, from the pre-check (nothing measured without one). */
  before?: HealthSample;
  /** When its first attempt began, and its last error (kept by the handler for explain). */
  startedAt?: string;
  lastError?: LastError | null;
  /**
   * What happened to the index so far (its calls and the waits asked for), bounded: kept by the
   * handler, which appends each invocation's own. Every result carries it; Verify goes on from it.
   */
  timeline?: TimelineEntry[];
}

export interface OptimizeRequest {
  indexId: string;
  directives: OptimizationDirectives;
  healthCheckBeforePut: boolean;
  timing: Timing;
  retries: Retries;
  progress: OptimizeProgress;
}

export type OptimizeResult = OptimizeProgress &
  (
    | {
        status: 'accepted';
        healthDeadline: string;
        /** The Settle wait: the settle time, or longer when the budget puts the first health read later. */
        settleSeconds: number;
        /** Whether the first health read's slot is reserved (false: the pacer's clock was too contended; Verify reserves it first). */
        readReserved: boolean;
        correlationId?: string;
      }
    | { status: 'retry'; cause: RetryCause | 'paced'; waitSeconds: number; reason: string }
    | { status: 'skipped'; reason: string }
    | { status: 'failed'; reason: string; /** Set for errors the report names for the whole run; null otherwise. */ errorName: string | null }
  );

export async function optimizeIndex(
  client: GenesysClient,
  req: OptimizeRequest,
  pacer: CallPacer,
  /** Asked once, right before an index's first call: a reason to leave it alone (the run-level stop), or null. */
  holdBack: () => Promise<string | null> = async () => null,
  now: () => number = Date.now,
  /** How long the org's refreshes are expected to take (asked only once a PUT is accepted), or null. */
  expectedRefresh: () => Promise<number | null> = async () => null,
): Promise<OptimizeResult> {
  let prechecked = req.progress.prechecked || !req.healthCheckBeforePut;
  // Carried through every retry, so the accepted result still has what the pre-check read.
  let before = req.progress.before ?? NOT_MEASURED;
  const callsNeeded = prechecked ? 1 : 2;
  if (!req.progress.slotReserved) {
    const pace = await pacer.reserve(callsNeeded);
    if (!pace.callNow) {
      return {
        status: 'retry',
        cause: 'paced',
        attempts: req.progress.attempts,
        prechecked,
        slotReserved: pace.reserved,
        throttled: req.progress.throttled ?? 0,
        before,
        waitSeconds: pace.waitSeconds,
        reason: 'waiting for its turn in the API budget',
      };
    }
  }
  if (req.progress.attempts === 0) {
    const reason = await holdBack();
    if (reason) return { status: 'skipped', attempts: 0, prechecked, reason };
  }
  const attempts = req.progress.attempts + 1;
  try {
    if (!prechecked) {
      const reading = await client.getHealth(req.indexId);
      if (reading.state === 'refreshing') {
        return { status: 'skipped', attempts, prechecked, reason: 'busy: already refreshing or rebalancing at the start of the run (health 503)' };
      }
      if (reading.health.status === 'red') {
        return { status: 'skipped', attempts, prechecked, reason: 'unhealthy: health red at the start of the run' };
      }
      prechecked = true;
      before = sampleOf(reading.health);
    }
    const put = await client.putOptimization(req.indexId, req.directives);
    const healthDeadline = new Date(now() + req.timing.healthTimeoutSeconds * 1000).toISOString();
    // The first health read's slot is reserved now, so Verify can read as soon as Settle ends; it is
    // timed for when the refresh should be over, so that it is usually the only one.
    const settle = await pacer.scheduleAfter(1, firstReadDelay(req.timing, await expectedRefresh()));
    return {
      status: 'accepted',
      attempts,
      prechecked,
      before,
      healthDeadline,
      settleSeconds: settle.waitSeconds,
      readReserved: settle.reserved,
      ...(put.correlationId ? { correlationId: put.correlationId } : {}),
    };
  } catch (err) {
    const throttledBefore = req.progress.throttled ?? 0;
    const decision = decideRetry(err, attempts, req.retries, req.timing.healthPollSeconds, throttledBefore);
    if (decision.retry) {
      const next = await pacer.scheduleAfter(prechecked ? 1 : 2, decision.waitSeconds);
      const throttled = throttledBefore + (decision.cause === 'throttled' ? 1 : 0);
      return { status: 'retry', cause: decision.cause, attempts, prechecked, slotReserved: next.reserved, throttled, before, waitSeconds: next.waitSeconds, reason: decision.reason };
    }
    return { status: 'failed', attempts, prechecked, reason: decision.reason, errorName: decision.errorName ?? null };
  }
}
