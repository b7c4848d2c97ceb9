/**
 * What the simulator saw: API calls by endpoint, token requests, 429s, and the call rate in
 * bench (real-world) minutes, to check a run against its budget.
 */
import type { RecordedRequest } from '../simulator/server.ts';

export interface RequestStats {
  /** API calls (everything but token requests). */
  apiCalls: number;
  tokenRequests: number;
  byEndpoint: Record<string, number>;
  /** 429 answers. */
  throttled: number;
  /** Most API calls in any one bench minute (a sliding window of 60/k real seconds). */
  peakPerMinute: number;
  /** API calls per bench minute from the first call to the last. */
  meanPerMinute: number;
}

export function requestStats(requests: readonly RecordedRequest[], k: number): RequestStats {
  const api = requests.filter((r) => r.endpoint !== 'token').map((r) => r.at).sort((a, b) => a - b);
  const byEndpoint: Record<string, number> = {};
  for (const r of requests) byEndpoint[r.endpoint] = (byEndpoint[r.endpoint] ?? 0) + 1;
  const windowMs = 60_000 / k;
  let peak = 0;
  for (let lo = 0, hi = 0; hi < api.length; hi++) {
    while (api[hi]! - api[lo]! >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  const spanMs = api.length > 1 ? api[api.length - 1]! - api[0]! : 0;
  return {
    apiCalls: api.length,
    tokenRequests: byEndpoint['token'] ?? 0,
    byEndpoint,
    throttled: requests.filter((r) => r.status === 429).length,
    peakPerMinute: peak,
    meanPerMinute: spanMs > 0 ? api.length / (spanMs / windowMs) : api.length,
  };
}

/**
 * Health reads made after each index's first accepted PUT (2xx), whatever they were answered: what
 * the optimizer spent waiting for refreshes. A pre-check comes before the PUT and is not one of
 * them; an index never PUT has none. One per index is the physical minimum.
 */
export function healthReadsAfterPut(requests: readonly RecordedRequest[]): number {
  const putAt = new Map<string, number>();
  let reads = 0;
  // By arrival: the simulator logs a request when it has answered it.
  for (const r of [...requests].sort((a, b) => a.at - b.at)) {
    if (r.indexId === undefined) continue;
    if (r.endpoint === 'put' && r.status >= 200 && r.status < 300 && !putAt.has(r.indexId)) putAt.set(r.indexId, r.at);
    else if (r.endpoint === 'health' && putAt.has(r.indexId)) reads++;
  }
  return reads;
}
