// The run-level stop on its own, over the S3 run store against a local S3 server.
import { describe, expect, it } from 'vitest';
import type { RunStore } from '../functions/store/run-store.ts';
import { recordOutcome } from '../functions/steps/index-outcomes.ts';
import { checkBreaker, recordRunLevelStop } from '../functions/steps/run-breaker.ts';
import { useLocalS3 } from './support/local-s3.ts';

const store = useLocalS3();

const EXEC = 'arn:aws:states:us-east-1:123456789012:execution:GenesysIndexOptimizer:breaker-test';
const SAFETY = { maxFailedShare: 0.5, minIndexesBeforeStop: 5 };

async function fail(s: RunStore, ...ids: string[]): Promise<void> {
  for (const id of ids) await recordOutcome(s, EXEC, { id, outcome: 'failed', reason: 'rejected (400)' });
}

describe('the run-level stop', () => {
  it('does not stop before minIndexesBeforeStop indexes started, however many failed', async () => {
    const s = await store();
    await fail(s, 'a', 'b', 'c', 'd');
    for (const position of [0, 1, 2, 3, 4]) expect(await checkBreaker(s, EXEC, SAFETY, position)).toEqual({ stop: false });
  });

  it('stops once more than maxFailedShare of those started failed, and stays stopped for every later index', async () => {
    const s = await store();
    await fail(s, 'a', 'b', 'c', 'd', 'e');
    const first = await checkBreaker(s, EXEC, SAFETY, 5);
    expect(first).toEqual({ stop: true, reason: expect.stringMatching(/^run stopped: 5 of the 5 indexes started before the stop failed, more than the 50% allowed/) });
    // Recomputed as failed / position, 5 of 10 would be "50%, not more": index 10 would be PUT again.
    for (let position = 6; position < 40; position++) {
      const verdict = await checkBreaker(s, EXEC, SAFETY, position);
      expect({ position, stop: verdict.stop }).toEqual({ position, stop: true });
      if (verdict.stop) expect(verdict.reason).toBe((first as { reason: string }).reason);
    }
  });

  it('does not stop at or below the share, nor ever with maxFailedShare 1', async () => {
    const s = await store();
    await fail(s, 'a', 'b', 'c');
    expect(await checkBreaker(s, EXEC, SAFETY, 6)).toEqual({ stop: false });
    await fail(s, 'd', 'e', 'f');
    for (const position of [6, 7, 100]) expect(await checkBreaker(s, EXEC, { ...SAFETY, maxFailedShare: 1 }, position)).toEqual({ stop: false });
  });

  it('keeps the stops of different executions apart', async () => {
    const s = await store();
    await fail(s, 'a', 'b', 'c', 'd', 'e');
    expect((await checkBreaker(s, EXEC, SAFETY, 5)).stop).toBe(true);
    expect(await checkBreaker(s, `${EXEC}-other`, SAFETY, 5)).toEqual({ stop: false });
  });

  it('stops at once, from the first index on, after an error every index would meet', async () => {
    const s = await store();
    expect(await checkBreaker(s, EXEC, SAFETY, 1)).toEqual({ stop: false });
    await recordRunLevelStop(s, EXEC, 'a', 'Genesys.Forbidden', 'forbidden (403): missing permission search:write');
    for (const position of [0, 1, 2, 50]) {
      expect(await checkBreaker(s, EXEC, SAFETY, position)).toEqual({
        stop: true,
        reason: expect.stringMatching(/^run stopped: index a failed with Genesys\.Forbidden, which every index would meet \(forbidden \(403\): missing permission search:write\)/),
      });
    }
  });
});
