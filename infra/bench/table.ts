/**
 * The bench's printed report: settings, one row per org (and the real-time run), the seed's
 * strategy beside the optimizer, the bundles against the floor, and the targets (measured, not
 * asserted).
 */
import type { BenchResults, OrgResult, SecondRunComparison, StrategyOutcome } from './results.ts';

function table(headers: string[], rows: Array<Array<string | number>>, align: Array<'l' | 'r'> = []): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const min = (s: number) => (s / 60).toFixed(1);
const usd = (x: number) => `$${x < 0.1 ? x.toFixed(4) : x.toFixed(2)}`;
/** "org 100", or "org 100, second run". */
const orgLabel = (o: OrgResult) => `org ${o.indexes}${o.run === 'second' ? ', second run' : ''}`;


function orgDetails(o: OrgResult, budget: number): string {
  const n = o.callsAtSettleTimings;
  const by = o.callsByEndpoint;
  const lines = [
    `${orgLabel(o)}: ${o.status}; ${o.optimized} optimized, ${o.failed} failed (${o.failedBy429} by a 429)`,
    `  minimum calls ${o.minimumCalls} (the bound's: list pages, 2 probes, a pre-check, a PUT and one health read per index)`,
    `  reads at the settle timings would make ${n.total} = ${n.listPages} list pages + ${n.probes} probes + ${n.prechecks} pre-checks + ${n.puts} PUTs + ${n.healthReads} health reads`,
    `  calls made   ${o.callsMade} (bound for these: ${min(o.boundFromCallsMadeSeconds)} min) = list ${by['list'] ?? 0}, probe ${by['probe'] ?? 0}, health ${by['health'] ?? 0}, PUT ${by['put'] ?? 0}` +
      `${by['other'] ? `, other ${by['other']}` : ''}; token requests ${o.tokenRequests} (not counted)`,
    `  health reads after the PUT: ${o.healthReadsPerIndex.toFixed(2)} per index (1 is the minimum)`,
    `  rate: busiest minute ${o.peakCallsPerMinute} calls, mean ${o.meanCallsPerMinute}/min = ${Math.round(o.budgetUtilization * 100)}% of the ${budget}/min budget${o.peakCallsPerMinute > budget ? ' (busiest minute over it)' : ''}`,
    `  transitions: ${o.transitions.total} (${o.transitions.runLevel} run-level; per index mean ${o.transitions.perIndexMean.toFixed(2)}, max ${o.transitions.perIndexMax})`,
    ...o.transitions.paths.map((p) => `    ${String(p.indexes).padStart(5)} × ${p.path}: ${p.min === p.max ? p.min : `${p.min}–${p.max}`} transitions${p === o.transitions.commonPath ? '  ← common path' : ''}`),
    `  invocations: ${Object.entries(o.invocations).map(([k, v]) => `${k} ${v}`).join(', ')}; mean task ms: ${Object.entries(o.meanTaskMs).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  S3 ops: ${o.s3.puts} PUT, ${o.s3.gets} GET, ${o.s3.lists} LIST; pacer reservations ${o.pacerReservations}; largest state ${(o.maxPayloadBytes / 1024).toFixed(1)} KiB`,
    `  cost per 1,000 indexes: ${usd(o.costPer1000.total)} = Step Functions ${usd(o.costPer1000.stepFunctions)} + Lambda requests ${usd(o.costPer1000.lambdaRequests)}` +
      ` + Lambda duration ${usd(o.costPer1000.lambdaDuration)} + S3 ${usd(o.costPer1000.s3)} + DynamoDB ${usd(o.costPer1000.dynamoDb)}`,
  ];
  return lines.join('\n');
}

