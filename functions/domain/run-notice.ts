/**
 * The run-completed notification, as fields of the run's audit event: the notification rule's
 * input transformer puts each one on a line of the message (infra/stack/notifications.ts). Each
 * is one line of plain text without double quotes, so it reads the same whether EventBridge
 * escapes it into a JSON string or inserts it as it is.
 */
import { describeDecision } from './approval.ts';
import type { RunReport } from './report.ts';

export interface RunNotice {
  /** "Genesys index optimizer run <name>: succeeded" (or failed, or ended without changes). */
  headline: string;
  /** The counts, one line. */
  counts: string;
  /** The failed indexes with their reasons (the first few), or "Failed: none". */
  failures: string;
  regressions: string;
  /** The approval's outcome, or that none was required. */
  approval: string;
  /** The execution in the Step Functions console. */
  execution: string;
  /** The run's page (report.html: the timeline, the charts, every index) in the S3 console, and its s3:// location. */
  page: string;
  /** The report in the S3 console, and its s3:// location. */
  report: string;
}

/** How many failed indexes and regressions a notification names; the report has them all. */
export const NAMED_IN_NOTICE = 5;
const MAX_LINE = 1_000;

/** One line, no double quotes, bounded. */
export function noticeLine(text: string): string {
  const flat = text.replace(/"/g, "'").replace(/\s+/g, ' ').trim();
  return flat.length > MAX_LINE ? `${flat.slice(0, MAX_LINE - 1)}…` : flat;
}

/** The console's host and region for an ARN (arn:<partition>:<service>:<region>:…). */
function consoleOf(arn: string): { host: string; region: string } {
  const [, partition = 'aws', , region = 'us-east-1'] = arn.split(':');
  return { host: partition === 'aws-cn' ? 'console.amazonaws.cn' : partition === 'aws-us-gov' ? 'console.amazonaws-us-gov.com' : 'console.aws.amazon.com', region };
}

/** An execution in the Step Functions console. */
export function executionConsoleUrl(executionArn: string): string {
  const { host, region } = consoleOf(executionArn);
  return `https://${region}.${host}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** An s3://bucket/key location's object in the S3 console of the execution's partition and region (anything else as it is). */
export function s3ConsoleUrl(executionId: string, location: string): string {
  const { host, region } = consoleOf(executionId);
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return s3 ? `https://${host}/s3/object/${s3[1]}?region=${region}&prefix=${encodeURIComponent(s3[2]!)}` : location;
}

/** Console links for an execution ARN and an s3://bucket/key location (in the execution's region). */
export function consoleLinks(executionId: string, reportLocation: string): { execution: string; report: string } {
  return { execution: executionConsoleUrl(executionId), report: s3ConsoleUrl(executionId, reportLocation) };
}

/** How the run ended, in words: failed, succeeded, a dry run, or ended without changes (the plan not approved). */
export function runOutcome(report: RunReport): string {
  const unchanged = report.approval !== null && report.approval.status !== 'approved';
  return report.error ? 'failed' : report.dryRun ? 'dry run, nothing changed' : unchanged ? `ended without changes (plan ${report.approval!.status})` : 'succeeded';
}

const pct = (before: number, after: number) => `${after >= before ? '+' : ''}${Math.round((after / before - 1) * 100)}%`;

/**
 * `pageLocation`: where the run's page is (s3://…/report.html), or null when it could not be
 * written (the notice then says so; report.json is there all the same).
 */
export function runNotice(report: RunReport, reportLocation: string, pageLocation: string | null): RunNotice {
  const run = report.executionId.split(':').pop() ?? report.executionId;
  const s = report.summary;
  const outcome = runOutcome(report);
  const failed = report.indexes.filter((i) => i.outcome === 'failed');
  const named = (n: number) => (n > NAMED_IN_NOTICE ? `; … and ${n - NAMED_IN_NOTICE} more in the report` : '');
  const links = consoleLinks(report.executionId, reportLocation);
  const a = report.approval;
  return {
    headline: noticeLine(`Genesys index optimizer run ${run}${report.org ? ` (org ${report.org})` : ''}: ${outcome}`),
    counts: noticeLine(`${s.total} indexes: ${s.optimized} optimized, ${s.skipped} skipped, ${s.failed} failed${s.planned > 0 ? `, ${s.planned} planned` : ''}` +
      (report.error ? `. Run error ${report.error.name}` : '')),
    failures: noticeLine(
      failed.length === 0
        ? 'Failed: none'
        : `Failed: ${failed.slice(0, NAMED_IN_NOTICE).map((i) => `${i.name ?? i.id}: ${i.reason ?? 'no reason recorded'}`).join('; ')}${named(failed.length)}`,
    ),
    regressions: noticeLine(
      report.regressions.length === 0
        ? 'Latency regressions: none'
        : `Latency regressions: ${report.regressions.slice(0, NAMED_IN_NOTICE).map((r) => `${r.name ?? r.id} ${r.before} ms to ${r.after} ms (${pct(r.before, r.after)})`).join('; ')}${named(report.regressions.length)}`,
    ),
    approval: noticeLine(a === null ? 'Approval: not required' : `Approval: ${describeDecision(a)}${a.status === 'timedOut' ? ', nothing changed' : ''}`),
    execution: links.execution,
    page: noticeLine(pageLocation === null ? 'not written (see the report function log); the report has every index' : `${s3ConsoleUrl(report.executionId, pageLocation)} (${pageLocation})`),
    report: noticeLine(`${links.report} (${reportLocation})`),
  };
}
