/**
 * Follows a deployed execution until it ends, printing its progress the way `npm start` does for
 * a local run: the run's phases from the execution history, the Distributed Map's `[done/total]`
 * from its map run, and every failed index as soon as its child execution has finished.
 */
import { STATE } from '../stack/state-names.ts';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ProgressReporter } from './progress.ts';
import { decisionCommands } from '../../functions/domain/approval.ts';

export interface FollowClients {
  sfn: SFNClient;
}

export interface FollowOptions {
  /** Waits between polls; tests pass one that returns at once. */
  sleep: (ms: number) => Promise<void>;
  write: (line: string) => void;
  pollSeconds: number;
}

/** How a followed execution ended, as DescribeExecution and its history tell it. */
export interface EndedExecution {
  status: string;
  error?: string;
  cause?: string;
  /** The execution's output, parsed (the report summary, or the fleet's outcome, when it succeeded). */
  output?: unknown;
  startDate?: Date;
  stopDate?: Date;
  /** Where the report state stored the report, read from the history: known for a failed run too. */
  reportLocation?: string;
}

/** The description's fields every follower reports, with the report's location if the history gave it. */
export function endedExecution(d: DescribeExecutionCommandOutput, reportLocation: string | undefined): EndedExecution {
  const r: EndedExecution = { status: d.status ?? 'UNKNOWN' };
  if (d.error) r.error = d.error;
  if (d.cause) r.cause = d.cause;
  if (d.output !== undefined) r.output = parseJson(d.output);
  if (d.startDate) r.startDate = d.startDate;
  if (d.stopDate) r.stopDate = d.stopDate;
  if (reportLocation) r.reportLocation = reportLocation;
  return r;
}

export interface FollowResult extends EndedExecution {
  /** The run went past planning (probed, optimized or reported): a failure now is the run's, not its start's. */
  startedOptimizing: boolean;
}

/** The parent workflow's states; the per-index states run in child executions, whose histories are not read. */
const PHASES = new Set<string>([STATE.validateInput, STATE.fetchInventory, STATE.makePlan, STATE.probeBefore, STATE.probeAfter]);
const OPTIMIZE_INDEXES = STATE.optimizeIndexes;
const AWAIT_APPROVAL = STATE.awaitApproval;
const REPORT = STATE.report;
const PAST_PLANNING = new Set<string>([STATE.probeBefore, OPTIMIZE_INDEXES, STATE.probeAfter, REPORT]);
const MAP_ENDED = new Set(['MapRunSucceeded', 'MapRunFailed', 'MapRunAborted', 'MapStateExited', 'MapStateFailed', 'MapStateAborted']);
const RUNNING = new Set(['RUNNING', 'PENDING_REDRIVE']);

/**
 * Child DescribeExecution calls per poll: a run of thousands of indexes must not hammer the API
 * (Step Functions throttles DescribeExecution per account). The rest wait for the next poll;
 * the final report lists every failure anyway.
 */
export const MAX_CHILD_DESCRIBES_PER_POLL = 20;
/** ListExecutions pages per poll while looking for newly finished children (100 each). */
const MAX_CHILD_LIST_PAGES_PER_POLL = 10;
/** DescribeExecution failing this many polls in a row (after the SDK's own retries) stops following. */
const MAX_DESCRIBE_FAILURES = 3;

export function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function field(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** An error as one line for people: the service's error name and its message, never a stack. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const message = err.message.trim().replace(/\.+$/, '');
  // The CLI's own errors (StackLookupError, ReportUnavailable) are already sentences.
  const own = err.name === 'Error' || err.name === 'StackLookupError' || err.name === 'ReportUnavailable';
  return own || message.startsWith(err.name) ? message : `${err.name}: ${message}`;
}

/** "after 1m 05s": how long an execution (or a step of one) took; empty when a date is missing. */
export function elapsedText(start: Date | undefined, stop: Date | undefined): string {
  if (!start || !stop) return '';
  const s = Math.max(0, Math.round((stop.getTime() - start.getTime()) / 1000));
  const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return ` after ${text}`;
}

/**
 * An execution's history, read a poll at a time: the events since the last read, oldest first.
 * Newest first with reverseOrder, stopping at the first event already seen: a poll reads one
 * page, however long the history has grown.
 */
