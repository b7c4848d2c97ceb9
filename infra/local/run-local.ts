/**
 * Runs the synthesized state machine locally with aws-local-stepfunctions. Each Task state calls
 * the real handler in this process, the way the Lambda runtime would: JSON in, JSON out, and a
 * thrown error becomes the state's Error (its name) and Cause (Lambda's JSON error object).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateMachine, type RunOptions } from 'aws-local-stepfunctions';
import type { RunReport } from '../../functions/domain/report.ts';
import { errorMessageOf } from '../../functions/shared/lambda-cause.ts';
import { LOCAL_EXECUTIONS_DIR, type LocalExecutionRecord } from '../../functions/guard/local-run-guard.ts';
import { runKey } from '../../functions/store/run-store.ts';
import { FsRunStore } from '../../functions/store/fs-run-store.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, synthesizeDefinition, taskStates, type FunctionRole, type SynthesizedDefinition } from './definition.ts';

type Handler = (event: never) => Promise<unknown>;
type AnyEvent = { type: string; timestamp: number; index?: number; state?: { name: string; input: unknown; output?: unknown }; Error?: string; Cause?: unknown; output?: unknown };

export interface LocalTarget {
  /** Genesys endpoints and credentials, handed to the handlers as their environment. */
  apiUrl?: string;
  loginUrl?: string;
  region?: string;
  /** The OAuth client (GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET); not used with `secretId`. */
  clientId?: string;
  clientSecret?: string;
  /**
   * Read the OAuth client from this Secrets Manager secret instead (GENESYS_SECRET_ID), as the
   * deployed functions do; apiUrl/loginUrl/region are then only the defaults for a secret that
   * names no hosts. Tests stub the SDK (aws-sdk-client-mock) in this process.
   */
  secretId?: string;
}

export interface LocalRunOptions {
  input: unknown;
  target: LocalTarget;
  /** Where the run keeps its inventory, plan and report (the bucket's stand-in). */
  storeDir: string;
  executionName?: string;
  /** Every execution event, as it happens (progress display, tests). */
  onEvent?: (event: AnyEvent) => void;
  /** The functions' log lines (Powertools JSON); without it they go to stdout as in Lambda. */
  onLogLine?: (line: string) => void;
  /** Reuse one synthesis across runs (tests). */
  synthesized?: SynthesizedDefinition;
  /** Stop waiting and fail the run after this long. */
  timeoutMs?: number;
}

export interface LocalRunResult {
  executionId: string;
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: { name: string; cause: string } | null;
  /** The stored report, when the run got far enough to write one. */
  report: RunReport | null;
  reportPath: string;
  /** Largest state input or output seen, in bytes (Step Functions allows 256 KiB). */
  maxPayloadBytes: number;
  /** States entered: what Step Functions Standard bills as state transitions. */
  transitions: number;
  invocations: Record<FunctionRole, number>;
  events: AnyEvent[];
}

const HANDLER_MODULES: Record<FunctionRole, string> = {
  fetch: '../../functions/handlers/fetch.ts',
  validate: '../../functions/handlers/validate.ts',
  optimize: '../../functions/handlers/optimize.ts',
  verify: '../../functions/handlers/verify.ts',
  report: '../../functions/handlers/report.ts',
};

async function loadHandlers(): Promise<Record<FunctionRole, Handler>> {
  const entries = await Promise.all(
    (Object.entries(HANDLER_MODULES) as Array<[FunctionRole, string]>).map(async ([role, path]) => {
      const mod = (await import(path)) as { handler: Handler };
      return [role, mod.handler] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<FunctionRole, Handler>;
}

/** What the Lambda runtime does with a thrown error: name → Error, JSON body → Cause. */
function asLambdaError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const wrapped = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }));
  wrapped.name = e.name;
  return wrapped;
}

