/**
 * Validate: checks the execution input (the first state of every run), and applies the capacity
 * policy to the inventory to make the plan.
 */
import { parseExecutionInput, type RunConfig } from '../domain/execution-input.ts';
import { buildPlan, type Plan } from '../domain/plan.ts';
import type { IndexInventory } from '../genesys/inventory.ts';
import { runGuardFromEnv, type GuardVerdict } from '../guard/index.ts';
import { taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedRunStore } from '../shared/singletons.ts';
import { runKey } from '../store/index.ts';

export type ValidateEvent = TaskEvent & ({ action: 'input'; input: unknown; startTime: string } | { action: 'plan'; config: RunConfig });

/** The checked input, and whether this run may go ahead while others of the same org are running. */
export interface CheckedInput {
  config: RunConfig;
  guard: GuardVerdict;
}

export interface PlanSummary {
  /** The ids the Map optimizes: the only per-index data the state carries (the Map puts each one's result in its place). */
  indexes: string[];
  total: number;
  skipped: number;
}

const logger = createLogger('validate');

export const handler = taskHandler(logger, 'validate', async (event: ValidateEvent, log): Promise<CheckedInput | PlanSummary> => {
  if (event.action === 'input') {
    const config = parseExecutionInput(event.input);
    log.info('execution input accepted', { outcome: 'valid', config });
    // A dry run changes nothing, so it neither waits for nor blocks other runs.
    const guard = config.dryRun ? null : runGuardFromEnv();
    const verdict: GuardVerdict = guard ? await guard.check({ executionId: event.executionId, startTime: event.startTime }) : { proceed: true };
    if (!verdict.proceed) log.warn('another run is optimizing this org; this run stops', { outcome: 'already-running', ...verdict });
    return { config, guard: verdict };
  }
  const store = sharedRunStore();
  const inventory = await store.getJson<IndexInventory>(runKey(event.executionId, 'inventory'));
  const plan: Plan = buildPlan(inventory.records, event.config, Date.now());
  await store.putJson(runKey(event.executionId, 'plan'), plan);
  for (const entry of plan.entries) {
    if (entry.decision !== 'qualifies') {
      log.info('index skipped', { indexId: entry.id, action: 'validation', outcome: 'skipped', category: entry.decision, reason: entry.reason });
    }
  }
  const summary = { indexes: plan.qualifying, total: plan.entries.length, skipped: plan.entries.length - plan.qualifying.length };
  log.info('plan made', { outcome: 'planned', total: summary.total, qualifying: plan.qualifying.length, skipped: summary.skipped });
  return summary;
});
