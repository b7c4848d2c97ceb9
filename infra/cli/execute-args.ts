/**
 * The arguments of `npm run execute`: which state machine, the execution input (built exactly as
 * `npm start` builds it) and how to follow the execution.
 */
import { executionInputFromArgs, parseStrictArgs, UsageError } from './execution-input-arg.ts';

export const DEFAULT_STACK = 'GenesysIndexOptimizer';
export const DEFAULT_POLL_SECONDS = 5;
const MAX_POLL_SECONDS = 300;

export const EXECUTE_HELP = `Usage: npm run execute -- [options]
       npm run execute -- --fleet [--input JSON|@FILE] [--dry-run] [--report FILE] [options]

Starts an execution of the deployed optimizer state machine and follows it to the end: the run's
phases, the indexes done so far, each failed index as it happens, then the report.

State machine (one of):
  --state-machine-arn ARN   the state machine to run (its region is the one used)
  --stack NAME              the deployed stack whose StateMachineArn output to use when no ARN is
                            given (default ${DEFAULT_STACK}, region from the AWS SDK settings);
                            its RunBucketName output also locates a failed run's report
  --bucket NAME             the run bucket, to read a failed run's report (default: the stack output)

Input:
  --input JSON | @FILE      the execution input, as for npm start
  --dry-run                 plan only: no PUT (same as "dryRun": true in the input)
  --index ID                only this index; repeat for more (same as "indexIds" in the input)
  --retry-failed EXECUTION  a new run of exactly the failed indexes of an earlier execution (its
                            ARN, or its name under this state machine), with that run's input;
                            fields given with --input take precedence. Reads the earlier run's
                            report and input from the run bucket.

Explaining (instead of starting a run):
  --explain [EXECUTION]     per index of a running or finished execution (its ARN or name;
                            default: the latest): its outcome or the step it is in, attempts,
                            the last error with its Genesys correlation id, when it started
  --only-failed             only the failed indexes
  --json                    the same as JSON

Deciding on a plan that waits for approval (input "approval": {"required": true}):
  --approve EXECUTION       let the run optimize what its plan says (its ARN or name)
  --reject EXECUTION        end the run without changes
  --reason TEXT             why (kept in the report with who decided and when)

Fleet (a deployment with the orgs setting, which has the <stack>-Fleet state machine):
  --fleet                   start a fleet execution instead: the optimizer for every org (or those
                            the input names), wave by wave, the next wave only when every run of
                            the one before succeeded without a latency regression. The state
                            machine is the stack's FleetStateMachineArn output (or
                            --state-machine-arn). --input is then the fleet input:
                              {"orgs": [names], "dryRun": true, "input": {fields for every org's
                               run}, "maxConcurrentOrgs": N}
                            --dry-run sets its "dryRun". Follows it: each org's run as it starts
                            (its console link) and ends (status, counts), the verdict after each
                            wave, then one line per org (org, wave, status, optimized / skipped /
                            failed, regressions, reason) and where the fleet report is;
                            --report FILE writes the fleet report. --index, --retry-failed,
                            --explain, --approve and --reject act on one org's run: use them
                            without --fleet, with that run's execution ARN.

Following:
  --no-wait                 start the execution, print where to see it, and exit
  --poll-seconds N          how often to look at the execution (default ${DEFAULT_POLL_SECONDS})
  --report FILE             write the report as JSON
  --html FILE               write the run's page (report.html: the timeline of every index, the
                            API calls against the budget, latency before and after, every
                            index), read from the run bucket, to FILE
  -h, --help                this help

Exit status: 0 the execution succeeded and no index failed; 1 it failed after it started
optimizing (e.g. Run.IndexesFailed), timed out or was aborted; 2 bad usage, an execution that
could not start, or one refused its input (Input.Invalid). Ctrl-C stops following, not the run.
With --fleet: 0 the fleet succeeded (every org's run, no regression); 1 it failed (a run failed
or regressed, so later waves were not started), timed out or was aborted; 2 bad usage, a fleet
that could not start, or one that refused its input (Input.Invalid, before any org's run).
`;

export interface ExecuteOptions {
  stateMachineArn: string | undefined;
  stack: string;
  bucket: string | undefined;
  input: Record<string, unknown>;
  /** An earlier execution (ARN or name) whose failed indexes to run again. */
  retryFailed: string | undefined;
  /** Decide on a plan waiting for approval instead of starting a run. */
  decide: { execution: string; status: 'approved' | 'rejected'; reason: string | null } | undefined;
  /** Explain an execution ('latest', an ARN or a name) instead of starting one. */
  explain: { execution: string; onlyFailed: boolean; json: boolean } | undefined;
  wait: boolean;
  pollSeconds: number;
  reportFile: string | undefined;
  /** `--html FILE`: where to write the run's page (read from the run bucket). */
  htmlFile: string | undefined;
  /** Start the Fleet state machine (every org, wave by wave) instead of the optimizer. */
  fleet: boolean;
}

/** arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<version or alias>] */
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}(:[A-Za-z0-9_-]+)?$/;

/** The region of a state machine or execution ARN. */
export function arnRegion(arn: string): string {
  return arn.split(':')[3] ?? '';
}

