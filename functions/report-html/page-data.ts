/**
 * What the run's page knows, and the compact form it is embedded in: times as milliseconds from
 * the run's first Genesys call, each index's timeline as a flat list of numbers, every repeated
 * string (reasons, wait details, call names) once in a table. A thousand indexes come to a few
 * hundred KB with the chart library (test/report-page.test.ts measures it).
 */
import type { IndexEffect } from '../domain/effect.ts';
import type { Outcome, RunReport } from '../domain/report.ts';
import type { CallEntry, TimelineEntry, WaitReason } from '../domain/timeline.ts';

export interface RunPageModel {
  report: RunReport;
  /** Each index's timeline by id, from its outcome record (an index without one: nothing recorded). */
  timelines: ReadonlyMap<string, readonly TimelineEntry[]>;
  /** The run's own Genesys calls: the listing and the latency probes before and after the batch. */
  runCalls: { listing: readonly CallEntry[]; probeBefore: readonly CallEntry[]; probeAfter: readonly CallEntry[] };
  /** The run's API budget (calls a minute), the line the calls per minute are drawn against; null if unknown. */
  apiBudgetPerMinute: number | null;
  /** policy.maxLatencyRegression: the latency chart's threshold line; null if unknown. */
  maxLatencyRegression: number | null;
  /** The execution in the Step Functions console; null where there is none (a local run). */
  executionUrl: string | null;
  /** Where report.json is (s3://…), and its console link where there is one. */
  reportLocation: string;
  reportConsoleUrl: string | null;
  /** Where this page is kept (s3://…/report.html). */
  pageLocation: string;
  /** The checked execution input. */
  input: unknown;
}

export const OUTCOMES: readonly Outcome[] = ['optimized', 'skipped', 'failed', 'planned'];
export const WAIT_REASONS: readonly WaitReason[] = ['slot', 'retry', 'settle', 'poll'];
export const RUN_PHASES = ['listing', 'probeBefore', 'probeAfter'] as const;

/** An entry in a timeline's flat list: five numbers. */
export const ENTRY_WIDTH = 5;
export const CALL = 0;
export const WAIT = 1;

/**
 * The embedded data. `s` is the string table every `…Ref` points into (-1: none).
 *
 * - `ix`: one row per index of the report, in its order: [id, name|null, outcome (OUTCOMES),
 *   reasonRef, effect|0, timeline]. effect: [latency before, after, disk before, after, regressed 0|1],
 *   null where not measured. timeline: ENTRY_WIDTH numbers an entry, in order:
 *   a call [CALL, callRef, answered at, duration (ms), HTTP status (0: no answer)],
 *   a wait [WAIT, reason (WAIT_REASONS), decided at, length (s), detailRef].
 *   Each "at" is in ms after the one of the entry before it (the first: after `start`): shorter
 *   numbers than offsets from the start, and an index's entries are in order.
 * - `run`: the run's own calls, [phase (RUN_PHASES), callRef, answered at (ms after `start`), duration (ms), status] each.
 * - `start`: the ISO time every "at" counts from (the first call, or the report's time);
 *   `end`: the report's time, from the start.
 */
export interface PageData {
  v: 1;
  start: string;
  end: number;
  budget: number | null;
  maxRegression: number | null;
  s: string[];
  ix: Array<[string, string | null, number, number, PageEffect | 0, number[]]>;
  run: number[][];
}
export type PageEffect = [number | null, number | null, number | null, number | null, 0 | 1];

const ms = (iso: string) => Date.parse(iso);

/** The earliest moment any entry describes: a call began its duration before its answer. */
function firstMoment(model: RunPageModel): number {
  let first = Infinity;
  const see = (e: TimelineEntry) => {
    const t = e.kind === 'call' ? ms(e.at) - e.durationMs : ms(e.at);
    if (Number.isFinite(t) && t < first) first = t;
  };
  for (const entries of model.timelines.values()) entries.forEach(see);
  for (const phase of RUN_PHASES) model.runCalls[phase].forEach(see);
  const finished = ms(model.report.finishedAt);
  return Number.isFinite(first) ? Math.min(first, finished) : finished;
}

function effectOf(e: IndexEffect | null): PageEffect | 0 {
  if (!e) return 0;
  return [e.queryLatencyMs.before, e.queryLatencyMs.after, e.diskUsage.before, e.diskUsage.after, e.regressed ? 1 : 0];
}

export function pageData(model: RunPageModel): PageData {
  const strings: string[] = [];
  const refs = new Map<string, number>();
  const ref = (text: string | null | undefined): number => {
    if (text === null || text === undefined || text === '') return -1;
    let n = refs.get(text);
    if (n === undefined) {
      n = strings.push(text) - 1;
      refs.set(text, n);
    }
    return n;
  };
  const start = firstMoment(model);
  const at = (iso: string) => Math.round(ms(iso) - start);
  const flat = (entries: readonly TimelineEntry[]): number[] => {
    let previous = 0;
    return entries.flatMap((e) => {
      const t = at(e.at);
      const since = t - previous;
      previous = t;
      return e.kind === 'call'
        ? [CALL, ref(e.call), since, Math.round(e.durationMs), e.status]
        : [WAIT, Math.max(0, WAIT_REASONS.indexOf(e.reason)), since, Math.round(e.seconds * 1000) / 1000, ref(e.detail)];
    });
  };
  const ix: PageData['ix'] = model.report.indexes.map((i) => [i.id, i.name, OUTCOMES.indexOf(i.outcome), ref(i.reason), effectOf(i.effect), flat(model.timelines.get(i.id) ?? [])]);
  const run = RUN_PHASES.flatMap((phase, p) => model.runCalls[phase].map((c) => [p, ref(c.call), at(c.at), Math.round(c.durationMs), c.status]));
  return {
    v: 1,
    start: new Date(start).toISOString(),
    end: at(model.report.finishedAt),
    budget: model.apiBudgetPerMinute,
    maxRegression: model.maxLatencyRegression,
    s: strings,
    ix,
    run,
  };
}
