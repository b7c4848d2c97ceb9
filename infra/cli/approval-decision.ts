/**
 * Sending the decision on a plan that waits for approval, the same way from `npm run execute`
 * (AWS) and `npm start` (the local run): the task token is read from the run store, where the
 * approval function keeps it, and sent back with SendTaskSuccess; the decision is its output.
 * A rejection is a decision too (the run ends without changes and succeeds), not a task failure.
 * The token is never printed: errors name the run and what happened, not the request.
 */
import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ApprovalDecision } from '../../functions/domain/approval.ts';
import type { PendingApproval } from '../../functions/handlers/approval.ts';
import { runKey, RunStoreError, type RunStore } from '../../functions/store/run-store.ts';

export class DecisionError extends Error {
  override name = 'DecisionError';
}

export async function sendDecision(deps: { sfn: SFNClient; store: RunStore }, executionArn: string, decision: ApprovalDecision): Promise<PendingApproval> {
  let pending: PendingApproval;
  try {
    pending = await deps.store.getJson<PendingApproval>(runKey(executionArn, 'approval'));
  } catch (err) {
    if (err instanceof RunStoreError) throw new DecisionError(`no plan of ${executionArn} waits for approval (${err.message}): did its input ask for approval, and has it made its plan yet?`);
    throw err;
  }
  try {
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: pending.taskToken, output: JSON.stringify(decision) }));
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TaskDoesNotExist' || name === 'InvalidToken') {
      throw new DecisionError(`the plan of ${executionArn} no longer waits for a decision: it was decided already, it timed out (at ${pending.expiresAt}), or the run ended`);
    }
    if (name === 'TaskTimedOut') throw new DecisionError(`the approval of ${executionArn} timed out at ${pending.expiresAt}; the run ended without changes`);
    // The SDK's message of an unexpected error could quote the request: only its name goes out.
    throw new DecisionError(`Step Functions refused the decision on ${executionArn}: ${name}`);
  }
  return pending;
}
