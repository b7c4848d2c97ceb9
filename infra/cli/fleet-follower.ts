/**
 * Follows a deployed fleet execution (`<stackName>-Fleet`, infra/stack/fleet.ts) until it ends:
 * the plan of waves, each wave as it starts, each org's run as it starts (with its console link)
 * and as it ends (how, with its counts), and the verdict after each wave.
 *
 * Everything comes from the fleet execution's own history, read incrementally: each org's run is
 * the StartOrgRun task (`states:startExecution.sync:2`) of one iteration of the RunWave Map. Its
 * TaskSubmitted event carries StartExecution's answer (the child's ExecutionArn); TaskSucceeded the
 * child's description with its Output as JSON; TaskFailed `States.TaskFailed` with the child's
 * description, as JSON, for Cause (or a start refused, with the service's error). The org those
 * events belong to is the input of the iteration's StartOrgRun TaskStateEntered event, which the
 * chain of previousEventId leads back to (iterations run in parallel, so their events interleave).
 */
import { orgOfExecutionName } from '../../functions/domain/orgs.ts';
import type { DescribeExecutionCommandOutput, HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { failedExecution, type FleetProgress, type FleetWave } from '../../functions/domain/fleet.ts';
import { executionConsoleUrl } from '../../functions/domain/run-notice.ts';
import { errorMessageOf } from '../../functions/shared/lambda-cause.ts';
import { elapsedText, endedExecution, errorText, field, HistoryReader, parseJson, pollExecution, type EndedExecution, type ExecutionWatcher, type FollowOptions } from './execution-follower.ts';

import { FLEET_STATE as FLEET_STATES } from '../stack/state-names.ts';

export interface FleetFollowResult extends EndedExecution {
  /** PlanFleet accepted the input (or the history could not be read, so nobody knows it did not). */
  planned: boolean;
}

/** How many previousEventId links separate an iteration's task events from its StartOrgRun entry (4 in practice). */
const MAX_CHAIN = 20;
const FAILURE_DETAILS = ['taskFailedEventDetails', 'taskTimedOutEventDetails', 'taskStartFailedEventDetails', 'taskSubmitFailedEventDetails'] as const;

interface OrgRun {
  name: string;
  wave: number | null;
  executionArn?: string;
  submittedAt?: Date;
}

/** A task event of the StartOrgRun integration (resourceType states): not the fleet's Lambda steps. */
function isOrgRunTask(details: { resourceType?: string | undefined; resource?: string | undefined } | undefined): boolean {
  return details?.resourceType === 'states' && (details.resource ?? '').startsWith('startExecution');
}

const short = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function countsText(summary: unknown): string | undefined {
  const s = summary as Record<string, unknown> | null | undefined;
  if (!s || !['optimized', 'skipped', 'failed'].every((k) => typeof s[k] === 'number')) return undefined;
  const planned = typeof s['planned'] === 'number' && s['planned'] > 0 ? `, ${s['planned']} planned` : '';
  return `${String(s['optimized'])} optimized, ${String(s['skipped'])} skipped, ${String(s['failed'])} failed${planned}`;
}

class FleetFollower implements ExecutionWatcher<FleetFollowResult> {
  private readonly write: (line: string) => void;
  private readonly history: HistoryReader;
  /** Every event seen, by id: the chains from a task event back to its iteration's input. */
  private readonly events = new Map<number, HistoryEvent>();
  private readonly runs = new Map<string, OrgRun>();
  private planned = false;
  private reportLocation: string | undefined;
  private warned = false;

  constructor(sfn: SFNClient, arn: string, write: (line: string) => void) {
    this.write = write;
    this.history = new HistoryReader(sfn, arn);
  }

  result(d: DescribeExecutionCommandOutput): FleetFollowResult {
    return { ...endedExecution(d, this.reportLocation), planned: this.planned || (!this.history.read && d.error !== 'Input.Invalid') };
  }

  async progress(): Promise<void> {
    let events: HistoryEvent[];
    try {
      events = await this.history.newEvents();
    } catch (err) {
      if (!this.warned) this.write(`(progress: cannot read the fleet execution's history (${errorText(err)}); still following the execution)`);
      this.warned = true;
      return;
    }
    for (const event of events) {
      if (event.id !== undefined) this.events.set(event.id, event);
      this.onEvent(event);
    }
  }

  private onEvent(event: HistoryEvent): void {
    const exited = event.stateExitedEventDetails;
    if (exited?.name === FLEET_STATES.plan) this.onPlan(parseJson(exited.output));
    else if (exited?.name === FLEET_STATES.assess) this.onAssess(parseJson(exited.output));
    else if (exited?.name === FLEET_STATES.report) {
      const location = field(parseJson(exited.output), 'outcome', 'report');
      if (typeof location === 'string') this.reportLocation = location;
    }
    const entered = event.stateEnteredEventDetails;
    if (event.type === 'MapStateEntered' && entered?.name === FLEET_STATES.runWave) {
      const wave = field(parseJson(entered.input), 'current', 'wave') as FleetWave | undefined;
      if (wave && Array.isArray(wave.orgs)) this.write(`Wave ${wave.wave}: starting ${wave.orgs.map((o) => o.name).join(', ')}`);
    }
    if (isOrgRunTask(event.taskSubmittedEventDetails)) this.onSubmitted(event);
    else if (isOrgRunTask(event.taskSucceededEventDetails)) this.onSucceeded(event);
    else {
      for (const key of FAILURE_DETAILS) if (isOrgRunTask(event[key])) this.onFailed(event, event[key]!);
    }
  }

  private onPlan(output: unknown): void {
    this.planned = true;
    const progress = field(output, 'progress') as FleetProgress | undefined;
    if (!progress || !Array.isArray(progress.waves)) return;
    const orgs = progress.waves.reduce((n, w) => n + w.orgs.length, 0);
    const waves = progress.waves.map((w) => `wave ${w.wave}: ${w.orgs.map((o) => o.name).join(', ')}`).join('; ');
    this.write(`Fleet plan: ${orgs} org(s) in ${progress.waves.length} wave(s), at most ${progress.maxConcurrentOrgs} at a time — ${waves}`);
  }

  private onAssess(output: unknown): void {
    const progress = field(output, 'progress') as FleetProgress | undefined;
    const wave = field(output, 'current', 'wave', 'wave');
    if (!progress || typeof wave !== 'number') return;
    if (progress.more) this.write(`Wave ${wave} passed: wave ${progress.waves[progress.next]?.wave ?? '?'} next`);
    else if (progress.stoppedAtWave !== null) this.write(`Wave ${wave} did not pass: the rollout stops (${progress.stopReason ?? 'no reason given'})`);
    else if (progress.stopReason) this.write(`Wave ${wave}, the last, did not pass (${progress.stopReason})`);
    else this.write(`Wave ${wave} passed: it was the last`);
  }

  /** The org (and its wave) of an iteration's task event: the StartOrgRun input its chain leads back to. */
  private iterationOf(event: HistoryEvent): { name: string; wave: number | null } | undefined {
    let e: HistoryEvent | undefined = event;
    for (let hops = 0; e && hops < MAX_CHAIN; hops++) {
      const entered = e.stateEnteredEventDetails;
      if (e.type === 'TaskStateEntered' && entered?.name === FLEET_STATES.startOrgRun) {
        const input = parseJson(entered.input);
        const name = field(input, 'name');
        const wave = field(input, 'wave');
        return typeof name === 'string' ? { name, wave: typeof wave === 'number' ? wave : null } : undefined;
      }
      e = e.previousEventId ? this.events.get(e.previousEventId) : undefined;
    }
    return undefined;
  }

  /** The org's run this event is about: by its iteration's input, else by the child's name (`<org>-<uuid>`). */
  private runOf(event: HistoryEvent, executionArn: string | null): OrgRun | undefined {
    let org = this.iterationOf(event);
    if (!org && executionArn) {
      const name = orgOfExecutionName(executionArn.split(':')[7]);
      if (name) org = { name, wave: null };
    }
    if (!org) return undefined;
    let run = this.runs.get(org.name);
    if (!run) this.runs.set(org.name, (run = { ...org }));
    if (run.wave === null) run.wave = org.wave;
    if (executionArn) run.executionArn = executionArn;
    return run;
  }

  private label(run: OrgRun): string {
    return `  ${run.name}${run.wave !== null ? ` (wave ${run.wave})` : ''}`;
  }

  private onSubmitted(event: HistoryEvent): void {
    const arn = field(parseJson(event.taskSubmittedEventDetails?.output), 'ExecutionArn');
    const run = this.runOf(event, typeof arn === 'string' ? arn : null);
    if (!run) return;
    if (event.timestamp) run.submittedAt = event.timestamp;
    this.write(`${this.label(run)}: run started — ${run.executionArn ? executionConsoleUrl(run.executionArn) : 'its execution ARN is not in the history'}`);
  }

  private onSucceeded(event: HistoryEvent): void {
    const described = parseJson(event.taskSucceededEventDetails?.output);
    const arn = field(described, 'ExecutionArn');
    const run = this.runOf(event, typeof arn === 'string' ? arn : null);
    if (!run) return;
    // .sync:2 gives the child's output as JSON; .sync (or a truncated event) as a string.
    const raw = field(described, 'Output');
    const output = typeof raw === 'string' ? parseJson(raw) : raw;
    const took = elapsedText(run.submittedAt, event.timestamp);
    if (field(output, 'outcome') === 'already-running') {
      this.write(`${this.label(run)}: run gave way${took} — another run of this org is still going (${String(field(output, 'runningExecution'))})`);
      return;
    }
    const counts = countsText(field(output, 'summary'));
    this.write(`${this.label(run)}: run succeeded${took}${counts ? ` — ${counts}` : ''}`);
  }

  private onFailed(event: HistoryEvent, details: { error?: string | undefined; cause?: string | undefined }): void {
    const failed = failedExecution({ ...(details.error !== undefined ? { Error: details.error } : {}), ...(details.cause !== undefined ? { Cause: details.cause } : {}) });
    const run = this.runOf(event, failed.executionArn);
    if (!run) return;
    const cause = failed.cause ? `: ${short(errorMessageOf(failed.cause))}` : '';
    if (!failed.executionArn && !run.executionArn) {
      this.write(`${this.label(run)}: run could not start — ${failed.error}${cause}`);
      return;
    }
    const status = event.type === 'TaskTimedOut' ? 'TIMED OUT' : 'FAILED';
    this.write(`${this.label(run)}: run ${status}${elapsedText(run.submittedAt, event.timestamp)} — ${failed.error}${cause}`);
  }
}

/** Polls the fleet execution until it ends; the result says how it ended and where its report is. */
export async function followFleet(sfn: SFNClient, executionArn: string, options: FollowOptions): Promise<FleetFollowResult> {
  return pollExecution(sfn, executionArn, new FleetFollower(sfn, executionArn, options.write), options);
}
