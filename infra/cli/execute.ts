/**
 * `npm run execute`: starts an execution of the deployed state machine, follows it to the end and
 * prints its report — the deployed counterpart of `npm start`. With --fleet, the same for the
 * Fleet state machine (execute-fleet.ts).
 *
 * Exit status: 0 it succeeded and no index failed; 1 it failed after it started optimizing, timed
 * out or was aborted; 2 bad usage, an execution that could not start, or one that failed before
 * optimizing (Input.Invalid, credentials, the listing).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { decision } from '../../functions/domain/approval.ts';
import { executionConsoleUrl, s3ConsoleUrl } from '../../functions/domain/run-notice.ts';
import { DecisionError, sendDecision } from './approval-decision.ts';
import { S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { RunReport } from '../../functions/domain/report.ts';
import { arnRegion, EXECUTE_HELP, isStateMachineArn, parseExecuteArgs, type ExecuteOptions } from './execute-args.ts';
import { UsageError } from './execution-input-arg.ts';
import { elapsedText, errorText, followExecution, type FollowResult } from './execution-follower.ts';
import {
  causeText,
  failedFromOutput,
  formatOutputSummary,
  readRunObject,
  pageLocationFrom,
  readRunPage,
  readRunReport,
  reportLocationFor,
  reportLocationFromOutput,
} from './execution-report.ts';
import { formatReportTable, reportFileContent } from './report-table.ts';
import { readStackOutputs, type StackOutputs } from './stack-outputs.ts';
import { retryPlan, type RetryPlan } from './retry-failed.ts';
import { explainRun, formatExplain } from './explain.ts';
import { executeFleet } from './execute-fleet.ts';
import { S3RunStore } from '../../functions/store/s3-run-store.ts';
import type { RunConfig } from '../../functions/domain/execution-input.ts';
import { runKey } from '../../functions/store/run-store.ts';

export interface AwsClients {
  sfn(region: string): SFNClient;
  s3(region: string): S3Client;
  /** Without a region: the SDK's default chain (AWS_REGION, the profile). */
  cfn(region: string | undefined): CloudFormationClient;
  /** Who is deciding on a plan (GetCallerIdentity). */
  sts(region: string): STSClient;
}

export interface ExecuteDeps {
  clients: AwsClients;
  write(line: string): void;
  writeError(line: string): void;
  sleep(ms: number): Promise<void>;
  now?: () => Date;
}

/** manual-20250102T030405Z-1a2b3c: sorts by time, says who started it, and never collides. */
export function executionName(now: Date, suffix: string = randomBytes(3).toString('hex')): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  return `manual-${stamp}-${suffix}`;
}

/** A state machine ARN without its version or alias, to compare with the stack's output. */
const unqualified = (arn: string) => arn.split(':').slice(0, 7).join(':');

