import type { RunGuard } from './run-guard.ts';
import { StepFunctionsRunGuard } from './sfn-run-guard.ts';

export type { GuardVerdict, RunGuard } from './run-guard.ts';

/** RUN_GUARD=stepfunctions with STATE_MACHINE_ARN, set by the stack; otherwise none. */
export function runGuardFromEnv(env: NodeJS.ProcessEnv = process.env): RunGuard | null {
  if (env['RUN_GUARD'] === 'stepfunctions' && env['STATE_MACHINE_ARN']) return new StepFunctionsRunGuard(env['STATE_MACHINE_ARN']);
  return null;
}
