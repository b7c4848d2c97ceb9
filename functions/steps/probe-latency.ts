/**
 * The query-latency probe, once before and once after the batch. It measures the org, not an
 * index, and a run is still worth reporting without it: failures become "unavailable".
 */
import type { Retries } from '../domain/execution-input.ts';
import type { GenesysClient } from '../genesys/client.ts';
import type { CallPacer } from '../pacing/index.ts';
import { decideRetry, type RetryCause } from './retry-decision.ts';
import type { CallEntry } from '../domain/timeline.ts';

export interface ProbeProgress {
  attempts: number;
  /** The next attempt already has its slot in the API budget. */
  slotReserved?: boolean;
  /** Of `attempts`, those answered 429 (bounded by retries.maxThrottledAttempts instead). */
  throttled?: number;
  /** The probe's Genesys calls so far, retries included, bounded (appendTimeline): kept by the handler, for the run's calls per minute. */
  calls?: CallEntry[];
}

export type ProbeResult = ProbeProgress &
  (
    | { status: 'measured'; latencyMs: number; throughputRate: number }
    | { status: 'retry'; cause: RetryCause | 'paced'; waitSeconds: number; reason: string }
    | { status: 'unavailable'; reason: string; /** Set for errors the report names for the whole run; null otherwise. */ errorName: string | null }
  );

export async function probeLatency(client: GenesysClient, retries: Retries, progress: ProbeProgress, pacer: CallPacer): Promise<ProbeResult> {
  if (!progress.slotReserved) {
    const pace = await pacer.reserve(1);
    if (!pace.callNow) {
      return { status: 'retry', cause: 'paced', attempts: progress.attempts, throttled: progress.throttled ?? 0, slotReserved: pace.reserved, waitSeconds: pace.waitSeconds, reason: 'waiting for its turn in the API budget' };
    }
  }
  const attempts = progress.attempts + 1;
  try {
    const probe = await client.probeQueryLatency();
    return { status: 'measured', attempts, latencyMs: probe.latencyMs, throughputRate: Math.round(probe.throughputRate * 1000) / 1000 };
  } catch (err) {
    const throttledBefore = progress.throttled ?? 0;
    const decision = decideRetry(err, attempts, retries, 1, throttledBefore);
    if (decision.retry) {
      const next = await pacer.scheduleAfter(1, decision.waitSeconds);
      const throttled = throttledBefore + (decision.cause === 'throttled' ? 1 : 0);
      return { status: 'retry', cause: decision.cause, attempts, throttled, slotReserved: next.reserved, waitSeconds: next.waitSeconds, reason: decision.reason };
    }
    return { status: 'unavailable', attempts, reason: decision.reason, errorName: decision.errorName ?? null };
  }
}
