// explain: one line per index of a running or finished run, from the run store. The store is the
// S3 run store against a local S3 server (what a running run has written so far), and the command
// against the SDK boundary in test/execute.test.ts; a finished run end to end in state-machine.test.ts.
import { describe, expect, it } from 'vitest';
import { explainRun, formatExplain } from '../infra/cli/explain.ts';
import { recordOutcome } from '../functions/steps/index-outcomes.ts';
import { recordProgress } from '../functions/steps/index-progress.ts';
import { runKey } from '../functions/store/run-store.ts';
import { useLocalS3 } from './support/local-s3.ts';

const store = useLocalS3();
const EXEC = 'arn:aws:states:us-east-1:123456789012:execution:GenesysIndexOptimizer-Optimizer:weekly';

describe('explain', () => {
  it('a run in progress: how each finished index ended, the step of each running one with its last error, and those not started', async () => {
    const s = await store();
    await s.putJson(runKey(EXEC, 'plan'), {
      entries: [
        { id: 'a', name: 'alpha', decision: 'qualifies' },
        { id: 'b', name: 'beta', decision: 'qualifies' },
        { id: 'c', name: 'gamma', decision: 'qualifies' },
        { id: 'd', name: 'delta', decision: 'qualifies' },
        { id: 'e', name: 'epsilon', decision: 'capacity', reason: 'exceeds maximum node capacity limits (60 shards > 50)' },
      ],
      qualifying: ['a', 'b', 'c', 'd'],
    });
    const t0 = '2026-12-06T03:00:00.000Z';
    await recordOutcome(s, EXEC, { id: 'a', outcome: 'optimized' });
    await recordProgress(s, EXEC, { id: 'a', step: 'healthy', attempts: 1, polls: 1, lastError: null, startedAt: t0, updatedAt: t0 });
    await recordOutcome(s, EXEC, { id: 'b', outcome: 'failed', reason: 'PUT /x: rejected (400): bad directive [correlation id c-b]', errorName: 'Genesys.Rejected' });
    await recordProgress(s, EXEC, { id: 'b', step: 'failed', attempts: 1, polls: 0, lastError: { reason: 'PUT /x: rejected (400): bad directive [correlation id c-b]', correlationId: 'c-b', at: t0 }, startedAt: t0, updatedAt: t0 });
    await recordProgress(s, EXEC, { id: 'c', step: 'PUT retrying after a 429', attempts: 2, polls: 0, lastError: { reason: 'PUT /x: rate limited (429)', correlationId: 'c-c', at: t0 }, startedAt: t0, updatedAt: t0 });

    const rows = await explainRun(s, EXEC);
    expect(rows.map((r) => [r.id, r.outcome, r.detail])).toEqual([
      ['a', 'optimized', null],
      ['b', 'failed', 'PUT /x: rejected (400): bad directive [correlation id c-b]'],
      ['c', 'in progress', 'PUT retrying after a 429'],
      ['d', 'not started', null],
      ['e', 'skipped', 'exceeds maximum node capacity limits (60 shards > 50)'],
    ]);
    expect(rows.find((r) => r.id === 'c')).toMatchObject({ attempts: 2, lastError: { correlationId: 'c-c' }, startedAt: t0 });
    const text = formatExplain(rows);
    // Failures first, the correlation id once, then what is still going.
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^beta\s+failed\s+1\s+2026-12-06T03:00:00\s+PUT \/x: rejected \(400\): bad directive \[correlation id c-b\]$/);
    expect(lines[2]).toMatch(/^gamma\s+in progress: PUT retrying after a 429\s+2\s+2026-12-06T03:00:00\s+last error: PUT \/x: rate limited \(429\) \[correlation id c-c\]$/);
    expect(lines.at(-1)).toBe('5 indexes: 1 optimized, 1 skipped, 1 failed, 1 in progress, 1 not started');
  });

  it('a run that has not planned yet says so', async () => {
    await expect(explainRun(await store(), EXEC)).rejects.toThrow(/has no plan yet/);
  });
});
