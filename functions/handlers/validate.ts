/**
 * Validate: checks the execution input (the first state of every run), and applies the capacity
 * policy to the inventory to make the plan.
 */
import { approvalTimeoutSeconds, parseExecutionInput, type Approval, type RunConfig } from '../domain/execution-input.ts';
import { buildPlan, type Plan } from '../domain/plan.ts';
import { orgNamesFromEnv } from '../domain/orgs.ts';
import type { IndexInventory } from '../genesys/inventory.ts';
import { runGuardFromEnv, type GuardVerdict } from '../guard/index.ts';
import { taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedRunStore } from '../shared/singletons.ts';
import { runKey } from '../store/index.ts';
import { RUN_OBJECT, runObjectKey } from '../store/run-layout.ts';

export type ValidateEvent = TaskEvent & ({ action: 'input'; input: unknown; startTime: string } | { action: 'plan' });

/**
 * The checked input as the state carries it: everything but the index id list, which may be
 * thousands of ids (it is kept in the run store, RUN_OBJECT.config); only its length travels.
 */
export type StateConfig = Omit<RunConfig, 'indexIds' | 'approval'> & {
  indexIdCount: number | null;
  /** With the wait in the whole seconds the approval task's timeout takes. */
  approval: Approval & { timeoutSeconds: number };
};

/** The checked input, and whether this run may go ahead while others of the same org are running. */
export interface CheckedInput {
  config: StateConfig;
  guard: GuardVerdict;
}

/** No id list travels in the state: the Map reads the ids from `itemsKey` (its ItemReader). */
export interface PlanSummary {
  /** The run bucket's key of the ids to optimize, a JSON array. */
  itemsKey: string;
  /** Where the Map's ResultWriter puts the child executions' results. */
  resultsPrefix: string;
  qualifying: number;
  total: number;
  skipped: number;
}

const logger = createLogger('validate');

export const handler = taskHandler(logger, 'validate', async (event: ValidateEvent, log): Promise<CheckedInput | PlanSummary> => {
  if (event.action === 'input') {
    const config = parseExecutionInput(event.input, orgNamesFromEnv());
    const { indexIds, ...rest } = config;
    const stateConfig: StateConfig = { ...rest, approval: { ...config.approval, timeoutSeconds: approvalTimeoutSeconds(config.approval) }, indexIdCount: indexIds?.length ?? null };
    log.info('execution input accepted', { outcome: 'valid', config: stateConfig });
    // A dry run changes nothing, so it neither waits for nor blocks other runs.
    const guard = config.dryRun ? null : runGuardFromEnv();
    const verdict: GuardVerdict = guard ? await guard.check({ executionId: event.executionId, startTime: event.startTime, org: config.org }) : { proceed: true };
    if (!verdict.proceed) log.warn('another run is optimizing this org; this run stops', { outcome: 'already-running', ...verdict });
    else await sharedRunStore().putJson(runKey(event.executionId, 'config'), config);
    return { config: stateConfig, guard: verdict };
  }
  const store = sharedRunStore();
  const [config, inventory] = await Promise.all([
    store.getJson<RunConfig>(runKey(event.executionId, 'config')),
    store.getJson<IndexInventory>(runKey(event.executionId, 'inventory')),
  ]);
  const plan: Plan = buildPlan(inventory.records, config, Date.now());
  await store.putJson(runKey(event.executionId, 'plan'), plan);
  const itemsKey = runKey(event.executionId, 'items');
  await store.putJson(itemsKey, plan.qualifying);
  for (const entry of plan.entries) {
    if (entry.decision !== 'qualifies') {
      log.info('index skipped', { indexId: entry.id, action: 'validation', outcome: 'skipped', category: entry.decision, reason: entry.reason });
    }
  }
  const summary: PlanSummary = {
    itemsKey,
    resultsPrefix: runObjectKey(event.executionId, RUN_OBJECT.mapResults).replace(/\/$/, ''),
    qualifying: plan.qualifying.length,
    total: plan.entries.length,
    skipped: plan.entries.length - plan.qualifying.length,
  };
  log.info('plan made', { outcome: 'planned', total: summary.total, qualifying: plan.qualifying.length, skipped: summary.skipped });
  return summary;
});
