import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SlotClockContentionError, takeSlots, type SlotClock } from './pacer.ts';
import { lazily } from '../shared/lazily.ts';

// On the first reservation.
const dynamodb = lazily(() => import('@aws-sdk/client-dynamodb'));

/** The item outlives any run, then goes: DynamoDB TTL, in seconds. */
const KEEP_SECONDS = 86_400;

/** How conflicting writes are retried; the defaults are production's, tests may replace them. */
export interface ConflictBackoff {
  /** The first back-off's upper bound, ms; it doubles with every conflict in a row... */
  baseMs: number;
  /** ...up to this, ms. */
  capMs: number;
  /** Conflicts in a row are retried until this long (ms) has passed since the reservation began. */
  giveUpAfterMs: number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1). */
  random: () => number;
  /** Epoch ms; must run at the pace of the `nowMs` that reservations are given (real time). */
  now: () => number;
}

export { SlotClockContentionError };

export const DEFAULT_BACKOFF: ConflictBackoff = {
  baseMs: 20,
  capMs: 1_000,
  giveUpAfterMs: 20_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
};

/**
 * In AWS: the taken slots in one DynamoDB item per OAuth client (a few hundred numbers at most:
 * only slots still ahead are kept), changed with optimistic concurrency (read, then a write
 * conditional on the version read).
 *
 * Every Map child reserves on the same item, and up to 40 of them start together, so conflicts
 * come in bursts. Retrying at once (as this did, up to 25 times) makes the losers collide again
 * in lockstep: against a local DynamoDB, a third of a burst of 40 ran out of retries, and each
 * of those indexes failed for nothing. A conflict now backs off with full jitter: a random wait
 * in [0, bound], the bound starting at 20 ms and doubling with each further conflict in a row,
 * up to 1 s. That spreads the losers out, so each round has few contenders. What bounds it is
 * time, not a count: only after 20 s of uninterrupted conflict (a third of the Genesys-calling
 * functions' shortest timeout, 60 s) does it give up, with a Pacer.Contention error saying so
 * (a reservation made before any call then waits in the state machine and asks again: Pacer.reserve);
 * under any real contention the item is free again long before that (test/pacer-contention.test.ts).
 *
 * Time moves on while it backs off, so each attempt books from the time it is made (`earliestMs`
 * and `nowMs` move on by the time spent so far): a slot won after a few seconds of conflict is
 * not already behind its caller, whose call would otherwise come late and crowd the slots of
 * others. (The Pacer, for its part, counts the Wait from when the clock answered.)
 */
export class DynamoDbSlotClock implements SlotClock {
  private readonly table: string;
  /** Made on the first reservation (unless given); one for the clock's life, as the clock is cached. */
  private db: DynamoDBClient | undefined;
  private readonly backoff: ConflictBackoff;

  constructor(table: string, db?: DynamoDBClient, backoff: Partial<ConflictBackoff> = {}) {
    this.table = table;
    this.db = db;
    this.backoff = { ...DEFAULT_BACKOFF, ...backoff };
  }

  async reserve(key: string, count: number, intervalMs: number, earliestMs: number, nowMs: number): Promise<number> {
    const { baseMs, capMs, giveUpAfterMs, sleep, random, now } = this.backoff;
    const began = now();
    // After `began`: loading the client on a cold start is time that passes before the first attempt books.
    const { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } = await dynamodb();
    const db = (this.db ??= new DynamoDBClient({}));
    for (let conflicts = 0; ; conflicts++) {
      const spent = Math.max(0, now() - began);
      const current = await db.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: key } }, ConsistentRead: true }));
      const version = Number(current.Item?.['version']?.N ?? '0');
      const taken = JSON.parse(current.Item?.['taken']?.S ?? '[]') as number[];
      const booked = takeSlots(taken, count, intervalMs, earliestMs + spent, nowMs + spent);
      const start = booked.start;
      try {
        await db.send(
          new PutItemCommand({
            TableName: this.table,
            Item: {
              pk: { S: key },
              taken: { S: JSON.stringify(booked.taken.map((t) => Math.round(t))) },
              version: { N: String(version + 1) },
              expiresAt: { N: String(Math.floor(start / 1000) + KEEP_SECONDS) },
            },
            ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
            ExpressionAttributeValues: { ':v': { N: String(version) } },
          }),
        );
        return start;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        const elapsed = now() - began;
        if (elapsed >= giveUpAfterMs) {
          throw new SlotClockContentionError(
            `pacer clock ${key} (table ${this.table}): ${conflicts + 1} conflicting writes in a row over ${(elapsed / 1000).toFixed(1)} s ` +
              `(the limit is ${giveUpAfterMs / 1000} s of continuous conflict); gave up reserving ${count} slot(s)`,
          );
        }
        // Full jitter; never sleeping past the time bound, so the last attempt comes right at it.
        const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(conflicts, 30));
        await sleep(Math.min(random() * ceiling, giveUpAfterMs - elapsed));
      }
    }
  }
}
