/**
 * `npm run execute -- --fleet` against mocked AWS clients (the SDK boundary): a fake Fleet
 * execution whose history grows by one batch of events each time the command sleeps. The
 * histories are shaped as Step Functions writes them for the Fleet state machine: the RunWave
 * Map's iterations run in parallel, so their events interleave and only previousEventId ties
 * each StartOrgRun task event (states:startExecution.sync:2) to its iteration.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { execute } from '../infra/cli/execute.ts';

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);

const ACCOUNT = '123456789012';
const FLEET_SM = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:GenesysIndexOptimizer-Fleet`;
const OPTIMIZER_SM = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:GenesysIndexOptimizer-Optimizer`;
const FLEET_EXEC = `arn:aws:states:eu-west-1:${ACCOUNT}:execution:GenesysIndexOptimizer-Fleet:manual-fleet`;
const BUCKET = 'genesys-optimizer-runs';
const REPORT_KEY = 'runs/GenesysIndexOptimizer-Fleet/manual-fleet/fleet-report.json';
const REPORT_URL = `s3://${BUCKET}/${REPORT_KEY}`;
const START = new Date('2025-01-02T03:04:05.000Z');
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000);
const consoleOf = (arn: string) => `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn}`;

const run = (org: string, uuid: string) => `arn:aws:states:eu-west-1:${ACCOUNT}:execution:GenesysIndexOptimizer-Optimizer:${org}-${uuid}`;
const ACME_RUN = run('acme', '1b4e28ba-2fa1-41d2-883f-0016d3cca427');
const GLOBEX_RUN = run('globex', '6fa459ea-ee8a-4ca4-894e-db77e160355e');
const INITECH_RUN = run('initech', '9c5b94b1-35ad-49bb-b118-8e8fc24abf80');

const STACK = (outputs: Record<string, string>) => ({
  Stacks: [{ StackName: 'GenesysIndexOptimizer', CreationTime: START, StackStatus: 'UPDATE_COMPLETE' as const, Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
});
const WITH_FLEET = STACK({ StateMachineArn: OPTIMIZER_SM, RunBucketName: BUCKET, FleetStateMachineArn: FLEET_SM });

type Event = Omit<HistoryEvent, 'id'>;

/**
 * A fleet execution's history as Step Functions writes it: ids in order, each event pointing at
 * the one before it in its own thread (the execution, or one Map iteration).
 */
class History {
  readonly events: HistoryEvent[] = [];
  private last = 0;

  /** Adds an event after `after` (default: the last one of the main thread) and returns its id. */
  add(event: Event, after: number = this.last, main = true): number {
    const id = this.events.length + 1;
    this.events.push({ ...event, id, previousEventId: after } as HistoryEvent);
    if (main) this.last = id;
    return id;
  }

