import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { takeSlots, type SlotClock } from './pacer.ts';

/** Conflicts between concurrent reservations are retried at once; a handful is plenty at API rates. */
const MAX_CONFLICTS = 25;
/** The item outlives any run, then goes: DynamoDB TTL, in seconds. */
const KEEP_SECONDS = 86_400;

/**
 * In AWS: the taken slots in one DynamoDB item per OAuth client (a few hundred numbers at most:
 * only slots still ahead are kept), changed with optimistic concurrency (read, then a write
 * conditional on the version read).
 */
export class DynamoDbSlotClock implements SlotClock {
  private readonly table: string;
  private readonly db: DynamoDBClient;

  constructor(table: string, db: DynamoDBClient = new DynamoDBClient({})) {
    this.table = table;
    this.db = db;
  }

  async reserve(key: string, count: number, intervalMs: number, earliestMs: number, nowMs: number): Promise<number> {
    for (let conflicts = 0; ; conflicts++) {
      const current = await this.db.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: key } }, ConsistentRead: true }));
      const version = Number(current.Item?.['version']?.N ?? '0');
      const taken = JSON.parse(current.Item?.['taken']?.S ?? '[]') as number[];
      const booked = takeSlots(taken, count, intervalMs, earliestMs, nowMs);
      const start = booked.start;
      try {
        await this.db.send(
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
        if (!(err instanceof ConditionalCheckFailedException) || conflicts >= MAX_CONFLICTS) throw err;
      }
    }
  }
}
