/**
 * The seed's strategy (seed/genesys-index-optimizer-tutorial.txt, "Complete Working Example"),
 * re-implemented faithfully on the project's GenesysClient, for comparison:
 *
 *   list the indexes; keep those that pass the seed's constraints; then one at a time:
 *     PUT the directives, up to three attempts, sleeping 1, 2, 4 s after a 429 (executeWithRetry);
 *     any other error ends that index ("optimization_trigger failed");
 *     sleep 2 s;
 *     read the health once; anything but 200 ends that index ("health_verification failed");
 *     run the latency probe (VerifyOptimization → measureQueryLatency), then the next index.
 *
 * Sleeps are divided by the bench's scale. Two seed defects are not copied, because they would
 * make the comparison meaningless rather than slower: every page of the listing is read (the seed
 * reads the first only) and the probe's body is the valid one (the seed's is rejected with 400).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GenesysClient } from '../../functions/genesys/client.ts';
import { RateLimitedError } from '../../functions/genesys/errors.ts';
import { TokenCache } from '../../functions/genesys/token-cache.ts';
import { parseScenario } from '../simulator/scenario.ts';
import { startSimulator } from '../simulator/server.ts';
import { benchOrg } from './org.ts';
import { requestStats } from './request-stats.ts';
import type { SeedResult } from './results.ts';
import { benchSeconds } from './scale.ts';

/** The seed's settings (tutorial: executeWithRetry, main). */
const SEED = {
  maxAttempts: 3,
  /** time.Duration(1<<attempt) * time.Second, after each 429. */
  backoffSeconds: (attempt: number) => 2 ** attempt,
  settleSeconds: 2,
  maxShards: 50,
  maxReplicas: 3,
  maxStorageBytes: 10_737_418_240,
} as const;

type Outcome = 'success' | 'optimization_trigger failed' | 'health_verification failed';

async function optimizeOne(client: GenesysClient, id: string, k: number): Promise<Outcome> {
  let accepted = false;
  for (let attempt = 0; attempt < SEED.maxAttempts && !accepted; attempt++) {
    try {
      await client.putOptimization(id, {
        refreshPolicy: 'on_demand',
        reindexStrategy: 'async_background',
        shardOptimization: { rebalanceStrategy: 'even_distribution', forceMerge: true, replicaTrigger: true },
        validationRules: { checkDiskUsage: true, checkQueryLatency: true },
      });
      accepted = true;
    } catch (err) {
      if (!(err instanceof RateLimitedError)) return 'optimization_trigger failed';
      await sleep((SEED.backoffSeconds(attempt) * 1000) / k);
    }
  }
  if (!accepted) return 'optimization_trigger failed';
  await sleep((SEED.settleSeconds * 1000) / k);
  try {
    const health = await client.getHealth(id);
    if (health.state !== 'reported') return 'health_verification failed';
    await client.probeQueryLatency();
  } catch {
    return 'health_verification failed';
  }
  return 'success';
}

export async function runSeedBench(indexes: number, k: number, say: (line: string) => void): Promise<SeedResult> {
  const sim = await startSimulator({ scenario: parseScenario(benchOrg(indexes, k).scenario) });
  try {
    const client = new GenesysClient({
      hosts: { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl },
      credentials: sim.credentials,
      tokenCache: new TokenCache(),
    });
    const outcomes: Record<string, number> = {};
    const started = Date.now();
    const inventory = await client.listIndexes();
    const qualifying = inventory.records
      .flatMap((r) => (r.valid ? [r.index] : []))
      .filter((ix) => !(ix.shardCount > SEED.maxShards || ix.replicaCount > SEED.maxReplicas) && !(ix.storageBytes > SEED.maxStorageBytes));
    let lastSaid = started;
    for (const [i, ix] of qualifying.entries()) {
      const outcome = await optimizeOne(client, ix.id, k);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (Date.now() - lastSaid > 10_000) {
        lastSaid = Date.now();
        say(`seed ${indexes}: ${i + 1}/${qualifying.length} indexes done`);
      }
    }
    const wallSeconds = benchSeconds(Date.now() - started, k);
    const stats = requestStats(sim.requests, k);
    const verified = outcomes['success'] ?? 0;
    return {
      indexes,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      callsMade: stats.apiCalls,
      callsPerIndex: Math.round((stats.apiCalls / indexes) * 1000) / 1000,
      throttled: stats.throttled,
      verified,
      unverified: indexes - verified,
      outcomes,
    };
  } finally {
    await sim.close();
  }
}
