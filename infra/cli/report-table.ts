/**
 * The end-of-run report as a person reads it in a terminal: one line per index (with its own
 * latency before and after, `!` where it regressed), failures first, then the totals, the query
 * latency before and after, the median change of the indexes' latency and the regressions.
 */
import type { Outcome, RunReport } from '../../functions/domain/report.ts';
import { describeDecision } from '../../functions/domain/approval.ts';

const ORDER: Record<Outcome, number> = { failed: 0, skipped: 1, planned: 2, optimized: 3 };

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function pad(text: string, width: number): string {
  return cut(text, width).padEnd(width);
}

/** An optimized index's own latency, before → after (its health reads). */
function latencyCell(effect: RunReport['indexes'][number]['effect'] | undefined): string {
  const l = effect?.queryLatencyMs;
  if (!l || (l.before === null && l.after === null)) return '';
  const v = (x: number | null) => (x === null ? '?' : String(Math.round(x)));
  return `${v(l.before)} → ${v(l.after)} ms${effect.regressed ? ' !' : ''}`;
}

const ms = (v: number | null) => (v === null ? 'not measured' : `${v.toFixed(1)} ms`);
const rate = (v: number | null) => (v === null ? '' : ` (throughput ${v.toFixed(2)}/s)`);

export function formatReportTable(report: RunReport, options: { reasonWidth?: number } = {}): string {
  const reasonWidth = options.reasonWidth ?? 90;
  const rows = [...report.indexes].sort((a, b) => ORDER[a.outcome] - ORDER[b.outcome] || (a.name ?? a.id).localeCompare(b.name ?? b.id));
  const nameWidth = Math.min(40, Math.max(5, ...rows.map((r) => (r.name ?? r.id).length)));
  const lines = [`${pad('OUTCOME', 10)}  ${pad('INDEX', nameWidth)}  ${pad('LATENCY', 15)}  REASON`];
  for (const r of rows) {
    lines.push(`${pad(r.outcome, 10)}  ${pad(r.name ?? r.id, nameWidth)}  ${pad(latencyCell(r.effect), 15)}  ${r.reason ? cut(r.reason, reasonWidth) : ''}`.trimEnd());
  }
  const s = report.summary;
  lines.push('');
  lines.push(
    `${s.total} indexes: ${s.optimized} optimized, ${s.skipped} skipped, ${s.failed} failed` + (s.planned ? `, ${s.planned} planned${report.dryRun ? ' (dry run)' : ''}` : ''),
  );
  const a = report.approval;
  if (a) lines.push(`Approval: ${describeDecision(a)}${a.status === 'approved' ? '' : '; nothing was changed'}`);
  if (!report.dryRun && (!a || a.status === 'approved')) {
    lines.push(`Query latency: before ${ms(report.queryLatencyMs.before)}${rate(report.throughputRate.before)}, after ${ms(report.queryLatencyMs.after)}${rate(report.throughputRate.after)}`);
    const median = report.medianIndexLatencyChange;
    if (median !== null && median !== undefined) lines.push(`Index latency, median change: ${median > 0 ? '+' : ''}${Math.round(median * 100)}%`);
    for (const g of report.regressions ?? []) lines.push(`Regressed: ${g.name ?? g.id} answers in ${g.after} ms, was ${g.before} ms`);
  }
  if (report.retryOf) lines.push(`A retry of the failed indexes of ${report.retryOf}`);
  for (const w of report.warnings) lines.push(`Warning: ${w}`);
  if (report.error) lines.push(`Run failed: ${report.error.name}: ${report.error.cause}`);
  return lines.join('\n');
}

/** The report file of `--report FILE`: the summary, the latency and every index, plus context. */
export function reportFileContent(report: RunReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
