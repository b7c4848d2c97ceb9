/**
 * `npm run execute` against mocked AWS clients: a fake Step Functions execution that moves on one
 * step each time the command sleeps, so nothing really waits.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  type HistoryEvent,
  type MapRunItemCounts,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { SendTaskSuccessCommand, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RunReport } from '../functions/domain/report.ts';
import { execute, executionName } from '../infra/cli/execute.ts';
import { MAX_CHILD_DESCRIBES_PER_POLL } from '../infra/cli/execution-follower.ts';
import { formatReportTable } from '../infra/cli/report-table.ts';

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Optimizer';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:Optimizer:manual-run';
const MAP_RUN = 'arn:aws:states:eu-west-1:123456789012:mapRun:Optimizer/OptimizeIndexes:abc';
const BUCKET = 'optimizer-runs-bucket';
const REPORT_KEY = 'runs/Optimizer/manual-run/report.json';
const REPORT_URL = `s3://${BUCKET}/${REPORT_KEY}`;
const PAGE_KEY = 'runs/Optimizer/manual-run/report.html';
const PAGE_URL = `s3://${BUCKET}/${PAGE_KEY}`;
const PAGE_CONSOLE = `https://console.aws.amazon.com/s3/object/${BUCKET}?region=eu-west-1&prefix=${encodeURIComponent(PAGE_KEY)}`;
const PAGE_HTML = '<!doctype html><title>the run</title>';
const START = new Date('2025-01-02T03:04:05.678Z');
const CONSOLE = `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXEC}`;

interface Child {
  id: string;
  outcome: 'optimized' | 'skipped' | 'failed';
  reason?: string;
}

/** What the execution looks like from one poll on: the new events, the map counts, the children finished. */
interface Step {
  status?: string;
  events?: Array<Omit<HistoryEvent, 'id' | 'timestamp'>>;
  counts?: Partial<MapRunItemCounts>;
  children?: Child[];
  error?: string;
  cause?: string;
  output?: unknown;
}

const entered = (name: string, type = 'TaskStateEntered'): Omit<HistoryEvent, 'id' | 'timestamp'> => ({
  type: type as HistoryEvent['type'],
  stateEnteredEventDetails: { name, input: '{}' },
});
const exited = (name: string, output: unknown, type = 'TaskStateExited'): Omit<HistoryEvent, 'id' | 'timestamp'> => ({
  type: type as HistoryEvent['type'],
  stateExitedEventDetails: { name, output: JSON.stringify(output) },
});
const event = (type: string): Omit<HistoryEvent, 'id' | 'timestamp'> => ({ type: type as HistoryEvent['type'] });

const CONFIG = { dryRun: false, indexIds: null, maxConcurrency: 5 };
/** ValidateInput's output: the checked config and the one-run-at-a-time guard's verdict. */
const VALIDATED = (config: object = CONFIG) => ({ config, guard: { proceed: true } });
const SUMMARY = { total: 4, optimized: 3, skipped: 1, failed: 0, planned: 0 };
const OUTPUT = { summary: SUMMARY, queryLatencyMs: { before: 120, after: 80 }, report: REPORT_URL };

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    executionId: EXEC,
    org: null,
    dryRun: false,
    retryOf: null,
    approval: null,
    finishedAt: '2025-01-02T03:05:10.000Z',
    summary: SUMMARY,
    queryLatencyMs: { before: 120, after: 80 },
    medianIndexLatencyChange: null,
    regressions: [],
    throughputRate: { before: 8.33, after: 12.48 },
    indexes: [
      { id: 'a', name: 'alpha', outcome: 'optimized', reason: null , effect: null },
      { id: 'b', name: 'beta', outcome: 'optimized', reason: null , effect: null },
      { id: 'c', name: 'gamma', outcome: 'optimized', reason: null , effect: null },
      { id: 'd', name: 'delta', outcome: 'skipped', reason: 'over maxShards' , effect: null },
    ],
    warnings: [],
    error: null,
    ...overrides,
  };
}

/** Up to the map: validated, listed, planned (a, b, c to optimize, d skipped), probed. */
const BEFORE_MAP: Step['events'] = [
  event('ExecutionStarted'),
  entered('ValidateInput'),
  exited('ValidateInput', VALIDATED()),
  entered('StartRun', 'PassStateEntered'),
  exited('StartRun', {}, 'PassStateExited'),
  entered('FetchInventory'),
  exited('FetchInventory', { config: CONFIG, fetch: { status: 'listed', indexes: 4, pages: 1 } }),
  entered('MakePlan'),
  exited('MakePlan', { config: CONFIG, plan: { itemsKey: 'runs/sm/e/items.json', resultsPrefix: 'runs/sm/e/map-results', qualifying: 3, total: 4, skipped: 1 } }),
  entered('ProbeLatencyBefore'),
  exited('ProbeLatencyBefore', { latency: { before: { status: 'measured', latencyMs: 120 } } }),
  entered('OptimizeIndexes', 'MapStateEntered'),
  event('MapStateStarted'),
  event('MapRunStarted'),
];
const AFTER_MAP = (reportOutcome: unknown): Step['events'] => [
  event('MapRunSucceeded'),
  exited('OptimizeIndexes', {}, 'MapStateExited'),
  entered('ProbeLatencyAfter'),
  exited('ProbeLatencyAfter', { latency: { after: { status: 'measured', latencyMs: 80 } } }),
  entered('Report'),
  exited('Report', { report: reportOutcome }),
];

