// Shared by the tests that execute the synthesized state machine locally (infra/local/run-local.ts)
// against the Genesys Cloud simulator: starting simulators, running, and reading what happened.
//
// Runs share the file's local AWS (and its function workers, started as new containers for each
// run), so the tests of a file run one after the other.
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { runLocally, type LocalRunOptions, type LocalRunResult, type LocalTarget } from '../../infra/local/run-local.ts';
import { startLocalAws, type LocalAws } from '../../infra/local/aws/local-aws.ts';
import { synthesizeDefinition, type SynthesizedDefinition } from '../../infra/local/definition.ts';
import { parseScenario } from '../../infra/simulator/scenario.ts';
import { startSimulator, type RecordedRequest, type Simulator } from '../../infra/simulator/server.ts';
import type { ReportEntry } from '../../functions/domain/report.ts';
import { MAX_API_BUDGET_PER_MINUTE } from '../../functions/domain/execution-input.ts';

export const FAST = { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 3 };
export const RUN_TIMEOUT_MS = 170_000;

export interface Run {
  sim: Simulator;
  result: LocalRunResult;
  /** The functions' JSON log lines. */
  lines: string[];
  /** This run's objects in the local S3 server (files named <key>._S3rver_object). */
  storeDir: string;
  wallMs: number;
}

export interface RunExtras {
  /** Narrows the deployment's policies for this run (a permission taken away). */
  iam?: LocalRunOptions['iam'];
  /** The run is expected to meet IAM denials; otherwise any denial fails the test. */
  expectDenials?: boolean;
  /** Function settings as a stack setting would give them. */
  environment?: Record<string, string>;
  /** A plan waits for approval (the decision is sent as an operator sends it). */
  onApprovalRequested?: LocalRunOptions['onApprovalRequested'];
  invocationDelayMs?: LocalRunOptions['invocationDelayMs'];
}

/** A valid index record (qualifies under the default policy) with a fast behaviour unless told otherwise. */
export function index(id: string, behaviour: Record<string, unknown> = {}, record: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `name-${id}`,
    type: 'conversation',
    status: 'active',
    shardCount: 6,
    replicaCount: 1,
    maxDocumentCount: 12_000_000,
    storageBytes: 2_000_000_000,
    lastRefresh: '2026-11-01T00:00:00.000Z',
    ...record,
    behaviour: { refreshSeconds: 0, ...behaviour },
  };
}

export interface LocalRuns {
  startSim(scenario: unknown): Promise<Simulator>;
  /** Closes a simulator started elsewhere after the test, like the ones startSim starts. */
  adopt(sim: Simulator): Simulator;
  /** One run against `sim`; `target` overrides the simulator's URLs and credentials. */
  runAgainst(sim: Simulator, input: unknown, target?: Partial<LocalTarget>, extras?: RunExtras): Promise<Run>;
  run(scenario: unknown, input?: unknown): Promise<Run>;
  /** The synthesized definition (available once the file's beforeAll ran). */
  synthesized(): SynthesizedDefinition;
  /** The file's local AWS (available once the file's beforeAll ran). */
  aws(): LocalAws;
}

/**
 * Registers the hooks (one synthesis and one local AWS for the file, simulators closed after each
 * test, the local AWS and its directory removed after the file) and returns the run helpers.
 * `onRun` sees every run as soon as it ends, while its objects still exist.
 */
