/**
 * Lists the org's indexes page by page into the run store. A 429 or a transient error saves the
 * pages so far and hands the wait to the state machine, which calls again to resume.
 */
import type { Retries } from '../domain/execution-input.ts';
import type { GenesysClient } from '../genesys/client.ts';
import { InventoryCollector, type IndexInventory } from '../genesys/inventory.ts';
import { runKey, type RunStore } from '../store/index.ts';
import type { CallPacer } from '../pacing/index.ts';
import { decideRetry, type RetryCause } from './retry-decision.ts';
import type { CallEntry } from '../domain/timeline.ts';

export interface FetchProgress {
  attempts: number;
  /** Set when an earlier invocation stopped part-way; the saved pages are in the store. */
  resume: boolean;
  /** The next page already has its slot in the API budget. */
  slotReserved?: boolean;
  /** Of `attempts`, those answered 429 (bounded by retries.maxThrottledAttempts instead). */
  throttled?: number;
  /** The listing's Genesys calls so far (a page each, retries included), bounded (appendTimeline): kept by the handler, for the run's calls per minute. */
  calls?: CallEntry[];
}

export type FetchResult = FetchProgress &
  (
    | { status: 'listed'; indexes: number; pages: number; warnings: string[] }
    | { status: 'retry'; cause: RetryCause | 'paced'; waitSeconds: number; reason: string }
  );

const MAX_WARNINGS_IN_STATE = 5;

export async function fetchInventory(
  client: GenesysClient,
  store: RunStore,
  executionId: string,
  retries: Retries,
  progress: FetchProgress,
  pacer: CallPacer,
): Promise<FetchResult> {
  const key = runKey(executionId, 'inventory');
  const collector = new InventoryCollector(progress.resume ? await store.getJson<IndexInventory>(key) : undefined);
  // Attempts count failures in a row: a page that succeeds resets the count.
  let attempts = progress.attempts;
  let throttled = progress.throttled ?? 0;
  let slotReserved = progress.slotReserved ?? false;
  try {
    for (;;) {
      if (!slotReserved) {
        const pace = await pacer.reserve(1);
        if (!pace.callNow) {
          await store.putJson(key, collector.snapshot());
          return { status: 'retry', cause: 'paced', attempts, throttled, resume: true, slotReserved: pace.reserved, waitSeconds: pace.waitSeconds, reason: 'waiting for its turn in the API budget' };
        }
      }
      slotReserved = false;
      attempts++;
      const last = collector.add(await client.listIndexPage(collector.nextPage));
      attempts = 0;
      throttled = 0;
      if (last) break;
    }
  } catch (err) {
    const decision = decideRetry(err, attempts, retries, 1, throttled);
    // No inventory means no run: anything that is not worth a retry fails the execution.
    if (!decision.retry) throw err;
    await store.putJson(key, collector.snapshot());
    const next = await pacer.scheduleAfter(1, decision.waitSeconds);
    if (decision.cause === 'throttled') throttled++;
    return { status: 'retry', cause: decision.cause, attempts, throttled, resume: true, slotReserved: next.reserved, waitSeconds: next.waitSeconds, reason: decision.reason };
  }
  const inventory = collector.finish();
  await store.putJson(key, inventory);
  return {
    status: 'listed',
    attempts: 0,
    resume: false,
    indexes: inventory.records.length,
    pages: inventory.pages,
    warnings: inventory.warnings.slice(0, MAX_WARNINGS_IN_STATE),
  };
}