/** A fake execution: each sleep of the command moves it to the next step. */
function fakeExecution(steps: Step[]) {
  let step = 0;
  const history: HistoryEvent[] = [];
  const succeededChildren: Array<{ arn: string; child: Child }> = [];
  let counts: Partial<MapRunItemCounts> | undefined;
  /** How many lines were printed when each sleep began: what had been shown before each poll's wait. */
  const printedAtSleep: number[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const regions: Array<[string, string | undefined]> = [];

  const apply = (s: Step | undefined) => {
    if (!s) return;
    for (const e of s.events ?? []) history.push({ ...e, id: history.length + 1, timestamp: new Date() } as HistoryEvent);
    if (s.counts) counts = { pending: 0, running: 0, succeeded: 0, failed: 0, timedOut: 0, aborted: 0, ...s.counts };
    for (const child of s.children ?? []) succeededChildren.push({ arn: `${EXEC.replace(':execution:', ':mapRunExecution:')}/child-${child.id}`, child });
  };
  const current = () => steps[Math.min(step, steps.length - 1)]!;

  sfn.on(StartExecutionCommand).callsFake(() => {
    apply(steps[0]);
    return { executionArn: EXEC, startDate: START };
  });
  sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    if (input.executionArn === EXEC) {
      const s = current();
      const status = s.status ?? 'RUNNING';
      return {
        executionArn: EXEC,
        status,
        startDate: START,
        ...(status === 'RUNNING' ? {} : { stopDate: new Date(START.getTime() + 65_000) }),
        ...(s.error ? { error: s.error } : {}),
        ...(s.cause ? { cause: s.cause } : {}),
        ...(s.output ? { output: JSON.stringify(s.output) } : {}),
      };
    }
    const child = succeededChildren.find((c) => c.arn === input.executionArn);
    if (!child) throw new Error(`unknown execution ${input.executionArn}`);
    return { executionArn: child.arn, status: 'SUCCEEDED', output: JSON.stringify(child.child) };
  });
  // The real paging: newest first with reverseOrder, maxResults per page, an opaque nextToken.
  const historyPage = (input: { reverseOrder?: boolean; maxResults?: number; nextToken?: string }) => {
    const ordered = input.reverseOrder ? [...history].reverse() : history;
    const from = input.nextToken ? Number(input.nextToken) : 0;
    const size = input.maxResults ?? 100;
    const events = ordered.slice(from, from + size);
    return { events, ...(from + size < ordered.length ? { nextToken: String(from + size) } : {}) };
  };
  sfn.on(GetExecutionHistoryCommand).callsFake(historyPage);
  sfn.on(ListMapRunsCommand).callsFake(() => ({ mapRuns: counts ? [{ mapRunArn: MAP_RUN, executionArn: EXEC, stateMachineArn: SM, startDate: START }] : [] }));
  sfn.on(DescribeMapRunCommand).callsFake(() => ({ mapRunArn: MAP_RUN, executionArn: EXEC, status: 'RUNNING', itemCounts: counts }));
  sfn.on(ListExecutionsCommand).callsFake((input: { maxResults?: number; nextToken?: string }) => {
    const newestFirst = [...succeededChildren].reverse();
    const from = input.nextToken ? Number(input.nextToken) : 0;
    const size = input.maxResults ?? 100;
    return {
      executions: newestFirst.slice(from, from + size).map((c) => ({ executionArn: c.arn, stateMachineArn: SM, name: c.child.id, status: 'SUCCEEDED', startDate: START })),
      ...(from + size < newestFirst.length ? { nextToken: String(from + size) } : {}),
    };
  });

  const deps = {
    clients: {
      sfn: (region: string) => {
        regions.push(['sfn', region]);
        return new SFNClient({ region });
      },
      s3: (region: string) => {
        regions.push(['s3', region]);
        return new S3Client({ region });
      },
      cfn: (region: string | undefined) => {
        regions.push(['cfn', region]);
        return new CloudFormationClient({ region: region ?? 'eu-west-1' });
      },
      sts: (region: string) => {
        regions.push(['sts', region]);
        return new STSClient({ region });
      },
    },
    write: (line: string) => out.push(...line.split('\n')),
    writeError: (line: string) => err.push(...line.split('\n')),
    sleep: async (ms: number) => {
      expect(ms).toBeGreaterThan(0);
      printedAtSleep.push(out.length);
      if (printedAtSleep.length > 50) throw new Error('the command never stopped polling');
      step++;
      apply(steps[step]);
    },
    now: () => START,
  };
  return { deps, out, err, regions, printedAtSleep, historyPage, run: (argv: string[]) => execute(argv, deps) };
}

function s3Report(body: unknown) {
  s3.on(GetObjectCommand).resolves({ Body: { transformToString: async () => JSON.stringify(body) } } as never);
}

function sfnCalls(): string[] {
  return sfn.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
}

const childDescribes = () => sfn.commandCalls(DescribeExecutionCommand).filter((c) => c.args[0].input.executionArn !== EXEC).length;

beforeEach(() => {
  sfn.reset();
  s3.reset();
  cfn.reset();
  sts.reset();
});

