/**
 * `npm start`: runs the real synthesized state machine locally. With no Genesys target it starts
 * the embedded simulator with the demo org; `--region` or `--api-url/--login-url` target a real
 * org with GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET.
 *
 * Exit status: 0 no index failed, 1 some failed (or the run failed after it started optimizing),
 * 2 bad usage or a run that could not start.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { dirname, join, resolve } from 'node:path';
import { formatReportTable, reportFileContent } from '../cli/report-table.ts';
import { ProgressReporter } from '../cli/progress.ts';
import { executionInputFromArgs, parseStrictArgs, UsageError } from '../cli/execution-input-arg.ts';
import { startSimulator, type Simulator } from '../simulator/server.ts';
import { loadDemoScenario, readScenarioFile } from '../simulator/scenario-file.ts';
import { runLocally, type LocalTarget } from './run-local.ts';
import { ADMIN, startLocalAws, type LocalAws } from './aws/local-aws.ts';
import { clientsAs } from './run-local.ts';
import { explainRun, formatExplain } from '../cli/explain.ts';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';
import { synthesizeDefinition, type SynthesizedDefinition } from './definition.ts';
import { localExecutionArn, readLocalRunObject } from './local-runs.ts';
import { retryPlan } from '../cli/retry-failed.ts';
import type { RunReport } from '../../functions/domain/report.ts';
import type { RunConfig } from '../../functions/domain/execution-input.ts';
import { decision, type ApprovalDecision } from '../../functions/domain/approval.ts';
import { decisionOf } from '../cli/execute-args.ts';
import { sendDecision } from '../cli/approval-decision.ts';

const HELP = `Usage: npm start -- [options]

Runs the optimizer's state machine locally, exactly as synthesized for AWS, with the real
function handlers. Every AWS call they make goes to local S3 and DynamoDB servers (and local
Secrets Manager, EventBridge and Step Functions endpoints) and is checked against the
function's IAM policy from the synthesized stack. Without a target it runs against the
embedded Genesys Cloud simulator.

Target (default: the embedded simulator with its demo org):
  --region DOMAIN           a Genesys Cloud region, e.g. mypurecloud.ie or eu-west-1
  --api-url URL --login-url URL
                            explicit base URLs (a proxy, a new region, a simulator)
                            Credentials come from GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET.
  --scenario FILE           the embedded simulator's org (default: the built-in demo)

Run:
  --input JSON | @FILE      the execution input, as for a deployed execution
  --dry-run                 plan only: no PUT (same as "dryRun": true in the input)
  --index ID                only this index; repeat for more (same as "indexIds" in the input)
  --retry-failed RUN        a new run of exactly the failed indexes of an earlier run in the store
                            (RUN: its executionId as the report gives it, or the execution name),
                            with that run's input; fields given with --input take precedence
  --explain RUN             explain a run in the store (running or finished) instead of starting
                            one: per index its outcome or step, attempts, last error, start
  --only-failed             with --explain: only the failed indexes
  --json                    with --explain: the same as JSON
  --approve | --reject      the decision on a plan that waits for approval (input
                            "approval": {"required": true}); without either, a terminal asks,
                            and without a terminal the run is refused at once (exit 2)
  --reason TEXT             why (kept in the report with who decided and when)
  --report FILE             write the report as JSON
  --store DIR               where the local S3 server keeps the run bucket (inventory, plan,
                            outcomes, report) and the function logs (default .optimizer-runs)
  --verbose                 also print the functions' JSON log lines
  -h, --help                this help
`;

/** The demo org refreshes in seconds; the production defaults (30 s settle, 15 s polls) would only make it slow. */
const DEMO_TIMING = { settleSeconds: 2, healthPollSeconds: 2, healthTimeoutSeconds: 30 };
/** The demo org allows Genesys' default 300 calls a minute; the demo may use most of it (a real run defaults to half). */
const DEMO_BUDGET_PER_MINUTE = 240;

interface Options {
  input: Record<string, unknown>;
  /** The decision given on the command line, for a plan that waits for approval. */
  decision: { status: 'approved' | 'rejected'; reason: string | null } | undefined;
  retryFailed: string | undefined;
  explain: { run: string; onlyFailed: boolean; json: boolean } | undefined;
  target: LocalTarget | null;
  scenario: string | undefined;
  report: string | undefined;
  store: string;
  verbose: boolean;
}

