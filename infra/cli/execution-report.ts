/**
 * The report of a deployed execution: where it is (the execution's output, the Report state's
 * output in the history, or runs/<state machine>/<execution>/report.json in the run bucket),
 * reading it from S3, and what to show when it cannot be read.
 */
import { errorMessageOf } from '../../functions/shared/lambda-cause.ts';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { FleetReport } from '../../functions/domain/fleet.ts';
import type { RunReport } from '../../functions/domain/report.ts';
import { runKey, RunStoreError } from '../../functions/store/run-store.ts';
import { RUN_OBJECT } from '../../functions/store/run-layout.ts';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';
import { errorText } from './execution-follower.ts';

export class ReportUnavailable extends Error {
  override name = 'ReportUnavailable';
}

export function reportLocationFor(bucket: string, executionArn: string): string {
  return `s3://${bucket}/${runKey(executionArn, 'report')}`;
}

function parseS3Url(location: string): { bucket: string; key: string } | null {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return m ? { bucket: m[1]!, key: m[2]! } : null;
}

/** An s3:// object as text; ReportUnavailable says why not. */
async function readTextAt(s3: S3Client, location: string): Promise<string | undefined> {
  const where = parseS3Url(location);
  if (!where) throw new ReportUnavailable(`${location} is not an s3:// location`);
  let text: string | undefined;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: where.bucket, Key: where.key }));
    text = await res.Body?.transformToString('utf-8');
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'NoSuchKey') throw new ReportUnavailable(`${location} does not exist`);
    throw new ReportUnavailable(`cannot read ${location}: ${errorText(err)}`);
  }
  return text;
}

/** An s3:// object as JSON; ReportUnavailable says why not. */
async function readJsonAt(s3: S3Client, location: string): Promise<unknown> {
  const text = await readTextAt(s3, location);
  try {
    return JSON.parse(text ?? '') as unknown;
  } catch {
    throw new ReportUnavailable(`${location} is not JSON`);
  }
}

export async function readRunReport(s3: S3Client, location: string): Promise<RunReport> {
  const report = await readJsonAt(s3, location);
  const r = report as Partial<RunReport> | null;
  if (typeof r !== 'object' || r === null || typeof r.summary !== 'object' || !Array.isArray(r.indexes)) {
    throw new ReportUnavailable(`${location} is not a run report`);
  }
  return report as RunReport;
}

/** Where a fleet execution's report is in the run bucket (FleetReport writes it there, failed or not). */
export function fleetReportLocationFor(bucket: string, fleetExecutionArn: string): string {
  return `s3://${bucket}/${runKey(fleetExecutionArn, 'fleetReport')}`;
}

export async function readFleetReport(s3: S3Client, location: string): Promise<FleetReport> {
  const report = await readJsonAt(s3, location);
  const r = report as Partial<FleetReport> | null;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.orgs) || !('stoppedAtWave' in r)) {
    throw new ReportUnavailable(`${location} is not a fleet report`);
  }
  return report as FleetReport;
}

/** Another object of a run in the run bucket (its checked input, config.json), as JSON. */
export async function readRunObject<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  try {
    return await new S3RunStore(bucket, s3).getJson<T>(key);
  } catch (err) {
    if (err instanceof RunStoreError) throw new ReportUnavailable(err.message);
    throw new ReportUnavailable(`cannot read s3://${bucket}/${key}: ${errorText(err)}`);
  }
}

/** The run's page (report.html), beside its report. */
export function pageLocationFor(reportLocation: string): string {
  return reportLocation.replace(/[^/]+$/, RUN_OBJECT.reportPage);
}

/**
 * Where the run's page is: the `page` field of a succeeded execution's output (null: the report
 * function could not write it), else beside the report.
 */
export function pageLocationFrom(output: unknown, reportLocation: string): string | null {
  const page = typeof output === 'object' && output !== null && 'page' in output ? (output as Record<string, unknown>)['page'] : undefined;
  if (page === null) return null;
  return typeof page === 'string' ? page : pageLocationFor(reportLocation);
}

/** The run's page (report.html) as its HTML. */
export async function readRunPage(s3: S3Client, location: string): Promise<string> {
  const text = await readTextAt(s3, location);
  if (!text) throw new ReportUnavailable(`${location} is empty`);
  return text;
}

/** The `report` field of a succeeded execution's output. */
export function reportLocationFromOutput(output: unknown): string | undefined {
  const location = typeof output === 'object' && output !== null ? (output as Record<string, unknown>)['report'] : undefined;
  return typeof location === 'string' ? location : undefined;
}

type Summary = RunReport['summary'];

function isSummary(v: unknown): v is Summary {
  return typeof v === 'object' && v !== null && ['total', 'optimized', 'skipped', 'failed'].every((k) => typeof (v as Record<string, unknown>)[k] === 'number');
}

/** The failed count the execution's own output gives, when there is no report to read. */
export function failedFromOutput(output: unknown): number | undefined {
  const summary = (output as { summary?: unknown } | null | undefined)?.summary;
  return isSummary(summary) ? summary.failed : undefined;
}

/** The execution's output summary `{summary, queryLatencyMs}`, as lines, for when the report cannot be read. */
export function formatOutputSummary(output: unknown): string[] {
  const o = (output ?? {}) as { summary?: unknown; queryLatencyMs?: { before?: unknown; after?: unknown } };
  if (!isSummary(o.summary)) return [];
  const s = o.summary;
  const lines = [`${s.total} indexes: ${s.optimized} optimized, ${s.skipped} skipped, ${s.failed} failed` + (s.planned ? `, ${s.planned} planned (dry run)` : '')];
  const ms = (v: unknown) => (typeof v === 'number' ? `${v.toFixed(1)} ms` : 'not measured');
  if (o.queryLatencyMs && !s.planned) lines.push(`Query latency: before ${ms(o.queryLatencyMs.before)}, after ${ms(o.queryLatencyMs.after)}`);
  return lines;
}

/** A Lambda error's cause is JSON with errorMessage and a stack trace: only the message is shown. */
export function causeText(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  const text = errorMessageOf(cause);
  return text.length > 500 ? `${text.slice(0, 499)}…` : text;
}
