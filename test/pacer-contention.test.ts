// The shared pacer clock under the contention a run really puts on it: 40 Map children reserving
// on one DynamoDB item, against a real-protocol DynamoDB (dynalite, in process) through the real
// SDK client, the real DynamoDbSlotClock and the real Pacer.
//
// Only the Wait states are simulated: time is virtual, but it runs at real pace while anyone is
// working (DynamoDB round trips, the clock's back-off), and jumps ahead to the next wake-up only
// when every child is in a Wait. So the children really race on the item, time spent on
// conflicts really delays their calls, and minutes of calls take seconds.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSlotClock, SlotClockContentionError } from '../functions/pacing/dynamodb-slot-clock.ts';
import { CONTENDED_WAIT_SECONDS, EARLY_MS, Pacer, slotIntervalMs, type SlotClock } from '../functions/pacing/pacer.ts';
import { optimizeIndex, type OptimizeRequest } from '../functions/steps/optimize-index.ts';
import { verifyIndex, type VerifyRequest } from '../functions/steps/verify-index.ts';
import { NOT_MEASURED } from '../functions/domain/effect.ts';
import type { GenesysClient } from '../functions/genesys/client.ts';
import { DEFAULT_DIRECTIVES } from '../functions/domain/directives.ts';
import { DEFAULT_RETRIES } from '../functions/domain/execution-input.ts';

// dynalite ships no types: it is loaded as the CommonJS module it is.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs?: number }) => Server;

/** Deterministic randomness (mulberry32) for the workload; the clock's own jitter stays real. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Virtual epoch ms: real pace while any task works, a jump to the next wake-up when all of them
 * wait in sleepUntil (a Wait state).
 */
class VirtualTime {
  private offset: number;
  private live = 0;
  private readonly timers: { at: number; wake: () => void }[] = [];
  private pump: NodeJS.Timeout | undefined;

  constructor(startMs: number) {
    this.offset = startMs - performance.now();
  }

  readonly now = (): number => performance.now() + this.offset;

  /** Runs the tasks together; each counts as working except while in sleepUntil. */
  async all(tasks: (() => Promise<void>)[]): Promise<void> {
    this.live += tasks.length;
    await Promise.all(
      tasks.map(async (task) => {
        try {
          await task();
        } finally {
          this.live--;
          this.tick();
        }
      }),
    );
  }

  sleepUntil(at: number): Promise<void> {
    return new Promise((wake) => {
      this.timers.push({ at, wake });
      this.tick();
    });
  }

  private readonly tick = (): void => {
    clearTimeout(this.pump);
    this.pump = undefined;
    if (this.timers.length === 0) return;
    this.timers.sort((a, b) => a.at - b.at);
    // Everyone is waiting: nothing can happen before the first wake-up, so go there.
    if (this.timers.length === this.live && this.timers[0]!.at > this.now()) this.offset += this.timers[0]!.at - this.now();
    const now = this.now();
    while (this.timers.length > 0 && this.timers[0]!.at <= now) this.timers.shift()!.wake();
    if (this.timers.length > 0) this.pump = setTimeout(this.tick, this.timers[0]!.at - now);
  };
}

/** The most calls in any 60 s window (closed), checking the window that starts at each call. */
function mostInAMinute(calls: readonly number[]): { most: number; from: number } {
  const sorted = [...calls].sort((a, b) => a - b);
  let best = { most: 0, from: sorted[0] ?? 0 };
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! <= sorted[i]! + 60_000) j++;
    if (j - i > best.most) best = { most: j - i, from: sorted[i]! };
  }
  return best;
}

