import { createHash } from 'node:crypto';
import { DynamoDbSlotClock } from './dynamodb-slot-clock.ts';
import { Pacer, UNPACED, type CallPacer, type SlotClock } from './pacer.ts';

export { Pacer, UNPACED, type CallPacer, type PaceDecision } from './pacer.ts';

let cached: { key: string; clock: SlotClock } | undefined;

/** PACER_TABLE, set by the stack; null: unpaced. */
function clockFromEnv(env: NodeJS.ProcessEnv): SlotClock | null {
  // The endpoint is part of the key only for processes that talk to more than one (local runs, tests).
  const key = `${env['PACER_TABLE'] ?? ''}|${env['AWS_ENDPOINT_URL'] ?? ''}`;
  if (cached?.key === key) return cached.clock;
  const clock = env['PACER_TABLE'] ? new DynamoDbSlotClock(env['PACER_TABLE']) : null;
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
