/**
 * The query-latency probe, once before and once after the batch. It measures the org, not an
 * index, and a run is still worth reporting without it: failures become "unavailable".
 */
import type { Retries } from '../domain/execution-input.ts';
import type { GenesysClient } from '../genesys/client.ts';
import { decideRetry, type RetryCause } from './retry-decision.ts';

export type ProbeResult = { attempts: number } & (
  | { status: 'measured'; latencyMs: number; throughputRate: number }
  | { status: 'retry'; cause: RetryCause; waitSeconds: number; reason: string }
  | { status: 'unavailable'; reason: string; /** Set for errors the report names for the whole run; null otherwise. */ errorName: string | null }
);

export async function probeLatency(client: GenesysClient, retries: Retries, progress: { attempts: number }): Promise<ProbeResult> {
  const attempts = progress.attempts + 1;
  try {
    const probe = await client.probeQueryLatency();
    return { status: 'measured', attempts, latencyMs: probe.latencyMs, throughputRate: Math.round(probe.throughputRate * 1000) / 1000 };
  } catch (err) {
    const decision = decideRetry(err, attempts, retries, 1);
    if (decision.retry) return { status: 'retry', cause: decision.cause, attempts, waitSeconds: decision.waitSeconds, reason: decision.reason };
    return { status: 'unavailable', attempts, reason: decision.reason, errorName: decision.errorName ?? null };
  }
}
