/**
 * `npm run execute -- --fleet`: starts an execution of the deployed `<stackName>-Fleet` state
 * machine (infra/stack/fleet.ts), follows it (each org's run as it starts and ends, the verdict
 * after each wave) and prints one line per org from the fleet report, those not started too.
 *
 * A stopped rollout ends the fleet execution FAILED without an output; its report is in the run
 * bucket all the same (where FleetReport's exit in the history says, or runs/<Fleet>/<name>/
 * fleet-report.json).
 *
 * Exit status: 0 the fleet succeeded; 1 it failed (an org's run failed or regressed), timed out
 * or was aborted; 2 it could not start or refused its input (nothing started).
 */
import { writeFileSync } from 'node:fs';
import type { FleetReport } from '../../functions/domain/fleet.ts';
import { executionConsoleUrl } from '../../functions/domain/run-notice.ts';
import type { FleetOutcome } from '../../functions/handlers/fleet.ts';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecuteDeps } from './execute.ts';
import { arnRegion, DEFAULT_STACK, isStateMachineArn, type ExecuteOptions } from './execute-args.ts';
import { elapsedText, errorText } from './execution-follower.ts';
import { causeText, fleetReportLocationFor, readFleetReport } from './execution-report.ts';
import { followFleet, type FleetFollowResult } from './fleet-follower.ts';
import { fleetReportFileContent, formatFleetTable } from './fleet-table.ts';
import type { StackOutputs } from './stack-outputs.ts';

export interface FleetContext {
  /** The stack's outputs, read at most once and only when needed. */
  stackOutputs: () => Promise<StackOutputs>;
  /** The fleet execution's name (manual-<time>-<random>). */
  name: string;
}

/** A state machine ARN without its version or alias, to compare with the stack's output. */
const unqualified = (arn: string) => arn.split(':').slice(0, 7).join(':');