describe('npm run execute: start and follow', () => {
  it('starts with the input of the arguments, shows the phases and [done/total], prints the report and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'execute-test-'));
    const fake = fakeExecution([
      { events: BEFORE_MAP.slice(0, 3) },
      { events: BEFORE_MAP.slice(3), counts: { total: 3, running: 3 } },
      { counts: { total: 3, running: 2, succeeded: 1 }, children: [{ id: 'a', outcome: 'optimized' }] },
      { counts: { total: 3, running: 2, succeeded: 1 } },
      {
        status: 'SUCCEEDED',
        output: OUTPUT,
        events: [...AFTER_MAP(OUTPUT)!, entered('RunSucceeded', 'SucceedStateEntered'), event('ExecutionSucceeded')],
        counts: { total: 3, succeeded: 3 },
        children: [{ id: 'b', outcome: 'optimized' }, { id: 'c', outcome: 'optimized' }],
      },
    ]);
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => ({ Body: { transformToString: async () => (input.Key === PAGE_KEY ? PAGE_HTML : JSON.stringify(report())) } }));
    const file = join(dir, 'report.json');
    const html = join(dir, 'page.html');
    const code = await fake.run(['--state-machine-arn', SM, '--index', 'a', '--index', 'b', '--input', '{"maxConcurrency":2}', '--report', file, '--html', html, '--poll-seconds', '2']);

    expect(fake.err).toEqual([]);
    expect(code).toBe(0);
    const start = sfn.commandCalls(StartExecutionCommand);
    expect(start).toHaveLength(1);
    expect(start[0]!.args[0].input.stateMachineArn).toBe(SM);
    expect(JSON.parse(start[0]!.args[0].input.input!)).toEqual({ maxConcurrency: 2, indexIds: ['a', 'b'] });
    expect(start[0]!.args[0].input.name).toMatch(/^manual-20250102T030405Z-[0-9a-f]{6}$/);
    expect(fake.out[0]).toMatch(/^Started execution manual-20250102T030405Z-[0-9a-f]{6}$/);
    expect(fake.out.slice(1)).toEqual([
      `  ARN:     ${EXEC}`,
      `  Console: ${CONSOLE}`,
      'Following it every 2 s (Ctrl-C stops following, not the execution)…',
      'Input accepted',
      'Listed 4 indexes on 1 page(s)',
      'Plan: 3 to optimize, 1 skipped by policy',
      'Query latency before: 120 ms',
      '[0/3] indexes done, 3 running',
      '[1/3] indexes done, 2 running',
      '[3/3] indexes done',
      'Query latency after: 80 ms',
      '',
      ...formatReportTable(report()).split('\n'),
      '',
      `Report: ${REPORT_URL}`,
      `Report written to ${file}`,
      `Page: ${PAGE_URL}`,
      `  open it from the S3 console: ${PAGE_CONSOLE}`,
      `Page written to ${html}`,
      'Execution SUCCEEDED after 1m 05s',
    ]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report());
    expect(readFileSync(html, 'utf8')).toBe(PAGE_HTML);
    // Every poll waited the asked interval, and the region is the ARN's.
    expect(fake.printedAtSleep).toHaveLength(4);
    expect(fake.regions).toEqual([['sfn', 'eu-west-1'], ['s3', 'eu-west-1']]);
    expect(cfn.calls()).toHaveLength(0);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: REPORT_KEY }, { Bucket: BUCKET, Key: PAGE_KEY }]);
    // The history is read newest first and only up to what was seen: one page per poll.
    const history = sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input);
    expect(history).toHaveLength(5);
    expect(history.every((h) => h.reverseOrder === true && h.executionArn === EXEC && h.nextToken === undefined)).toBe(true);
    // The map run is looked up once; every SUCCEEDED child is described once.
    expect(sfn.commandCalls(ListMapRunsCommand)).toHaveLength(1);
    expect(sfn.commandCalls(ListMapRunsCommand)[0]!.args[0].input).toEqual({ executionArn: EXEC });
    expect(sfn.commandCalls(DescribeMapRunCommand)).toHaveLength(4);
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      { mapRunArn: MAP_RUN, statusFilter: 'SUCCEEDED', maxResults: 100, nextToken: undefined },
      { mapRunArn: MAP_RUN, statusFilter: 'SUCCEEDED', maxResults: 100, nextToken: undefined },
    ]);
    expect(childDescribes()).toBe(3);
  });

  it('pages back through a long history only as far as the events it has not seen', async () => {
    const waits = Array.from({ length: 150 }, (_, i) => (i % 2 === 0 ? entered('WaitBeforeListingAgain', 'WaitStateEntered') : exited('WaitBeforeListingAgain', {}, 'WaitStateExited')));
    const fake = fakeExecution([
      { events: [...BEFORE_MAP.slice(0, 3), ...waits] },
      { status: 'ABORTED', events: [event('ExecutionAborted')] },
    ]);
    expect(await fake.run(['--state-machine-arn', SM])).toBe(1);
    const pages = sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input.nextToken);
    expect(pages).toEqual([undefined, '100', undefined]);
    expect(fake.out.filter((l) => l === 'Input accepted')).toHaveLength(1);
  });

  it('prints a failed index between polls, as soon as its child execution ends', async () => {
    const fake = fakeExecution([
      { events: BEFORE_MAP, counts: { total: 3, running: 3 } },
      { counts: { total: 3, running: 2, succeeded: 1 }, children: [{ id: 'b', outcome: 'failed', reason: 'PUT refused: 400 shard count out of range' }] },
      { counts: { total: 3, running: 1, succeeded: 2 }, children: [{ id: 'a', outcome: 'optimized' }] },
      {
        status: 'FAILED',
        error: 'Run.IndexesFailed',
        cause: '1 of 3 indexes failed. beta: PUT refused: 400 shard count out of range',
        events: [...AFTER_MAP({ report: REPORT_URL, error: { name: 'Run.IndexesFailed' } })!, event('ExecutionFailed')],
        counts: { total: 3, succeeded: 3 },
        children: [{ id: 'c', outcome: 'optimized' }],
      },
    ]);
    const failedReport = report({
      summary: { total: 4, optimized: 2, skipped: 1, failed: 1, planned: 0 },
      indexes: [
        { id: 'a', name: 'alpha', outcome: 'optimized', reason: null , effect: null },
        { id: 'b', name: 'beta', outcome: 'failed', reason: 'PUT refused: 400 shard count out of range' , effect: null },
        { id: 'c', name: 'gamma', outcome: 'optimized', reason: null , effect: null },
        { id: 'd', name: 'delta', outcome: 'skipped', reason: 'over maxShards' , effect: null },
      ],
      error: { name: 'Run.IndexesFailed', cause: '1 of 3 indexes failed. beta: PUT refused: 400 shard count out of range' },
    });
    s3Report(failedReport);
    const code = await fake.run(['--state-machine-arn', SM]);
    expect(code).toBe(1);
    const failedLine = '[1/3] b: FAILED (PUT refused: 400 shard count out of range)';
    const at = fake.out.indexOf(failedLine);
    expect(at).toBeGreaterThan(fake.out.indexOf('[1/3] indexes done, 2 running'));
    // Shown during the second poll, before the command waited again (not at the end).
    expect(fake.printedAtSleep[1]).toBe(at + 1);
    expect(fake.out.filter((l) => l.includes('FAILED ('))).toEqual([failedLine]);
    // The report's location came from the Report state in the history: no bucket, no stack needed.
    expect(cfn.calls()).toHaveLength(0);
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({ Bucket: BUCKET, Key: REPORT_KEY });
    expect(fake.out).toContain('Run failed: Run.IndexesFailed: 1 of 3 indexes failed. beta: PUT refused: 400 shard count out of range');
    expect(fake.out.at(-1)).toBe('Execution FAILED after 1m 05s: Run.IndexesFailed');
    expect(fake.err).toEqual([]);
  });

  it(`describes at most ${MAX_CHILD_DESCRIBES_PER_POLL} child executions per poll`, async () => {
    const children: Child[] = Array.from({ length: 25 }, (_, i) => ({ id: `idx-${String(i).padStart(2, '0')}`, outcome: 'failed', reason: 'health red' }));
    const fake = fakeExecution([
      { events: BEFORE_MAP, counts: { total: 25, succeeded: 25 }, children },
      {},
      { status: 'FAILED', error: 'Run.IndexesFailed', cause: '25 of 25 indexes failed.', events: AFTER_MAP({ report: REPORT_URL })! },
    ]);
    s3Report(report({ summary: { total: 25, optimized: 0, skipped: 0, failed: 25, planned: 0 }, indexes: [], error: { name: 'Run.IndexesFailed', cause: '25 of 25 indexes failed.' } }));
    expect(await fake.run(['--state-machine-arn', SM])).toBe(1);
    // The first poll described 20, the next the other 5; the list was read once.
    expect(fake.out.slice(0, fake.printedAtSleep[0]).filter((l) => l.endsWith('FAILED (health red)'))).toHaveLength(20);
    expect(fake.out.filter((l) => l.endsWith('FAILED (health red)'))).toHaveLength(25);
    expect(childDescribes()).toBe(25);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(1);
  });
});

