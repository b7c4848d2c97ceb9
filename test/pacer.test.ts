import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbSlotClock } from '../functions/pacing/dynamodb-slot-clock.ts';
import { EARLY_MS, LATE_MS, Pacer, slotIntervalMs, takeSlots, type SlotClock } from '../functions/pacing/pacer.ts';
import { useLocalRuns } from './support/local-run.ts';

/** An in-memory clock, to test the Pacer's arithmetic on its own. */
class MemoryClock implements SlotClock {
  taken: number[] = [];
  async reserve(_key: string, count: number, intervalMs: number, earliestMs: number, nowMs: number): Promise<number> {
    const booked = takeSlots(this.taken, count, intervalMs, earliestMs, nowMs);
    this.taken = booked.taken;
    return booked.start;
  }
}

describe('takeSlots', () => {
  it('takes the first run of free slots, filling the gaps that reservations made ahead leave', () => {
    // A health read booked 30 s ahead must not push everyone else behind it.
    let book = takeSlots([], 1, 1000, 30_000, 0);
    expect(book.start).toBe(30_000);
    book = takeSlots(book.taken, 2, 1000, 0, 0);
    expect(book.start).toBe(0);
    book = takeSlots(book.taken, 1, 1000, 0, 0);
    expect(book.start).toBe(2_000);
    // Two consecutive slots do not fit in front of the one at 30 s when they would touch it.
    book = takeSlots(book.taken, 2, 1000, 28_500, 0);
    expect(book.start).toBe(31_000);
    expect(book.taken).toEqual([0, 1_000, 2_000, 30_000, 31_000, 32_000]);
  });

  it('keeps every two slots at least an interval apart, however they are asked for', () => {
    let taken: number[] = [];
    const asks = [[3, 500], [1, 0], [2, 2_000], [1, 100], [4, 50], [1, 7_000], [2, 0], [1, 6_900]] as const;
    for (const [count, earliest] of asks) taken = takeSlots(taken, count, 400, earliest, 0).taken;
    expect(taken).toHaveLength(15);
    for (let i = 1; i < taken.length; i++) expect(taken[i]! - taken[i - 1]!).toBeGreaterThanOrEqual(400);
  });

  it('forgets slots that are over', () => {
    expect(takeSlots([1_000, 2_000, 9_000], 1, 500, 10_000, 10_000).taken).toEqual([10_000]);
  });
});

describe('slot interval', () => {
  it('leaves room for calls made early, late or as a pair, and still uses over 90% of the budget', () => {
    const interval = slotIntervalMs(150);
    expect(interval).toBeCloseTo((60_000 + EARLY_MS + LATE_MS) / 148, 6);
    // The most calls a 60 s window can hold: slots in 60 s + EARLY + LATE + one interval.
    expect(Math.floor((60_000 + EARLY_MS + LATE_MS + interval) / interval) + 1).toBeLessThanOrEqual(150);
    expect(60_000 / interval / 150).toBeGreaterThanOrEqual(0.9);
  });
});

describe('Pacer', () => {
  it('calls at once while slots are free, then asks for whole-second waits that cover the slot', async () => {
    let now = 1_000_000;
    const clock = new MemoryClock();
    const pacer = new Pacer(clock, 'k', 60, () => now); // one slot every ~1.07 s
    const interval = slotIntervalMs(60);
    expect(await pacer.reserve(2)).toEqual({ callNow: true });
    // The next slot is 2 intervals away (~2.1 s): more than EARLY_MS, so wait.
    const later = await pacer.reserve(1);
    expect(later.callNow).toBe(false);
    expect((later as { slotMs: number }).slotMs).toBeCloseTo(now + 2 * interval, 6);
    const wait = (later as { waitSeconds: number }).waitSeconds;
    expect(now + wait * 1000).toBeGreaterThanOrEqual(now + 2 * interval - EARLY_MS);
    now += 10_000;
    expect(await pacer.reserve(1)).toEqual({ callNow: true });
  });

  it('never shortens a wait that was asked for (Retry-After), and lengthens it when the budget is busy', async () => {
    const now = 5_000_000;
    const clock = new MemoryClock();
    const pacer = new Pacer(clock, 'k', 60, () => now);
    expect(await pacer.scheduleAfter(1, 7)).toEqual({ waitSeconds: 7, reserved: true });
    // Every slot for the next 30 s is taken: the wait grows to the first free one.
    const interval = slotIntervalMs(60);
    clock.taken = Array.from({ length: Math.ceil(30_000 / interval) + 1 }, (_, i) => now + i * interval);
    expect((await pacer.scheduleAfter(1, 7)).waitSeconds).toBeGreaterThanOrEqual(Math.ceil((30_000 - EARLY_MS) / 1000));
  });
});