export async function execute(argv: string[], deps: ExecuteDeps): Promise<number> {
  const { write, writeError } = deps;
  let options: ExecuteOptions | 'help';
  try {
    options = parseExecuteArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    writeError(`${err.message}\n\n${EXECUTE_HELP}`);
    return 2;
  }
  if (options === 'help') {
    write(EXECUTE_HELP);
    return 0;
  }
  const opts = { ...options };

  // The stack is read at most once, and only when needed: no ARN given, or a failed run's report to find.
  let stack: Promise<StackOutputs> | undefined;
  const stackOutputs = () => (stack ??= readStackOutputs(deps.clients.cfn(opts.stateMachineArn ? arnRegion(opts.stateMachineArn) : undefined), opts.stack));

  if (opts.fleet) return executeFleet(opts, deps, { stackOutputs, name: executionName((deps.now ?? (() => new Date()))()) });

  let stateMachineArn = opts.stateMachineArn;
  if (!stateMachineArn) {
    let outputs: StackOutputs;
    try {
      outputs = await stackOutputs();
    } catch (err) {
      writeError(`No state machine to run: ${errorText(err)}. Give --state-machine-arn ARN, or --stack NAME for another stack.`);
      return 2;
    }
    if (!outputs.stateMachineArn || !isStateMachineArn(outputs.stateMachineArn)) {
      writeError(`No state machine to run: stack ${opts.stack} has no StateMachineArn output. Give --state-machine-arn ARN.`);
      return 2;
    }
    stateMachineArn = outputs.stateMachineArn;
    write(`State machine (stack ${opts.stack}): ${stateMachineArn}`);
  }

  const region = arnRegion(stateMachineArn);
  const sfn = deps.clients.sfn(region);
  const runBucket = async (): Promise<string> => {
    if (opts.bucket) return opts.bucket;
    const outputs = await stackOutputs();
    if (outputs.stateMachineArn && unqualified(outputs.stateMachineArn) !== unqualified(stateMachineArn)) {
      throw new Error(`stack ${opts.stack} belongs to another state machine; give --bucket NAME`);
    }
    if (!outputs.runBucketName) throw new Error(`stack ${opts.stack} has no RunBucketName output; give --bucket NAME`);
    return outputs.runBucketName;
  };
  /** An execution named by its ARN, or by its name under this state machine. */
  const executionArnOf = (execution: string) => (execution.startsWith('arn:') ? execution : `${unqualified(stateMachineArn).replace(':stateMachine:', ':execution:')}:${execution}`);
  if (opts.decide) {
    const { execution, status, reason } = opts.decide;
    const executionArn = executionArnOf(execution);
    try {
      // Who decided is who AWS says is calling: the identity CloudTrail records for the SendTaskSuccess too.
      const { Arn: by } = await deps.clients.sts(region).send(new GetCallerIdentityCommand({}));
      const sent = decision(status, by ?? 'unknown caller', reason, (deps.now ?? (() => new Date()))());
      await sendDecision({ sfn, store: new S3RunStore(await runBucket(), deps.clients.s3(region)) }, executionArn, sent);
      write(status === 'approved' ? `Approved the plan of ${executionArn} as ${sent.by}: the run goes on.` : `Rejected the plan of ${executionArn} as ${sent.by}: the run ends without changes.`);
      write(`  Console: ${executionConsoleUrl(executionArn)}`);
      return 0;
    } catch (err) {
      writeError(`Cannot ${status === 'approved' ? 'approve' : 'reject'} ${executionArn}: ${err instanceof DecisionError ? err.message : errorText(err)}`);
      return 2;
    }
  }
  if (opts.explain) {
    const { execution, onlyFailed, json } = opts.explain;
    try {
      let executionArn: string;
      if (execution === 'latest') {
        const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: unqualified(stateMachineArn), maxResults: 1 }));
        if (!executions?.[0]?.executionArn) {
          writeError(`${stateMachineArn} has no executions to explain`);
          return 2;
        }
        executionArn = executions[0].executionArn;
      } else {
        executionArn = executionArnOf(execution);
      }
      const rows = (await explainRun(new S3RunStore(await runBucket(), deps.clients.s3(region)), executionArn)).filter((r) => !onlyFailed || r.outcome === 'failed');
      write(json ? JSON.stringify({ executionId: executionArn, indexes: rows }, null, 2) : `${executionArn}\n\n${formatExplain(rows)}`);
      return 0;
    } catch (err) {
      writeError(`Cannot explain ${execution}: ${errorText(err)}`);
      return 2;
    }
  }
  if (opts.retryFailed) {
    const earlierArn = executionArnOf(opts.retryFailed);
    let plan: RetryPlan;
    try {
      const bucket = await runBucket();
      const s3 = deps.clients.s3(region);
      const report = await readRunReport(s3, reportLocationFor(bucket, earlierArn));
      const earlier = await readRunObject<RunConfig>(s3, bucket, runKey(earlierArn, 'config'));
      plan = retryPlan(report, earlier, opts.input);
    } catch (err) {
      writeError(`Cannot retry ${earlierArn}: ${errorText(err)}`);
      return 2;
    }
    if ('nothing' in plan) {
      write(`Nothing to retry: ${plan.nothing}.`);
      return 0;
    }
    opts.input = plan.input;
    write(`Retrying the ${plan.failed.length} failed index(es) of ${earlierArn}`);
  }
  const name = executionName((deps.now ?? (() => new Date()))());
  let executionArn: string | undefined;
  try {
    ({ executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(opts.input) })));
  } catch (err) {
    writeError(`Could not start the execution of ${stateMachineArn}: ${errorText(err)}`);
    return 2;
  }
  if (!executionArn) {
    writeError(`Could not start the execution of ${stateMachineArn}: Step Functions returned no execution ARN`);
    return 2;
  }
  write(`Started execution ${name}${opts.input['dryRun'] === true ? ' (dry run)' : ''}`);
  write(`  ARN:     ${executionArn}`);
  write(`  Console: ${executionConsoleUrl(executionArn)}`);
  if (!opts.wait) return 0;

  write(`Following it every ${opts.pollSeconds} s (Ctrl-C stops following, not the execution)…`);
  let result: FollowResult;
  try {
    result = await followExecution({ sfn }, executionArn, { sleep: deps.sleep, write, pollSeconds: opts.pollSeconds });
  } catch (err) {
    writeError(`Lost track of the execution: ${errorText(err)}. See it in the console: ${executionConsoleUrl(executionArn)}`);
    return 1;
  }

  /** Where a failed run's report is when the history did not say: the run bucket, by naming convention. */
  const derivedLocation = async (): Promise<string> => reportLocationFor(await runBucket(), executionArn);

  // One real run per org at a time: this one gave way to a run still going, and changed nothing.
  const gaveWay = result.output as { outcome?: unknown; message?: unknown; runningExecution?: unknown; runningSince?: unknown } | undefined;
  if (result.status === 'SUCCEEDED' && gaveWay?.outcome === 'already-running') {
    write('');
    write(`Not run: ${String(gaveWay.message)} (${String(gaveWay.runningExecution)}, running since ${String(gaveWay.runningSince)}).`);
    if (opts.reportFile) writeError(`No report to write to ${opts.reportFile}.`);
    if (opts.htmlFile) writeError(`No page to write to ${opts.htmlFile}.`);
    write(`Execution SUCCEEDED${elapsedText(result.startDate, result.stopDate)}`);
    return 0;
  }

  // A refused input never gets past ValidateInput, whatever the history could tell.
  const started = result.startedOptimizing && result.error !== 'Input.Invalid';
  let report: RunReport | undefined;
  let location: string | undefined;
  // One S3 client for the report and the page.
  let runBucketClient: S3Client | undefined;
  const s3 = () => (runBucketClient ??= deps.clients.s3(region));
  let problem: string | undefined;
  const reported = result.reportLocation !== undefined || result.status === 'SUCCEEDED' || (result.status === 'FAILED' && started);
  if (reported) {
    location = reportLocationFromOutput(result.output) ?? result.reportLocation;
    if (!location) {
      try {
        location = await derivedLocation();
      } catch (err) {
        problem = `cannot tell where it is (${errorText(err)})`;
      }
    }
    if (location) {
      try {
        report = await readRunReport(s3(), location);
      } catch (err) {
        problem = errorText(err);
      }
    }
  }

  write('');
  if (report && location) {
    write(formatReportTable(report));
    write('');
    write(`Report: ${location}`);
    if (opts.reportFile) {
      try {
        writeFileSync(opts.reportFile, reportFileContent(report));
        write(`Report written to ${opts.reportFile}`);
      } catch (err) {
        writeError(`Cannot write ${opts.reportFile}: ${errorText(err)}`);
      }
    }
    const page = pageLocationFrom(result.output, location);
    if (page === null) {
      write("Page: not written (the report function's log says why)");
      if (opts.htmlFile) writeError(`No page to write to ${opts.htmlFile}.`);
    } else {
      write(`Page: ${page}`);
      write(`  open it from the S3 console: ${s3ConsoleUrl(executionArn, page)}`);
      if (opts.htmlFile) {
        try {
          writeFileSync(opts.htmlFile, await readRunPage(s3(), page));
          write(`Page written to ${opts.htmlFile}`);
        } catch (err) {
          writeError(`Cannot write ${opts.htmlFile}: ${errorText(err)}`);
        }
      }
    }
  } else {
    if (problem) {
      write(`Could not read the report: ${problem}.`);
      const summary = formatOutputSummary(result.output);
      if (summary.length > 0) {
        write('From the execution itself:');
        for (const line of summary) write(`  ${line}`);
      }
    } else if (result.status === 'TIMED_OUT' || result.status === 'ABORTED') {
      write('No report: the execution ended before its Report state ran.');
    }
    if (opts.reportFile) writeError(`No report to write to ${opts.reportFile}.`);
    if (opts.htmlFile) writeError(`No page to write to ${opts.htmlFile}.`);
  }

  let code: number;
  if (result.status === 'SUCCEEDED') code = (report?.summary.failed ?? failedFromOutput(result.output) ?? 0) > 0 ? 1 : 0;
  else if (result.status === 'FAILED') code = started ? 1 : 2;
  else code = 1;

  const cause = causeText(result.cause);
  const status = `Execution ${result.status}${elapsedText(result.startDate, result.stopDate)}${result.error ? `: ${result.error}` : ''}${cause && !report ? ` — ${cause}` : ''}`;
  if (code === 2) writeError(`The run could not start. ${status}`);
  else write(status);
  return code;
}

if (import.meta.main) {
  const deps: ExecuteDeps = {
    clients: {
      sfn: (region) => new SFNClient({ region }),
      s3: (region) => new S3Client({ region, followRegionRedirects: true }),
      cfn: (region) => new CloudFormationClient(region ? { region } : {}),
      sts: (region) => new STSClient({ region }),
    },
    write: (line) => process.stdout.write(`${line}\n`),
    writeError: (line) => process.stderr.write(`${line}\n`),
    sleep: (ms) => delay(ms),
  };
  execute(process.argv.slice(2), deps).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // A message, never a stack: the operator needs to know what failed, not where in this file.
      process.stderr.write(`npm run execute: unexpected error: ${errorText(err)}\n`);
      process.exitCode = 1;
    },
  );
}
