// Runtime state of one addressable index: the refresh cycle a PUT starts and the health the
// index reports before, during and after it. Time is read lazily (no timers), so a closed
// simulator leaves nothing running.
import { createHash } from 'node:crypto';
import type { HealthBody, HealthSpec, HealthStatus, ScenarioIndex } from './scenario.ts';
import { FaultQueue } from './faults.ts';

const SHARD_STATUS: Record<HealthStatus, string> = {
  green: 'all primary and replica shards allocated',
  yellow: 'all primary shards allocated; some replica shards unassigned',
  red: 'one or more primary shards unassigned',
};

const REFRESHING_SHARD_STATUS = 'shards relocating: refresh in progress';

export interface IndexStateView {
  id: string;
  putCount: number;
  acceptedPutCount: number;
  healthCount: number;
  refreshing: boolean;
  refreshEndsAt?: number;
  /** The health as reported now (a 503 while refreshing is reported as status "unavailable"). */
  health: HealthBody | { status: 'unavailable' };
  lastRefresh?: string;
  lastDirectives?: unknown;
  deleted: boolean;
}

// Stable per-index defaults so a demo looks varied but repeats run to run.
function seededDefaults(id: string): { diskUsage: number; queryLatencyMs: number } {
  const h = createHash('sha256').update(id).digest();
  return { diskUsage: 30 + (h.readUInt16BE(0) % 400) / 10, queryLatencyMs: 60 + (h.readUInt16BE(2) % 80) };
}

function resolve(spec: HealthSpec, base: { diskUsage: number; queryLatencyMs: number }): HealthBody {
  return {
    status: spec.status,
    diskUsage: spec.diskUsage ?? base.diskUsage,
    queryLatencyMs: spec.queryLatencyMs ?? base.queryLatencyMs,
    shardStatus: spec.shardStatus ?? SHARD_STATUS[spec.status],
  };
}

export class IndexRuntime {
  readonly id: string;
  readonly entry: ScenarioIndex;
  readonly putFaults: FaultQueue;
  readonly healthFaults: FaultQueue;
  putCount = 0;
  acceptedPutCount = 0;
  healthCount = 0;
  lastDirectives: unknown = undefined;
  private health: HealthBody;
  private refreshEndsAt = 0;
  private healthAfter: HealthBody | undefined;

  constructor(id: string, entry: ScenarioIndex, now = Date.now()) {
    this.id = id;
    this.entry = entry;
    this.putFaults = new FaultQueue(entry.behaviour.faults.put);
    this.healthFaults = new FaultQueue(entry.behaviour.faults.health);
    this.health = resolve(entry.behaviour.health, seededDefaults(id));
    if (entry.behaviour.initiallyRefreshingSeconds > 0) {
      this.refreshEndsAt = now + entry.behaviour.initiallyRefreshingSeconds * 1000;
      this.healthAfter = this.health;
    }
  }

  get deleted(): boolean {
    return this.entry.behaviour.deletedAfterList;
  }

  private settle(now: number): void {
    if (this.healthAfter !== undefined && now >= this.refreshEndsAt) {
      this.health = this.healthAfter;
      this.healthAfter = undefined;
    }
  }

  isRefreshing(now = Date.now()): boolean {
    this.settle(now);
    return this.healthAfter !== undefined;
  }

  secondsUntilRefreshed(now = Date.now()): number {
    return this.isRefreshing(now) ? Math.max(1, Math.ceil((this.refreshEndsAt - now) / 1000)) : 0;
  }

  /** Accepts optimization directives: starts a refresh and stamps lastRefresh. */
  startRefresh(directives: unknown, now = Date.now()): void {
    this.acceptedPutCount += 1;
    this.lastDirectives = directives;
    const record = this.entry.record as Record<string, unknown>;
    record.lastRefresh = new Date(now).toISOString();
    // An optimized index answers a little faster and uses a little less disk, unless the
    // scenario pins those values.
    const improved = {
      diskUsage: Math.round(this.health.diskUsage * 0.92 * 10) / 10,
      queryLatencyMs: Math.round(this.health.queryLatencyMs * 0.75),
    };
    this.healthAfter = resolve(this.entry.behaviour.healthAfterRefresh, improved);
    this.refreshEndsAt = now + this.entry.behaviour.refreshSeconds * 1000;
    this.settle(now);
  }

  /** The health body to serve now; undefined means "answer 503, refreshing". */
  currentHealth(now = Date.now()): HealthBody | undefined {
    if (!this.isRefreshing(now)) return this.health;
    if (this.entry.behaviour.refreshingHealth === 'yellow') {
      return { ...this.health, status: 'yellow', shardStatus: REFRESHING_SHARD_STATUS };
    }
    return undefined;
  }

  view(now = Date.now()): IndexStateView {
    const refreshing = this.isRefreshing(now);
    const record = this.entry.record as Record<string, unknown>;
    const v: IndexStateView = {
      id: this.id,
      putCount: this.putCount,
      acceptedPutCount: this.acceptedPutCount,
      healthCount: this.healthCount,
      refreshing,
      health: this.currentHealth(now) ?? { status: 'unavailable' },
      lastDirectives: this.lastDirectives,
      deleted: this.deleted,
    };
    if (refreshing) v.refreshEndsAt = this.refreshEndsAt;
    if (typeof record.lastRefresh === 'string') v.lastRefresh = record.lastRefresh;
    return v;
  }
}