export class HistoryReader {
  private readonly sfn: SFNClient;
  private readonly arn: string;
  private lastEventId = 0;
  /** At least one page was read: how far the execution got is known. */
  read = false;

  constructor(sfn: SFNClient, arn: string) {
    this.sfn = sfn;
    this.arn = arn;
  }

  async newEvents(): Promise<HistoryEvent[]> {
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    let caughtUp = false;
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({ executionArn: this.arn, reverseOrder: true, includeExecutionData: true, maxResults: 100, nextToken }),
      );
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= this.lastEventId) {
          caughtUp = true;
          break;
        }
        fresh.push(event);
      }
      this.read = true;
      nextToken = page.nextToken;
    } while (nextToken && !caughtUp);
    if (fresh.length > 0) this.lastEventId = fresh[0]?.id ?? this.lastEventId;
    return fresh.reverse();
  }
}

class Follower implements ExecutionWatcher<FollowResult> {
  private readonly sfn: SFNClient;
  private readonly arn: string;
  private readonly write: (line: string) => void;
  private readonly phases: ProgressReporter;

  private readonly history: HistoryReader;
  private readonly entered = new Set<string>();
  private reportLocation: string | undefined;

  private mapEntered = false;
  private mapEnded = false;
  private mapRunArn: string | undefined;
  private lastCounts = '';
  private done = 0;
  private total = 0;
  /** Child executions already listed, and those listed but not yet described. */
  private readonly children = new Set<string>();
  private readonly toDescribe: string[] = [];

  private readonly warned = new Set<string>();

  constructor(sfn: SFNClient, arn: string, write: (line: string) => void) {
    this.sfn = sfn;
    this.arn = arn;
    this.write = write;
    this.phases = new ProgressReporter(write);
    this.history = new HistoryReader(sfn, arn);
  }

  result(d: DescribeExecutionCommandOutput): FollowResult {
    // Without the history, how far it got is unknown: it is taken as past planning (exit 1, report looked for).
    const pastPlanning = [...PAST_PLANNING].some((s) => this.entered.has(s)) || !this.history.read || d.error === 'Run.IndexesFailed';
    return { ...endedExecution(d, this.reportLocation), startedOptimizing: pastPlanning };
  }

  /** One look at the progress; a source that cannot be read is reported once and tried again next poll. */
  async progress(): Promise<void> {
    let events: HistoryEvent[] = [];
    try {
      events = await this.history.newEvents();
    } catch (err) {
      this.warn('history', `cannot read the execution history (${errorText(err)})`);
    }
    for (const event of events) {
      // The map's last counts and failures come before the phases that follow it.
      if (MAP_ENDED.has(event.type ?? '') && this.mapEntered && !this.mapEnded) {
        await this.mapProgress();
        this.mapEnded = true;
      }
      this.onEvent(event);
    }
    if (this.mapEntered && !this.mapEnded) await this.mapProgress();
  }

  private warn(source: string, text: string): void {
    if (this.warned.has(source)) return;
    this.warned.add(source);
    this.write(`(progress: ${text}; still following the execution)`);
  }

  private onEvent(event: HistoryEvent): void {
    const entered = event.stateEnteredEventDetails?.name;
    if (entered) {
      this.entered.add(entered);
      if (entered === OPTIMIZE_INDEXES) this.mapEntered = true;
      if (entered === AWAIT_APPROVAL) {
        const { approve, reject } = decisionCommands(this.arn);
        this.write(`The plan waits for approval (its summary went to the notification topic). Decide with:\n  ${approve}\n  ${reject}`);
      }
    }
    const exited = event.stateExitedEventDetails;
    if (!exited?.name) return;
    const output = parseJson(exited.output);
    if (exited.name === REPORT) {
      const location = field(output, 'report', 'report');
      if (typeof location === 'string') this.reportLocation = location;
    }
    if (PHASES.has(exited.name) && output !== undefined) {
      this.phases.on({ type: 'StateExited', state: { name: exited.name, input: undefined, output } });
    }
  }

  private tag(): string {
    return `[${String(this.done).padStart(String(this.total).length)}/${this.total}]`;
  }

