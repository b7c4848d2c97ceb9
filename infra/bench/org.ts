/**
 * The bench org: `n` indexes that all qualify under the default policy (the bench measures the
 * optimized path), with UUID ids, realistic names and a spread of refresh times, so that some
 * indexes are healthy at the first read after the settle and others need one or two polls.
 */
import { randomUUID } from 'node:crypto';
import { scaledOrgSettings } from './scale.ts';

/**
 * Refresh times after an accepted PUT, in real-world seconds, assigned round-robin. With the
 * default timings (settle 30 s, polls every 15 s) they need 1, 1, 2 and 3 health reads; none
 * sits within 3 s of a read, so scheduling jitter does not change the count.
 */
export const REAL_REFRESH_SECONDS = [12, 27, 42, 57] as const;

const TYPES = ['conversation', 'transcript', 'email', 'chat', 'voice', 'survey', 'evaluation', 'speech'];
const TOPICS = ['interactions', 'transcripts', 'email-threads', 'chat-sessions', 'voice-metadata', 'survey-responses', 'quality-evaluations', 'speech-topics'];
const REGIONS = ['emea', 'amer', 'apac', 'latam'];

export interface BenchOrg {
  /** The scenario, ready for parseScenario. */
  scenario: Record<string, unknown>;
  /** Each index's refresh time in real-world seconds, in listing order. */
  realRefreshSeconds: number[];
}

/** Index `i` of a generated org: a UUID id, a realistic name, inside every default policy limit. */
export function generatedIndex(i: number, refreshSeconds: number): Record<string, unknown> {
  return {
    id: randomUUID(),
    name: `${TOPICS[i % TOPICS.length]}-${REGIONS[i % REGIONS.length]}-${2020 + (i % 7)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(i).padStart(4, '0')}`,
    type: TYPES[i % TYPES.length],
    status: 'active',
    shardCount: 1 + (i % 50),
    replicaCount: i % 4,
    maxDocumentCount: 1_000_000 * (1 + (i % 60)),
    storageBytes: 50_000_000 + ((i * 7_919_993) % 10_000_000_000),
    lastRefresh: new Date(Date.UTC(2026, 9, 1) + i * 3_600_000).toISOString(),
    behaviour: { refreshSeconds },
  };
}

export function benchOrg(n: number, k: number): BenchOrg {
  const realRefreshSeconds: number[] = [];
  const indexes = Array.from({ length: n }, (_, i) => {
    const refresh = REAL_REFRESH_SECONDS[i % REAL_REFRESH_SECONDS.length]!;
    realRefreshSeconds.push(refresh);
    return generatedIndex(i, refresh / k);
  });
  return { scenario: { name: `bench-${n}`, org: scaledOrgSettings(k), indexes }, realRefreshSeconds };
}
