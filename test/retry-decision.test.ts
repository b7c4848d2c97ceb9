// Retry bounds: errors (5xx, network, busy) count against retries.maxAttempts; 429s against the
// separate, larger retries.maxThrottledAttempts, so a run paced faster than the org's rate limit
// slows down instead of failing indexes. Checked on the decision and on the steps that keep count.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRIES } from '../functions/domain/execution-input.ts';
import { DEFAULT_DIRECTIVES } from '../functions/domain/directives.ts';
import { IndexBusyError, RateLimitedError, RejectedError, TransientError } from '../functions/genesys/errors.ts';
import type { GenesysClient } from '../functions/genesys/client.ts';
import { UNPACED } from '../functions/pacing/index.ts';
import { decideRetry } from '../functions/steps/retry-decision.ts';
import { optimizeIndex, type OptimizeRequest } from '../functions/steps/optimize-index.ts';
import { verifyIndex, type VerifyRequest } from '../functions/steps/verify-index.ts';
import { probeLatency } from '../functions/steps/probe-latency.ts';
import { NOT_MEASURED } from '../functions/domain/effect.ts';

const RETRIES = { maxAttempts: 3, maxRetryAfterSeconds: 60, maxThrottledAttempts: 6 };
const rateLimited = (seconds = 2) => new RateLimitedError(`rate limited (429), retry after ${seconds} s`, { endpoint: 'PUT /x', status: 429 }, seconds);
const serverError = () => new TransientError('server error (502)', { endpoint: 'PUT /x', status: 502 });

describe('decideRetry', () => {
  it('defaults: 20 rate-limited attempts per call, apart from the 5 for errors', () => {
    expect(DEFAULT_RETRIES).toEqual({ maxAttempts: 5, maxRetryAfterSeconds: 180, maxThrottledAttempts: 20 });
  });

  it('a 429 waits Retry-After and does not use up maxAttempts', () => {
    // The 5th attempt, the 4 before it throttled: past maxAttempts 3, within maxThrottledAttempts 6.
    expect(decideRetry(rateLimited(2), 5, RETRIES, 1, 4)).toEqual({ retry: true, cause: 'throttled', waitSeconds: 2, reason: expect.any(String), mandated: true });
  });

  it('gives up at maxThrottledAttempts 429s, saying so', () => {
    const d = decideRetry(rateLimited(), 6, RETRIES, 1, 5);
    expect(d).toMatchObject({ retry: false, errorName: 'Genesys.RateLimited' });
    expect(d.reason).toMatch(/^gave up after 6 rate-limited attempts \(retries\.maxThrottledAttempts\): PUT \/x: rate limited \(429\)/);
  });

  it('still gives up at once when Retry-After is beyond maxRetryAfterSeconds', () => {
    expect(decideRetry(rateLimited(600), 1, RETRIES, 1, 0)).toMatchObject({ retry: false, reason: expect.stringMatching(/600 s wait, more than the 60 s bound/) });
  });

  it('errors count only the attempts that were not throttled: backoff and bound start from the first error', () => {
    // Attempt 5 after four 429s is the first error: 2 s backoff, not 2^5.
    expect(decideRetry(serverError(), 5, RETRIES, 1, 4)).toMatchObject({ retry: true, cause: 'transient', waitSeconds: 2 });
    expect(decideRetry(serverError(), 6, RETRIES, 1, 4)).toMatchObject({ retry: true, waitSeconds: 4 });
    expect(decideRetry(serverError(), 7, RETRIES, 1, 4)).toMatchObject({ retry: false, reason: expect.stringMatching(/^gave up after 3 attempts: /) });
    expect(decideRetry(new IndexBusyError('busy (503)', { endpoint: 'PUT /x' }), 3, RETRIES, 7, 0)).toMatchObject({ retry: false });
    expect(decideRetry(new IndexBusyError('busy (503)', { endpoint: 'PUT /x' }), 2, RETRIES, 7, 0)).toMatchObject({ retry: true, cause: 'busy', waitSeconds: 7 });
  });

  it('never retries a rejection', () => {
    expect(decideRetry(new RejectedError('rejected (400)', { endpoint: 'PUT /x', status: 400 }), 1, RETRIES, 1, 0)).toMatchObject({ retry: false, errorName: 'Genesys.Rejected' });
  });
});

