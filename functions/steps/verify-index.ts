/**
 * One health read after an accepted PUT. Green or yellow ends it; red fails it; while the index
 * refreshes the state machine polls again, until the health deadline.
 */
import type { Retries, Timing } from '../domain/execution-input.ts';
import type { GenesysClient } from '../genesys/client.ts';
import type { HealthStatus } from '../genesys/shapes.ts';
import type { CallPacer } from '../pacing/index.ts';
import { decideRetry, type RetryCause } from './retry-decision.ts';
import { effectOf, NOT_MEASURED, sampleOf, type HealthSample, type IndexEffect } from '../domain/effect.ts';
import type { LastError } from './index-progress.ts';
import type { TimelineEntry } from '../domain/timeline.ts';

export interface VerifyRequest {
  indexId: string;
  /** ISO time after which an index that is still not healthy has failed. */
  healthDeadline: string;
  timing: Timing;
  retries: Retries;
  /** The health before the PUT (the pre-check's), and how much slower after counts as a regression. */
  before: HealthSample;
  maxLatencyRegression: number;
  /** When the index's first attempt began, and its PUT's last error (explain). */
  startedAt?: string;
  priorError?: LastError | null;
  /** The index's timeline up to its accepted PUT (the Optimize state's): the first read goes on from it. */
  timeline?: TimelineEntry[];
  /** Whether Optimize reserved the first read's slot (false: its clock was too contended; reserve it here first). */
  readReserved?: boolean;
  progress: VerifyProgress;
}

/** What one health read hands the next: the state machine passes the result back in as `progress`. */
export type VerifyProgress = {
  polls: number;
  /** The last failed read (kept by the handler for explain). */
  lastError?: LastError;
  /** Reads answered 429 so far. */
  throttled?: number;
  /** Reads that failed in a row (5xx, network) since the last answer: the next wait backs off on it. */
  errors?: number;
  /** Reads that found the index still refreshing. */
  refreshing?: number;
  /** The index's whole timeline so far (the optimize part first), bounded: kept by the handler. */
  timeline?: TimelineEntry[];
  /** Whether the next read's slot is reserved (absent: it is); false: the pacer's clock was too contended, so it is reserved before the read. */
  readReserved?: boolean;
};

export type VerifyResult = VerifyProgress & (
  | { status: 'healthy'; health: Exclude<HealthStatus, 'red'>; diskUsage?: number; queryLatencyMs?: number; effect: IndexEffect }
  | { status: 'poll'; cause: RetryCause | 'refreshing' | 'paced'; waitSeconds: number; reason: string }
  | { status: 'failed'; reason: string; /** Set for errors the report names for the whole run; null otherwise. */ errorName: string | null }
);

/**
 * The read itself is made at once: its slot in the API budget was reserved by whoever scheduled
 * the wait before it (Optimize for the first read, this function for the next poll), unless the
 * pacer's clock was too contended to reserve it then: then it is reserved first, and waited for.
 */
