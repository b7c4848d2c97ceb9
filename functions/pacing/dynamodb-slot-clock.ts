import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SlotClock } from './pacer.ts';

/** Conflicts between concurrent reservations are retried at once; a handful is plenty at API rates. */
const MAX_CONFLICTS = 25;
/** The item outlives any run, then goes: DynamoDB TTL, in seconds. */
const KEEP_SECONDS = 86_400;

/**
 * In AWS: the next free slot in one DynamoDB item per OAuth client, changed with optimistic
 * concurrency (read, then a write conditional on the version read).
 */
export class DynamoDbSlotClock implements SlotClock {
  private readonly table: string;
  private readonly db: DynamoDBClient;

  constructor(table: string, db: DynamoDBClient = new DynamoDBClient({})) {
    this.table = table;
    this.db = db;
  }

  async reserve(key: string, count: number, intervalMs: number, earliestMs: number): Promise<number> {
    for (let conflicts = 0; ; conflicts++) {
      const current = await this.db.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: key } }, ConsistentRead: true }));
      const version = Number(current.Item?.['version']?.N ?? '0');
      const nextFreeMs = Number(current.Item?.['nextFreeMs']?.N ?? '0');
      const start = Math.max(earliestMs, nextFreeMs);
      try {
        await this.db.send(
          new PutItemCommand({
            TableName: this.table,
            Item: {
              pk: { S: key },
              nextFreeMs: { N: String(Math.ceil(start + count * intervalMs)) },
              version: { N: String(version + 1) },
              expiresAt: { N: String(Math.floor(start / 1000) + KEEP_SECONDS) },
            },
            ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
            ExpressionAttributeValues: { ':v': { N: String(version) } },
          }),
        );
        return start;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException) || conflicts >= MAX_CONFLICTS) throw err;
      }
    }
  }
}