export function isStateMachineArn(value: string): boolean {
  return STATE_MACHINE_ARN.test(value);
}

function pollSeconds(value: string | undefined): number {
  if (value === undefined) return DEFAULT_POLL_SECONDS;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > MAX_POLL_SECONDS) {
    throw new UsageError(`--poll-seconds: must be a number of seconds above 0 and at most ${MAX_POLL_SECONDS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `--explain` may stand alone (the latest execution). */
function withExplainDefault(argv: string[]): string[] {
  const i = argv.indexOf('--explain');
  if (i === -1) return argv;
  const next = argv[i + 1];
  return next === undefined || next.startsWith('-') ? [...argv.slice(0, i + 1), 'latest', ...argv.slice(i + 1)] : argv;
}

const EXECUTION = /^(arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_.-]{1,80}|[A-Za-z0-9_.-]{1,80})$/;

/** --approve / --reject EXECUTION [--reason TEXT] (shared with npm start, where EXECUTION is implied). */
export function decisionOf(approve: string | undefined, reject: string | undefined, reason: string | undefined): ExecuteOptions['decide'] {
  if (approve !== undefined && reject !== undefined) throw new UsageError('--approve and --reject: give one');
  if (reason !== undefined && reject === undefined && approve === undefined) throw new UsageError('--reason goes with --reject (or --approve)');
  const execution = approve ?? reject;
  if (execution === undefined) return undefined;
  if (!EXECUTION.test(execution)) throw new UsageError(`--${approve !== undefined ? 'approve' : 'reject'}: not an execution ARN or name: ${JSON.stringify(execution)}`);
  return { execution, status: approve !== undefined ? 'approved' : 'rejected', reason: reason ?? null };
}

export function parseExecuteArgs(rawArgv: string[]): ExecuteOptions | 'help' {
  const argv = withExplainDefault(rawArgv);
  const values = parseStrictArgs(argv, {
        'state-machine-arn': { type: 'string' },
        stack: { type: 'string' },
        bucket: { type: 'string' },
        input: { type: 'string' },
        'dry-run': { type: 'boolean' },
        index: { type: 'string', multiple: true },
        'retry-failed': { type: 'string' },
        approve: { type: 'string' },
        reject: { type: 'string' },
        reason: { type: 'string' },
        explain: { type: 'string' },
        'only-failed': { type: 'boolean' },
        json: { type: 'boolean' },
        'no-wait': { type: 'boolean' },
        'poll-seconds': { type: 'string' },
        report: { type: 'string' },
        html: { type: 'string' },
        fleet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
  if (values.help) return 'help';
  const fleet = values.fleet ?? false;
  if (fleet) {
    // What only makes sense for one org's run, in the order the help lists them.
    const single = (['index', 'retry-failed', 'explain', 'only-failed', 'json', 'approve', 'reject', 'reason', 'html'] as const).filter((k) => values[k] !== undefined);
    if (single.length > 0) {
      throw new UsageError(`--fleet cannot be combined with ${single.map((k) => `--${k}`).join(', ')}: ${single.length === 1 ? 'it acts' : 'they act'} on one org's run; use ${single.length === 1 ? 'it' : 'them'} without --fleet, with that run's execution ARN`);
    }
  }
  const arn = values['state-machine-arn'];
  if (arn !== undefined && !isStateMachineArn(arn)) {
    throw new UsageError(`--state-machine-arn: not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>): ${JSON.stringify(arn)}`);
  }
  if (values.stack !== undefined && values.stack.trim() === '') throw new UsageError('--stack: give a stack name');
  if (values.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(values.bucket)) {
    throw new UsageError(`--bucket: not an S3 bucket name: ${JSON.stringify(values.bucket)}`);
  }
  const retryFailed = values['retry-failed'];
  if (retryFailed !== undefined) {
    if ((values.index ?? []).length > 0) throw new UsageError('--retry-failed runs the failed indexes of the earlier execution: give no --index with it');
    if (!/^(arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_.-]{1,80}|[A-Za-z0-9_.-]{1,80})$/.test(retryFailed)) {
      throw new UsageError(`--retry-failed: not an execution ARN or name: ${JSON.stringify(retryFailed)}`);
    }
  }
  if ((values['only-failed'] || values.json) && values.explain === undefined) throw new UsageError('--only-failed and --json go with --explain');
  if (values.explain !== undefined && !/^(latest|arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_.-]{1,80}|[A-Za-z0-9_.-]{1,80})$/.test(values.explain)) {
    throw new UsageError(`--explain: not an execution ARN or name: ${JSON.stringify(values.explain)}`);
  }
  const decide = decisionOf(values.approve, values.reject, values.reason);
  return {
    stateMachineArn: arn,
    retryFailed,
    decide,
    explain: values.explain === undefined ? undefined : { execution: values.explain, onlyFailed: values['only-failed'] ?? false, json: values.json ?? false },
    stack: values.stack ?? DEFAULT_STACK,
    bucket: values.bucket,
    input: executionInputFromArgs(values.input, values['dry-run'] ?? false, values.index ?? []),
    wait: !(values['no-wait'] ?? false),
    pollSeconds: pollSeconds(values['poll-seconds']),
    reportFile: values.report,
    htmlFile: values.html,
    fleet,
  };
}
