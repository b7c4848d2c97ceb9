/**
 * The capacity policy: which indexes a run may optimize, and why the others are skipped.
 * Pure functions over the inventory, so the rules are tested without Lambda or HTTP.
 */
import type { IndexConfig, IndexRecord } from '../genesys/shapes.ts';
import type { Policy } from './execution-input.ts';

export type SkipCategory = 'malformed' | 'capacity' | 'archival' | 'cooldown' | 'unhealthy' | 'busy' | 'not-selected';

export type Decision = { qualifies: true } | { qualifies: false; category: SkipCategory; reason: string };

/** Lifecycle statuses that mean an index is mid-operation: a PUT now would pile onto it. */
const BUSY_STATUSES = new Set(['refreshing', 'rebalancing', 'reindexing', 'optimizing', 'migrating']);
const UNHEALTHY_STATUSES = new Set(['red', 'error', 'failed', 'degraded', 'unavailable']);

const GIB = 1024 ** 3;
const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`;

export function evaluateIndex(index: IndexConfig, policy: Policy, now: number): Decision {
  const status = index.status?.toLowerCase();
  if (status && UNHEALTHY_STATUSES.has(status)) {
    return { qualifies: false, category: 'unhealthy', reason: `unhealthy: index status is ${index.status}` };
  }
  if (status && BUSY_STATUSES.has(status)) {
    return { qualifies: false, category: 'busy', reason: `busy: index status is ${index.status}` };
  }
  const over: string[] = [];
  if (index.shardCount > policy.maxShards) over.push(`${index.shardCount} shards > ${policy.maxShards}`);
  if (index.replicaCount > policy.maxReplicas) over.push(`${index.replicaCount} replicas > ${policy.maxReplicas}`);
  if (over.length > 0) {
    return { qualifies: false, category: 'capacity', reason: `exceeds maximum node capacity limits (${over.join(', ')})` };
  }
  if (index.storageBytes > policy.maxStorageBytes) {
    return {
      qualifies: false,
      category: 'archival',
      reason: `requires archival before optimization (${gib(index.storageBytes)} > ${gib(policy.maxStorageBytes)})`,
    };
  }
  if (policy.cooldownHours > 0 && index.lastRefresh) {
    const hoursAgo = (now - Date.parse(index.lastRefresh)) / 3_600_000;
    if (hoursAgo < policy.cooldownHours) {
      return {
        qualifies: false,
        category: 'cooldown',
        reason: `refreshed ${Math.max(0, hoursAgo).toFixed(1)} h ago, within the ${policy.cooldownHours} h cooldown`,
      };
    }
  }
  return { qualifies: true };
}

/** A malformed record is reported with what is wrong with it; it never stops the others. */
export function evaluateRecord(record: IndexRecord, policy: Policy, now: number): Decision {
  if (!record.valid) {
    return { qualifies: false, category: 'malformed', reason: `malformed record: ${record.problems.join('; ')}` };
  }
  return evaluateIndex(record.index, policy, now);
}
