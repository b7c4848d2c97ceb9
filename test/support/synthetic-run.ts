// A synthetic run for the run page (functions/report-html): a report of `n` indexes and their
// timelines as optimize and verify record them (slot waits, a 429 and its retry here and there,
// the settle, polls while refreshing, a failure now and then), and the run's own calls.
import type { RunPageModel } from '../../functions/report-html/run-page.ts';
import type { ReportEntry, RunReport } from '../../functions/domain/report.ts';
import type { CallEntry, TimelineEntry } from '../../functions/domain/timeline.ts';

const T0 = Date.parse('2026-12-06T03:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const call = (at: number, name: string, status: number, durationMs: number): CallEntry => ({ kind: 'call', at: iso(at), call: name, status, durationMs });
const wait = (at: number, reason: 'slot' | 'retry' | 'settle' | 'poll', seconds: number, detail?: string): TimelineEntry => ({ kind: 'wait', at: iso(at), reason, seconds, ...(detail ? { detail } : {}) });

/** A UUID-shaped id, as Genesys gives them. */
const uuid = (i: number) => `${(0x10000000 + i * 7919).toString(16).slice(-8)}-4a1b-4c2d-8e3f-${(0x100000000000 + i * 104729).toString(16).slice(-12)}`;

export function syntheticRun(n: number, options: { name?: (i: number) => string; budget?: number } = {}): RunPageModel {
  const budget = options.budget ?? 240;
  const spacing = 60_000 / budget;
  const indexes: ReportEntry[] = [];
  const timelines = new Map<string, TimelineEntry[]>();
  let slot = 2_000;
  const next = () => (slot += spacing);
  for (let i = 0; i < n; i++) {
    const id = uuid(i);
    const name = options.name ? options.name(i) : `interactions-2026-${String((i % 12) + 1).padStart(2, '0')}-${i}`;
    if (i % 10 === 9) {
      indexes.push({ id, name, outcome: 'skipped', reason: 'exceeds maximum node capacity limits (60 shards > 50)', effect: null });
      continue;
    }
    const tl: TimelineEntry[] = [];
    let t = 1_000 + i * 40;
    const pre = next();
    tl.push(wait(t, 'slot', Math.round((pre - t) / 100) / 10));
    tl.push(call(pre + 90, 'getHealth', 200, 90));
    let put = next();
    if (i % 7 === 3) {
      tl.push(call(put + 120, 'putOptimization', 429, 120));
      tl.push(wait(put + 121, 'retry', 2, 'rate limited (429)'));
      put = Math.max(next(), put + 2_200);
    }
    if (i % 50 === 17) {
      tl.push(call(put + 150, 'putOptimization', 400, 150));
      indexes.push({ id, name, outcome: 'failed', reason: `PUT /api/v2/search/indexes/${id}/optimize: rejected (400): refreshPolicy not allowed [correlation id c-${i}]`, effect: null });
      timelines.set(id, tl);
      continue;
    }
    tl.push(wait(put - 400, 'slot', 0.4));
    tl.push(call(put + 150, 'putOptimization', 202, 150));
    tl.push(wait(put + 151, 'settle', 5));
    t = put + 5_200;
    const polls = i % 4;
    for (let p = 0; p < polls; p++) {
      tl.push(wait(t, 'slot', 0.25));
      tl.push(call(t + 330, 'getHealth', 503, 80));
      tl.push(wait(t + 331, 'poll', 2, 'refreshing (503)'));
      t += 2_400;
    }
    tl.push(wait(t, 'slot', 0.25));
    tl.push(call(t + 335, 'getHealth', 200, 85));
    timelines.set(id, tl);
    const before = 80 + (i % 40);
    const after = i % 97 === 5 ? before * 1.5 : before * (0.6 + (i % 10) / 50);
    indexes.push({
      id,
      name,
      outcome: 'optimized',
      reason: null,
      effect: { queryLatencyMs: { before, after: Math.round(after * 10) / 10 }, diskUsage: { before: 60, after: 55.5 }, regressed: after > before * 1.2 },
    });
  }
  const count = (o: string) => indexes.filter((x) => x.outcome === o).length;
  const finished = slot + 30_000;
  const report: RunReport = {
    executionId: 'arn:aws:states:eu-west-1:123456789012:execution:GenesysIndexOptimizer-Optimizer:weekly-2026-12-06',
    org: null,
    dryRun: false,
    retryOf: null,
    approval: null,
    finishedAt: iso(finished),
    summary: { total: n, optimized: count('optimized'), skipped: count('skipped'), failed: count('failed'), planned: 0 },
    queryLatencyMs: { before: 120.4, after: 95.1 },
    medianIndexLatencyChange: -0.21,
    regressions: indexes.flatMap((x) => (x.effect?.regressed ? [{ id: x.id, name: x.name, before: x.effect.queryLatencyMs.before!, after: x.effect.queryLatencyMs.after! }] : [])),
    throughputRate: { before: 8.3, after: 10.5 },
    indexes,
    warnings: [],
    error: count('failed') > 0 ? { name: 'Run.IndexesFailed', cause: `${count('failed')} of ${n} indexes failed.` } : null,
  };
  const pages = Math.ceil(n / 25);
  return {
    report,
    timelines,
    runCalls: {
      listing: Array.from({ length: pages }, (_, p) => call(200 + p * 250, 'listIndexPage', 200, 200)),
      probeBefore: [call(1_500, 'probeQueryLatency', 200, 130)],
      probeAfter: [call(finished - 2_000, 'probeQueryLatency', 200, 110)],
    },
    apiBudgetPerMinute: budget,
    maxLatencyRegression: 0.2,
    executionUrl: 'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/' + report.executionId,
    reportLocation: 's3://run-bucket/runs/GenesysIndexOptimizer-Optimizer/weekly-2026-12-06/report.json',
    reportConsoleUrl: 'https://console.aws.amazon.com/s3/object/run-bucket?region=eu-west-1&prefix=runs%2FGenesysIndexOptimizer-Optimizer%2Fweekly-2026-12-06%2Freport.json',
    pageLocation: 's3://run-bucket/runs/GenesysIndexOptimizer-Optimizer/weekly-2026-12-06/report.html',
    input: { dryRun: false, apiBudgetPerMinute: budget, policy: { maxLatencyRegression: 0.2 } },
  };
}
