/**
 * How long this org's index refreshes have been seen to take, kept per OAuth client in the pacer's
 * table, beside its clock, so concurrent functions of a run and the org's later runs share it:
 *
 * - the org's: the longest time from an accepted PUT to the first healthy read among indexes that
 *   were still refreshing at an earlier read (an index healthy at its first read only says the
 *   refresh took no longer than the wait). Raised atomically (a conditional update, no read
 *   first), forgotten after FORGET_AFTER_DAYS without a longer refresh. It times the first read of
 *   an index the org's runs have not seen yet.
 * - each index's own: when it was last healthy after its PUT, so that a quick index is read at the
 *   settle and a slow one when its own refresh is over, rather than every index at the org's
 *   longest. Set from a read that followed one finding it refreshing (its refresh ended between
 *   the two); lowered by a first read that found it healthy already (it took no longer). One
 *   small item per index (its id hashed), expiring like the org's.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lazily } from '../shared/lazily.ts';

export interface RefreshMemory {
  /** How long this index's refresh should take, in seconds: its own if known, else the org's longest seen recently; null when neither is. */
  expected(indexId: string): Promise<number | null>;
  /**
   * The index was healthy `seconds` after its PUT: `afterRefreshing`, at a read that followed one
   * finding it still refreshing; otherwise at its first read.
   */
  observe(indexId: string, seconds: number, afterRefreshing: boolean): Promise<void>;
}

export const FORGET_AFTER_DAYS = 30;

/** No table: nothing remembered, every first read at the settle time. */
export const NO_MEMORY: RefreshMemory = { expected: async () => null, observe: async () => undefined };

/** An index's own item, beside the org's: its id hashed (ids are the org's data, and keys have a length limit). */
export function indexKey(orgKey: string, indexId: string): string {
  return `${orgKey}#${createHash('sha256').update(indexId).digest('hex').slice(0, 24)}`;
}

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

  async expected(indexId: string): Promise<number | null> {
    const { GetItemCommand } = await dynamodb();
    const db = await this.db();
    const read = async (pk: string, field: string) => {
      const { Item } = await db.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: pk } } }));
      const seconds = Number(Item?.[field]?.N);
      const at = Number(Item?.['observedAt']?.N);
      return Number.isFinite(seconds) && Number.isFinite(at) && at >= this.staleBefore() ? seconds : null;
    };
    const [own, org] = await Promise.all([read(indexKey(this.key, indexId), 'seconds'), read(this.key, 'longestSeconds')]);
    return own ?? org;
  }

  async observe(indexId: string, seconds: number, afterRefreshing: boolean): Promise<void> {
    const { ConditionalCheckFailedException, UpdateItemCommand } = await dynamodb();
    const nowS = Math.floor(this.now() / 1000);
    const s = { N: String(Math.ceil(seconds)) };
    const expires = { N: String(nowS + FORGET_AFTER_DAYS * 86_400) };
    const db = await this.db();
    const conditional = async (command: InstanceType<typeof UpdateItemCommand>) => {
      try {
        await db.send(command);
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    };
    // The index's own: what this read bounds. After a read that found it refreshing, that is when
    // its refresh ended (it may have grown); a first read only says it took no longer than this.
    const own = new UpdateItemCommand({
      TableName: this.table,
      Key: { pk: { S: indexKey(this.key, indexId) } },
      UpdateExpression: 'SET seconds = :s, observedAt = :now, expiresAt = :expires',
      ...(afterRefreshing ? {} : { ConditionExpression: 'attribute_not_exists(seconds) OR seconds > :s OR observedAt < :stale' }),
      ExpressionAttributeValues: { ':s': s, ':now': { N: String(nowS) }, ':expires': expires, ...(afterRefreshing ? {} : { ':stale': { N: String(this.staleBefore()) } }) },
    });
    if (!afterRefreshing) return conditional(own);
    // The org's longest: only ever raised, unless what is kept is too old to trust.
    const org = new UpdateItemCommand({
      TableName: this.table,
      Key: { pk: { S: this.key } },
      UpdateExpression: 'SET longestSeconds = :s, observedAt = :now, expiresAt = :expires',
      ConditionExpression: 'attribute_not_exists(longestSeconds) OR longestSeconds < :s OR observedAt < :stale',
      ExpressionAttributeValues: { ':s': s, ':now': { N: String(nowS) }, ':stale': { N: String(this.staleBefore()) }, ':expires': expires },
    });
    await Promise.all([conditional(own), conditional(org)]);
  }

  private staleBefore(): number {
    return Math.floor(this.now() / 1000) - FORGET_AFTER_DAYS * 86_400;
  }
}
