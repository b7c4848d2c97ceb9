/**
 * Fleet: the steps of the Fleet state machine that are more than plumbing: the plan of waves
 * (checking the fleet's input), what each wave came to (reading every org run's report) and the
 * fleet report.
 */
import { afterWave, buildFleetReport, failedExecution, orgResult, parseFleetInput, planFleet, type FleetOrg, type FleetProgress, type FleetReport, type OrgIteration, type OrgRunReport } from '../domain/fleet.ts';
import type { RunReport } from '../domain/report.ts';
import { taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedRunStore } from '../shared/singletons.ts';
import { runKey, RunStoreError } from '../store/index.ts';

export type FleetEvent = TaskEvent &
  (
    | { action: 'plan'; input: unknown; orgs: FleetOrg[] }
    | { action: 'assess'; progress: FleetProgress; wave: OrgIteration[] }
    | { action: 'report'; progress: FleetProgress }
  );

/** What the state machine keeps of the report: where it is, and the error the fleet ends with. */
export interface FleetOutcome {
  report: string;
  orgs: FleetReport['orgs'];
  stoppedAtWave: number | null;
  /** Present only when the fleet execution must end failed. */
  error?: NonNullable<FleetReport['error']>;
}

const logger = createLogger('fleet');

export const handler = taskHandler(logger, 'fleet', async (event: FleetEvent, log): Promise<FleetProgress | FleetOutcome> => {
  const store = sharedRunStore();
  if (event.action === 'plan') {
    const progress = planFleet(event.orgs, parseFleetInput(event.input, event.orgs));
    log.info('fleet planned', { outcome: 'planned', waves: progress.waves.map((w) => ({ wave: w.wave, orgs: w.orgs.map((o) => o.name) })), maxConcurrentOrgs: progress.maxConcurrentOrgs });
    return progress;
  }
  if (event.action === 'assess') {
    const results = await Promise.all(
      event.wave.map(async (it) => {
        const executionArn = it.run?.executionArn ?? null;
        let report: OrgRunReport | null = null;
        const arn = executionArn ?? (it.error ? failedExecution(it.error).executionArn : null);
        if (arn) {
          try {
            report = await store.getJson<RunReport>(runKey(arn, 'report'));
          } catch (err) {
            // No report: a run that gave way or failed before its report. Anything else is worth a line.
            if (!(err instanceof RunStoreError)) log.warn('org run report not readable', { org: it.name, executionArn: arn, errorName: (err as Error).name, errorMessage: (err as Error).message });
          }
        }
        return orgResult(it, report);
      }),
    );
    const next = afterWave(event.progress, results);
    for (const r of results) {
      const line = { org: r.name, wave: r.wave, outcome: r.status, executionArn: r.executionArn, summary: r.summary, regressions: r.regressions, reason: r.reason };
      if (r.status === 'succeeded' && r.regressions === 0) log.info('org run finished', line);
      else log.warn('org run did not pass', line);
    }
    if (!next.more && next.stoppedAtWave !== null) log.error('fleet rollout stopped', { outcome: 'stopped', stoppedAtWave: next.stoppedAtWave, reason: next.stopReason });
    return next;
  }
  const report = buildFleetReport(event.executionId, event.progress, new Date());
  const key = runKey(event.executionId, 'fleetReport');
  await store.putJson(key, report);
  log.info('fleet report written', { outcome: report.error ? 'failed' : 'succeeded', report: store.locate(key), stoppedAtWave: report.stoppedAtWave });
  return { report: store.locate(key), orgs: report.orgs, stoppedAtWave: report.stoppedAtWave, ...(report.error ? { error: report.error } : {}) };
});
