/**
 * What optimizing an index did to it, from the two health reads the run makes anyway: the
 * pre-check before the PUT and the read that finds it healthy after. No extra API call.
 */
export interface HealthSample {
  queryLatencyMs: number | null;
  diskUsage: number | null;
}

export interface IndexEffect {
  queryLatencyMs: { before: number | null; after: number | null };
  diskUsage: { before: number | null; after: number | null };
  /** Latency after exceeds before by more than policy.maxLatencyRegression (false when either is unknown). */
  regressed: boolean;
}

/** Before the pre-check (or with healthCheckBeforePut off): nothing measured. */
export const NOT_MEASURED: HealthSample = { queryLatencyMs: null, diskUsage: null };

export function sampleOf(health: { queryLatencyMs?: number; diskUsage?: number }): HealthSample {
  return { queryLatencyMs: health.queryLatencyMs ?? null, diskUsage: health.diskUsage ?? null };
}

export function effectOf(before: HealthSample, after: HealthSample, maxLatencyRegression: number): IndexEffect {
  const b = before.queryLatencyMs;
  const a = after.queryLatencyMs;
  return {
    queryLatencyMs: { before: b, after: a },
    diskUsage: { before: before.diskUsage, after: after.diskUsage },
    regressed: b !== null && a !== null && a > b * (1 + maxLatencyRegression),
  };
}

/** The median relative change of latency (after / before − 1) over the indexes measured both times. */
export function medianLatencyChange(effects: readonly IndexEffect[]): number | null {
  const changes = effects
    .filter((e) => e.queryLatencyMs.before !== null && e.queryLatencyMs.after !== null && e.queryLatencyMs.before > 0)
    .map((e) => e.queryLatencyMs.after! / e.queryLatencyMs.before! - 1)
    .sort((x, y) => x - y);
  if (changes.length === 0) return null;
  const mid = Math.floor(changes.length / 2);
  const median = changes.length % 2 ? changes[mid]! : (changes[mid - 1]! + changes[mid]!) / 2;
  return Math.round(median * 1000) / 1000;
}
