// The API budget as the org sees it: in a real-time run, no sliding 60 s window holds more calls
// than apiBudgetPerMinute, even when every function starts up to 2 s after its Task does (a cold
// start, a slow invoke). Slow on purpose: a minute's window needs more than a minute of run.
import { describe, expect, it } from 'vitest';
import { index, useLocalRuns } from './support/local-run.ts';

const runs = useLocalRuns();

/** The most calls any window of `windowMs` holds (sorted call times). */
function busiestWindow(at: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('the API budget, in real time', { timeout: 180_000 }, () => {
  it('no sliding 60 s window over the budget, with invocation delays of up to 2 s', async () => {
    const budget = 24;
    // Refreshes of 0–3 s after a 1 s settle: some indexes poll, so reads are scheduled ahead too.
    const ids = Array.from({ length: 7 }, (_, i) => `w${i}`);
    const sim = await runs.startSim({ org: { rateLimitPerMinute: 100_000 }, indexes: ids.map((id, i) => index(id, { refreshSeconds: i % 4 })) });
    let delays = 0;
    const r = await runs.runAgainst(
      sim,
      { apiBudgetPerMinute: budget, timing: { settleSeconds: 1, healthPollSeconds: 2, healthTimeoutSeconds: 60 } },
      {},
      {
        invocationDelayMs: () => {
          delays++;
          return Math.floor(Math.random() * 2_001);
        },
      },
    );
    expect(r.result.report?.summary).toMatchObject({ total: ids.length, optimized: ids.length, failed: 0 });
    const calls = sim.requests.filter((q) => q.endpoint !== 'token').map((q) => q.at).sort((a, b) => a - b);
    // Long enough for the window to mean something, and every function was delayed.
    expect(calls[calls.length - 1]! - calls[0]!).toBeGreaterThan(60_000);
    expect(delays).toBeGreaterThanOrEqual(ids.length * 2);
    const most = busiestWindow(calls, 60_000);
    console.log(`budget ${budget}/min: ${calls.length} calls over ${((calls[calls.length - 1]! - calls[0]!) / 1000).toFixed(1)} s, busiest 60 s window ${most}`);
    expect(most, 'API calls in the busiest 60 s window').toBeLessThanOrEqual(budget);
    // And the budget was used: the busiest window is not far below it.
    expect(most).toBeGreaterThanOrEqual(budget - 4);
  });
});