function targetEnv(target: LocalTarget, storeDir: string): Record<string, string | undefined> {
  const fromSecret = target.secretId !== undefined;
  return {
    GENESYS_SECRET_ID: target.secretId,
    GENESYS_CLIENT_ID: fromSecret ? undefined : target.clientId,
    GENESYS_CLIENT_SECRET: fromSecret ? undefined : target.clientSecret,
    GENESYS_API_URL: target.apiUrl,
    GENESYS_LOGIN_URL: target.loginUrl,
    GENESYS_REGION: target.region,
    RUN_BUCKET: undefined,
    RUN_STORE_DIR: storeDir,
    RUN_GUARD: 'local',
    STATE_MACHINE_ARN: undefined,
    AUDIT_BUS_NAME: undefined,
    PACER_TABLE: undefined,
  };
}

/** Sets the handlers' environment for the run and puts the previous values back afterwards. */
function withEnv(values: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(values);
  return () => apply(saved);
}

/**
 * Sends the functions' JSON log lines to `sink` instead of the terminal while the run lasts.
 * Powertools writes INFO to stdout and WARN/ERROR to stderr, as Lambda would collect them.
 */
function divertLogs(sink: (line: string) => void): () => void {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write.bind(stream));
  streams.forEach((stream, i) => {
    const original = originals[i]!;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.startsWith('{')) {
        for (const line of text.split('\n')) if (line.trim()) sink(line);
        return true;
      }
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  });
  return () => {
    streams.forEach((stream, i) => {
      stream.write = originals[i]!;
    });
  };
}