  /** A Lambda step of the fleet (PlanFleet, AssessWave, FleetReport): entered, the invocation, exited with the state. */
  lambdaStep(name: string, input: unknown, output: unknown, time: Date): void {
    this.add({ type: 'TaskStateEntered', timestamp: time, stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
    this.add({ type: 'TaskScheduled', timestamp: time, taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke', region: 'eu-west-1', parameters: '{}' } });
    this.add({ type: 'TaskStarted', timestamp: time, taskStartedEventDetails: { resourceType: 'lambda', resource: 'invoke' } });
    this.add({ type: 'TaskSucceeded', timestamp: time, taskSucceededEventDetails: { resourceType: 'lambda', resource: 'invoke', output: '{}' } });
    this.add({ type: 'TaskStateExited', timestamp: time, stateExitedEventDetails: { name, output: JSON.stringify(output) } });
  }

  pass(type: 'Choice' | 'Pass', name: string, time: Date): void {
    this.add({ type: `${type}StateEntered`, timestamp: time, stateEnteredEventDetails: { name, input: '{}' } } as Event);
    this.add({ type: `${type}StateExited`, timestamp: time, stateExitedEventDetails: { name, output: '{}' } } as Event);
  }
}

const SYNC = { resourceType: 'states', resource: 'startExecution.sync:2' };

/** One iteration's events, in the order Step Functions writes them; each returns the id to chain the next on. */
const iteration = {
  entered: (h: History, after: number, org: { name: string; wave: number; input: object }, time: Date) =>
    h.add({ type: 'TaskStateEntered', timestamp: time, stateEnteredEventDetails: { name: 'StartOrgRun', input: JSON.stringify(org) } }, after, false),
  scheduled: (h: History, after: number, org: string, time: Date) =>
    h.add({ type: 'TaskScheduled', timestamp: time, taskScheduledEventDetails: { ...SYNC, region: 'eu-west-1', parameters: JSON.stringify({ StateMachineArn: OPTIMIZER_SM, Name: `${org}-…`, Input: { org } }) } }, after, false),
  started: (h: History, after: number, time: Date) => h.add({ type: 'TaskStarted', timestamp: time, taskStartedEventDetails: SYNC }, after, false),
  submitted: (h: History, after: number, arn: string, time: Date) =>
    h.add({ type: 'TaskSubmitted', timestamp: time, taskSubmittedEventDetails: { ...SYNC, output: JSON.stringify({ ExecutionArn: arn, StartDate: time.getTime(), SdkHttpMetadata: { HttpStatusCode: 200 } }) } }, after, false),
  succeeded: (h: History, after: number, arn: string, output: unknown, time: Date) =>
    h.add(
      {
        type: 'TaskSucceeded',
        timestamp: time,
        taskSucceededEventDetails: {
          ...SYNC,
          output: JSON.stringify({ ExecutionArn: arn, StateMachineArn: OPTIMIZER_SM, Name: arn.split(':')[7], Status: 'SUCCEEDED', Input: {}, InputDetails: { Included: true }, Output: output, OutputDetails: { Included: true }, StartDate: START.getTime(), StopDate: time.getTime() }),
        },
      },
      after,
      false,
    ),
  /** A child that failed: States.TaskFailed, its Cause the child's description as JSON. */
  failed: (h: History, after: number, arn: string, error: string, cause: string, time: Date) =>
    h.add(
      {
        type: 'TaskFailed',
        timestamp: time,
        taskFailedEventDetails: {
          ...SYNC,
          error: 'States.TaskFailed',
          cause: JSON.stringify({ ExecutionArn: arn, StateMachineArn: OPTIMIZER_SM, Name: arn.split(':')[7], Status: 'FAILED', Error: error, Cause: cause, StartDate: START.getTime(), StopDate: time.getTime() }),
        },
      },
      after,
      false,
    ),
};

const SUMMARY = (optimized: number, skipped: number, failed: number, planned = 0) => ({ total: optimized + skipped + failed + planned, optimized, skipped, failed, planned });
const ORG_INPUT = (org: string, extra: object = {}) => ({ apiBudgetPerMinute: 200, ...extra, org });

const GLOBEX_CAUSE = '1 of 3 indexes failed. beta: health red';
const STOP_REASON = 'wave 1: the run of globex did not succeed';
const NOT_STARTED = `not started: the rollout stopped after wave 1 (${STOP_REASON})`;
const STOPPED_CAUSE = `the rollout stopped after wave 1: ${STOP_REASON}; 2 org(s) not started`;

/** The fleet report FleetReport wrote for the stopped rollout (what the bucket holds). */
const STOPPED_REPORT = {
  executionId: FLEET_EXEC,
  finishedAt: '2025-01-02T03:13:00.000Z',
  orgs: [
    { name: 'acme', wave: 1, status: 'succeeded', executionArn: ACME_RUN, summary: SUMMARY(3, 1, 0), regressions: 0, reason: null },
    { name: 'globex', wave: 1, status: 'failed', executionArn: GLOBEX_RUN, summary: SUMMARY(2, 1, 1), regressions: 0, reason: `Run.IndexesFailed: ${GLOBEX_CAUSE}` },
    { name: 'initech', wave: 2, status: 'notStarted', executionArn: null, summary: null, regressions: 0, reason: NOT_STARTED },
    { name: 'umbrella', wave: 2, status: 'notStarted', executionArn: null, summary: null, regressions: 0, reason: NOT_STARTED },
  ],
  stoppedAtWave: 1,
  error: { name: 'Fleet.Stopped', cause: STOPPED_CAUSE },
};

/**
 * Wave 1 (acme, globex) of four orgs: globex's run fails, the rollout stops, wave 2 never starts.
 * Returned as the batches of events the command finds at each poll.
 */
function stoppedRollout(): { history: History; batches: number[] } {
  const h = new History();
  const batches: number[] = [];
  const wave1 = { wave: 1, orgs: [{ name: 'acme', wave: 1, input: ORG_INPUT('acme') }, { name: 'globex', wave: 1, input: ORG_INPUT('globex') }] };
  const wave2 = { wave: 2, orgs: [{ name: 'initech', wave: 2, input: ORG_INPUT('initech') }, { name: 'umbrella', wave: 2, input: ORG_INPUT('umbrella') }] };
  const planned = { waves: [wave1, wave2], maxConcurrentOrgs: 5, next: 0, more: true, results: [], stoppedAtWave: null, stopReason: null };

  h.add({ type: 'ExecutionStarted', timestamp: at(0), executionStartedEventDetails: { input: '{}', roleArn: 'arn:aws:iam::123456789012:role/fleet' } }, 0);
  h.lambdaStep('PlanFleet', {}, { progress: planned }, at(1));
  h.pass('Choice', 'AnotherWave', at(2));
  h.pass('Pass', 'NextWave', at(2));
  h.add({ type: 'MapStateEntered', timestamp: at(2), stateEnteredEventDetails: { name: 'RunWave', input: JSON.stringify({ progress: planned, current: { wave: wave1 } }) } });
  const mapStarted = h.add({ type: 'MapStateStarted', timestamp: at(2), mapStateStartedEventDetails: { length: 2 } });
  const it0 = h.add({ type: 'MapIterationStarted', timestamp: at(3), mapIterationStartedEventDetails: { name: 'RunWave', index: 0 } }, mapStarted, false);
  const it1 = h.add({ type: 'MapIterationStarted', timestamp: at(3), mapIterationStartedEventDetails: { name: 'RunWave', index: 1 } }, mapStarted, false);
  // The two iterations interleave; globex is submitted first.
  const acmeEntered = iteration.entered(h, it0, wave1.orgs[0]!, at(3));
  const globexEntered = iteration.entered(h, it1, wave1.orgs[1]!, at(3));
  const acmeScheduled = iteration.scheduled(h, acmeEntered, 'acme', at(4));
  const globexScheduled = iteration.scheduled(h, globexEntered, 'globex', at(4));
  const globexStarted = iteration.started(h, globexScheduled, at(5));
  const acmeStarted = iteration.started(h, acmeScheduled, at(5));
  const globexSubmitted = iteration.submitted(h, globexStarted, GLOBEX_RUN, at(10));
  const acmeSubmitted = iteration.submitted(h, acmeStarted, ACME_RUN, at(10));
  batches.push(h.events.length);

  const acmeOutput = { summary: SUMMARY(3, 1, 0), queryLatencyMs: { before: 120, after: 80 }, report: `s3://${BUCKET}/runs/GenesysIndexOptimizer-Optimizer/acme-1b4e28ba-2fa1-41d2-883f-0016d3cca427/report.json` };
  const acmeSucceeded = iteration.succeeded(h, acmeSubmitted, ACME_RUN, acmeOutput, at(190));
  const acmeExited = h.add({ type: 'TaskStateExited', timestamp: at(190), stateExitedEventDetails: { name: 'StartOrgRun', output: '{}' } }, acmeSucceeded, false);
  const acmeFinished = h.add({ type: 'PassStateEntered', timestamp: at(190), stateEnteredEventDetails: { name: 'OrgRunFinished', input: '{}' } }, acmeExited, false);
  h.add({ type: 'MapIterationSucceeded', timestamp: at(190), mapIterationSucceededEventDetails: { name: 'RunWave', index: 0 } }, acmeFinished, false);
  batches.push(h.events.length);

  const globexFailed = iteration.failed(h, globexSubmitted, GLOBEX_RUN, 'Run.IndexesFailed', GLOBEX_CAUSE, at(250));
  const caught = h.add({ type: 'PassStateEntered', timestamp: at(250), stateEnteredEventDetails: { name: 'OrgRunFailed', input: '{}' } }, globexFailed, false);
  const iterationDone = h.add({ type: 'MapIterationSucceeded', timestamp: at(250), mapIterationSucceededEventDetails: { name: 'RunWave', index: 1 } }, caught, false);
  h.add({ type: 'MapStateSucceeded', timestamp: at(250) }, iterationDone);
  h.add({ type: 'MapStateExited', timestamp: at(250), stateExitedEventDetails: { name: 'RunWave', output: '{}' } });
  const assessed = { ...planned, next: 1, more: false, results: STOPPED_REPORT.orgs.slice(0, 2), stoppedAtWave: 1, stopReason: STOP_REASON };
  h.lambdaStep('AssessWave', {}, { progress: assessed, current: { wave: wave1 } }, at(260));
  h.pass('Choice', 'AnotherWave', at(261));
  h.lambdaStep('FleetReport', {}, { progress: assessed, outcome: { report: REPORT_URL, orgs: STOPPED_REPORT.orgs, stoppedAtWave: 1, error: STOPPED_REPORT.error } }, at(262));
  h.add({ type: 'ChoiceStateEntered', timestamp: at(262), stateEnteredEventDetails: { name: 'FleetOutcome', input: '{}' } });
  h.add({ type: 'FailStateEntered', timestamp: at(262), stateEnteredEventDetails: { name: 'FleetFailed', input: '{}' } });
  h.add({ type: 'ExecutionFailed', timestamp: at(262), executionFailedEventDetails: { error: 'Fleet.Stopped', cause: STOPPED_CAUSE } });
  batches.push(h.events.length);
  return { history: h, batches };
}

interface Ending {
  status: string;
  error?: string;
  cause?: string;
  output?: unknown;
}

/** The fake fleet execution: poll n sees the history up to batches[n]; the last poll sees it ended. */
function fakeFleet(history: History, batches: number[], ending: Ending) {
  let poll = 0;
  const out: string[] = [];
  const err: string[] = [];
  const visible = () => history.events.slice(0, batches[Math.min(poll, batches.length - 1)]);
  const ended = () => poll >= batches.length - 1;

  sfn.on(StartExecutionCommand).resolves({ executionArn: FLEET_EXEC, startDate: START });
  sfn.on(DescribeExecutionCommand, { executionArn: FLEET_EXEC }).callsFake(() =>
    ended()
      ? {
          executionArn: FLEET_EXEC,
          stateMachineArn: FLEET_SM,
          status: ending.status,
          startDate: START,
          stopDate: at(540),
          ...(ending.error ? { error: ending.error } : {}),
          ...(ending.cause ? { cause: ending.cause } : {}),
          ...(ending.output !== undefined ? { output: JSON.stringify(ending.output) } : {}),
        }
      : { executionArn: FLEET_EXEC, stateMachineArn: FLEET_SM, status: 'RUNNING', startDate: START },
  );
  // The real paging: newest first with reverseOrder, maxResults per page, an opaque nextToken.
  sfn.on(GetExecutionHistoryCommand, { executionArn: FLEET_EXEC }).callsFake((input: { reverseOrder?: boolean; maxResults?: number; nextToken?: string }) => {
    const events = visible();
    const ordered = input.reverseOrder ? [...events].reverse() : events;
    const from = input.nextToken ? Number(input.nextToken) : 0;
    const size = input.maxResults ?? 100;
    return { events: ordered.slice(from, from + size), ...(from + size < ordered.length ? { nextToken: String(from + size) } : {}) };
  });

  const deps = {
    clients: {
      sfn: (region: string) => new SFNClient({ region }),
      s3: (region: string) => new S3Client({ region }),
      cfn: (region: string | undefined) => new CloudFormationClient({ region: region ?? 'eu-west-1' }),
      sts: (region: string) => new STSClient({ region }),
    },
    write: (line: string) => out.push(...line.split('\n')),
    writeError: (line: string) => err.push(...line.split('\n')),
    sleep: async () => {
      if (++poll > 50) throw new Error('the command never stopped polling');
    },
    now: () => START,
  };
  return { out, err, run: (argv: string[]) => execute(argv, deps) };
}

function bucketHolds(objects: Record<string, unknown>) {
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const body = input.Bucket === BUCKET ? objects[input.Key] : undefined;
    if (body === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => JSON.stringify(body) } };
  });
}

beforeEach(() => {
  sfn.reset();
  s3.reset();
  cfn.reset();
});

describe('npm run execute -- --fleet: a rollout that stops', () => {
  it('follows each org run from the history, then prints every org (those not started too) from the report in the bucket; exit 1', async () => {
    const { history, batches } = stoppedRollout();
    cfn.on(DescribeStacksCommand).resolves(WITH_FLEET);
    bucketHolds({ [REPORT_KEY]: STOPPED_REPORT });
    const fake = fakeFleet(history, batches, { status: 'FAILED', error: 'Fleet.Stopped', cause: STOPPED_CAUSE });

    const code = await fake.run(['--fleet']);

    expect(fake.err).toEqual([]);
    expect(code).toBe(1);
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.stateMachineArn)).toEqual([FLEET_SM]);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toEqual({});
    expect(fake.out[1]).toMatch(/^Started fleet execution manual-20250102T030405Z-[0-9a-f]{6}$/);
    expect([fake.out[0], ...fake.out.slice(2)]).toEqual([
      `Fleet state machine (stack GenesysIndexOptimizer): ${FLEET_SM}`,
      `  ARN:     ${FLEET_EXEC}`,
      `  Console: ${consoleOf(FLEET_EXEC)}`,
      'Following it every 5 s (Ctrl-C stops following, not the fleet nor its orgs\' runs)…',
      'Fleet plan: 4 org(s) in 2 wave(s), at most 5 at a time — wave 1: acme, globex; wave 2: initech, umbrella',
      'Wave 1: starting acme, globex',
      `  globex (wave 1): run started — ${consoleOf(GLOBEX_RUN)}`,
      `  acme (wave 1): run started — ${consoleOf(ACME_RUN)}`,
      '  acme (wave 1): run succeeded after 3m 00s — 3 optimized, 1 skipped, 0 failed',
      '  globex (wave 1): run FAILED after 4m 00s — Run.IndexesFailed: 1 of 3 indexes failed. beta: health red',
      'Wave 1 did not pass: the rollout stops (wave 1: the run of globex did not succeed)',
      '',
      'ORG       WAVE  STATUS       OPTIMIZED  SKIPPED  FAILED  REGRESSIONS  REASON',
      'acme         1  succeeded            3        1       0            0',
      'globex       1  failed               2        1       1            0  Run.IndexesFailed: 1 of 3 indexes failed. beta: health red',
      'initech      2  not started          -        -       -            -  not started: the rollout stopped after wave 1 (wave 1: the run of globex did not succeed)',
      'umbrella     2  not started          -        -       -            -  not started: the rollout stopped after wave 1 (wave 1: the run of globex did not succeed)',
      '',
      '4 org(s): 1 succeeded, 1 failed, 2 not started',
      'The rollout stopped after wave 1: later waves were not started',
      'Fleet failed: Fleet.Stopped: the rollout stopped after wave 1: wave 1: the run of globex did not succeed; 2 org(s) not started',
      '',
      `Why globex's run failed, index by index: npm run execute -- --explain ${GLOBEX_RUN}`,
      '',
      `Fleet report: ${REPORT_URL}`,
      'Fleet execution FAILED after 9m 00s: Fleet.Stopped',
    ]);
    // The report's location came from FleetReport's exit in the history.
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: REPORT_KEY }]);
    // Each poll read only the events it had not seen: one page, no paging back.
    const reads = sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input);
    expect(reads).toHaveLength(3);
    expect(reads.every((r) => r.reverseOrder === true && r.includeExecutionData === true && r.nextToken === undefined)).toBe(true);
  });

  it('with --state-machine-arn: the failed fleet report is where FleetReport said in the history; no stack read', async () => {
    const { history, batches } = stoppedRollout();
    bucketHolds({ [REPORT_KEY]: STOPPED_REPORT });
    const fake = fakeFleet(history, batches, { status: 'FAILED', error: 'Fleet.Stopped', cause: STOPPED_CAUSE });
    expect(await fake.run(['--fleet', '--state-machine-arn', FLEET_SM])).toBe(1);
    expect(cfn.calls()).toHaveLength(0);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: REPORT_KEY }]);
    expect(fake.out.slice(-2)).toEqual([`Fleet report: ${REPORT_URL}`, 'Fleet execution FAILED after 9m 00s: Fleet.Stopped']);
  });

  it('history unreadable: the report is read from the stack\'s run bucket by the fleet execution\'s name, and --report writes it', async () => {
    const { history, batches } = stoppedRollout();
    cfn.on(DescribeStacksCommand).resolves(WITH_FLEET);
    bucketHolds({ [REPORT_KEY]: STOPPED_REPORT });
    const fake = fakeFleet(history, batches, { status: 'FAILED', error: 'Fleet.Stopped', cause: STOPPED_CAUSE });
    sfn.on(GetExecutionHistoryCommand, { executionArn: FLEET_EXEC }).rejects(Object.assign(new Error('User is not authorized to perform: states:GetExecutionHistory'), { name: 'AccessDeniedException' }));
    const file = join(mkdtempSync(join(tmpdir(), 'execute-fleet-')), 'fleet.json');

    expect(await fake.run(['--fleet', '--report', file])).toBe(1);

    expect(fake.out.filter((l) => l.startsWith('(progress:'))).toEqual([
      "(progress: cannot read the fleet execution's history (AccessDeniedException: User is not authorized to perform: states:GetExecutionHistory); still following the execution)",
    ]);
    // One stack read for both the state machine and the bucket.
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'GenesysIndexOptimizer' }]);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: REPORT_KEY }]);
    expect(fake.out).toContain('umbrella     2  not started          -        -       -            -  not started: the rollout stopped after wave 1 (wave 1: the run of globex did not succeed)');
    expect(fake.out).toContain(`Fleet report written to ${file}`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(STOPPED_REPORT);
  });
});