export function useLocalRuns(options: { onRun?: (run: Run) => void; recordCalls?: boolean } = {}): LocalRuns {
  let synthesized: SynthesizedDefinition | undefined;
  let aws: LocalAws | undefined;
  let awsDir: string | undefined;
  const simulators: Simulator[] = [];

  beforeAll(async () => {
    synthesized = synthesizeDefinition();
    awsDir = mkdtempSync(join(tmpdir(), 'sm-test-'));
    aws = await startLocalAws({ dir: awsDir, recordCalls: options.recordCalls ?? false });
  });
  afterEach(async () => {
    await Promise.all(simulators.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await aws?.close();
    if (awsDir) rmSync(awsDir, { recursive: true, force: true });
  });

  /**
   * These suites test the workflow's branches, not its pacing (test/pacer.test.ts does): unless a
   * test sets apiBudgetPerMinute, the budget is so high that no call waits for a slot.
   */
  const unpacedUnlessSet = (input: unknown): unknown =>
    typeof input === 'object' && input !== null && !Array.isArray(input) && !('apiBudgetPerMinute' in input)
      ? { ...input, apiBudgetPerMinute: MAX_API_BUDGET_PER_MINUTE }
      : input;

  const startSim = async (scenario: unknown): Promise<Simulator> => {
    // Each simulator is an org of its own, with its own OAuth client: what the run keeps per client
    // (the API budget's clock, the refresh memory) does not carry over from one test to the next.
    const own = typeof scenario === 'object' && scenario !== null && !('credentials' in scenario) ? { ...scenario, credentials: { clientId: `sim-client-${randomUUID().slice(0, 8)}` } } : scenario;
    const sim = await startSimulator({ scenario: parseScenario(own) });
    simulators.push(sim);
    return sim;
  };

  const runAgainst = async (sim: Simulator, input: unknown, target: Partial<LocalTarget> = {}, extras: RunExtras = {}): Promise<Run> => {
    if (!aws || !awsDir) throw new Error('useLocalRuns: the local AWS starts in beforeAll');
    const lines: string[] = [];
    const started = Date.now();
    const result = await runLocally({
      input: unpacedUnlessSet(input),
      target: { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl, clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, ...target },
      storeDir: awsDir,
      aws,
      onLogLine: (line) => lines.push(line),
      synthesized: synthesized ?? synthesizeDefinition(),
      timeoutMs: RUN_TIMEOUT_MS,
      ...(extras.iam ? { iam: extras.iam } : {}),
      ...(extras.environment ? { environment: extras.environment } : {}),
      ...(extras.onApprovalRequested ? { onApprovalRequested: extras.onApprovalRequested } : {}),
      ...(extras.invocationDelayMs ? { invocationDelayMs: extras.invocationDelayMs } : {}),
    });
    const run: Run = { sim, result, lines, storeDir: result.runDir, wallMs: Date.now() - started };
    options.onRun?.(run);
    // The stack's policies must allow every call the code makes: a denial here is a deployment that would fail.
    if (!extras.expectDenials) {
      expect(result.denials.map((d) => `${d.principal}: ${d.service}:${d.operation} on ${d.resource}`), 'AWS calls IAM denied').toEqual([]);
    }
    return run;
  };

  return {
    startSim,
    adopt: (sim) => {
      simulators.push(sim);
      return sim;
    },
    runAgainst,
    run: async (scenario, input = { timing: FAST }) => runAgainst(await startSim(scenario), input),
    synthesized: () => {
      if (!synthesized) throw new Error('useLocalRuns: the definition is synthesized in beforeAll');
      return synthesized;
    },
    aws: () => {
      if (!aws) throw new Error('useLocalRuns: the local AWS starts in beforeAll');
      return aws;
    },
  };
}

export const calls = (sim: Simulator, endpoint: RecordedRequest['endpoint'], id?: string): RecordedRequest[] =>
  sim.requests.filter((r) => r.endpoint === endpoint && (id === undefined || r.indexId === id)).sort((a, b) => a.at - b.at);
export const puts = (sim: Simulator, id?: string) => calls(sim, 'put', id);
export const healthReads = (sim: Simulator, id?: string) => calls(sim, 'health', id);
/**
 * The health reads of an index after its first PUT, by position in the log rather than by time:
 * the pre-check can share the PUT's millisecond.
 */
export function healthReadsAfterPut(sim: Simulator, id: string) {
  const from = sim.requests.indexOf(puts(sim, id)[0]!);
  return healthReads(sim, id).filter((q) => sim.requests.indexOf(q) > from);
}
export const gaps = (rs: RecordedRequest[]) => rs.slice(1).map((r, i) => r.at - rs[i]!.at);

/** The report entry of `id`, which must appear exactly once. */
export function entry(r: Run, id: string): ReportEntry {
  const found = r.result.report?.indexes.filter((e) => e.id === id) ?? [];
  expect(found, `report entries for ${id}`).toHaveLength(1);
  return found[0]!;
}

/** Every listed index is in the report exactly once, and nothing else is. */
export function expectReportCovers(r: Run, ids: string[]): void {
  expect(r.result.report, `the run wrote a report (the run's error: ${JSON.stringify(r.result.error)})`).not.toBeNull();
  const reported = r.result.report!.indexes.map((e) => e.id);
  expect([...reported].sort()).toEqual([...ids].sort());
  const s = r.result.report!.summary;
  expect(s.total).toBe(ids.length);
  expect(s.optimized + s.skipped + s.failed + s.planned).toBe(ids.length);
}

/** State transitions of each Map iteration, by index id. */
export function transitionsPerIndex(result: LocalRunResult): Map<string, number> {
  const idByIteration = new Map<number, string>();
  const counts = new Map<number, number>();
  for (const e of result.events) {
    if (e.type === 'MapIterationStarted' && e.index !== undefined) {
      idByIteration.set(e.index, (e as unknown as { input: { indexId: string } }).input.indexId);
    }
    if (e.type === 'StateEntered' && e.index !== undefined) counts.set(e.index, (counts.get(e.index) ?? 0) + 1);
  }
  return new Map([...counts].map(([i, n]) => [idByIteration.get(i)!, n]));
}

export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every place where `needles` appear in what a run produced: log lines, events, report, error, output, stored files. */
export function findLeaks(
  run: { lines: string[]; result: LocalRunResult; storeFiles: Array<[string, string]> },
  needles: Array<[string, string]>,
  label = '',
): string[] {
  const haystacks: Array<[string, string]> = [
    ...run.lines.map((l, i) => [`log line ${i}`, l] as [string, string]),
    ...run.result.events.map((e, i) => [`event ${i} (${e.type} ${e.state?.name ?? ''})`, JSON.stringify(e)] as [string, string]),
    ['report', JSON.stringify(run.result.report)],
    ['error', JSON.stringify(run.result.error)],
    ['output', JSON.stringify(run.result.output)],
    ...run.storeFiles,
  ];
  const leaks: string[] = [];
  for (const [where, text] of haystacks) {
    for (const [what, needle] of needles) if (needle && text.includes(needle)) leaks.push(`${label}${what} in ${where}`);
  }
  return leaks;
}
