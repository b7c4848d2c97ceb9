/**
 * When to read an index's health after its PUT. Every read that finds the index still refreshing
 * is a call of the org's shared API budget that did the run no good, and the run is bound by that
 * budget, not by how long one index waits: so the first read is timed for when the refresh is
 * expected to be over, from how long this org's refreshes have been seen to take (RefreshMemory).
 * The user's `timing` stays the bound: never sooner than settleSeconds, never past the health
 * timeout, and never more than two polls later than the settle (an index that refreshes much longer
 * than the rest is polled as before, rather than making every index wait for it).
 */
import type { Timing } from './execution-input.ts';

export function longestFirstReadDelay(timing: Timing): number {
  return Math.min(timing.settleSeconds + 2 * timing.healthPollSeconds, Math.max(timing.settleSeconds, timing.healthTimeoutSeconds - 1));
}

/** Seconds from an accepted PUT to its first health read. */
export function firstReadDelay(timing: Timing, expectedRefreshSeconds: number | null): number {
  if (expectedRefreshSeconds === null || !Number.isFinite(expectedRefreshSeconds)) return timing.settleSeconds;
  return Math.max(timing.settleSeconds, Math.min(Math.ceil(expectedRefreshSeconds), longestFirstReadDelay(timing)));
}