async function registerExecution(storeDir: string, record: LocalExecutionRecord): Promise<string> {
  const dir = join(storeDir, LOCAL_EXECUTIONS_DIR);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${record.executionId.split(':').pop()}.json`);
  await writeFile(path, JSON.stringify(record));
  return path;
}

const size = (v: unknown) => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v)));

/** Choice-rule type tests: aws-local-stepfunctions 3.0.0 evaluates `"IsPresent": false` (and the other `Is…: false`) as always false. */
const TYPE_TESTS = ['IsPresent', 'IsNull', 'IsNumeric', 'IsString', 'IsBoolean', 'IsTimestamp'] as const;

/**
 * The definition as Step Functions means it, in a form the local engine evaluates the same way:
 * each `{"Variable": v, "IsPresent": false}` becomes `{"Not": {"Variable": v, "IsPresent": true}}`
 * (likewise for the other type tests), which is what the ASL specification says it means. Without
 * this, `Condition.isNotPresent` is never true locally: an empty plan ran both latency probes and
 * an empty Map locally where AWS goes straight to the report. The input is not changed.
 */
export function forLocalEngine(definition: Record<string, unknown>): Record<string, unknown> {
  const rule = (r: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...r };
    if (Array.isArray(r['And'])) out['And'] = (r['And'] as Array<Record<string, unknown>>).map(rule);
    if (Array.isArray(r['Or'])) out['Or'] = (r['Or'] as Array<Record<string, unknown>>).map(rule);
    if (r['Not'] && typeof r['Not'] === 'object') out['Not'] = rule(r['Not'] as Record<string, unknown>);
    const test = TYPE_TESTS.find((t) => r[t] === false);
    if (test) {
      const { Next, ...condition } = out;
      return { Not: { ...condition, [test]: true }, ...(Next === undefined ? {} : { Next }) };
    }
    return out;
  };
  const states = (all: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> =>
    Object.fromEntries(
      Object.entries(all).map(([name, state]) => {
        const s: Record<string, unknown> = { ...state };
        if (Array.isArray(state['Choices'])) s['Choices'] = (state['Choices'] as Array<Record<string, unknown>>).map(rule);
        for (const key of ['ItemProcessor', 'Iterator'] as const) {
          const nested = state[key] as { States?: Record<string, Record<string, unknown>> } | undefined;
          if (nested?.States) s[key] = { ...nested, States: states(nested.States) };
        }
        if (Array.isArray(state['Branches'])) {
          s['Branches'] = (state['Branches'] as Array<{ States: Record<string, Record<string, unknown>> }>).map((b) => ({ ...b, States: states(b.States) }));
        }
        return [name, s];
      }),
    );
  return { ...definition, States: states(definition['States'] as Record<string, Record<string, unknown>>) };
}

function causeText(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined ? '' : JSON.stringify(cause);
  return errorMessageOf(cause);
}

export async function runLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const synthesized = options.synthesized ?? synthesizeDefinition();
  const handlers = await loadHandlers();
  const tasks = taskStates(synthesized.definition, synthesized.functionsByArn);
  const invocations: Record<FunctionRole, number> = { fetch: 0, validate: 0, optimize: 0, verify: 0, report: 0 };
  const taskResourceLocalHandlers: NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']> = {};
  for (const [stateName, role] of tasks) {
    taskResourceLocalHandlers[stateName] = async (input) => {
      invocations[role]++;
      try {
        const output = await handlers[role](structuredClone(input) as never);
        return JSON.parse(JSON.stringify(output ?? null));
      } catch (err) {
        throw asLambdaError(err);
      }
    };
  }

  const stateMachineName = 'GenesysIndexOptimizer';
  const name = options.executionName ?? `local-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const executionId = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${stateMachineName}:${name}`;
  const machine = new StateMachine(forLocalEngine(synthesized.definition) as never, { validationOptions: { checkArn: true, checkPaths: true } });

  const startTime = new Date().toISOString();
  const restoreEnv = withEnv(targetEnv(options.target, options.storeDir));
  // Registered like Step Functions lists RUNNING executions, so the run guard sees this run.
  const registration = await registerExecution(options.storeDir, {
    executionId,
    startTime,
    dryRun: (options.input as { dryRun?: unknown } | null)?.dryRun === true,
    pid: process.pid,
    target: options.target.apiUrl ?? options.target.region ?? 'default',
  });
  const restoreLogs = options.onLogLine ? divertLogs(options.onLogLine) : () => {};
  const events: AnyEvent[] = [];
  let maxPayloadBytes = size(options.input);
  let transitions = 0;
  let failure: { name: string; cause: string } | null = null;
  let output: unknown = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const execution = machine.run(options.input as never, {
      noThrowOnAbort: true,
      overrides: { taskResourceLocalHandlers },
      context: {
        Execution: { Id: executionId, Name: name, Input: options.input, StartTime: startTime, RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/local` },
        StateMachine: { Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${stateMachineName}`, Name: stateMachineName },
      } as never,
    });
    if (options.timeoutMs) timer = setTimeout(() => execution.abort(), options.timeoutMs);
    const consume = (async () => {
      for await (const event of execution.eventLogs as AsyncIterable<AnyEvent>) {
        events.push(event);
        if (event.type === 'StateEntered') {
          transitions++;
          maxPayloadBytes = Math.max(maxPayloadBytes, size(event.state?.input));
        }
        if (event.type === 'StateExited') maxPayloadBytes = Math.max(maxPayloadBytes, size(event.state?.output));
        if (event.type === 'ExecutionFailed') failure = { name: event.Error ?? 'States.Runtime', cause: causeText(event.Cause) };
        if (event.type === 'ExecutionAborted') failure = { name: 'States.Aborted', cause: `the local run took longer than ${options.timeoutMs} ms` };
        options.onEvent?.(event);
      }
    })();
    try {
      output = await execution.result;
    } catch (err) {
      const e = err as Error & { cause?: Error };
      failure ??= { name: e.cause?.name ?? e.name, cause: causeText(e.cause?.message ?? e.message) };
    }
    await consume;
  } finally {
    if (timer) clearTimeout(timer);
    restoreLogs();
    restoreEnv();
    await rm(registration, { force: true });
  }

  const store = new FsRunStore(options.storeDir);
  const reportKey = runKey(executionId, 'report');
  let report: RunReport | null = null;
  try {
    report = await store.getJson<RunReport>(reportKey);
  } catch {
    report = null;
  }
  return {
    executionId,
    status: failure ? 'FAILED' : 'SUCCEEDED',
    output,
    error: failure,
    report,
    reportPath: store.locate(reportKey),
    maxPayloadBytes,
    transitions,
    invocations,
    events,
  };
}