export async function verifyIndex(
  client: GenesysClient,
  req: VerifyRequest,
  pacer: CallPacer,
  now: () => number = Date.now,
  /** Told how many seconds after its PUT the index was healthy, and whether an earlier read had found it still refreshing. */
  onHealthy: (seconds: number, afterRefreshing: boolean) => Promise<void> = async () => undefined,
): Promise<VerifyResult> {
  const reserved = req.progress.polls === 0 && req.progress.readReserved === undefined ? req.readReserved !== false : req.progress.readReserved !== false;
  if (!reserved) {
    const pace = await pacer.reserve(1);
    if (!pace.callNow) {
      // No read made: the same progress, the slot now reserved (or asked for again).
      const { timeline: _kept, ...progress } = req.progress;
      return { ...progress, status: 'poll', cause: 'paced', readReserved: pace.reserved, waitSeconds: pace.waitSeconds, reason: 'waiting for its turn in the API budget' };
    }
  }
  const polls = req.progress.polls + 1;
  const throttledBefore = req.progress.throttled ?? 0;
  const errorsBefore = req.progress.errors ?? 0;
  const deadline = Date.parse(req.healthDeadline);
  const timedOut = (why: string): VerifyResult => ({
    status: 'failed',
    polls,
    errorName: null,
    reason: `health timeout: ${why} ${req.timing.healthTimeoutSeconds} s after the PUT was accepted (${polls} health reads)`,
  });
  // Poll no later than the deadline, so the last read happens right at it.
  const untilDeadline = Math.max(1, Math.ceil((deadline - now()) / 1000));
  try {
    const reading = await client.getHealth(req.indexId);
    if (reading.state === 'refreshing') {
      if (now() >= deadline) return timedOut('still refreshing (503)');
      const next = await pacer.scheduleAfter(1, Math.min(req.timing.healthPollSeconds, untilDeadline));
      // An answer, even "refreshing", ends an outage: the next failure backs off from 2 s again.
      return { status: 'poll', cause: 'refreshing', polls, throttled: throttledBefore, errors: 0, refreshing: (req.progress.refreshing ?? 0) + 1, waitSeconds: next.waitSeconds, readReserved: next.reserved, reason: 'refreshing (503)' };
    }
    const h = reading.health;
    if (h.status === 'red') return { status: 'failed', polls, reason: 'health red after optimization', errorName: null };
    // How long its refresh took at most (and, after a read that found it refreshing, about how long): the refresh memory learns from it.
    await onHealthy((now() - (deadline - req.timing.healthTimeoutSeconds * 1000)) / 1000, (req.progress.refreshing ?? 0) > 0);
    return {
      status: 'healthy',
      polls,
      health: h.status,
      ...(h.diskUsage !== undefined ? { diskUsage: h.diskUsage } : {}),
      ...(h.queryLatencyMs !== undefined ? { queryLatencyMs: h.queryLatencyMs } : {}),
      effect: effectOf(req.before ?? NOT_MEASURED, sampleOf(h), req.maxLatencyRegression),
    };
  } catch (err) {
    // Health reads that fail are bounded by the deadline, not by an attempt count. They back off
    // on the failures in a row (2, 4, 8, … s, at most a minute, capped by the deadline): during an
    // outage, reads every 2 s would only spend the API budget the org shares. decideRetry counts
    // errors as the attempts that were not throttled, so this one is attempt
    // throttledBefore + errors.
    const errors = errorsBefore + 1;
    const decision = decideRetry(err, throttledBefore + errors, { ...req.retries, maxAttempts: Number.MAX_SAFE_INTEGER }, req.timing.healthPollSeconds, throttledBefore);
    if (!decision.retry) {
      return { status: 'failed', polls, reason: decision.reason, errorName: decision.errorName ?? null };
    }
    if (decision.cause === 'throttled') {
      // A 429 says nothing about the index, only that the org's budget is spent: waiting for it
      // does not use up the index's health timeout (the index may well be green by now), and
      // retries.maxThrottledAttempts bounds it instead. The next reading decides, against the deadline.
      // Nor does it end or extend a run of failures: it says nothing about the outage.
      const next = await pacer.scheduleAfter(1, decision.waitSeconds);
      return { status: 'poll', cause: decision.cause, polls, throttled: throttledBefore + 1, errors: errorsBefore, refreshing: req.progress.refreshing ?? 0, waitSeconds: next.waitSeconds, readReserved: next.reserved, reason: decision.reason };
    }
    if (now() >= deadline) return timedOut(`no health reading (${decision.reason})`);
    const wait = decision.mandated ? decision.waitSeconds : Math.min(decision.waitSeconds, untilDeadline);
    const next = await pacer.scheduleAfter(1, wait);
    return { status: 'poll', cause: decision.cause, polls, throttled: throttledBefore, errors, refreshing: req.progress.refreshing ?? 0, waitSeconds: next.waitSeconds, readReserved: next.reserved, reason: decision.reason };
  }
}