describe('npm run execute -- --fleet: a rollout that succeeds', () => {
  it('starts the fleet with exactly the input given (--dry-run added), follows two waves, writes the report with --report; exit 0', async () => {
    const h = new History();
    const dryInput = (org: string) => ORG_INPUT(org, { dryRun: true });
    const wave1 = { wave: 1, orgs: [{ name: 'acme', wave: 1, input: dryInput('acme') }] };
    const wave2 = { wave: 2, orgs: [{ name: 'initech', wave: 2, input: dryInput('initech') }] };
    const planned = { waves: [wave1, wave2], maxConcurrentOrgs: 1, next: 0, more: true, results: [], stoppedAtWave: null, stopReason: null };
    const results = [
      { name: 'acme', wave: 1, status: 'succeeded', executionArn: ACME_RUN, summary: SUMMARY(0, 1, 0, 3), regressions: 0, reason: null },
      { name: 'initech', wave: 2, status: 'succeeded', executionArn: INITECH_RUN, summary: SUMMARY(0, 0, 0, 12), regressions: 0, reason: null },
    ];
    const report = { executionId: FLEET_EXEC, finishedAt: '2025-01-02T03:10:00.000Z', orgs: results, stoppedAtWave: null, error: null };
    const batches: number[] = [];

    h.add({ type: 'ExecutionStarted', timestamp: at(0), executionStartedEventDetails: { input: '{}' } }, 0);
    h.lambdaStep('PlanFleet', {}, { progress: planned }, at(1));
    const waveOf = (wave: typeof wave1, arn: string, planned: number, startedAt: number, endedAt: number, progress: object) => {
      h.pass('Choice', 'AnotherWave', at(startedAt));
      h.pass('Pass', 'NextWave', at(startedAt));
      h.add({ type: 'MapStateEntered', timestamp: at(startedAt), stateEnteredEventDetails: { name: 'RunWave', input: JSON.stringify({ current: { wave } }) } });
      const mapStarted = h.add({ type: 'MapStateStarted', timestamp: at(startedAt), mapStateStartedEventDetails: { length: 1 } });
      const it0 = h.add({ type: 'MapIterationStarted', timestamp: at(startedAt), mapIterationStartedEventDetails: { name: 'RunWave', index: 0 } }, mapStarted, false);
      const org = wave.orgs[0]!;
      const submitted = iteration.submitted(h, iteration.started(h, iteration.scheduled(h, iteration.entered(h, it0, org, at(startedAt)), org.name, at(startedAt)), at(startedAt)), arn, at(startedAt + 1));
      batches.push(h.events.length);
      const output = { summary: SUMMARY(0, planned === 3 ? 1 : 0, 0, planned), queryLatencyMs: { before: null, after: null }, report: 's3://…' };
      const done = iteration.succeeded(h, submitted, arn, output, at(endedAt));
      const exited = h.add({ type: 'TaskStateExited', timestamp: at(endedAt), stateExitedEventDetails: { name: 'StartOrgRun', output: '{}' } }, done, false);
      h.add({ type: 'MapStateSucceeded', timestamp: at(endedAt) }, h.add({ type: 'MapIterationSucceeded', timestamp: at(endedAt), mapIterationSucceededEventDetails: { name: 'RunWave', index: 0 } }, exited, false));
      h.add({ type: 'MapStateExited', timestamp: at(endedAt), stateExitedEventDetails: { name: 'RunWave', output: '{}' } });
      h.lambdaStep('AssessWave', {}, { progress, current: { wave } }, at(endedAt + 1));
      batches.push(h.events.length);
    };
    waveOf(wave1, ACME_RUN, 3, 2, 47, { ...planned, next: 1, results: results.slice(0, 1) });
    waveOf(wave2, INITECH_RUN, 12, 50, 110, { ...planned, next: 2, more: false, results });
    h.pass('Choice', 'AnotherWave', at(112));
    h.lambdaStep('FleetReport', {}, { outcome: { report: REPORT_URL, orgs: results, stoppedAtWave: null } }, at(113));
    h.add({ type: 'SucceedStateEntered', timestamp: at(113), stateEnteredEventDetails: { name: 'FleetSucceeded', input: '{}' } });
    h.add({ type: 'ExecutionSucceeded', timestamp: at(113), executionSucceededEventDetails: { output: '{}' } });
    batches.push(h.events.length);

    bucketHolds({ [REPORT_KEY]: report });
    const fake = fakeFleet(h, batches, { status: 'SUCCEEDED', output: { report: REPORT_URL, orgs: results, stoppedAtWave: null } });
    const file = join(mkdtempSync(join(tmpdir(), 'execute-fleet-')), 'fleet.json');
    const input = '{"orgs": ["acme", "initech"], "input": {"maxConcurrency": 2, "timing": {"pollSeconds": 10}}, "maxConcurrentOrgs": 1}';

    const code = await fake.run(['--fleet', '--state-machine-arn', FLEET_SM, '--input', input, '--dry-run', '--report', file, '--poll-seconds', '30']);

    expect(fake.err).toEqual([]);
    expect(code).toBe(0);
    // The given ARN: no stack read at all (the report's location is in the output).
    expect(cfn.calls()).toHaveLength(0);
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.stateMachineArn).toBe(FLEET_SM);
    expect(JSON.parse(start.input!)).toEqual({ orgs: ['acme', 'initech'], input: { maxConcurrency: 2, timing: { pollSeconds: 10 } }, maxConcurrentOrgs: 1, dryRun: true });
    expect(start.name).toMatch(/^manual-20250102T030405Z-[0-9a-f]{6}$/);
    expect(fake.out[0]).toMatch(/^Started fleet execution manual-\S+ \(dry run\)$/);
    expect(fake.out.slice(3)).toEqual([
      'Following it every 30 s (Ctrl-C stops following, not the fleet nor its orgs\' runs)…',
      'Fleet plan: 2 org(s) in 2 wave(s), at most 1 at a time — wave 1: acme; wave 2: initech',
      'Wave 1: starting acme',
      `  acme (wave 1): run started — ${consoleOf(ACME_RUN)}`,
      '  acme (wave 1): run succeeded after 44s — 0 optimized, 1 skipped, 0 failed, 3 planned',
      'Wave 1 passed: wave 2 next',
      'Wave 2: starting initech',
      `  initech (wave 2): run started — ${consoleOf(INITECH_RUN)}`,
      '  initech (wave 2): run succeeded after 59s — 0 optimized, 0 skipped, 0 failed, 12 planned',
      'Wave 2 passed: it was the last',
      '',
      'ORG      WAVE  STATUS     OPTIMIZED  SKIPPED  FAILED  PLANNED  REGRESSIONS  REASON',
      'acme        1  succeeded          0        1       0        3            0',
      'initech     2  succeeded          0        0       0       12            0',
      '',
      '2 org(s): 2 succeeded, 0 failed, 0 not started',
      '',
      `Fleet report: ${REPORT_URL}`,
      `Fleet report written to ${file}`,
      'Fleet execution SUCCEEDED after 9m 00s',
    ]);
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: REPORT_KEY }]);
  });
});