describe('DynamoDbSlotClock', () => {
  const ddb = mockClient(DynamoDBClient);
  beforeEach(() => ddb.reset());
  // The mock replaces every DynamoDBClient in the process: the local runs below must reach the real server.
  afterAll(() => ddb.restore());

  it('reads the taken slots, writes its own under a version condition, and retries a conflict', async () => {
    ddb
      .on(GetItemCommand)
      .resolvesOnce({ Item: { pk: { S: 'org' }, taken: { S: '[5000]' }, version: { N: '3' } } })
      .resolvesOnce({ Item: { pk: { S: 'org' }, taken: { S: '[4000,5000]' }, version: { N: '4' } } });
    ddb
      .on(PutItemCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'conflict', $metadata: {} }))
      .resolves({});
    const start = await new DynamoDbSlotClock('pacer', new DynamoDBClient({ region: 'eu-west-1' })).reserve('org', 2, 100, 4_000, 4_000);
    // 4000 and 5000 are taken: the first two free slots in a row from 4000 are 4100 and 4200.
    expect(start).toBe(4100);
    const puts = ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts[1]).toMatchObject({
      TableName: 'pacer',
      Item: { pk: { S: 'org' }, taken: { S: '[4000,4100,4200,5000]' }, version: { N: '5' } },
      ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
      ExpressionAttributeValues: { ':v': { N: '4' } },
    });
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it('starts a fresh clock when there is no item yet', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb.on(PutItemCommand).resolves({});
    // The clock's own time stands still, so no time passes between asking and booking (the client
    // loads on the first reservation, and real milliseconds spent there would move the slot on).
    expect(await new DynamoDbSlotClock('pacer', new DynamoDBClient({ region: 'eu-west-1' }), { now: () => 9_000 }).reserve('org', 1, 100, 9_000, 9_000)).toBe(9_000);
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({ ':v': { N: '0' } });
  });
});

describe('a paced run through the state machine', { timeout: 90_000 }, () => {
  const runs = useLocalRuns();

  it('keeps every window of API calls within the budget, and optimizes every index', async () => {
    const budget = 240;
    const indexes = Array.from({ length: 20 }, (_, i) => ({
      id: `idx-${i}`,
      name: `paced-${i}`,
      shardCount: 2,
      replicaCount: 1,
      storageBytes: 1_000,
      status: 'active',
      behaviour: { refreshSeconds: 0 },
    }));
    const sim = await runs.startSim({ org: { rateLimitPerMinute: 100_000 }, indexes });
    const r = await runs.runAgainst(sim, { apiBudgetPerMinute: budget, timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 60 }, maxConcurrency: 20 });
    expect(r.result.report?.summary).toMatchObject({ total: 20, optimized: 20, failed: 0 });
    const calls = r.sim.requests.filter((q) => q.endpoint !== 'token').map((q) => q.at).sort((a, b) => a - b);
    expect(calls.length).toBeGreaterThanOrEqual(20 * 3);
    // Any window of W ms holds at most the slots of W + EARLY + LATE + one interval, plus one.
    const interval = slotIntervalMs(budget);
    for (const windowMs of [2_000, 5_000]) {
      const cap = Math.floor((windowMs + EARLY_MS + LATE_MS + interval) / interval) + 1;
      let most = 0;
      for (let i = 0, j = 0; i < calls.length; i++) {
        while (calls[i]! - calls[j]! > windowMs) j++;
        most = Math.max(most, i - j + 1);
      }
      expect(most, `API calls in any ${windowMs} ms window`).toBeLessThanOrEqual(cap);
    }
  });
});
