/**
 * The end of a fleet execution as a person reads it in a terminal: one line per org (wave by wave,
 * those not started too) with its status, its run's counts, its regressions and why it did not
 * pass; then the totals, where the rollout stopped and why the fleet failed.
 */
import type { FleetReport, OrgResult } from '../../functions/domain/fleet.ts';

const STATUS: Record<OrgResult['status'], string> = { succeeded: 'succeeded', failed: 'failed', notStarted: 'not started' };

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** What the table needs: the report, or the fleet execution's output (FleetOutcome) when the report cannot be read. */
export type FleetTableInput = Pick<FleetReport, 'orgs' | 'stoppedAtWave'> & { error?: FleetReport['error'] | undefined };

export function formatFleetTable(report: FleetTableInput, options: { reasonWidth?: number } = {}): string {
  const reasonWidth = options.reasonWidth ?? 90;
  const rows = [...report.orgs].sort((a, b) => a.wave - b.wave || a.name.localeCompare(b.name));
  const planned = rows.some((r) => (r.summary?.planned ?? 0) > 0);
  const count = (r: OrgResult, k: 'optimized' | 'skipped' | 'failed' | 'planned') => (r.summary ? String(r.summary[k]) : '-');
  const columns: Array<[string, (r: OrgResult) => string, 'left' | 'right']> = [
    ['ORG', (r) => r.name, 'left'],
    ['WAVE', (r) => String(r.wave), 'right'],
    ['STATUS', (r) => STATUS[r.status] ?? r.status, 'left'],
    ['OPTIMIZED', (r) => count(r, 'optimized'), 'right'],
    ['SKIPPED', (r) => count(r, 'skipped'), 'right'],
    ['FAILED', (r) => count(r, 'failed'), 'right'],
    ...(planned ? [['PLANNED', (r: OrgResult) => count(r, 'planned'), 'right'] as [string, (r: OrgResult) => string, 'right']] : []),
    ['REGRESSIONS', (r) => (r.status === 'notStarted' ? '-' : String(r.regressions)), 'right'],
  ];
  const widths = columns.map(([title, value]) => Math.max(title.length, ...rows.map((r) => value(r).length)));
  const line = (cells: string[], reason: string) =>
    `${cells.map((c, i) => (columns[i]![2] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}  ${reason}`.trimEnd();
  const lines = [line(columns.map(([title]) => title), 'REASON')];
  for (const r of rows) lines.push(line(columns.map(([, value]) => value(r)), r.reason ? cut(r.reason, reasonWidth) : ''));
  const by = (s: OrgResult['status']) => rows.filter((r) => r.status === s).length;
  lines.push('');
  lines.push(`${rows.length} org(s): ${by('succeeded')} succeeded, ${by('failed')} failed, ${by('notStarted')} not started`);
  if (report.stoppedAtWave !== null) lines.push(`The rollout stopped after wave ${report.stoppedAtWave}: later waves were not started`);
  if (report.error) lines.push(`Fleet failed: ${report.error.name}: ${report.error.cause}`);
  return lines.join('\n');
}

/** The file of `--report FILE`: the fleet report as it is in the run bucket. */
export function fleetReportFileContent(report: FleetReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