describe('the pacer clock in DynamoDB, under the contention of 40 Map children', () => {
  const TABLE = 'pacer';
  let server: Server;
  let db: DynamoDBClient;
  let conflicts = 0;

  beforeAll(async () => {
    server = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    db = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    // Every conditional write that lost a race, as the clock saw it.
    db.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if (err instanceof ConditionalCheckFailedException) conflicts++;
          throw err;
        }
      },
      { step: 'initialize', name: 'countConflicts' },
    );
    // As the stack creates it (its TTL on expiresAt is not something dynalite does).
    await db.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });

  afterAll(async () => {
    db?.destroy();
    if (server) await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('loses no reservation to a conflict, and keeps every 60 s window of calls within the budget', { timeout: 60_000 }, async () => {
    const BUDGET = 150;
    const CHILDREN = 40;
    const INDEXES = 120;
    /** Between a step's end and the next step's calls (Lambda start, Choice, Map scheduling). */
    const MAX_DELAY_MS = 2_000;
    const SETTLE_SECONDS = 5;
    const POLL_SECONDS = 2;
    const KEY = 'genesys-api#contention';
    const interval = slotIntervalMs(BUDGET);
    /** A reservation's last round trip to DynamoDB (ms here; its back-off before it can take seconds). */
    const LATE_MARGIN_MS = 400;

    const time = new VirtualTime(Date.parse('2026-03-02T09:00:00Z'));
    const started = time.now();
    /** Each Genesys call: when the workflow makes it, its slot, and when the Wait before it ended (or the call itself, made at once). */
    const calls: { at: number; slot: number; waitEnded: number }[] = [];
    const failures: string[] = [];
    let reservations = 0;
    let longestReservationMs = 0;
    let nextIndex = 0;

    const child = async (): Promise<void> => {
      // Each child is its own Lambda instances, with its own clock object; the item is shared.
      const clock = new DynamoDbSlotClock(TABLE, db);
      let slot = NaN;
      const recording: SlotClock = { reserve: async (...args) => (slot = await clock.reserve(...args)) };
      const pacer = new Pacer(recording, KEY, BUDGET, time.now);
      const reserving = async <T,>(reservation: Promise<T>): Promise<T> => {
        reservations++;
        const began = time.now();
        const result = await reservation;
        longestReservationMs = Math.max(longestReservationMs, time.now() - began);
        return result;
      };
      const call = (at: number, waitEnded: number, count: number) => {
        for (let i = 0; i < count; i++) calls.push({ at, slot: slot + i * interval, waitEnded });
      };

      for (let first = true; nextIndex < INDEXES; first = false) {
        const rng = seeded(1_000 + nextIndex++);
        const delay = () => rng() * MAX_DELAY_MS;
        /** reserve(): call at once when told to, otherwise after the Wait and the next invocation. */
        const paced = async (count: number) => {
          const pace = await reserving(pacer.reserve(count));
          if (pace.callNow) return call(time.now(), time.now(), count);
          const waitEnded = time.now() + pace.waitSeconds * 1000;
          const at = waitEnded + delay();
          await time.sleepUntil(at);
          call(at, waitEnded, count);
        };
        /** scheduleAfter(): the Wait it returns, then the next invocation makes the call. */
        const after = async (count: number, minWaitSeconds: number) => {
          const { waitSeconds } = await reserving(pacer.scheduleAfter(count, minWaitSeconds));
          const waitEnded = time.now() + waitSeconds * 1000;
          const at = waitEnded + delay();
          await time.sleepUntil(at);
          call(at, waitEnded, count);
        };
        const nextStep = () => time.sleepUntil(time.now() + delay());

        try {
          // The first 40 children start together; later ones as earlier ones end.
          if (!first) await nextStep();
          // A one-call reservation (a listing page, the latency probe).
          await paced(1);
          // Optimize: the health pre-check and the PUT, back to back.
          await nextStep();
          await paced(2);
          // Now and then the PUT is throttled: again after its Retry-After.
          if (rng() < 0.25) await after(1, 1 + Math.floor(rng() * 5));
          // Settle, then health reads until the index is done refreshing.
          await after(1, SETTLE_SECONDS);
          for (let polls = Math.floor(rng() * 4); polls > 0; polls--) await after(1, POLL_SECONDS);
        } catch (err) {
          failures.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
        }
      }
    };

    const realStart = performance.now();
    await time.all(Array.from({ length: CHILDREN }, () => child));
    const realSeconds = (performance.now() - realStart) / 1000;

    const times = calls.map((c) => c.at);
    const { most, from } = mostInAMinute(times);
    const simulatedMinutes = (Math.max(...times) - started) / 60_000;
    const late = Math.max(...calls.map((c) => c.at - c.slot));
    const early = Math.max(...calls.map((c) => c.slot - c.at));
    const waitsLate = Math.max(...calls.map((c) => c.waitEnded - c.slot));
    console.log(
      `${reservations} reservations by ${CHILDREN} children: ${conflicts} conflicts, the longest took ${longestReservationMs.toFixed(0)} ms; ` +
        `${calls.length} calls over ${simulatedMinutes.toFixed(1)} simulated minutes in ${realSeconds.toFixed(1)} s; ` +
        `most in a 60 s window: ${most} (budget ${BUDGET}), from +${((from - started) / 1000).toFixed(1)} s; ` +
        `calls ${early.toFixed(0)} ms early to ${late.toFixed(0)} ms late, Waits ending up to ${waitsLate.toFixed(0)} ms after their slot`,
    );

    expect(failures, 'reservations that threw').toEqual([]);
    expect(calls.length).toBeGreaterThanOrEqual(INDEXES * 5);
    // The children really raced: without conflicts this test would prove nothing about them.
    expect(conflicts).toBeGreaterThan(0);
    // Time spent backing off does not make calls late (they would crowd the slots of others): a
    // Wait ends by its slot, and a call made at once is made when its write lands, give or take
    // that last round trip; the longest reservations take a second or more.
    expect(waitsLate).toBeLessThan(LATE_MARGIN_MS);
    // Nor earlier: EARLY_MS, and one interval more for the second call of a pair.
    expect(early).toBeLessThanOrEqual(EARLY_MS + interval);
    // Several minutes, and the budget was the limit (not a trivially idle clock)...
    expect(simulatedMinutes).toBeGreaterThan(3);
    expect(most).toBeGreaterThan(BUDGET * 0.85);
    // ...and it held in every window.
    expect(most, `calls in the 60 s from +${((from - started) / 1000).toFixed(1)} s`).toBeLessThanOrEqual(BUDGET);
  });
});