export function formatResults(r: BenchResults): string {
  const s = r.settings;
  const out: string[] = [];
  const budget = s.effectiveBudgetPerMinute === s.budgetPerMinute ? `${s.budgetPerMinute}/min` : `${s.budgetPerMinute}/min (ran as ${s.effectiveBudgetPerMinute.toFixed(2)}/min: whole numbers per wall-clock minute)`;
  out.push(
    `Settings: scale ×${s.scale}; budget ${budget};` +
      ` maxConcurrency ${s.maxConcurrency}${s.maxConcurrencyFromInput ? '' : " (the optimizer's default)"}; simulator ${s.simulator.rateLimitPerWindow} requests per ${s.simulator.rateLimitWindowSeconds.toFixed(2)} s window` +
      ` (= 300/min at real scale); effective timings ${Object.entries(s.effectiveTiming).map(([k, v]) => `${k} ${v}`).join(', ')}; Node ${s.node}, ${s.cpus} CPUs`,
  );
  out.push('');
  out.push('All times in real-world minutes (measured wall time × scale; the real-time run is not compressed). Busiest minute: most API calls in any sliding real-world minute.');
  const runs: Array<[OrgResult, number]> = [...r.orgs.map((o): [OrgResult, number] => [o, s.scale]), ...(r.realTime ? [[r.realTime, r.realTime.scale] as [OrgResult, number]] : [])];
  if (runs.length) {
    out.push(
      table(
        ['indexes', 'run', 'scale', 'wall min', 'bound min', 'ratio', 'calls/idx', 'busiest min', '429s', 'failed', 'transitions/idx', 'invocations/idx', '$ per 1,000 idx'],
        runs.map(([o, k]) => [
          o.indexes,
          o.run,
          k === 1 ? 'real time' : `×${k}`,
          min(o.wallSeconds),
          min(o.boundSeconds),
          o.ratioToBound.toFixed(2),
          o.callsPerIndex.toFixed(2),
          o.peakCallsPerMinute,
          o.throttled,
          o.failed,
          o.transitionsPerIndex.toFixed(2),
          o.invocationsPerIndex.toFixed(2),
          usd(o.costPer1000Usd),
        ]),
      ),
    );
  } else out.push('(no optimizer runs)');
  for (const o of r.orgs) out.push('', orgDetails(o, s.effectiveBudgetPerMinute));
  if (r.secondRuns.length) out.push('', ...secondRunLines(r.secondRuns));
  if (r.realTime) out.push('', `Real time (k = 1), input ${JSON.stringify(r.realTime.executionInput)}:`, orgDetails(r.realTime, r.realTime.budgetPerMinute));
  if (r.seedStrategy && r.seedComparison) {
    const c = r.seedComparison;
    out.push('');
    out.push(`The seed's strategy and the optimizer on the same org, ${c.indexes} indexes, ×${c.scale} (verified: a health read found the index healthy after its PUT):`);
    const row = (name: string, x: StrategyOutcome) => [name, x.verified, x.unverified, x.calls, x.callsPerIndex.toFixed(2), min(x.wallSeconds)];
    out.push(
      table(
        ['strategy', 'verified', 'unverified', 'API calls', 'calls/idx', 'wall min'],
        [row('seed', c.seed), ...(c.optimizer ? [row('optimizer', c.optimizer)] : [])],
        ['l'],
      ),
    );
    const seed = r.seedStrategy;
    out.push(`  seed outcomes: ${Object.entries(seed.outcomes).map(([k, v]) => `${v} ${k}`).join(', ')}; ${seed.throttled} × 429`);
    if (!c.optimizer) out.push(`  (no optimizer run of ${c.indexes} indexes at ×${c.scale} to put beside it: add ${c.indexes} to --sizes)`);
  }
  if (r.bundles.length && r.floor) {
    const f = r.floor;
    out.push('');
    out.push(
      'Cold import: median of fresh node processes, with --enable-source-maps as deployed. × floor: median of each import over the floor bundle\'s (S3Client + Logger only) imported just before it.',
    );
    out.push(
      table(
        ['bundle', 'KiB (min.)', 'cold import ms', '× floor', 'runs ms', 'no source maps ms', 'map KiB'],
        [
          ['floor', (f.bytes / 1024).toFixed(1), f.coldImportMs.toFixed(1), '1.00', `${f.coldImportRunsMs.length} runs, ${Math.min(...f.coldImportRunsMs)}–${Math.max(...f.coldImportRunsMs)}`, f.coldImportMsNoSourceMaps.toFixed(1), (f.sourceMapBytes / 1024).toFixed(0)],
          ...r.bundles.map((b) => [b.name, (b.bytes / 1024).toFixed(1), b.coldImportMs.toFixed(1), b.importRatio.toFixed(2), b.coldImportRunsMs.join(' '), b.coldImportMsNoSourceMaps.toFixed(1), (b.sourceMapBytes / 1024).toFixed(0)]),
        ],
        ['l'],
      ),
    );
  }
  out.push('', 'Targets (measured, not asserted):', ...targetLines(r));
  if (r.notes.length) out.push('', ...r.notes.map((n) => `note: ${n}`));
  return out.join('\n');
}

