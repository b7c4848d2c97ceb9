import { LocalRunGuard } from './local-run-guard.ts';
import type { RunGuard } from './run-guard.ts';
import { StepFunctionsRunGuard } from './sfn-run-guard.ts';

export type { GuardVerdict, RunGuard } from './run-guard.ts';

/** RUN_GUARD=stepfunctions with STATE_MACHINE_ARN in AWS (set by the stack); RUN_GUARD=local locally; otherwise none. */
export function runGuardFromEnv(env: NodeJS.ProcessEnv = process.env): RunGuard | null {
  const mode = env['RUN_GUARD'];
  if (mode === 'stepfunctions' && env['STATE_MACHINE_ARN']) return new StepFunctionsRunGuard(env['STATE_MACHINE_ARN']);
  if (mode === 'local' && env['RUN_STORE_DIR']) {
    return new LocalRunGuard(env['RUN_STORE_DIR'], env['GENESYS_API_URL'] ?? env['GENESYS_REGION'] ?? 'default');
  }
  return null;
}
