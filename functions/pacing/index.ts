import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DynamoDbSlotClock } from './dynamodb-slot-clock.ts';
import { FileSlotClock } from './file-slot-clock.ts';
import { Pacer, UNPACED, type CallPacer, type SlotClock } from './pacer.ts';

export { Pacer, UNPACED, type CallPacer, type PaceDecision } from './pacer.ts';

let cached: { key: string; clock: SlotClock } | undefined;

/** PACER_TABLE in AWS (set by the stack); RUN_STORE_DIR/pacer locally; null: unpaced. */
function clockFromEnv(env: NodeJS.ProcessEnv): SlotClock | null {
  const key = `${env['PACER_TABLE'] ?? ''}|${env['RUN_STORE_DIR'] ?? ''}`;
  if (cached?.key === key) return cached.clock;
  let clock: SlotClock | null = null;
  if (env['PACER_TABLE']) clock = new DynamoDbSlotClock(env['PACER_TABLE']);
  else if (env['RUN_STORE_DIR']) clock = new FileSlotClock(join(env['RUN_STORE_DIR'], 'pacer'));
  if (clock) cached = { key, clock };
  return clock;
}

/**
 * The pacer for one OAuth client: the budget is Genesys' per-token limit, shared by everything
 * this client does, so the clock is keyed by the client id (hashed: ids are not for logs).
 */
export function pacerFor(clientId: string, budgetPerMinute: number, env: NodeJS.ProcessEnv = process.env): CallPacer {
  const clock = clockFromEnv(env);
  if (!clock) return UNPACED;
  const key = `genesys-api#${createHash('sha256').update(clientId).digest('hex').slice(0, 16)}`;
  return new Pacer(clock, key, budgetPerMinute);
}
