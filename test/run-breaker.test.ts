// The run-level stop on its own, over a run store in a temporary directory.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsRunStore } from '../functions/store/fs-run-store.ts';
import { recordOutcome } from '../functions/steps/index-outcomes.ts';
import { checkBreaker } from '../functions/steps/run-breaker.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function store(): FsRunStore {
  const dir = mkdtempSync(join(tmpdir(), 'breaker-'));
  dirs.push(dir);
  return new FsRunStore(dir);
}

const EXEC = 'arn:aws:states:us-east-1:123456789012:execution:GenesysIndexOptimizer:breaker-test';
const SAFETY = { maxFailedShare: 0.5, minIndexesBeforeStop: 5 };

async function fail(s: FsRunStore, ...ids: string[]): Promise<void> {
  for (const id of ids) await recordOutcome(s, EXEC, { id, outcome: 'failed', reason: 'rejected (400)' });
}

describe('the run-level stop', () => {
  it('does not stop before minIndexesBeforeStop indexes started, however many failed', async () => {
    const s = store();
    await fail(s, 'a', 'b', 'c', 'd');
    for (const position of [0, 1, 2, 3, 4]) expect(await checkBreaker(s, EXEC, SAFETY, position)).toEqual({ stop: false });
  });

  it('stops once more than maxFailedShare of those started failed, and stays stopped for every later index', async () => {
    const s = store();
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
    const s = store();
    await fail(s, 'a', 'b', 'c');
    expect(await checkBreaker(s, EXEC, SAFETY, 6)).toEqual({ stop: false });
    await fail(s, 'd', 'e', 'f');
    for (const position of [6, 7, 100]) expect(await checkBreaker(s, EXEC, { ...SAFETY, maxFailedShare: 1 }, position)).toEqual({ stop: false });
  });

  it('keeps the stops of different executions apart', async () => {
    const s = store();
    await fail(s, 'a', 'b', 'c', 'd', 'e');
    expect((await checkBreaker(s, EXEC, SAFETY, 5)).stop).toBe(true);
    expect(await checkBreaker(s, `${EXEC}-other`, SAFETY, 5)).toEqual({ stop: false });
  });
});