/** A client whose calls answer from a script: an error to throw, or a value. */
function scripted(script: { put?: unknown[]; health?: unknown[]; probe?: unknown[] }): GenesysClient {
  const next = async (queue: unknown[] | undefined, fallback: unknown) => {
    const v = queue && queue.length > 0 ? queue.shift() : fallback;
    if (v instanceof Error) throw v;
    return v;
  };
  return {
    putOptimization: () => next(script.put, { status: 202 }),
    getHealth: () => next(script.health, { state: 'reported', health: { status: 'green' } }),
    probeQueryLatency: () => next(script.probe, { latencyMs: 10, throughputRate: 99.99 }),
  } as unknown as GenesysClient;
}

describe('the steps keep the throttled count in their progress', () => {
  const TIMING = { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 3 };

  it('optimize: five 429s then a 502 then accepted, with maxAttempts 3', async () => {
    const client = scripted({ put: [rateLimited(1), rateLimited(1), rateLimited(1), rateLimited(1), rateLimited(1), serverError()] });
    const req: OptimizeRequest = { indexId: 'x', directives: DEFAULT_DIRECTIVES, healthCheckBeforePut: false, timing: TIMING, retries: RETRIES, progress: { attempts: 0, prechecked: false } };
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await optimizeIndex(client, req, UNPACED);
      seen.push(r.status === 'retry' ? `${r.cause}:${r.throttled}` : r.status);
      if (r.status !== 'retry') break;
      req.progress = r;
    }
    expect(seen).toEqual(['throttled:1', 'throttled:2', 'throttled:3', 'throttled:4', 'throttled:5', 'transient:5', 'accepted']);
  });

  it('optimize: fails at maxThrottledAttempts, not before', async () => {
    const client = scripted({ put: Array.from({ length: 10 }, () => rateLimited(1)) });
    const req: OptimizeRequest = { indexId: 'x', directives: DEFAULT_DIRECTIVES, healthCheckBeforePut: false, timing: TIMING, retries: RETRIES, progress: { attempts: 0, prechecked: false } };
    let r = await optimizeIndex(client, req, UNPACED);
    while (r.status === 'retry') r = await optimizeIndex(client, { ...req, progress: r }, UNPACED);
    expect(r).toMatchObject({ status: 'failed', attempts: 6, reason: expect.stringMatching(/^gave up after 6 rate-limited attempts/) });
  });

  it('verify: a 429 past the health deadline polls again (the wait is Retry-After); the next reading decides', async () => {
    const now = Date.now();
    const req: VerifyRequest = { indexId: 'x', healthDeadline: new Date(now - 1000).toISOString(), timing: TIMING, retries: RETRIES, before: NOT_MEASURED, maxLatencyRegression: 0.2, progress: { polls: 3, throttled: 2 } };
    const throttled = await verifyIndex(scripted({ health: [rateLimited(2)] }), req, UNPACED);
    expect(throttled).toMatchObject({ status: 'poll', cause: 'throttled', polls: 4, throttled: 3, waitSeconds: 2 });
    expect(await verifyIndex(scripted({}), { ...req, progress: throttled }, UNPACED)).toMatchObject({ status: 'healthy', health: 'green' });
    // Still refreshing when it could finally read: the deadline has passed, so it has failed.
    expect(await verifyIndex(scripted({ health: [{ state: 'refreshing' }] }), { ...req, progress: throttled }, UNPACED)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^health timeout: still refreshing/) });
    // A 5xx past the deadline still times out: it says nothing good about the index.
    expect(await verifyIndex(scripted({ health: [serverError()] }), req, UNPACED)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^health timeout: no health reading/) });
  });

  it('verify: failed reads in a row back off 2, 4, 8, … s up to a minute, and an answer starts over', async () => {
    const far = { indexId: 'x', healthDeadline: new Date(Date.now() + 3_600_000).toISOString(), timing: { ...TIMING, healthTimeoutSeconds: 3_600 }, retries: RETRIES, before: NOT_MEASURED, maxLatencyRegression: 0.2 };
    let progress: VerifyRequest['progress'] = { polls: 0 };
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await verifyIndex(scripted({ health: [serverError()] }), { ...far, progress }, UNPACED);
      expect(r).toMatchObject({ status: 'poll', cause: 'transient', errors: i + 1 });
      if (r.status !== 'poll') return;
      waits.push(r.waitSeconds);
      progress = r;
    }
    expect(waits).toEqual([2, 4, 8, 16, 32, 60, 60]);
    // A 429 in the middle waits Retry-After and leaves the run of failures as it was.
    const throttled = await verifyIndex(scripted({ health: [rateLimited(3)] }), { ...far, progress }, UNPACED);
    expect(throttled).toMatchObject({ status: 'poll', cause: 'throttled', waitSeconds: 3, errors: 7, throttled: 1 });
    // An answer ("refreshing" is one) resets it: the next failure waits 2 s again.
    const answered = await verifyIndex(scripted({ health: [{ state: 'refreshing' }] }), { ...far, progress: throttled }, UNPACED);
    expect(answered).toMatchObject({ status: 'poll', cause: 'refreshing', errors: 0, waitSeconds: 1 });
    expect(await verifyIndex(scripted({ health: [serverError()] }), { ...far, progress: answered }, UNPACED)).toMatchObject({ status: 'poll', errors: 1, waitSeconds: 2 });
    // The progress stays a few small numbers, whatever the outage's length.
    expect(JSON.stringify(progress).length).toBeLessThan(200);
  });

  it('verify: the backoff never waits past the health deadline', async () => {
    const now = Date.now();
    const req: VerifyRequest = { indexId: 'x', healthDeadline: new Date(now + 5_000).toISOString(), timing: { ...TIMING, healthTimeoutSeconds: 60 }, retries: RETRIES, before: NOT_MEASURED, maxLatencyRegression: 0.2, progress: { polls: 4, errors: 4 } };
    // The fifth failure in a row would wait 32 s; the deadline is 5 s away.
    expect(await verifyIndex(scripted({ health: [serverError()] }), req, UNPACED, () => now)).toMatchObject({ status: 'poll', errors: 5, waitSeconds: 5 });
  });

  it('verify: at maxThrottledAttempts 429s it fails, saying so', async () => {
    const req: VerifyRequest = { indexId: 'x', healthDeadline: new Date(Date.now() + 60_000).toISOString(), timing: TIMING, retries: RETRIES, before: NOT_MEASURED, maxLatencyRegression: 0.2, progress: { polls: 5, throttled: 5 } };
    expect(await verifyIndex(scripted({ health: [rateLimited(1)] }), req, UNPACED)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^gave up after 6 rate-limited attempts/) });
  });

  it('probe: 429s are counted apart from errors', async () => {
    const first = await probeLatency(scripted({ probe: [rateLimited(1)] }), RETRIES, { attempts: 2, throttled: 2 }, UNPACED);
    expect(first).toMatchObject({ status: 'retry', cause: 'throttled', attempts: 3, throttled: 3 });
    const error = await probeLatency(scripted({ probe: [serverError()] }), RETRIES, { attempts: 3, throttled: 3 }, UNPACED);
    expect(error).toMatchObject({ status: 'retry', cause: 'transient', attempts: 4, throttled: 3, waitSeconds: 2 });
  });
});
