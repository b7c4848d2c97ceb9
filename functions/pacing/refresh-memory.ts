/**
 * How long this org's index refreshes have been seen to take: the longest time from an accepted
 * PUT to the first healthy read among indexes that were still refreshing at an earlier read (an
 * index healthy at its first read only says the refresh took no longer than the wait, which
 * teaches nothing). Kept per OAuth client in the pacer's table, beside its clock, so concurrent
 * functions of a run and the org's later runs share it: raised atomically (a conditional update,
 * no read first), forgotten after FORGET_AFTER_DAYS without a longer refresh.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lazily } from '../shared/lazily.ts';

export interface RefreshMemory {
  /** The longest refresh seen recently, in seconds, or null when none is known. */
  expected(): Promise<number | null>;
  /** An index that was still refreshing at an earlier read was healthy `seconds` after its PUT. */
  observe(seconds: number): Promise<void>;
}

export const FORGET_AFTER_DAYS = 30;

/** No table: nothing remembered, every first read at the settle time. */
export const NO_MEMORY: RefreshMemory = { expected: async () => null, observe: async () => undefined };

// On the first read or observation, like the slot clock's.
const dynamodb = lazily(() => import('@aws-sdk/client-dynamodb'));

export class DynamoDbRefreshMemory implements RefreshMemory {
  private readonly table: string;
  private readonly key: string;
  private readonly now: () => number;
  private client: DynamoDBClient | undefined;

  constructor(table: string, key: string, now: () => number = Date.now) {
    this.table = table;
    this.key = key;
    this.now = now;
  }

  private async db(): Promise<DynamoDBClient> {
    this.client ??= new (await dynamodb()).DynamoDBClient({});
    return this.client;
  }

  async expected(): Promise<number | null> {
    const { GetItemCommand } = await dynamodb();
    const { Item } = await (await this.db()).send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: this.key } } }));
    const seconds = Number(Item?.['longestSeconds']?.N);
    const at = Number(Item?.['observedAt']?.N);
    if (!Number.isFinite(seconds) || !Number.isFinite(at)) return null;
    return at >= this.staleBefore() ? seconds : null;
  }

  async observe(seconds: number): Promise<void> {
    const { ConditionalCheckFailedException, UpdateItemCommand } = await dynamodb();
    const nowS = Math.floor(this.now() / 1000);
    try {
      await (await this.db()).send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: this.key } },
          UpdateExpression: 'SET longestSeconds = :s, observedAt = :now, expiresAt = :expires',
          // Only ever raised, unless what is kept is too old to trust.
          ConditionExpression: 'attribute_not_exists(longestSeconds) OR longestSeconds < :s OR observedAt < :stale',
          ExpressionAttributeValues: {
            ':s': { N: String(Math.ceil(seconds)) },
            ':now': { N: String(nowS) },
            ':stale': { N: String(this.staleBefore()) },
            ':expires': { N: String(nowS + FORGET_AFTER_DAYS * 86_400) },
          },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  private staleBefore(): number {
    return Math.floor(this.now() / 1000) - FORGET_AFTER_DAYS * 86_400;
  }
}