  private async mapProgress(): Promise<void> {
    try {
      if (!this.mapRunArn) {
        // The workflow has one Map state: its map run is the execution's only one.
        const runs = await this.sfn.send(new ListMapRunsCommand({ executionArn: this.arn }));
        this.mapRunArn = runs.mapRuns?.[0]?.mapRunArn;
        if (!this.mapRunArn) return;
      }
      const run = await this.sfn.send(new DescribeMapRunCommand({ mapRunArn: this.mapRunArn }));
      const c = run.itemCounts;
      if (!c) return;
      const childFailures = (c.failed ?? 0) + (c.timedOut ?? 0) + (c.aborted ?? 0);
      this.done = (c.succeeded ?? 0) + childFailures;
      this.total = c.total ?? 0;
      const counts = `${this.done}/${this.total}/${c.running ?? 0}/${childFailures}`;
      if (this.total > 0 && counts !== this.lastCounts) {
        this.lastCounts = counts;
        let line = `${this.tag()} indexes done`;
        if (c.running) line += `, ${c.running} running`;
        if (childFailures) line += `, ${childFailures} child execution(s) failed or stopped (see the map run in the console)`;
        this.write(line);
      }
      await this.reportFailures(c.succeeded ?? 0);
    } catch (err) {
      this.warn('map', `cannot read the map run (${errorText(err)})`);
    }
  }

  /**
   * Every index ends its child execution SUCCEEDED (a failed index is data, {outcome: 'failed'}),
   * so new SUCCEEDED children are read and the failed ones printed.
   */
  private async reportFailures(succeeded: number): Promise<void> {
    let missing = succeeded - this.children.size;
    let nextToken: string | undefined;
    for (let page = 0; missing > 0 && page < MAX_CHILD_LIST_PAGES_PER_POLL; page++) {
      const list = await this.sfn.send(new ListExecutionsCommand({ mapRunArn: this.mapRunArn, statusFilter: 'SUCCEEDED', maxResults: 100, nextToken }));
      for (const e of list.executions ?? []) {
        if (!e.executionArn || this.children.has(e.executionArn)) continue;
        this.children.add(e.executionArn);
        this.toDescribe.push(e.executionArn);
        missing--;
      }
      nextToken = list.nextToken;
      if (!nextToken) break;
    }
    for (const child of this.toDescribe.splice(0, MAX_CHILD_DESCRIBES_PER_POLL)) {
      const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn: child }));
      const output = parseJson(d.output);
      if (field(output, 'outcome') !== 'failed') continue;
      const id = field(output, 'id');
      const reason = field(output, 'reason');
      this.write(`${this.tag()} ${typeof id === 'string' ? id : child}: FAILED${typeof reason === 'string' ? ` (${reason})` : ''}`);
    }
  }
}

/** What looks at an execution's progress at each poll, and says how it ended. */
export interface ExecutionWatcher<R> {
  /** One look at the progress; never throws (a source that cannot be read is reported). */
  progress(): Promise<void>;
  result(described: DescribeExecutionCommandOutput): R;
}

/** Polls the execution until it ends, the watcher looking at each poll. */
export async function pollExecution<R>(sfn: SFNClient, executionArn: string, watcher: ExecutionWatcher<R>, options: Pick<FollowOptions, 'sleep' | 'pollSeconds'>): Promise<R> {
  let failures = 0;
  for (;;) {
    let described: DescribeExecutionCommandOutput;
    try {
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      failures = 0;
    } catch (err) {
      if (++failures >= MAX_DESCRIBE_FAILURES) throw err;
      await options.sleep(options.pollSeconds * 1000);
      continue;
    }
    // Read after the status: once it has ended, this last look sees every event.
    await watcher.progress();
    if (!RUNNING.has(described.status ?? '')) return watcher.result(described);
    await options.sleep(options.pollSeconds * 1000);
  }
}

/** Polls the execution until it ends; the result says how it ended and where its report is. */
export async function followExecution(clients: FollowClients, executionArn: string, options: FollowOptions): Promise<FollowResult> {
  return pollExecution(clients.sfn, executionArn, new Follower(clients.sfn, executionArn, options.write), options);
}