/** Each org's second run beside its first: what the refresh memory the first left saves. */
export function secondRunLines(comparisons: readonly SecondRunComparison[]): string[] {
  const out = ["An org's first run (refresh memory empty) and its second (with what the first learned), on one local AWS:"];
  out.push(
    table(
      ['indexes', 'run', 'calls', 'calls/idx', 'health reads/idx', 'ratio', 'wall min'],
      comparisons.flatMap((c) =>
        (['first', 'second'] as const).map((run) => {
          const f = c[run];
          return [c.indexes, run, f.calls, f.callsPerIndex.toFixed(2), f.healthReadsPerIndex.toFixed(2), f.ratioToBound.toFixed(2), min(f.wallSeconds)];
        }),
      ),
    ),
  );
  for (const c of comparisons) {
    out.push(`  org ${c.indexes}: the second run made ${c.callsSaved} calls fewer; the minimum is ${c.minimumCallsPerIndex.toFixed(2)} calls per index`);
  }
  return out;
}

/** Issue #11's targets. */
export function targetLines(r: BenchResults): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean) => (ok ? 'met    ' : 'NOT met');
  const budget = r.settings.effectiveBudgetPerMinute;
  // The targets are an org's first run: the seed, and the earlier measurements, have no memory either.
  const big = r.orgs.find((o) => o.indexes === 1000 && o.run === 'first');
  if (big) {
    const paced = big.peakCallsPerMinute <= budget;
    lines.push(`  ${verdict(big.callsPerIndex <= 3.2)}  ≤ 3.2 API calls per index at 1,000 indexes: ${big.callsPerIndex.toFixed(2)}`);
    lines.push(
      `  ${verdict(big.ratioToBound <= 1.06 && big.failedBy429 === 0 && paced)}  ratio to bound ≤ 1.06 at 1,000 indexes, no index failed by a 429: ratio ${big.ratioToBound.toFixed(2)}, ${big.failedBy429} failed by 429` +
        (paced ? '' : ` (but the run exceeded the budget: ${big.peakCallsPerMinute} calls in its busiest minute)`),
    );
  } else lines.push('  -        calls per index and ratio to bound at 1,000 indexes: not run');
  for (const c of r.secondRuns) {
    lines.push(`  reported  a second run of the same org, ${c.indexes} indexes: ${c.second.callsPerIndex.toFixed(2)} calls per index (first run ${c.first.callsPerIndex.toFixed(2)}, minimum ${c.minimumCallsPerIndex.toFixed(2)})`);
  }
  const rt = r.realTime;
  if (rt) {
    lines.push(`  ${verdict(rt.ratioToBound <= 1.1)}  ratio to bound ≤ 1.10 at real time (${rt.indexes} indexes, k = 1): ${rt.ratioToBound.toFixed(2)}`);
    lines.push(`  ${verdict(rt.peakCallsPerMinute <= rt.budgetPerMinute)}  budget never exceeded in any sliding 60 s window at real time: busiest ${rt.peakCallsPerMinute} calls of ${rt.budgetPerMinute}`);
  } else lines.push('  -        real time (k = 1): not run (--real-time)');
  if (r.bundles.length && r.floor) {
    const worst = r.bundles.reduce((a, b) => (b.importRatio > a.importRatio ? b : a));
    lines.push(`  ${verdict(r.bundles.every((b) => b.importRatio <= 1.25))}  cold import ≤ 1.25 × the floor (${r.floor.coldImportMs} ms) for every function: highest ${worst.name} ${worst.importRatio.toFixed(2)}`);
  } else lines.push('  -        cold import against the floor: not measured');
  for (const [label, o] of [...r.orgs.map((o) => [orgLabel(o), o] as const), ...(rt ? [['real time', rt] as const] : [])]) {
    const c = o.transitions.commonPath;
    lines.push(
      `  ${verdict(o.transitionsPerIndex <= 12)}  ≤ 12 transitions per index, ${label}: ${o.transitionsPerIndex.toFixed(2)}` +
        (c ? ` (common path ${c.max}: ${c.path}; ${c.indexes} of ${o.indexes} indexes; each poll while the refresh runs adds 3)` : ''),
    );
  }
  for (const o of r.orgs) lines.push(`  reported  cost per 1,000 indexes, ${orgLabel(o)}: ${usd(o.costPer1000Usd)}`);
  return lines;
}
