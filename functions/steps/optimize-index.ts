/**
 * One optimization attempt for one index: on the first attempt a health pre-check (never PUT an
 * index that is red or already refreshing), then the PUT of the directives.
 */
import type { Retries, Timing } from '../domain/execution-input.ts';
import type { GenesysClient, OptimizationDirectives } from '../genesys/client.ts';
import { decideRetry, type RetryCause } from './retry-decision.ts';

export interface OptimizeProgress {
  /** Attempts made so far (0 before the first). */
  attempts: number;
  /** The pre-check passed; later attempts (after a 429 or a busy answer) skip it. */
  prechecked: boolean;
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
    | { status: 'accepted'; healthDeadline: string; correlationId?: string }
    | { status: 'retry'; cause: RetryCause; waitSeconds: number; reason: string }
    | { status: 'skipped'; reason: string }
    | { status: 'failed'; reason: string; /** Set for errors the report names for the whole run; null otherwise. */ errorName: string | null }
  );

export async function optimizeIndex(client: GenesysClient, req: OptimizeRequest, now: () => number = Date.now): Promise<OptimizeResult> {
  const attempts = req.progress.attempts + 1;
  let prechecked = req.progress.prechecked || !req.healthCheckBeforePut;
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
    }
    const put = await client.putOptimization(req.indexId, req.directives);
    const healthDeadline = new Date(now() + req.timing.healthTimeoutSeconds * 1000).toISOString();
    return { status: 'accepted', attempts, prechecked, healthDeadline, ...(put.correlationId ? { correlationId: put.correlationId } : {}) };
  } catch (err) {
    const decision = decideRetry(err, attempts, req.retries, req.timing.healthPollSeconds);
    if (decision.retry) return { status: 'retry', cause: decision.cause, attempts, prechecked, waitSeconds: decision.waitSeconds, reason: decision.reason };
    return {
      status: 'failed',
      attempts,
      prechecked,
      reason: decision.reason,
      errorName: decision.errorName ?? null,
    };
  }
}
