/**
 * `npm start`: runs the real synthesized state machine locally. With no Genesys target it starts
 * the embedded simulator with the demo org; `--region` or `--api-url/--login-url` target a real
 * org with GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET.
 *
 * Exit status: 0 no index failed, 1 some failed (or the run failed after it started optimizing),
 * 2 bad usage or a run that could not start.
 */
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
import { localRunPage } from './run-page-file.ts';
import { retryPlan } from '../cli/retry-failed.ts';
import type { RunReport } from '../../functions/domain/report.ts';
import type { RunConfig } from '../../functions/domain/execution-input.ts';
import { decision, type ApprovalDecision } from '../../functions/domain/approval.ts';
import { decisionOf } from '../cli/execute-args.ts';
import { sendDecision } from '../cli/approval-decision.ts';
import { readInputArg } from '../cli/execution-input-arg.ts';
import { formatFleetTable, fleetReportFileContent } from '../cli/fleet-table.ts';
import { mergeInput, type OrgSetting } from '../../functions/domain/fleet.ts';
import { DEMO_BUDGET_PER_MINUTE, DEMO_TIMING, demoFleet, orgScenario, readFleetFile, realOrgTarget, withDemoSettings } from './fleet-setup.ts';
import { runFleetLocally, type LocalFleetEvent } from './fleet-local.ts';
import type { Scenario } from '../simulator/scenario.ts';

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
  --report FILE             write the report as JSON (with --fleet: the fleet report)
  --html FILE               copy the run's page (report.html: the timeline of every index, the
                            API calls against the budget, latency before and after, every
                            index) to FILE; without it the page is in the store (printed at the end)
  --store DIR               where the local S3 server keeps the run bucket (inventory, plan,
                            outcomes, report) and the function logs (default .optimizer-runs)
  --verbose                 also print the functions' JSON log lines
  -h, --help                this help

Fleet (the <stack>-Fleet state machine, wave by wave, each org's run a full optimizer run):
  --fleet [FILE]            run the fleet of FILE: a JSON array of orgs as the "orgs" setting
                            takes them ({"name", "wave", "input", "apiBudgetPerMinute"}), each
                            saying where its Genesys is: "region", "apiUrl" + "loginUrl" (its
                            client from GENESYS_CLIENT_ID_<NAME> / GENESYS_CLIENT_SECRET_<NAME>,
                            the name upper-cased, "-" as "_"), or "simulator": true (an embedded
                            simulator of the demo org) or "simulator": "scenario.json"; without
                            FILE: a demo fleet of three simulated orgs in two waves
  --input JSON | @FILE      with --fleet: the fleet input {"orgs", "dryRun", "input",
                            "maxConcurrentOrgs"}
  --dry-run                 with --fleet: every org's run plans only
  Exit status with --fleet: 0 every org's run succeeded, 1 the fleet failed (an org failed or
  regressed, the rollout stopped), 2 bad usage or a fleet that could not start.
