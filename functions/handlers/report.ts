/**
 * Report: builds the run report from the plan and the per-index results, keeps it in the run
 * store, logs it, and tells the state machine whether the execution ends failed.
 */
import type { RunConfig } from '../domain/execution-input.ts';
import type { Plan } from '../domain/plan.ts';
import { parseDecision, type ApprovalDecision } from '../domain/approval.ts';
import { runNotice } from '../domain/run-notice.ts';
import { buildReport, type LatencyReading, type RunError, type RunReport } from '../domain/report.ts';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { auditEvent } from '../audit/audit-event.ts';
import { emitAudit } from '../audit/audit-trail.ts';
import { METRIC, MetricUnit } from '../shared/metrics.ts';
import { taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedRunStore } from '../shared/singletons.ts';
import { runKey } from '../store/index.ts';
import { readOutcomes } from '../steps/index-outcomes.ts';
import { readMapResults, type MapRunResult } from '../steps/map-results.ts';
import type { PlanSummary } from './validate.ts';

/** The whole execution state: which parts exist depends on the path that led to the report. */
export interface RunState {
  config: Pick<RunConfig, 'dryRun'> & Partial<Pick<RunConfig, 'retryOf'>>;
  fetch?: { warnings?: string[] };
  plan?: Partial<PlanSummary>;
  /** Where the Map's ResultWriter put the child executions' results. */
  mapRun?: MapRunResult;
  latency?: { before?: LatencyReading; after?: LatencyReading };
  stateError?: { Error?: string; Cause?: string };
  /** The approval step's result: the decision the operator sent (or the timeout's). */
  approval?: { decision?: unknown };
}

export interface ReportEvent extends TaskEvent {
  state: RunState;
}


/** What goes back into the state: the summary and where the whole report is, never the full list. */
export interface ReportOutcome {
  summary: RunReport['summary'];
  queryLatencyMs: RunReport['queryLatencyMs'];
  report: string;
  /** Present only when the execution must end failed. */
  error?: RunError;
}

const logger = createLogger('report');

function recordRunMetrics(metrics: Metrics, report: RunReport): void {
  const s = report.summary;
  metrics.addMetric(METRIC.indexesOptimized, MetricUnit.Count, s.optimized);
  metrics.addMetric(METRIC.indexesSkipped, MetricUnit.Count, s.skipped);
  metrics.addMetric(METRIC.indexesFailed, MetricUnit.Count, s.failed);
  metrics.addMetric(METRIC.indexesPlanned, MetricUnit.Count, s.planned);
  if (report.queryLatencyMs.before !== null) metrics.addMetric(METRIC.queryLatencyBefore, MetricUnit.Milliseconds, report.queryLatencyMs.before);
  if (report.queryLatencyMs.after !== null) metrics.addMetric(METRIC.queryLatencyAfter, MetricUnit.Milliseconds, report.queryLatencyMs.after);
  // Searchable in Logs Insights without becoming a (costly, per-run) dimension.
  metrics.addMetadata('executionId', report.executionId);
}

/**
 * The decision as received: the Choice state went on only for an exact `approved`, so a decision
 * that cannot be read changed nothing and is reported as a rejection that says why.
 */
function readDecision(raw: unknown, log: Logger): ApprovalDecision {
  try {
    return parseDecision(raw);
  } catch (err) {
    log.warn('the decision on the plan could not be read; nothing was changed', { errorMessage: (err as Error).message });
    return { status: 'rejected', by: null, at: new Date().toISOString(), reason: `decision not understood: ${(err as Error).message}` };
  }
}

export const handler = taskHandler(logger, 'report', async (event: ReportEvent, log, metrics): Promise<ReportOutcome> => {
  const store = sharedRunStore();
  const plan = await store.getJson<Plan>(runKey(event.executionId, 'plan'));
  const { state } = event;
  const approval = state.approval ? readDecision(state.approval.decision, log) : null;
  const results = state.config.dryRun ? [] : await readOutcomes(store, event.executionId);
  // A function that crashed or timed out recorded nothing: the Map's results say how its index ended.
  const recorded = new Set(results.map((r) => r.id));
  const missing = new Set(state.config.dryRun ? [] : plan.qualifying.filter((id) => !recorded.has(id)));
  results.push(...(await readMapResults(store, state.mapRun, missing)));
  // A probe still at its initial { attempts: 0 } never ran (dry run, nothing to optimize).
  const ran = (r: LatencyReading | undefined) => (r && 'status' in r ? r : null);
  const report = buildReport({
    executionId: event.executionId,
    org: event.org ?? null,
    dryRun: state.config.dryRun,
    retryOf: state.config.retryOf ?? null,
    approval,
    plan,
    results: results.length > 0 ? results : null,
    latency: { before: ran(state.latency?.before), after: ran(state.latency?.after) },
    warnings: state.fetch?.warnings ?? [],
    stateError: state.stateError ?? null,
    now: new Date(),
  });
  const key = runKey(event.executionId, 'report');
  await store.putJson(key, report);
  const location = store.locate(key);
  recordRunMetrics(metrics, report);
  // One audit event per index and one for the run, so CloudWatch (and the bus) tell what happened to each.
  const after = report.throughputRate.after;
  await emitAudit(log, [
    ...report.indexes.map((entry) =>
      auditEvent({
        executionId: event.executionId,
        org: event.org ?? null,
        indexId: entry.id,
        action: 'optimization_complete',
        status: entry.outcome,
        latencyMs: report.queryLatencyMs.after,
        throughputRate: after,
        reason: entry.reason,
      }),
    ),
    auditEvent({
      executionId: event.executionId,
      org: event.org ?? null,
      action: 'run_complete',
      status: report.error ? 'failed' : 'succeeded',
      latencyMs: report.queryLatencyMs.after,
      throughputRate: after,
      reason: report.error ? `${report.error.name}: ${report.error.cause}` : null,
      notice: runNotice(report, location),
    }),
  ]);
  const outcome: ReportOutcome = { summary: report.summary, queryLatencyMs: report.queryLatencyMs, report: location };
  if (report.error) outcome.error = report.error;
  const line = { outcome: report.error ? 'failed' : 'succeeded', summary: report.summary, queryLatencyMs: report.queryLatencyMs, report: outcome.report, warnings: report.warnings };
  if (report.error) log.error(`run failed: ${report.error.name}`, { ...line, error: report.error });
  else log.info('run complete', line);
  return outcome;
});
