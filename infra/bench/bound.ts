/**
 * The lower bound a budget sets on a run's wall time: the API calls the run cannot avoid, spent at
 * exactly the budget's rate, with no other delay.
 *
 *   minimum calls = list pages + 2 latency probes (before and after)
 *                 + per index: 1 health pre-check + 1 PUT + 1 health read (the physical minimum:
 *                   one read, made once the refresh is over)
 *   lower bound   = minimum calls / budget per minute
 *
 * For comparison, the calls an optimizer makes that reads at the configured settle and then every
 * poll until the refresh is over (what this optimizer did before it timed its first read):
 *
 *   health reads at the settle timings = 1 + ceil(max(0, refresh − settle) / poll)
 *
 * Token requests are not counted: they go to the login host, outside the API rate limit.
 */
import type { Timing } from '../../functions/domain/execution-input.ts';
import { DEFAULT_PAGE_SIZE } from '../../functions/genesys/client.ts';

export interface CallsNeeded {
  listPages: number;
  probes: number;
  prechecks: number;
  puts: number;
  healthReads: number;
  total: number;
}

export function healthReadsNeeded(refreshSeconds: number, timing: Pick<Timing, 'settleSeconds' | 'healthPollSeconds'>): number {
  return 1 + Math.max(0, Math.ceil((refreshSeconds - timing.settleSeconds) / timing.healthPollSeconds));
}

/**
 * `realRefreshSeconds`: each qualifying index's refresh time; `timing`: the effective timings in
 * the same (real-world) seconds; `pageSizeCap`: the org's cap on the client's page size.
 */
export function callsNeeded(realRefreshSeconds: readonly number[], timing: Timing, pageSizeCap: number, pageSize = DEFAULT_PAGE_SIZE): CallsNeeded {
  const n = realRefreshSeconds.length;
  const listPages = Math.max(1, Math.ceil(n / Math.min(pageSize, pageSizeCap)));
  const probes = 2;
  const healthReads = realRefreshSeconds.reduce((sum, r) => sum + healthReadsNeeded(r, timing), 0);
  return { listPages, probes, prechecks: n, puts: n, healthReads, total: listPages + probes + 2 * n + healthReads };
}

/** The calls no optimizer can avoid: the listing, two probes, and per index a pre-check, a PUT and one read. */
export function minimumCalls(indexes: number, pageSizeCap: number, pageSize = DEFAULT_PAGE_SIZE): number {
  return Math.max(1, Math.ceil(indexes / Math.min(pageSize, pageSizeCap))) + 2 + 3 * indexes;
}

/** Seconds (real-world) the calls take at exactly `budgetPerMinute`. */
export const lowerBoundSeconds = (calls: number, budgetPerMinute: number) => (calls / budgetPerMinute) * 60;
