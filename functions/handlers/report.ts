/**
 * Report: builds the run report from the plan and the per-index results, keeps it in the run
 * store with the run's page beside it (report.html: the timeline, the charts, every index), logs
 * it, and tells the state machine whether the execution ends failed.
 */
import type { RunConfig } from '../domain/execution-input.ts';
import type { Plan } from '../domain/plan.ts';
import { parseDecision, type ApprovalDecision } from '../domain/approval.ts';
import { executionConsoleUrl, runNotice, s3ConsoleUrl } from '../domain/run-notice.ts';
import { buildReport, type IndexResult, type LatencyReading, type RunError, type RunReport } from '../domain/report.ts';
import type { CallEntry, TimelineEntry } from '../domain/timeline.ts';
import { loadChartLibrary } from '../report-html/chart-library.ts';
import { buildRunPage, RUN_PAGE_CONTENT_TYPE, type RunPageModel } from '../report-html/run-page.ts';
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

/** A latency probe's progress: its reading, and its Genesys calls (the page's calls per minute). */
type ProbeState = LatencyReading & { calls?: CallEntry[] };

/** The whole execution state: which parts exist depends on the path that led to the report. */
export interface RunState {
  /** The checked input (the page shows it; its budget and regression threshold draw the page's lines). */
  config: Pick<RunConfig, 'dryRun'> & Partial<Omit<RunConfig, 'dryRun'>>;
  fetch?: { warnings?: string[]; calls?: CallEntry[] };
  plan?: Partial<PlanSummary>;
  /** Where the Map's ResultWriter put the child executions' results. */
  mapRun?: MapRunResult;
  latency?: { before?: ProbeState; after?: ProbeState };
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
  /** Where the run's page is (s3://…/report.html); null when it could not be written (the function's log says why). */
  page: string | null;
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

/** The page's model from what the report function has read: the report, the outcome records' timelines, the state. */
export function runPageModel(report: RunReport, results: readonly IndexResult[], state: RunState, locations: { report: string; page: string }): RunPageModel {
  const timelines = new Map<string, readonly TimelineEntry[]>();
  for (const r of results) if (r.timeline && r.timeline.length > 0) timelines.set(r.id, r.timeline);
  const calls = (c: CallEntry[] | undefined) => (Array.isArray(c) ? c : []);
  const isArn = report.executionId.startsWith('arn:');
  return {
    report,
    timelines,
    runCalls: { listing: calls(state.fetch?.calls), probeBefore: calls(state.latency?.before?.calls), probeAfter: calls(state.latency?.after?.calls) },
    apiBudgetPerMinute: state.config.apiBudgetPerMinute ?? null,
    maxLatencyRegression: state.config.policy?.maxLatencyRegression ?? null,
    executionUrl: isArn ? executionConsoleUrl(report.executionId) : null,
    reportLocation: locations.report,
    reportConsoleUrl: isArn ? s3ConsoleUrl(report.executionId, locations.report) : null,
    pageLocation: locations.page,
    input: state.config,
  };
}

/** Writes the run's page; null (and an error in the log) when it cannot: report.json is the record, the page a view of it. */
async function writeRunPage(store: ReturnType<typeof sharedRunStore>, key: string, model: () => RunPageModel, log: Logger): Promise<string | null> {
  try {
    await store.putText(key, buildRunPage(model(), loadChartLibrary()), RUN_PAGE_CONTENT_TYPE);
    return store.locate(key);
  } catch (err) {
    log.error('the run page was not written; report.json has the whole report', { page: store.locate(key), errorName: (err as Error).name, errorMessage: (err as Error).message });
    return null;
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
  const pageKey = runKey(event.executionId, 'reportPage');
  const page = await writeRunPage(store, pageKey, () => runPageModel(report, results, state, { report: location, page: store.locate(pageKey) }), log);
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
      notice: runNotice(report, location, page),
    }),
  ]);
  const outcome: ReportOutcome = { summary: report.summary, queryLatencyMs: report.queryLatencyMs, report: location, page };
  if (report.error) outcome.error = report.error;
  const line = { outcome: report.error ? 'failed' : 'succeeded', summary: report.summary, queryLatencyMs: report.queryLatencyMs, report: outcome.report, page, warnings: report.warnings };
  if (report.error) log.error(`run failed: ${report.error.name}`, { ...line, error: report.error });
  else log.info('run complete', line);
  return outcome;
});