function parse(argv: string[]): Options | 'help' {
  const values = parseStrictArgs(argv, {
    region: { type: 'string' },
    'api-url': { type: 'string' },
    'login-url': { type: 'string' },
    scenario: { type: 'string' },
    input: { type: 'string' },
    'dry-run': { type: 'boolean' },
    index: { type: 'string', multiple: true },
    report: { type: 'string' },
    'retry-failed': { type: 'string' },
    explain: { type: 'string' },
    'only-failed': { type: 'boolean' },
    json: { type: 'boolean' },
    store: { type: 'string' },
    verbose: { type: 'boolean' },
    approve: { type: 'boolean' },
    reject: { type: 'boolean' },
    reason: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const input = executionInputFromArgs(values.input, values['dry-run'] ?? false, values.index ?? []);
  const region = values.region;
  const apiUrl = values['api-url'];
  const loginUrl = values['login-url'];
  let target: LocalTarget | null = null;
  if (region || apiUrl || loginUrl) {
    if (region && (apiUrl || loginUrl)) throw new UsageError('give either --region or --api-url/--login-url, not both');
    if (!region && (!apiUrl || !loginUrl)) throw new UsageError('--api-url and --login-url go together');
    if (values.scenario) throw new UsageError('--scenario is for the embedded simulator; it cannot be used with a target');
    const clientId = process.env['GENESYS_CLIENT_ID'];
    const clientSecret = process.env['GENESYS_CLIENT_SECRET'];
    if (!clientId || !clientSecret) throw new UsageError('set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET for a real org');
    target = { clientId, clientSecret, ...(region ? { region } : { apiUrl: apiUrl!, loginUrl: loginUrl! }) };
  }
  if (values['retry-failed'] !== undefined && (values.index ?? []).length > 0) throw new UsageError('--retry-failed runs the failed indexes of the earlier run: give no --index with it');
  if ((values['only-failed'] || values.json) && values.explain === undefined) throw new UsageError('--only-failed and --json go with --explain RUN');
  if (values.explain !== undefined && values['retry-failed'] !== undefined) throw new UsageError('give either --explain or --retry-failed');
  // The run is this one: the same rules as npm run execute's --approve/--reject EXECUTION.
  const decided = decisionOf(values.approve ? 'this-run' : undefined, values.reject ? 'this-run' : undefined, values.reason);
  return {
    input,
    decision: decided ? { status: decided.status, reason: decided.reason } : undefined,
    retryFailed: values['retry-failed'],
    explain: values.explain === undefined ? undefined : { run: values.explain, onlyFailed: values['only-failed'] ?? false, json: values.json ?? false },
    target,
    scenario: values.scenario,
    report: values.report,
    store: resolve(values.store ?? '.optimizer-runs'),
    verbose: values.verbose ?? false,
  };
}

async function main(argv: string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${HELP}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);

  if (options.explain) return explainLocalRun(options.explain, options.store, say);

  let simulator: Simulator | undefined;
  let target = options.target;
  let input = { ...options.input };
  let synthesized: SynthesizedDefinition | undefined;
  let aws: LocalAws | undefined;
  if (options.retryFailed) {
    synthesized = synthesizeDefinition();
    aws = await startLocalAws({ dir: options.store });
    try {
      const executionArn = localExecutionArn(synthesized, options.retryFailed);
      const report = await readLocalRunObject<RunReport>(aws, synthesized, executionArn, 'report', options.store);
      const earlier = await readLocalRunObject<RunConfig>(aws, synthesized, executionArn, 'config', options.store);
      const plan = retryPlan(report, earlier, options.input);
      if ('nothing' in plan) {
        say(`Nothing to retry: ${plan.nothing}.`);
        await aws.close();
        return 0;
      }
      input = plan.input;
      say(`Retrying the ${plan.failed.length} failed index(es) of ${executionArn}`);
    } catch (err) {
      await aws.close();
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
  }
  const asksApproval = isObject(input['approval']) && input['approval']['required'] === true && input['dryRun'] !== true;
  if (asksApproval && !options.decision && !process.stdin.isTTY) {
    await aws?.close();
    process.stderr.write('This run\'s plan waits for approval ("approval": {"required": true}) and there is no terminal to ask on: pass --approve or --reject [--reason TEXT].\n');
    return 2;
  }
  if (!target) {
    try {
      const scenario = options.scenario ? await readScenarioFile(options.scenario) : await loadDemoScenario();
      simulator = await startSimulator({ scenario });
    } catch (err) {
      process.stderr.write(`cannot start the simulator: ${(err as Error).message}\n`);
      return 2;
    }
    target = { apiUrl: simulator.apiUrl, loginUrl: simulator.loginUrl, ...simulator.credentials };
    say(`Genesys Cloud simulator (${options.scenario ?? 'demo org'}) at ${simulator.url}`);
    if (input['timing'] === undefined) {
      input['timing'] = DEMO_TIMING;
      say(`Demo timings: settle ${DEMO_TIMING.settleSeconds} s, health polls every ${DEMO_TIMING.healthPollSeconds} s, timeout ${DEMO_TIMING.healthTimeoutSeconds} s (set "timing" in --input to change)`);
    }
    if (input['apiBudgetPerMinute'] === undefined) {
      input['apiBudgetPerMinute'] = DEMO_BUDGET_PER_MINUTE;
      say(`Demo API budget: ${DEMO_BUDGET_PER_MINUTE} calls a minute of the org's 300 (set "apiBudgetPerMinute" in --input to change)`);
    }
  } else {
    say(`Target: ${target.region ?? target.apiUrl}`);
  }

  const logFile = join(options.store, 'logs', `local-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  mkdirSync(dirname(logFile), { recursive: true });
  const progress = new ProgressReporter(say);
  say('Synthesizing the CDK stack and starting the state machine…');
  synthesized ??= synthesizeDefinition();
  aws ??= await startLocalAws({ dir: options.store });
  const localAws = aws;
  const localSynth = synthesized;
  try {
    const result = await runLocally({
      input,
      target,
      storeDir: options.store,
      aws: localAws,
      synthesized: localSynth,
      onApprovalRequested: ({ executionId, messages }) => {
        void decideLocally(localAws, localSynth, executionId, messages, options.decision, say).catch((err: unknown) => {
          process.stderr.write(`The decision could not be sent: ${(err as Error).message}\n`);
        });
      },
      onEvent: (e) => progress.on(e),
      onLogLine: (line) => {
        appendFileSync(logFile, `${line}\n`);
        if (options.verbose) process.stderr.write(`${line}\n`);
      },
    });
    say('');
    const output = result.output as { outcome?: string; message?: string; runningExecution?: string; runningSince?: string } | null;
    if (output?.outcome === 'already-running') {
      say(`Not run: ${output.message} (${output.runningExecution}, running since ${output.runningSince}).`);
      return 0;
    }
    if (result.report) {
      say(formatReportTable(result.report));
      say(`\nReport: ${result.reportPath}\n  (the local S3 server keeps it as ${result.reportFile})`);
      if (options.report) {
        writeFileSync(options.report, reportFileContent(result.report));
        say(`Report written to ${options.report}`);
      }
    }
    say(`Function logs: ${logFile}`);
    const awsCalls = Object.values(result.callCounts).reduce((a, b) => a + b, 0);
    say(`AWS calls checked against the stack's IAM policies: ${awsCalls}, denied: ${result.denials.length}`);
    if (result.denials.length > 0) {
      // As in AWS, a denied call the code tolerates (an audit event) does not fail the run; it must still be seen.
      process.stderr.write(`\nIAM denied ${result.denials.length} AWS call(s) during the run, as AWS would with this stack's policies:\n`);
      for (const d of result.denials.slice(0, 10)) process.stderr.write(`  ${d.principal}: ${d.service}:${d.operation} on ${d.resource}\n`);
    }
    if (result.status === 'SUCCEEDED') return 0;
    if (!result.report) {
      // It failed before there was anything to report: a bad input, credentials, the listing.
      process.stderr.write(`The run could not start: ${result.error?.name}: ${result.error?.cause}\n`);
      return 2;
    }
    return 1;
  } finally {
    await simulator?.close();
    await aws?.close();
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The plan waits: show what the operator would receive, take the decision (the command line's,
 * or asked on the terminal) and send it the way `npm run execute -- --approve` does.
 */
async function decideLocally(
  aws: LocalAws,
  synthesized: SynthesizedDefinition,
  executionId: string,
  messages: string[],
  given: Options['decision'],
  say: (line: string) => void,
): Promise<void> {
  say('\nThe plan waits for approval. The notification topic received:\n');
  for (const m of messages) say(m.split('\n').map((l) => `  | ${l}`).join('\n'));
  say('');
  const by = `${userInfo().username} (local)`;
  let sent: ApprovalDecision;
  if (given) {
    sent = decision(given.status, by, given.reason);
  } else {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const answer = (await rl.question('Approve this plan? [y/N] ')).trim().toLowerCase();
      const approved = answer === 'y' || answer === 'yes';
      const reason = approved ? null : (await rl.question('Why not (optional)? ')).trim() || null;
      sent = decision(approved ? 'approved' : 'rejected', by, reason);
    } finally {
      rl.close();
    }
  }
  const admin = clientsAs(aws, ADMIN);
  const bucket = synthesized.resources.only('AWS::S3::Bucket').name;
  await sendDecision({ sfn: admin.sfn, store: new S3RunStore(bucket, admin.s3) }, executionId, sent);
  say(sent.status === 'approved' ? `Approved by ${by}: the run goes on.` : `Rejected by ${by}${sent.reason ? ` (${sent.reason})` : ''}: the run ends without changes.`);
}

/** `--explain RUN`: reads the run's plan, outcomes and progress from the local run bucket. */
async function explainLocalRun(explain: NonNullable<Options['explain']>, store: string, say: (line: string) => void): Promise<number> {
  const synthesized = synthesizeDefinition();
  const aws = await startLocalAws({ dir: store });
  try {
    const executionArn = localExecutionArn(synthesized, explain.run);
    const bucket = synthesized.resources.only('AWS::S3::Bucket').name;
    const rows = (await explainRun(new S3RunStore(bucket, clientsAs(aws, ADMIN).s3), executionArn)).filter((r) => !explain.onlyFailed || r.outcome === 'failed');
    say(explain.json ? JSON.stringify({ executionId: executionArn, indexes: rows }, null, 2) : `${executionArn}\n\n${formatExplain(rows)}`);
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof Error && /has no plan yet/.test(err.message))) throw err;
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  } finally {
    await aws.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