`;


interface Options {
  input: Record<string, unknown>;
  /** `--fleet [FILE]`: the fleet file (null: the demo fleet); `input` is then the fleet input. */
  fleet: { file: string | null } | undefined;
  /** The decision given on the command line, for a plan that waits for approval. */
  decision: { status: 'approved' | 'rejected'; reason: string | null } | undefined;
  retryFailed: string | undefined;
  explain: { run: string; onlyFailed: boolean; json: boolean } | undefined;
  target: LocalTarget | null;
  scenario: string | undefined;
  report: string | undefined;
  /** `--html FILE`: where to copy the run's page. */
  html: string | undefined;
  store: string;
  verbose: boolean;
}

/** Flags that are about one run, not a fleet (each org's target is in the fleet file). */
const SINGLE_RUN_FLAGS = ['region', 'api-url', 'login-url', 'scenario', 'index', 'retry-failed', 'explain', 'only-failed', 'json', 'html'] as const;

function parse(argv: string[]): Options | 'help' {
  // `--fleet` alone (last, or before another flag) is the demo fleet: an empty FILE.
  const args = argv.map((a, i) => (a === '--fleet' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-')) ? '--fleet=' : a));
  const values = parseStrictArgs(args, {
    fleet: { type: 'string' },
    region: { type: 'string' },
    'api-url': { type: 'string' },
    'login-url': { type: 'string' },
    scenario: { type: 'string' },
    input: { type: 'string' },
    'dry-run': { type: 'boolean' },
    index: { type: 'string', multiple: true },
    report: { type: 'string' },
    html: { type: 'string' },
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
  const decidedAll = decisionOf(values.approve ? 'this-run' : undefined, values.reject ? 'this-run' : undefined, values.reason);
  if (values.fleet !== undefined) {
    const given = SINGLE_RUN_FLAGS.filter((f) => values[f] !== undefined);
    if (given.length > 0) throw new UsageError(`--${given[0]} is for one run; with --fleet each org's target and input are in the fleet file`);
    const input = readInputArg(values.input);
    if (values['dry-run']) {
      if (input['dryRun'] !== undefined && input['dryRun'] !== true) throw new UsageError('--dry-run contradicts "dryRun" in --input');
      input['dryRun'] = true;
    }
    return {
      input,
      fleet: { file: values.fleet === '' ? null : resolve(values.fleet) },
      decision: decidedAll ? { status: decidedAll.status, reason: decidedAll.reason } : undefined,
      retryFailed: undefined,
      explain: undefined,
      target: null,
      scenario: undefined,
      report: values.report,
      html: undefined,
      store: resolve(values.store ?? '.optimizer-runs'),
      verbose: values.verbose ?? false,
    };
  }
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
  if (values.html !== undefined && values.explain !== undefined) throw new UsageError('--html copies the page of the run it starts; --explain starts none');
  if (values.explain !== undefined && values['retry-failed'] !== undefined) throw new UsageError('give either --explain or --retry-failed');
  // The run is this one: the same rules as npm run execute's --approve/--reject EXECUTION.
  const decided = decidedAll;
  return {
    input,
    fleet: undefined,
    decision: decided ? { status: decided.status, reason: decided.reason } : undefined,
    retryFailed: values['retry-failed'],
    explain: values.explain === undefined ? undefined : { run: values.explain, onlyFailed: values['only-failed'] ?? false, json: values.json ?? false },
    target,
    scenario: values.scenario,
    report: values.report,
    html: values.html,
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
  if (options.fleet) return runLocalFleet(options, options.fleet.file, say);

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
    const page = localRunPage(options.store, result);
    if (page) {
      say(`Page: ${pathToFileURL(page.file).href}\n  (the run's page, one file to open in a browser: ${page.location}, which the local S3 server keeps as ${page.object})`);
      if (options.html) {
        copyFileSync(page.file, options.html);
        say(`Page written to ${options.html}`);
      }
    } else if (options.html) process.stderr.write(`No page to write to ${options.html}: the run wrote none.\n`);
    sayAwsChecks(say, logFile, result, 'run');
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

/** One org run's counts as a progress line says them. */
function countsOf(summary: LocalFleetEvent['summary'], regressions: number | undefined): string {
  if (!summary) return 'no report';
  const planned = summary.planned > 0 ? `, ${summary.planned} planned` : '';
  return `${summary.optimized} optimized, ${summary.skipped} skipped, ${summary.failed} failed${planned}, ${regressions ?? 0} regression(s)`;
}

/**
 * `--fleet [FILE]`: the Fleet state machine as synthesized with the file's orgs, run locally; each
 * org's run a full optimizer run against its own Genesys (or an embedded simulator of its own).
 */
async function runLocalFleet(options: Options, file: string | null, say: (line: string) => void): Promise<number> {
  const overrides = isObject(options.input['input']) ? options.input['input'] : {};
  let orgs: OrgSetting[];
  let scenarios = new Map<string, Scenario>();
  const targets = new Map<string, LocalTarget>();
  try {
    if (file === null) {
      ({ orgs, scenarios } = await demoFleet());
      say('Demo fleet: three simulated orgs, each a third of the demo org without the indexes that fail on purpose; wave 1: canary, wave 2: emea and apac');
    } else {
      orgs = await readFleetFile(file);
      for (const org of orgs) {
        if (org.simulator !== undefined) scenarios.set(org.name, await orgScenario(org, file));
        else targets.set(org.name, realOrgTarget(org));
      }
      orgs = orgs.map((o) => (o.simulator !== undefined ? withDemoSettings(o, overrides) : o));
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const dryRun = options.input['dryRun'];
  const asksApproval = orgs.some((o) => {
    const merged = mergeInput(mergeInput(o.input, overrides), typeof dryRun === 'boolean' ? { dryRun } : {});
    return isObject(merged['approval']) && merged['approval']['required'] === true && merged['dryRun'] !== true;
  });
  if (asksApproval && !options.decision && !process.stdin.isTTY) {
    process.stderr.write('Some org\'s plan waits for approval ("approval": {"required": true}) and there is no terminal to ask on: pass --approve or --reject [--reason TEXT] (it applies to every org\'s plan).\n');
    return 2;
  }

  const simulators: Simulator[] = [];
  let aws: LocalAws | undefined;
  try {
    for (const [name, scenario] of scenarios) {
      let sim: Simulator;
      try {
        sim = await startSimulator({ scenario });
      } catch (err) {
        process.stderr.write(`cannot start the simulator of org ${name}: ${(err as Error).message}\n`);
        return 2;
      }
      simulators.push(sim);
      targets.set(name, { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl, ...sim.credentials });
    }
    const width = Math.max(...orgs.map((o) => o.name.length));
    for (const o of [...orgs].sort((a, b) => a.wave - b.wave)) {
      const sim = simulators[[...scenarios.keys()].indexOf(o.name)];
      const timing = isObject(o.input['timing']) ? o.input['timing'] : null;
      say(`  wave ${o.wave}  ${o.name.padEnd(width)}  ${sim ? `simulator (${scenarios.get(o.name)!.name}) at ${sim.url}${timing ? `, settle ${String(timing['settleSeconds'])} s, polls every ${String(timing['healthPollSeconds'])} s` : ''}` : (o.region ?? o.apiUrl)}`);
    }

    const logFile = join(options.store, 'logs', `local-fleet-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
    mkdirSync(dirname(logFile), { recursive: true });
    say(`Synthesizing the CDK stack with ${orgs.length} org(s) and starting the Fleet state machine…`);
    const synthesized = synthesizeDefinition({ orgs });
    aws = await startLocalAws({ dir: options.store });
    const localAws = aws;
    // One decision at a time on the terminal, whichever org's plan asks.
    let decisions: Promise<void> = Promise.resolve();
    const result = await runFleetLocally({
      orgs,
      targets,
      input: options.input,
      storeDir: options.store,
      aws: localAws,
      synthesized,
      onApprovalRequested: ({ org, executionId, messages }) => {
        decisions = decisions
          .then(() => {
            say(`\nOrg ${org}:`);
            return decideLocally(localAws, synthesized, executionId, messages, options.decision, say);
          })
          .catch((err: unknown) => {
            process.stderr.write(`The decision for org ${org} could not be sent: ${(err as Error).message}\n`);
          });
      },
      onEvent: (e) => {
        const state = e.type === 'StateExited' ? e.state : undefined;
        if (state?.name === 'PlanFleet') {
          const progress = (state.output as { progress?: { waves?: Array<{ wave: number; orgs: Array<{ name: string }> }>; maxConcurrentOrgs?: number } }).progress;
          const waves = (progress?.waves ?? []).map((w) => `wave ${w.wave}: ${w.orgs.map((o) => o.name).join(', ')}`).join('; ');
          say(`Plan: ${waves || 'no org to run'} (at most ${progress?.maxConcurrentOrgs} org run(s) at once)`);
        }
        if (state?.name === 'AssessWave') {
          const progress = (state.output as { progress?: { more?: boolean; next?: number; waves?: Array<{ wave: number }>; stoppedAtWave?: number | null; stopReason?: string | null } }).progress;
          const done = progress?.waves?.[(progress.next ?? 1) - 1]?.wave;
          if (progress?.more) say(`Wave ${done} passed: the next wave starts`);
          else if (progress?.stoppedAtWave !== null && progress?.stoppedAtWave !== undefined) say(`Rollout stopped after wave ${progress.stoppedAtWave}: ${progress.stopReason}`);
          else say(`Wave ${done} was the last${progress?.stopReason ? `: ${progress.stopReason}` : ''}`);
        }
        if (e.type === 'OrgRunStarted') say(`  wave ${e.wave}  ${String(e.org).padEnd(width)}  started    ${String(e.executionArn).split(':').pop()}`);
        if (e.type === 'OrgRunEnded') {
          const how = e.status === 'SUCCEEDED' ? 'succeeded' : 'failed   ';
          const why = e.status === 'SUCCEEDED' ? '' : `  ${e.error?.name}: ${(e.error?.cause ?? '').slice(0, 160)}`;
          say(`  wave ${e.wave}  ${String(e.org).padEnd(width)}  ${how}  ${countsOf(e.summary, e.regressions)}${why}`);
        }
      },
      onLogLine: (line) => {
        appendFileSync(logFile, `${line}\n`);
        if (options.verbose) process.stderr.write(`${line}\n`);
      },
    });
    await decisions;
    say('');
    const table = result.report ?? (result.output ? { orgs: result.output.orgs, stoppedAtWave: result.output.stoppedAtWave, error: result.output.error } : null);
    if (table) say(formatFleetTable(table));
    if (result.report) {
      say(`\nFleet report: ${result.reportPath}\n  (the local S3 server keeps it as ${result.reportFile})`);
      if (options.report) {
        writeFileSync(options.report, fleetReportFileContent(result.report));
        say(`Fleet report written to ${options.report}`);
      }
    }
    if (result.orgRuns.length > 0) {
      say("Each org run's report:");
      for (const r of result.orgRuns) say(`  ${r.org.padEnd(width)}  ${r.result.report ? r.result.reportPath : `none (${r.result.error?.name})`}`);
      const pages = result.orgRuns.flatMap((r) => {
        const page = localRunPage(options.store, r.result);
        return page ? [`  ${r.org.padEnd(width)}  ${pathToFileURL(page.file).href}`] : [];
      });
      if (pages.length > 0) say(["Each org run's page:", ...pages].join('\n'));
    }
    sayAwsChecks(say, logFile, result, 'fleet');
    if (result.status === 'SUCCEEDED') return 0;
    if (!result.report && result.orgRuns.length === 0) {
      // It failed before any org's run: a bad fleet input, most likely.
      process.stderr.write(`The fleet could not start: ${result.error?.name}: ${result.error?.cause}\n`);
      return 2;
    }
    return 1;
  } finally {
    await Promise.all(simulators.map((s) => s.close()));
    await aws?.close();
  }
}


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

/** Where the logs are, and the AWS calls checked against the stack's policies with any denied. */
function sayAwsChecks(say: (line: string) => void, logFile: string, result: { callCounts: Record<string, number>; denials: Array<{ principal: string; service: string; operation: string; resource: string }> }, what: 'run' | 'fleet'): void {
  say(`Function logs: ${logFile}`);
  const awsCalls = Object.values(result.callCounts).reduce((a, b) => a + b, 0);
  say(`AWS calls checked against the stack's IAM policies: ${awsCalls}, denied: ${result.denials.length}`);
  if (result.denials.length === 0) return;
  // As in AWS, a denied call the code tolerates (an audit event) does not fail the run; it must still be seen.
  process.stderr.write(`\nIAM denied ${result.denials.length} AWS call(s) during the ${what}, as AWS would with this stack's policies:\n`);
  for (const d of result.denials.slice(0, 10)) process.stderr.write(`  ${d.principal}: ${d.service}:${d.operation} on ${d.resource}\n`);
}
