/**
 * A retry of what failed (npm start / npm run execute --retry-failed): a new run of exactly the
 * failed indexes of an earlier run, with that run's input otherwise (fields given with --input
 * take precedence), naming the run it retries. The earlier run's report is left as it is.
 */
import type { RunConfig } from '../../functions/domain/execution-input.ts';
import type { RunReport } from '../../functions/domain/report.ts';
import { UsageError } from './execution-input-arg.ts';

export type RetryPlan = { input: Record<string, unknown>; failed: string[] } | { nothing: string };

export function retryPlan(report: RunReport, earlier: RunConfig, overrides: Record<string, unknown>): RetryPlan {
  for (const field of ['indexIds', 'retryOf'] as const) {
    if (field in overrides) throw new UsageError(`--retry-failed runs exactly the failed indexes of the earlier run: leave ${field} out of --input (and give no --index)`);
  }
  const failed = report.indexes.filter((e) => e.outcome === 'failed').map((e) => e.id);
  if (report.dryRun) return { nothing: `${report.executionId} was a dry run: it changed nothing, so nothing failed to retry` };
  if (failed.length === 0) return { nothing: `no index of ${report.executionId} failed (${report.summary.optimized} optimized, ${report.summary.skipped} skipped): nothing to retry` };
  const { indexIds: _subset, retryOf: _earlierRetry, ...input } = earlier;
  return { input: { ...input, ...overrides, indexIds: failed, retryOf: report.executionId }, failed };
}