describe('DynamoDbSlotClock backing off from conflicts', () => {
  const conflict = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

  /** A clock on fake time: sleeping moves it on, and so does every DynamoDB round trip (5 ms). */
  function fakeTime(randoms: () => number) {
    const t = { now: 1_000_000, sleeps: [] as number[] };
    // This client only: the one talking to dynalite above stays real.
    const client = new DynamoDBClient({ region: 'eu-west-1' });
    const ddb = mockClient(client);
    ddb.on(GetItemCommand).callsFake(() => {
      t.now += 5;
      return {};
    });
    const clock = new DynamoDbSlotClock('pacer', client, {
      now: () => t.now,
      random: randoms,
      sleep: async (ms) => {
        t.sleeps.push(ms);
        t.now += ms;
      },
    });
    return { t, clock, ddb };
  }

  it('waits a random part of a bound that doubles with each conflict in a row, up to 1 s, and books from when it finally writes', async () => {
    const randoms = [0.9, 0.3, 0.7, 0.5, 0.8, 0.2, 0.6, 0.4];
    const { t, clock, ddb } = fakeTime(() => randoms[t.sleeps.length]!);
    let puts = 0;
    ddb.on(PutItemCommand).callsFake(() => {
      t.now += 5;
      if (++puts <= randoms.length) throw conflict();
      return {};
    });
    const start = await clock.reserve('org', 1, 100, 1_000_000, 1_000_000);
    const bounds = [20, 40, 80, 160, 320, 640, 1_000, 1_000];
    expect(t.sleeps).toHaveLength(randoms.length);
    t.sleeps.forEach((ms, i) => expect(ms).toBeCloseTo(randoms[i]! * bounds[i]!, 9));
    // Jitter: not a fixed ladder (the waits do not just grow), though the bound they are drawn from does.
    expect(t.sleeps.some((ms, i) => i > 0 && ms < t.sleeps[i - 1]!)).toBe(true);
    expect(t.sleeps.slice(4).reduce((a, b) => a + b)).toBeGreaterThan(4 * t.sleeps.slice(0, 4).reduce((a, b) => a + b));
    // Its slot is no earlier than the last attempt's read: time went on while it backed off.
    expect(start).toBeCloseTo(1_000_000 + t.sleeps.reduce((a, b) => a + b) + 2 * 5 * randoms.length, 6);
  });

  it('keeps trying through 20 s of continuous conflict, then gives up saying so', async () => {
    const jitter = seeded(7);
    const { t, clock, ddb } = fakeTime(jitter);
    ddb.on(PutItemCommand).callsFake(() => {
      t.now += 5;
      throw conflict();
    });
    const began = t.now;
    const err = await clock.reserve('genesys-api#abc', 2, 400, began, began).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlotClockContentionError);
    expect((err as Error).name).toBe('Pacer.Contention');
    expect((err as Error).message).toMatch(/^pacer clock genesys-api#abc \(table pacer\): \d+ conflicting writes in a row over 20\.0 s \(the limit is 20 s of continuous conflict\); gave up reserving 2 slot\(s\)$/);
    expect(t.now - began).toBeGreaterThanOrEqual(20_000);
    expect(t.now - began).toBeLessThan(20_100);
    // Far more attempts than the 25 immediate retries it used to allow, each wait within the 1 s cap.
    expect(ddb.commandCalls(PutItemCommand).length).toBeGreaterThan(30);
    expect(Math.max(...t.sleeps)).toBeLessThanOrEqual(1_000);
  });

  /** A clock whose every write conflicts while `contention.on`, on fake time. */
  function contendedClock(randoms: () => number) {
    const { t, clock, ddb } = fakeTime(randoms);
    const contention = { on: true };
    ddb.on(PutItemCommand).callsFake(() => {
      t.now += 5;
      if (contention.on) throw conflict();
      return {};
    });
    return { t, clock, ddb, contention };
  }

  /** A Genesys client whose index is green and takes every PUT, recording the calls made. */
  function recordingClient() {
    const calls: string[] = [];
    const client = {
      getHealth: async () => (calls.push('health'), { state: 'reported', health: { status: 'green' } }),
      putOptimization: async () => (calls.push('put'), { status: 202 }),
    } as unknown as GenesysClient;
    return { calls, client };
  }

  it('a first reservation that gives up costs its index a Wait and another try, not its run: nothing called, nothing failed', async () => {
    const { t, clock, ddb, contention } = contendedClock(seeded(11));
    const waits: number[] = [];
    for (let seed = 0; seed < 20; seed++) {
      const pacer = new Pacer(clock, 'genesys-api#abc', 150, () => t.now, seeded(seed));
      const pace = await pacer.reserve(2);
      expect(pace).toMatchObject({ callNow: false, reserved: false });
      waits.push((pace as { waitSeconds: number }).waitSeconds);
    }
    // Spread over 1–5 s, so the contenders do not come back together.
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...waits)).toBeLessThanOrEqual(CONTENDED_WAIT_SECONDS);
    expect(new Set(waits).size).toBeGreaterThan(2);

    // Through the optimize step: the retry holds no slot, so the next invocation reserves again,
    // and only then calls.
    const { calls, client } = recordingClient();
    const pacer = new Pacer(clock, 'genesys-api#abc', 150, () => t.now);
    const req: OptimizeRequest = {
      indexId: 'x',
      directives: DEFAULT_DIRECTIVES,
      healthCheckBeforePut: true,
      timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 30 },
      retries: DEFAULT_RETRIES,
      progress: { attempts: 0, prechecked: false },
    };
    const first = await optimizeIndex(client, req, pacer, undefined, () => t.now);
    expect(first).toMatchObject({ status: 'retry', cause: 'paced', slotReserved: false, attempts: 0 });
    expect(calls).toEqual([]);
    contention.on = false;
    const second = await optimizeIndex(client, { ...req, progress: first as OptimizeRequest['progress'] }, pacer, undefined, () => t.now);
    expect(second).toMatchObject({ status: 'accepted', attempts: 1 });
    expect(calls).toEqual(['health', 'put']);
  });

  it('a clock too contended after a call does not fail the index: an accepted PUT stays accepted, and the read reserves its slot before it reads', async () => {
    const { t, clock, ddb, contention } = contendedClock(seeded(5));
    const { calls, client } = recordingClient();
    const pacer = new Pacer(clock, 'genesys-api#abc', 150, () => t.now);
    const timing = { settleSeconds: 3, healthPollSeconds: 1, healthTimeoutSeconds: 30 };
    const req: OptimizeRequest = {
      indexId: 'x',
      directives: DEFAULT_DIRECTIVES,
      healthCheckBeforePut: false,
      timing,
      retries: DEFAULT_RETRIES,
      // Its slot was reserved by an earlier invocation: it calls at once, then meets the contended clock.
      progress: { attempts: 0, prechecked: false, slotReserved: true },
    };
    const accepted = await optimizeIndex(client, req, pacer, undefined, () => t.now);
    expect(accepted).toMatchObject({ status: 'accepted', settleSeconds: 3, readReserved: false });
    expect(calls).toEqual(['put']);

    const verify: VerifyRequest = {
      indexId: 'x',
      healthDeadline: new Date(t.now + 30_000).toISOString(),
      timing,
      retries: DEFAULT_RETRIES,
      before: NOT_MEASURED,
      maxLatencyRegression: 0.2,
      readReserved: false,
      progress: { polls: 0 },
    };
    // Still contended: no read, a Wait for its turn, the same count of reads.
    const paced = await verifyIndex(client, verify, pacer, () => t.now);
    expect(paced).toMatchObject({ status: 'poll', cause: 'paced', polls: 0, readReserved: false });
    expect(calls).toEqual(['put']);
    // The clock answers again: the slot is reserved, then the read is made.
    contention.on = false;
    const healthy = await verifyIndex(client, { ...verify, progress: paced as VerifyRequest['progress'] }, pacer, () => t.now);
    expect(healthy).toMatchObject({ status: 'healthy', polls: 1 });
    expect(calls).toEqual(['put', 'health']);
    // A read whose slot was reserved reads at once, without asking the clock.
    const before = ddb.commandCalls(PutItemCommand).length;
    contention.on = true;
    expect(await verifyIndex(client, { ...verify, readReserved: true }, pacer, () => t.now)).toMatchObject({ status: 'healthy' });
    expect(ddb.commandCalls(PutItemCommand).length).toBe(before);
  });

  it('a clock error that is not contention still fails the reservation', async () => {
    const { clock, ddb } = fakeTime(Math.random);
    ddb.on(PutItemCommand).rejects(new Error('AccessDeniedException'));
    await expect(new Pacer(clock, 'org', 150).reserve(1)).rejects.toThrow('AccessDeniedException');
  });

  it('does not retry what is not a conflict', async () => {
    const { t, clock, ddb } = fakeTime(Math.random);
    ddb.on(PutItemCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    await expect(clock.reserve('org', 1, 100, 0, 0)).rejects.toThrow('ProvisionedThroughputExceeded');
    expect(t.sleeps).toEqual([]);
  });
});
