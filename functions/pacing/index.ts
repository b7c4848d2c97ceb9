import { createHash } from 'node:crypto';
import { DynamoDbSlotClock } from './dynamodb-slot-clock.ts';
import { Pacer, UNPACED, type CallPacer, type SlotClock } from './pacer.ts';
import { DynamoDbRefreshMemory, NO_MEMORY, type RefreshMemory } from './refresh-memory.ts';

export { Pacer, UNPACED, type CallPacer, type PaceDecision } from './pacer.ts';
export type { RefreshMemory } from './refresh-memory.ts';

let cached: { key: string; clock: SlotClock } | undefined;
let cachedMemory: { key: string; memory: RefreshMemory } | undefined;

/** PACER_TABLE, set by the stack; null: unpaced. */
function clockFromEnv(env: NodeJS.ProcessEnv): SlotClock | null {
  // The endpoint is part of the key only for processes that talk to more than one (local runs, tests).
  const key = `${env['PACER_TABLE'] ?? ''}|${env['AWS_ENDPOINT_URL'] ?? ''}`;
  if (cached?.key === key) return cached.clock;
  const clock = env['PACER_TABLE'] ? new DynamoDbSlotClock(env['PACER_TABLE']) : null;
  if (clock) cached = { key, clock };
  return clock;
}

/** What is kept per OAuth client is keyed by its id, hashed: ids are not for logs. */
const clientHash = (clientId: string) => createHash('sha256').update(clientId).digest('hex').slice(0, 16);

/**
 * The pacer for one OAuth client: the budget is Genesys' per-token limit, shared by everything
 * this client does, so the clock is keyed by the client id.
 */
export function pacerFor(clientId: string, budgetPerMinute: number, env: NodeJS.ProcessEnv = process.env): CallPacer {
  const clock = clockFromEnv(env);
  if (!clock) return UNPACED;
  return new Pacer(clock, `genesys-api#${clientHash(clientId)}`, budgetPerMinute);
}

/**
 * How long the org's refreshes take (refresh-memory.ts), kept beside its OAuth client's clock.
 * One for the container's life, as the clock is: its DynamoDB client (and connections) serve
 * every invocation rather than being made again for each accepted PUT.
 */
export function refreshMemoryFor(clientId: string, env: NodeJS.ProcessEnv = process.env): RefreshMemory {
  const table = env['PACER_TABLE'];
  if (!table) return NO_MEMORY;
  const key = `${table}|${env['AWS_ENDPOINT_URL'] ?? ''}|${clientHash(clientId)}`;
  if (cachedMemory?.key !== key) cachedMemory = { key, memory: new DynamoDbRefreshMemory(table, `refresh#${clientHash(clientId)}`) };
  return cachedMemory.memory;
}