describe('npm run execute -- --fleet: runs that do not get going', () => {
  it('a run that could not start, and task events whose iteration is not in the history: named by the child execution', async () => {
    const h = new History();
    const wave1 = { wave: 1, orgs: [{ name: 'acme', wave: 1, input: ORG_INPUT('acme') }, { name: 'globex', wave: 1, input: ORG_INPUT('globex') }] };
    h.add({ type: 'ExecutionStarted', timestamp: at(0), executionStartedEventDetails: { input: '{}' } }, 0);
    h.add({ type: 'MapStateEntered', timestamp: at(2), stateEnteredEventDetails: { name: 'RunWave', input: JSON.stringify({ current: { wave: wave1 } }) } });
    // acme: StartExecution refused (no child execution); its iteration's entry is in the history.
    const acmeEntered = iteration.entered(h, 1, wave1.orgs[0]!, at(3));
    const acmeStarted = iteration.started(h, iteration.scheduled(h, acmeEntered, 'acme', at(3)), at(3));
    h.add({ type: 'TaskFailed', timestamp: at(4), taskFailedEventDetails: { ...SYNC, error: 'StepFunctions.ExecutionLimitExceededException', cause: 'Maximum number of running executions reached' } }, acmeStarted, false);
    // globex: events pointing at nothing this history has (previousEventId 0).
    iteration.submitted(h, 0, GLOBEX_RUN, at(5));
    iteration.failed(h, 0, GLOBEX_RUN, 'States.Timeout', 'the execution timed out', at(65));
    const fake = fakeFleet(h, [h.events.length, h.events.length], { status: 'ABORTED' });

    expect(await fake.run(['--fleet', '--state-machine-arn', FLEET_SM])).toBe(1);
    expect(fake.out.filter((l) => l.startsWith('  '))).toEqual([
      `  ARN:     ${FLEET_EXEC}`,
      `  Console: ${consoleOf(FLEET_EXEC)}`,
      '  acme (wave 1): run could not start — StepFunctions.ExecutionLimitExceededException: Maximum number of running executions reached',
      `  globex: run started — ${consoleOf(GLOBEX_RUN)}`,
      '  globex: run FAILED after 1m 00s — States.Timeout: the execution timed out',
    ]);
    expect(fake.out).toContain('No fleet report: the execution ended before its FleetReport state ran (see each org run in the console).');
    expect(fake.out.at(-1)).toBe('Fleet execution ABORTED after 9m 00s');
    expect(s3.calls()).toHaveLength(0);
  });

  it('the fleet refuses its input (PlanFleet, Input.Invalid): exit 2 with the message, no report looked for', async () => {
    const h = new History();
    h.add({ type: 'ExecutionStarted', timestamp: at(0), executionStartedEventDetails: { input: '{}' } }, 0);
    h.add({ type: 'TaskStateEntered', timestamp: at(1), stateEnteredEventDetails: { name: 'PlanFleet', input: '{}' } });
    h.add({ type: 'TaskFailed', timestamp: at(1), taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error: 'Input.Invalid', cause: '{"errorType":"Input.Invalid","errorMessage":"orgs[0]: unknown org the string \\"acme-eu\\"; this deployment\'s orgs: acme, globex","trace":["at plan"]}' } });
    h.add({ type: 'ExecutionFailed', timestamp: at(1), executionFailedEventDetails: { error: 'Input.Invalid' } });
    const fake = fakeFleet(h, [h.events.length], {
      status: 'FAILED',
      error: 'Input.Invalid',
      cause: '{"errorType":"Input.Invalid","errorMessage":"orgs[0]: unknown org the string \\"acme-eu\\"; this deployment\'s orgs: acme, globex","trace":["at plan"]}',
    });
    cfn.on(DescribeStacksCommand).resolves(WITH_FLEET);

    expect(await fake.run(['--fleet', '--input', '{"orgs": ["acme-eu"]}'])).toBe(2);
    expect(fake.err).toEqual([
      'The fleet refused its input; no org\'s run was started. Fleet execution FAILED after 9m 00s: Input.Invalid — orgs[0]: unknown org the string "acme-eu"; this deployment\'s orgs: acme, globex',
    ]);
    expect(s3.calls()).toHaveLength(0);
  });

  it('a stack without the FleetStateMachineArn output: exit 2, "this deployment has no orgs setting", nothing started', async () => {
    cfn.on(DescribeStacksCommand).resolves(STACK({ StateMachineArn: OPTIMIZER_SM, RunBucketName: BUCKET }));
    const fake = fakeFleet(new History(), [0], { status: 'SUCCEEDED' });
    expect(await fake.run(['--fleet', '--dry-run'])).toBe(2);
    expect(fake.err).toHaveLength(1);
    expect(fake.err[0]).toMatch(/^No fleet to run: stack GenesysIndexOptimizer has no FleetStateMachineArn output — this deployment has no orgs setting\. /);
    expect(fake.out).toEqual([]);
    expect(sfn.calls()).toHaveLength(0);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['--approve', ['--approve', 'manual-1'], /--fleet cannot be combined with --approve: it acts on one org's run/],
    ['--explain', ['--explain'], /--fleet cannot be combined with --explain/],
    ['--retry-failed', ['--retry-failed', 'manual-1'], /--fleet cannot be combined with --retry-failed/],
    ['--index', ['--index', 'a', '--index', 'b'], /--fleet cannot be combined with --index/],
    ['--reject with --reason', ['--reject', 'manual-1', '--reason', 'freeze'], /--fleet cannot be combined with --reject, --reason: they act on one org's run/],
  ];
  it.each(usage)('--fleet with %s: usage error, exit 2, no AWS call', async (_name, argv, message) => {
    const fake = fakeFleet(new History(), [0], { status: 'SUCCEEDED' });
    expect(await fake.run(['--fleet', ...argv])).toBe(2);
    expect(fake.err[0]).toMatch(message);
    expect(fake.err.join('\n')).toContain('Usage: npm run execute');
    expect(sfn.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('--no-wait: starts the fleet, prints where to see it, exit 0 without following', async () => {
    const fake = fakeFleet(new History(), [0], { status: 'RUNNING' });
    expect(await fake.run(['--fleet', '--state-machine-arn', FLEET_SM, '--no-wait'])).toBe(0);
    expect(sfn.calls().map((c) => (c.args[0] as object).constructor.name)).toEqual(['StartExecutionCommand']);
    expect(fake.out.slice(1)).toEqual([`  ARN:     ${FLEET_EXEC}`, `  Console: ${consoleOf(FLEET_EXEC)}`]);
  });

  it('the help describes --fleet', async () => {
    const fake = fakeFleet(new History(), [0], { status: 'SUCCEEDED' });
    expect(await fake.run(['--help'])).toBe(0);
    expect(fake.out.join('\n')).toMatch(/--fleet\s+start a fleet execution/);
    expect(fake.out.join('\n')).toContain('FleetStateMachineArn');
  });
});
