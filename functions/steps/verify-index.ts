/**
 * One health read after an accepted PUT. Green or yellow ends it; red fails it; while the index
 * refreshes the state machine polls again, until the health deadline.
 */
import type { Retries, Timing } from '../domain/execution-input.ts';
import type { GenesysClient } from '../genesys/client.ts';
import type { HealthStatus } from '../genesys/shapes.ts';
import { decideRetry, type RetryCause } from './retry-decision.ts';

export interface VerifyRequest {
  indexId: string;
  /** ISO time after which an index that is still not healthy has failed. */
  healthDeadline: string;
  timing: Timing;
  retries: Retries;
  progress: { polls: number };
}

export type VerifyResult = { polls: number } & (
  | { status: 'healthy'; health: Exclude<HealthStatus, 'red'>; diskUsage?: number; queryLatencyMs?: number }
  | { status: 'poll'; cause: RetryCause | 'refreshing'; waitSeconds: number; reason: string }
  | { status: 'failed'; reason: string; /** Set for errors the report names for the whole run; null otherwise. */ errorName: string | null }
);

export async function verifyIndex(client: GenesysClient, req: VerifyRequest, now: () => number = Date.now): Promise<VerifyResult> {
  const polls = req.progress.polls + 1;
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
      return { status: 'poll', cause: 'refreshing', polls, waitSeconds: Math.min(req.timing.healthPollSeconds, untilDeadline), reason: 'refreshing (503)' };
    }
    const h = reading.health;
    if (h.status === 'red') return { status: 'failed', polls, reason: 'health red after optimization', errorName: null };
    return {
      status: 'healthy',
      polls,
      health: h.status,
      ...(h.diskUsage !== undefined ? { diskUsage: h.diskUsage } : {}),
      ...(h.queryLatencyMs !== undefined ? { queryLatencyMs: h.queryLatencyMs } : {}),
    };
  } catch (err) {
    // Health reads are bounded by the deadline, not by an attempt count.
    const decision = decideRetry(err, 0, { ...req.retries, maxAttempts: Number.MAX_SAFE_INTEGER }, req.timing.healthPollSeconds);
    if (!decision.retry) {
      return { status: 'failed', polls, reason: decision.reason, errorName: decision.errorName ?? null };
    }
    if (now() >= deadline) return timedOut(`no health reading (${decision.reason})`);
    const wait = decision.mandated ? decision.waitSeconds : Math.min(decision.waitSeconds, untilDeadline);
    return { status: 'poll', cause: decision.cause, polls, waitSeconds: wait, reason: decision.reason };
  }
}