describe('npm run execute: how the execution ended', () => {
  it('a dry run that succeeded: exit 0, no map run looked up', async () => {
    const output = { summary: { total: 4, optimized: 0, skipped: 1, failed: 0, planned: 3 }, queryLatencyMs: { before: null, after: null }, report: REPORT_URL };
    const fake = fakeExecution([
      {
        status: 'SUCCEEDED',
        output,
        events: [...BEFORE_MAP.slice(0, 2), exited('ValidateInput', VALIDATED({ ...CONFIG, dryRun: true })), ...BEFORE_MAP.slice(5, 9), entered('Report'), exited('Report', { report: output })],
      },
    ]);
    const dry = report({ dryRun: true, summary: output.summary, queryLatencyMs: { before: null, after: null } });
    s3Report(dry);
    expect(await fake.run(['--state-machine-arn', SM, '--dry-run'])).toBe(0);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toEqual({ dryRun: true });
    expect(fake.out[0]).toMatch(/ \(dry run\)$/);
    expect(fake.out.filter((l) => l.startsWith('Input accepted'))).toHaveLength(1);
    expect(fake.out).toContain('Plan: 3 to optimize, 1 skipped by policy');
    expect(sfnCalls()).toEqual(['StartExecution', 'DescribeExecution', 'GetExecutionHistory']);
    expect(fake.printedAtSleep).toEqual([]);
  });

  it("--html: a page the report function could not write (the output's page is null) is said so, and no file is written", async () => {
    const output = { ...OUTPUT, page: null };
    const fake = fakeExecution([{ status: 'SUCCEEDED', output, events: [...BEFORE_MAP, ...AFTER_MAP(output)!] }]);
    s3Report(report());
    const html = join(mkdtempSync(join(tmpdir(), 'execute-test-')), 'page.html');
    expect(await fake.run(['--state-machine-arn', SM, '--html', html])).toBe(0);
    expect(fake.out).toContain("Page: not written (the report function's log says why)");
    expect(fake.err).toEqual([`No page to write to ${html}.`]);
    expect(existsSync(html)).toBe(false);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([REPORT_KEY]);
  });

  it('--html for a failed run: the page beside its report, read from the bucket; one that is not there is an error, not the exit status', async () => {
    const fake = fakeExecution([{ events: BEFORE_MAP }, { status: 'FAILED', error: 'Run.IndexesFailed', cause: '2 of 3 indexes failed.', events: AFTER_MAP({ report: REPORT_URL })! }]);
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      if (input.Key === PAGE_KEY) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: { transformToString: async () => JSON.stringify(report({ summary: { total: 4, optimized: 1, skipped: 1, failed: 2, planned: 0 } })) } };
    });
    const html = join(mkdtempSync(join(tmpdir(), 'execute-test-')), 'page.html');
    expect(await fake.run(['--state-machine-arn', SM, '--html', html])).toBe(1);
    expect(fake.out).toContain(`Page: ${PAGE_URL}`);
    expect(fake.err).toEqual([`Cannot write ${html}: ${PAGE_URL} does not exist`]);
    expect(existsSync(html)).toBe(false);
  });

  it('FAILED with Run.IndexesFailed, history unreadable: exit 1, the report found in the stack bucket', async () => {
    const fake = fakeExecution([
      { events: BEFORE_MAP },
      { status: 'FAILED', error: 'Run.IndexesFailed', cause: '2 of 3 indexes failed. a: x | b: y' },
    ]);
    sfn.on(GetExecutionHistoryCommand).rejects(Object.assign(new Error('User is not authorized to perform: states:GetExecutionHistory'), { name: 'AccessDeniedException' }));
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'GenesysIndexOptimizer', CreationTime: START, StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: SM }, { OutputKey: 'RunBucketName', OutputValue: BUCKET }] }],
    });
    const failed = report({ summary: { total: 4, optimized: 1, skipped: 1, failed: 2, planned: 0 }, error: { name: 'Run.IndexesFailed', cause: '2 of 3 indexes failed.' } });
    s3Report(failed);
    expect(await fake.run(['--state-machine-arn', SM])).toBe(1);
    expect(fake.out.filter((l) => l.startsWith('(progress: cannot read the execution history'))).toEqual([
      '(progress: cannot read the execution history (AccessDeniedException: User is not authorized to perform: states:GetExecutionHistory); still following the execution)',
    ]);
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'GenesysIndexOptimizer' }]);
    expect(fake.regions).toContainEqual(['cfn', 'eu-west-1']);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: REPORT_KEY }]);
    expect(fake.out).toContain('Run failed: Run.IndexesFailed: 2 of 3 indexes failed.');
  });

  it('FAILED with a run-level error, history unreadable, --bucket: exit 1, the report read from the bucket', async () => {
    // A run-level error (not Run.IndexesFailed): without the history, the run is taken as past planning.
    const fake = fakeExecution([{ status: 'FAILED', error: 'Genesys.Forbidden', cause: 'the OAuth client lacks search:index:edit' }]);
    sfn.on(GetExecutionHistoryCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    s3Report(report({ error: { name: 'Genesys.Forbidden', cause: 'the OAuth client lacks search:index:edit' } }));
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', 'other-bucket'])).toBe(1);
    expect(cfn.calls()).toHaveLength(0);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: 'other-bucket', Key: REPORT_KEY }]);
  });

  it('FAILED with Run.IndexesFailed when the last history read failed: still exit 1, the report read', async () => {
    const fake = fakeExecution([
      { events: BEFORE_MAP.slice(0, 3) },
      { status: 'FAILED', error: 'Run.IndexesFailed', cause: '1 of 3 indexes failed.' },
    ]);
    let reads = 0;
    sfn.on(GetExecutionHistoryCommand).callsFake((input) => {
      if (++reads > 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return fake.historyPage(input);
    });
    s3Report(report({ error: { name: 'Run.IndexesFailed', cause: '1 of 3 indexes failed.' } }));
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', BUCKET])).toBe(1);
    expect(fake.out).toContain('Input accepted');
    expect(fake.out).toContain('(progress: cannot read the execution history (ThrottlingException: Rate exceeded); still following the execution)');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('FAILED with Input.Invalid when the history cannot be read: still exit 2, no report looked for', async () => {
    const fake = fakeExecution([{ status: 'FAILED', error: 'Input.Invalid', cause: 'maxConcurrency: must be at most 40' }]);
    sfn.on(GetExecutionHistoryCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', BUCKET])).toBe(2);
    expect(fake.err).toEqual(['The run could not start. Execution FAILED after 1m 05s: Input.Invalid — maxConcurrency: must be at most 40']);
    expect(s3.calls()).toHaveLength(0);
  });

  it('gave way to a run still going (AlreadyRunning): exit 0, no report looked for', async () => {
    const output = {
      outcome: 'already-running',
      message: 'another run of this optimizer is still optimizing the org; this run changed nothing',
      runningExecution: 'arn:aws:states:eu-west-1:123456789012:execution:Optimizer:nightly-1',
      runningSince: '2025-01-02T02:00:00.000Z',
    };
    const fake = fakeExecution([
      {
        status: 'SUCCEEDED',
        output,
        events: [event('ExecutionStarted'), entered('ValidateInput'), exited('ValidateInput', { config: CONFIG, guard: { proceed: false } }), entered('AlreadyRunning', 'PassStateEntered'), exited('AlreadyRunning', output, 'PassStateExited')],
      },
    ]);
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', BUCKET])).toBe(0);
    expect(fake.out.slice(-3)).toEqual([
      '',
      `Not run: ${output.message} (${output.runningExecution}, running since ${output.runningSince}).`,
      'Execution SUCCEEDED after 1m 05s',
    ]);
    expect(s3.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('TIMED_OUT: exit 1, no report looked for', async () => {
    const fake = fakeExecution([{ events: BEFORE_MAP, counts: { total: 3, running: 3 } }, { status: 'TIMED_OUT', events: [event('ExecutionTimedOut')] }]);
    expect(await fake.run(['--state-machine-arn', SM, '--poll-seconds', '0.01'])).toBe(1);
    expect(s3.calls()).toHaveLength(0);
    expect(fake.out.slice(-2)).toEqual(['No report: the execution ended before its Report state ran.', 'Execution TIMED_OUT after 1m 05s']);
  });

  it('ABORTED: exit 1', async () => {
    const fake = fakeExecution([{ events: BEFORE_MAP.slice(0, 3) }, { status: 'ABORTED', events: [event('ExecutionAborted')] }]);
    expect(await fake.run(['--state-machine-arn', SM])).toBe(1);
    expect(fake.out.at(-1)).toBe('Execution ABORTED after 1m 05s');
    expect(s3.calls()).toHaveLength(0);
  });

  it('FAILED with Input.Invalid: exit 2 with the message, not the Lambda trace', async () => {
    const cause = JSON.stringify({ errorType: 'Input.Invalid', errorMessage: 'dryrun: unknown field (did you mean dryRun?)', trace: ['Input.Invalid: dryrun', '    at parseInput (file:///var/task/index.mjs:1:2)'] });
    const fake = fakeExecution([
      { events: [event('ExecutionStarted'), entered('ValidateInput'), event('TaskFailed')] },
      { status: 'FAILED', error: 'Input.Invalid', cause, events: [event('ExecutionFailed')] },
    ]);
    expect(await fake.run(['--state-machine-arn', SM, '--input', '{"dryrun":true}'])).toBe(2);
    expect(fake.err).toEqual(['The run could not start. Execution FAILED after 1m 05s: Input.Invalid — dryrun: unknown field (did you mean dryRun?)']);
    expect(fake.err.join('\n')).not.toContain(' at ');
    expect(s3.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('SUCCEEDED but the report cannot be read: says so and prints the summary of the execution output', async () => {
    const fake = fakeExecution([{ status: 'SUCCEEDED', output: OUTPUT, events: [...BEFORE_MAP, ...AFTER_MAP(OUTPUT)!], counts: { total: 3, succeeded: 3 } }]);
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
    const dir = mkdtempSync(join(tmpdir(), 'execute-test-'));
    expect(await fake.run(['--state-machine-arn', SM, '--report', join(dir, 'r.json')])).toBe(0);
    expect(fake.out.slice(fake.out.indexOf(''))).toEqual([
      '',
      `Could not read the report: ${REPORT_URL} does not exist.`,
      'From the execution itself:',
      '  4 indexes: 3 optimized, 1 skipped, 0 failed',
      '  Query latency: before 120.0 ms, after 80.0 ms',
      'Execution SUCCEEDED after 1m 05s',
    ]);
    expect(fake.err).toEqual([`No report to write to ${join(dir, 'r.json')}.`]);
  });
});

describe('npm run execute: --retry-failed', () => {
  const EARLIER = 'arn:aws:states:eu-west-1:123456789012:execution:Optimizer:weekly-run';
  const EARLIER_CONFIG = {
    dryRun: false,
    indexIds: null,
    retryOf: null,
    policy: { maxShards: 50, maxReplicas: 3, maxStorageBytes: 10737418240, cooldownHours: 0, healthCheckBeforePut: true, maxLatencyRegression: 0.2 },
    timing: { settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900 },
    apiBudgetPerMinute: 150,
    maxConcurrency: 12,
  };
  /** The run bucket: the earlier run's report and checked input, by key. */
  function bucket(objects: Record<string, unknown>) {
    s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      const body = objects[`${input.Bucket}/${input.Key}`];
      if (body === undefined) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: { transformToString: async () => JSON.stringify(body) } };
    });
  }
  const failedEarlier = () =>
    report({
      executionId: EARLIER,
      summary: { total: 4, optimized: 2, skipped: 1, failed: 1, planned: 0 },
      indexes: [
        { id: 'a', name: 'alpha', outcome: 'optimized', reason: null, effect: null },
        { id: 'b', name: 'beta', outcome: 'failed', reason: 'PUT refused: 400', effect: null },
        { id: 'c', name: 'gamma', outcome: 'optimized', reason: null, effect: null },
        { id: 'd', name: 'delta', outcome: 'skipped', reason: 'over maxShards', effect: null },
      ],
    });

  it('starts a run of exactly the failed indexes with the earlier input, --input taking precedence, naming the run it retries', async () => {
    const fake = fakeExecution([{}]);
    bucket({ 'runs-bucket/runs/Optimizer/weekly-run/report.json': failedEarlier(), 'runs-bucket/runs/Optimizer/weekly-run/config.json': EARLIER_CONFIG });
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', 'runs-bucket', '--retry-failed', 'weekly-run', '--input', '{"maxConcurrency":1}', '--no-wait'])).toBe(0);
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(input).toEqual({ ...EARLIER_CONFIG, maxConcurrency: 1, indexIds: ['b'], retryOf: EARLIER });
    expect(fake.out[0]).toBe(`Retrying the 1 failed index(es) of ${EARLIER}`);
    // The earlier run's objects are only read.
    expect(s3.calls().every((c) => (c.args[0] as { constructor: { name: string } }).constructor.name === 'GetObjectCommand')).toBe(true);
  });

  it('a run with nothing failed: says so and starts nothing', async () => {
    const fake = fakeExecution([{}]);
    bucket({ 'runs-bucket/runs/Optimizer/weekly-run/report.json': report({ executionId: EARLIER }), 'runs-bucket/runs/Optimizer/weekly-run/config.json': EARLIER_CONFIG });
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', 'runs-bucket', '--retry-failed', EARLIER])).toBe(0);
    expect(fake.out).toEqual([`Nothing to retry: no index of ${EARLIER} failed (3 optimized, 1 skipped): nothing to retry.`]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('an execution whose report is not in the bucket: exit 2 naming where it looked, nothing started', async () => {
    const fake = fakeExecution([{}]);
    bucket({});
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', 'runs-bucket', '--retry-failed', 'no-such-run'])).toBe(2);
    expect(fake.err[0]).toMatch(/^Cannot retry arn:aws:states:eu-west-1:123456789012:execution:Optimizer:no-such-run: s3:\/\/runs-bucket\/runs\/Optimizer\/no-such-run\/report\.json does not exist$/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses --index with it, before any AWS call', async () => {
    const fake = fakeExecution([{}]);
    expect(await fake.run(['--state-machine-arn', SM, '--retry-failed', 'weekly-run', '--index', 'x'])).toBe(2);
    expect(fake.err[0]).toMatch(/^--retry-failed runs the failed indexes of the earlier execution: give no --index with it/);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('npm run execute: --explain', () => {
  const LATEST = 'arn:aws:states:eu-west-1:123456789012:execution:Optimizer:latest-run';
  /** The run bucket as S3 answers: keys by prefix for listings, objects by key. */
  function bucket(objects: Record<string, unknown>) {
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
      Contents: Object.keys(objects).filter((k) => k.startsWith(input.Prefix)).map((Key) => ({ Key })),
      IsTruncated: false,
    }));
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      const body = objects[input.Key];
      if (body === undefined) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: { transformToString: async () => JSON.stringify(body) } };
    });
  }
  const run = 'runs/Optimizer/latest-run/';
  const objects = {
    [`${run}plan.json`]: { entries: [{ id: 'a', name: 'alpha', decision: 'qualifies' }, { id: 'b', name: 'beta', decision: 'qualifies' }], qualifying: ['a', 'b'] },
    [`${run}outcomes/failed/a.json`]: { id: 'a', outcome: 'failed', reason: 'PUT /x: rejected (400) [correlation id c-a]' },
    [`${run}progress/a.json`]: { id: 'a', step: 'failed', attempts: 1, polls: 0, lastError: { reason: 'PUT /x: rejected (400) [correlation id c-a]', correlationId: 'c-a', at: 't' }, startedAt: '2025-01-02T03:04:05.000Z', updatedAt: 't' },
    [`${run}progress/b.json`]: { id: 'b', step: 'polling health: refreshing', attempts: 1, polls: 2, lastError: null, startedAt: '2025-01-02T03:04:06.000Z', updatedAt: 't' },
  };

  it('defaults to the latest execution, reads the run bucket, and prints one line per index; nothing is started', async () => {
    const fake = fakeExecution([{}]);
    sfn.on(ListExecutionsCommand).resolves({ executions: [{ executionArn: LATEST, stateMachineArn: SM, name: 'latest-run', status: 'RUNNING', startDate: START }] });
    bucket(objects);
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', 'runs-bucket', '--explain'])).toBe(0);
    expect(sfn.commandCalls(ListExecutionsCommand)[0]!.args[0].input).toMatchObject({ stateMachineArn: SM, maxResults: 1 });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    const text = fake.out.join('\n');
    expect(text).toMatch(/^alpha\s+failed\s+1\s+2025-01-02T03:04:05\s+PUT \/x: rejected \(400\) \[correlation id c-a\]$/m);
    expect(text).toMatch(/^beta\s+in progress: polling health: refreshing\s+1\+2\s+2025-01-02T03:04:06$/m);
  });

  it('--only-failed --json for a named execution', async () => {
    const fake = fakeExecution([{}]);
    bucket(objects);
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', 'runs-bucket', '--explain', 'latest-run', '--only-failed', '--json'])).toBe(0);
    const parsed = JSON.parse(fake.out.join('\n')) as { executionId: string; indexes: Array<{ id: string; outcome: string }> };
    expect(parsed.executionId).toBe(LATEST);
    expect(parsed.indexes.map((r) => [r.id, r.outcome])).toEqual([['a', 'failed']]);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('npm run execute: --approve / --reject', () => {
  const WAITING = 'arn:aws:states:eu-west-1:123456789012:execution:Optimizer:weekly-run';
  const TOKEN = 'AQB4AAAAKgAAAAMAAAAAAAAAAd0kQ3+secret-task-token==';
  const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/PlatformOps/jane';
  const pendingAt = (key: string) => {
    s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      if (input.Key !== key) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: { transformToString: async () => JSON.stringify({ taskToken: TOKEN, requestedAt: '2025-01-02T03:00:00.000Z', expiresAt: '2025-01-03T03:00:00.000Z' }) } };
    });
  };

  it('--approve: reads the token from the run bucket and sends it with the decision, who and when; nothing started, the token never printed', async () => {
    const fake = fakeExecution([{}]);
    pendingAt('runs/Optimizer/weekly-run/approval.json');
    sts.on(GetCallerIdentityCommand).resolves({ Arn: OPERATOR, Account: '123456789012', UserId: 'AROA:jane' });
    sfn.on(SendTaskSuccessCommand).resolves({});
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', BUCKET, '--approve', 'weekly-run'])).toBe(0);
    const sent = sfn.commandCalls(SendTaskSuccessCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.args[0].input.taskToken).toBe(TOKEN);
    expect(JSON.parse(sent[0]!.args[0].input.output!)).toEqual({ status: 'approved', by: OPERATOR, at: START.toISOString(), reason: null });
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: BUCKET, Key: 'runs/Optimizer/weekly-run/approval.json' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(fake.out.join('\n')).toMatch(new RegExp(`Approved the plan of ${WAITING.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} as ${OPERATOR.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect([...fake.out, ...fake.err].join('\n')).not.toContain(TOKEN);
  });

  it('--reject with --reason: a decision with the reason (the run ends without changes)', async () => {
    const fake = fakeExecution([{}]);
    pendingAt('runs/Optimizer/weekly-run/approval.json');
    sts.on(GetCallerIdentityCommand).resolves({ Arn: OPERATOR });
    sfn.on(SendTaskSuccessCommand).resolves({});
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', BUCKET, '--reject', WAITING, '--reason', 'change freeze this week'])).toBe(0);
    expect(JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input.output!)).toMatchObject({ status: 'rejected', by: OPERATOR, reason: 'change freeze this week' });
  });

  it('a plan decided already (TaskDoesNotExist): exit 2 saying so, without the token', async () => {
    const fake = fakeExecution([{}]);
    pendingAt('runs/Optimizer/weekly-run/approval.json');
    sts.on(GetCallerIdentityCommand).resolves({ Arn: OPERATOR });
    sfn.on(SendTaskSuccessCommand).rejects(new TaskDoesNotExist({ message: `Task does not exist: ${TOKEN}`, $metadata: {} }));
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', BUCKET, '--approve', 'weekly-run'])).toBe(2);
    const text = fake.err.join('\n');
    expect(text).toMatch(/no longer waits for a decision: it was decided already, it timed out \(at 2025-01-03T03:00:00.000Z\), or the run ended/);
    expect(text).not.toContain(TOKEN);
  });

  it('a run that never asked for approval: exit 2 naming what is missing, nothing sent', async () => {
    const fake = fakeExecution([{}]);
    pendingAt('runs/Optimizer/some-other-run/approval.json');
    sts.on(GetCallerIdentityCommand).resolves({ Arn: OPERATOR });
    expect(await fake.run(['--state-machine-arn', SM, '--bucket', BUCKET, '--reject', 'weekly-run'])).toBe(2);
    expect(fake.err.join('\n')).toMatch(/no plan of .*weekly-run waits for approval .*approval\.json does not exist/);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('refuses --approve with --reject, and --reason alone, before any AWS call', async () => {
    const fake = fakeExecution([{}]);
    expect(await fake.run(['--state-machine-arn', SM, '--approve', 'a', '--reject', 'b'])).toBe(2);
    expect(await fake.run(['--state-machine-arn', SM, '--reason', 'x'])).toBe(2);
    expect(fake.err.join('\n')).toMatch(/--approve and --reject: give one[\s\S]*--reason goes with --reject/);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('npm run execute: starting', () => {
  it('--no-wait: only StartExecution, then exit 0', async () => {
    const fake = fakeExecution([{}]);
    expect(await fake.run(['--state-machine-arn', SM, '--no-wait'])).toBe(0);
    expect(sfnCalls()).toEqual(['StartExecution']);
    expect(s3.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
    expect(fake.out.slice(1)).toEqual([`  ARN:     ${EXEC}`, `  Console: ${CONSOLE}`]);
  });

  it('takes the ARN from the stack outputs, in the SDK default region', async () => {
    const arn = 'arn:aws:states:us-east-2:123456789012:stateMachine:OptimizerStateMachine1A2B';
    const fake = fakeExecution([{}]);
    cfn.on(DescribeStacksCommand, { StackName: 'MyOptimizer' }).resolves({
      Stacks: [{ StackName: 'MyOptimizer', CreationTime: START, StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'SecretArn', OutputValue: 'x' }, { OutputKey: 'StateMachineArn', OutputValue: arn }] }],
    });
    expect(await fake.run(['--stack', 'MyOptimizer', '--no-wait'])).toBe(0);
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.stateMachineArn).toBe(arn);
    expect(fake.regions).toEqual([['cfn', undefined], ['sfn', 'us-east-2']]);
    expect(fake.out[0]).toBe(`State machine (stack MyOptimizer): ${arn}`);
  });

  it('StartExecution failing (StateMachineDoesNotExist): exit 2 with a clear message', async () => {
    const fake = fakeExecution([{}]);
    sfn.on(StartExecutionCommand).rejects(new StateMachineDoesNotExist({ message: `State Machine Does Not Exist: '${SM}'`, $metadata: {} }));
    expect(await fake.run(['--state-machine-arn', SM])).toBe(2);
    expect(fake.err).toEqual([`Could not start the execution of ${SM}: StateMachineDoesNotExist: State Machine Does Not Exist: '${SM}'`]);
    expect(fake.out).toEqual([]);
    expect(sfnCalls()).toEqual(['StartExecution']);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['--state-machine-arn', SM, '--wait-forever'], /Unknown option '--wait-forever'/],
    ['--index with indexIds in the input', ['--state-machine-arn', SM, '--index', 'a', '--input', '{"indexIds":["b"]}'], /either with --index or as "indexIds" in --input, not both/],
    ['--dry-run against "dryRun": false', ['--state-machine-arn', SM, '--dry-run', '--input', '{"dryRun":false}'], /--dry-run contradicts "dryRun"/],
    ['input that is not JSON', ['--state-machine-arn', SM, '--input', '{dryRun: true}'], /--input: not valid JSON/],
    ['an execution ARN for the state machine', ['--state-machine-arn', EXEC], /not a state machine ARN/],
    ['a bad poll interval', ['--state-machine-arn', SM, '--poll-seconds', '0'], /--poll-seconds: must be a number/],
    ['a positional argument', ['--state-machine-arn', SM, 'now'], /Unexpected argument 'now'/],
  ];
  it.each(usage)('bad usage, %s: exit 2 with the message, nothing called', async (_name, argv, message) => {
    const fake = fakeExecution([{}]);
    expect(await fake.run(argv)).toBe(2);
    expect(fake.err[0]).toMatch(message);
    expect(fake.err.join('\n')).toContain('Usage: npm run execute');
    expect(sfn.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('no ARN and a stack without the output: exit 2', async () => {
    const fake = fakeExecution([{}]);
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'GenesysIndexOptimizer', CreationTime: START, StackStatus: 'CREATE_IN_PROGRESS', Outputs: [] }] });
    expect(await fake.run([])).toBe(2);
    expect(fake.err).toEqual(['No state machine to run: stack GenesysIndexOptimizer has no StateMachineArn output. Give --state-machine-arn ARN.']);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('no ARN and no stack: exit 2', async () => {
    const fake = fakeExecution([{}]);
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id GenesysIndexOptimizer does not exist'), { name: 'ValidationError' }));
    expect(await fake.run([])).toBe(2);
    expect(fake.err).toEqual([
      'No state machine to run: cannot read stack GenesysIndexOptimizer: ValidationError: Stack with id GenesysIndexOptimizer does not exist. Give --state-machine-arn ARN, or --stack NAME for another stack.',
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('--help: exit 0', async () => {
    const fake = fakeExecution([{}]);
    expect(await fake.run(['--help'])).toBe(0);
    expect(fake.out[0]).toBe('Usage: npm run execute -- [options]');
  });

  it('names executions readably', () => {
    expect(executionName(new Date('2025-12-31T23:59:58.123Z'), 'a1b2c3')).toBe('manual-20251231T235958Z-a1b2c3');
  });
});