export async function executeFleet(opts: ExecuteOptions, deps: ExecuteDeps, context: FleetContext): Promise<number> {
  const { write, writeError } = deps;

  let fleetArn = opts.stateMachineArn;
  if (!fleetArn) {
    let outputs: StackOutputs;
    try {
      outputs = await context.stackOutputs();
    } catch (err) {
      writeError(`No fleet to run: ${errorText(err)}. Give --state-machine-arn ARN (the Fleet state machine), or --stack NAME for another stack.`);
      return 2;
    }
    if (!outputs.fleetStateMachineArn || !isStateMachineArn(outputs.fleetStateMachineArn)) {
      writeError(
        `No fleet to run: stack ${opts.stack} has no FleetStateMachineArn output — this deployment has no orgs setting. ` +
          `Deploy it with the orgs setting (cdk.json or -c orgs='[…]') for the ${opts.stack}-Fleet state machine, or run its one org without --fleet.`,
      );
      return 2;
    }
    fleetArn = outputs.fleetStateMachineArn;
    write(`Fleet state machine (stack ${opts.stack}): ${fleetArn}`);
  }
  const fleet = fleetArn;
  const region = arnRegion(fleet);
  const sfn = deps.clients.sfn(region);

  let executionArn: string | undefined;
  try {
    ({ executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: fleet, name: context.name, input: JSON.stringify(opts.input) })));
  } catch (err) {
    writeError(`Could not start the fleet execution of ${fleet}: ${errorText(err)}`);
    return 2;
  }
  if (!executionArn) {
    writeError(`Could not start the fleet execution of ${fleet}: Step Functions returned no execution ARN`);
    return 2;
  }
  write(`Started fleet execution ${context.name}${opts.input['dryRun'] === true ? ' (dry run)' : ''}`);
  write(`  ARN:     ${executionArn}`);
  write(`  Console: ${executionConsoleUrl(executionArn)}`);
  if (!opts.wait) return 0;

  write(`Following it every ${opts.pollSeconds} s (Ctrl-C stops following, not the fleet nor its orgs' runs)…`);
  let result: FleetFollowResult;
  try {
    result = await followFleet(sfn, executionArn, { sleep: deps.sleep, write, pollSeconds: opts.pollSeconds });
  } catch (err) {
    writeError(`Lost track of the fleet execution: ${errorText(err)}. See it in the console: ${executionConsoleUrl(executionArn)}`);
    return 1;
  }

  const runBucket = async (): Promise<string> => {
    if (opts.bucket) return opts.bucket;
    const outputs = await context.stackOutputs();
    if (!outputs.fleetStateMachineArn || unqualified(outputs.fleetStateMachineArn) !== unqualified(fleet)) {
      throw new Error(`stack ${opts.stack} is not the stack of ${fleet}; give --bucket NAME`);
    }
    if (!outputs.runBucketName) throw new Error(`stack ${opts.stack} has no RunBucketName output; give --bucket NAME`);
    return outputs.runBucketName;
  };

  const outcome = (typeof result.output === 'object' && result.output !== null ? result.output : {}) as Partial<FleetOutcome>;
  // FleetReport ran (the history says where it wrote), or the fleet got past its plan: there is a report to read.
  const reported = result.reportLocation !== undefined || result.status === 'SUCCEEDED' || (result.status === 'FAILED' && result.planned);
  let report: FleetReport | undefined;
  let location: string | undefined;
  let problem: string | undefined;
  if (reported) {
    location = (typeof outcome.report === 'string' ? outcome.report : undefined) ?? result.reportLocation;
    if (!location) {
      try {
        location = fleetReportLocationFor(await runBucket(), executionArn);
      } catch (err) {
        problem = `cannot tell where it is (${errorText(err)})`;
      }
    }
    if (location) {
      try {
        report = await readFleetReport(deps.clients.s3(region), location);
      } catch (err) {
        problem = errorText(err);
      }
    }
  }

  write('');
  if (report && location) {
    write(formatFleetTable(report));
    const stack = opts.stack === DEFAULT_STACK ? '' : ` --stack ${opts.stack}`;
    const failed = report.orgs.filter((o) => o.status === 'failed' && o.executionArn);
    if (failed.length > 0) {
      write('');
      for (const o of failed) write(`Why ${o.name}'s run failed, index by index: npm run execute --${stack} --explain ${o.executionArn}`);
    }
    write('');
    write(`Fleet report: ${location}`);
    if (opts.reportFile) {
      try {
        writeFileSync(opts.reportFile, fleetReportFileContent(report));
        write(`Fleet report written to ${opts.reportFile}`);
      } catch (err) {
        writeError(`Cannot write ${opts.reportFile}: ${errorText(err)}`);
      }
    }
  } else {
    if (problem) write(`Could not read the fleet report: ${problem}.`);
    if (Array.isArray(outcome.orgs)) {
      write('From the fleet execution itself:');
      write(formatFleetTable({ orgs: outcome.orgs, stoppedAtWave: outcome.stoppedAtWave ?? null, error: outcome.error }));
    } else if (result.status === 'TIMED_OUT' || result.status === 'ABORTED') {
      write('No fleet report: the execution ended before its FleetReport state ran (see each org run in the console).');
    }
    if (opts.reportFile) writeError(`No fleet report to write to ${opts.reportFile}.`);
  }

  const code = result.status === 'SUCCEEDED' ? 0 : result.status === 'FAILED' && !result.planned ? 2 : 1;
  const cause = causeText(result.cause);
  const status = `Fleet execution ${result.status}${elapsedText(result.startDate, result.stopDate)}${result.error ? `: ${result.error}` : ''}${cause && !report ? ` — ${cause}` : ''}`;
  if (code === 2) writeError(`${result.error === 'Input.Invalid' ? 'The fleet refused its input' : 'The fleet failed before its plan'}; no org's run was started. ${status}`);
  else write(status);
  return code;
}
