/**
 * Time compression for the bench (the scale factor k, default 7.5). Real Genesys runs last tens of minutes (a 150 requests/minute
 * budget, 30 s settles, 15 s polls), so the bench runs everything k times faster and scales the
 * measured times back up. What is scaled, and how:
 *
 * - The simulator's rate limit keeps its per-window count (300, the Genesys default) and shortens
 *   the window from 60 s to 60/k s. The alternative, 300·k per 60 s window, would let a burst k
 *   times larger than Genesys allows through unthrottled and answer a 429 with a Retry-After of up
 *   to 60 real seconds (k minutes in bench time). The simulator rounds Retry-After up to whole
 *   seconds, so a 429's wait is coarser than Genesys' (1 real second = k bench seconds).
 * - The optimizer's budget B requests/minute becomes B·k requests per real minute, rounded to a
 *   whole number (the input takes whole numbers), so the budget actually run is round(B·k)/k.
 * - Refresh times and the probe's latency are divided by k (fractions allowed); the token lifetime
 *   too, rounded to whole seconds (the simulator takes whole seconds).
 * - The execution input's timings (settle, poll, health timeout, the 429 wait bound) are divided by
 *   k and rounded to whole seconds, at least 1: the Wait states and the input take whole seconds
 *   (k = 5, 7.5 or 15 keep the defaults 30, 15, 900 and 180 s whole).
 *   When 30/k or 15/k is not whole, the effective timings differ from the real ones (reported as
 *   `effective`), which shifts when health reads happen; the lower bound uses the effective ones.
 * - The seed's sleeps (2 s after a PUT, 1/2/4 s 429 backoff) are divided by k (fractions allowed).
 * - Not scaled, because they cannot be: loopback HTTP latency, handler CPU time, the local Step
 *   Functions runtime's own overhead, and the whole-second rounding of Wait states (the pacer's
 *   waits round up to whole seconds, and its slot tolerance (1.5 s early, 1 s late) is in real seconds). Multiplied
 *   by k when times are scaled back, they count k times heavier than they would in AWS (a 2 ms
 *   loopback call reads as 15 ms at k = 7.5; a wait rounded up by 0.5 s reads as 3.75 s).
 *
 * Reported times are wall-clock seconds × k ("bench seconds" = real-world seconds).
 */
import { DEFAULT_RETRIES, DEFAULT_TIMING, type Timing } from '../../functions/domain/execution-input.ts';

/** The Genesys default: 300 requests per minute per client-credentials token. */
export const GENESYS_RATE_LIMIT_PER_MINUTE = 300;
/** The simulator's default analytics probe latency (scenario.ts), at real scale. */
export const REAL_PROBE_LATENCY_MS = 40;
/** Genesys' default token lifetime (24 h less a second). */
export const REAL_TOKEN_LIFETIME_SECONDS = 86_399;

export interface ScaledTimings {
  /** What the execution input carries (whole seconds). */
  timing: Timing;
  maxRetryAfterSeconds: number;
  /** The same timings in real-world seconds (×k): what the run actually simulates. */
  effective: Timing & { maxRetryAfterSeconds: number };
}

const whole = (seconds: number, k: number) => Math.max(1, Math.round(seconds / k));

export function scaleTimings(k: number, real: Timing = DEFAULT_TIMING, realMaxRetryAfterSeconds = DEFAULT_RETRIES.maxRetryAfterSeconds): ScaledTimings {
  const timing: Timing = {
    settleSeconds: whole(real.settleSeconds, k),
    healthPollSeconds: whole(real.healthPollSeconds, k),
    healthTimeoutSeconds: whole(real.healthTimeoutSeconds, k),
  };
  const maxRetryAfterSeconds = whole(realMaxRetryAfterSeconds, k);
  return {
    timing,
    maxRetryAfterSeconds,
    effective: {
      settleSeconds: timing.settleSeconds * k,
      healthPollSeconds: timing.healthPollSeconds * k,
      healthTimeoutSeconds: timing.healthTimeoutSeconds * k,
      maxRetryAfterSeconds: maxRetryAfterSeconds * k,
    },
  };
}

export interface ScaledBudget {
  /** What the execution input carries: requests per wall-clock minute. */
  perWallMinute: number;
  /** The budget that runs, in requests per real-world minute: the bound and the budget checks use this. */
  effective: number;
}

export function scaleBudget(budgetPerMinute: number, k: number): ScaledBudget {
  const perWallMinute = Math.round(budgetPerMinute * k);
  return { perWallMinute, effective: perWallMinute / k };
}

/** The simulator org settings for a time-compressed run. */
export function scaledOrgSettings(k: number): Record<string, unknown> {
  return {
    rateLimitPerMinute: GENESYS_RATE_LIMIT_PER_MINUTE,
    rateLimitWindowSeconds: 60 / k,
    probeLatencyMs: REAL_PROBE_LATENCY_MS / k,
    tokenLifetimeSeconds: Math.max(1, Math.round(REAL_TOKEN_LIFETIME_SECONDS / k)),
  };
}

/** Real wall milliseconds → bench (real-world) seconds. */
export const benchSeconds = (wallMs: number, k: number) => (wallMs / 1000) * k;
