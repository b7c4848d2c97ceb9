/**
 * Approval: invoked with a task token when a plan must be approved before anything changes. It
 * keeps the token in the run store (the only place it is written: not the state, not a log),
 * sends the plan's summary to the notification topic and the audit trail, and returns; the
 * execution waits until an operator's decision comes back with the token (or the wait times out).
 */
import { approvalSummary, approvalText } from '../domain/approval.ts';
import type { Plan } from '../domain/plan.ts';
import { auditEvent } from '../audit/audit-event.ts';
import { emitAudit } from '../audit/audit-trail.ts';
import { publishToTopic } from '../notify/topic.ts';
import { taskHandler, type TaskEvent } from '../shared/invocation.ts';
import { createLogger } from '../shared/logger.ts';
import { sharedRunStore } from '../shared/singletons.ts';
import { runKey } from '../store/index.ts';

export interface ApprovalEvent extends TaskEvent {
  taskToken: string;
  timeoutSeconds: number;
}

/** What the run store keeps for the decision (RUN_OBJECT.approval). */
export interface PendingApproval {
  taskToken: string;
  requestedAt: string;
  expiresAt: string;
}

const logger = createLogger('approval');

export const handler = taskHandler(logger, 'approval_request', async (event: ApprovalEvent, log): Promise<{ requested: true }> => {
  if (typeof event.taskToken !== 'string' || event.taskToken === '') throw new TypeError('taskToken: the approval step was invoked without a task token');
  const store = sharedRunStore();
  const plan = await store.getJson<Plan>(runKey(event.executionId, 'plan'));
  const now = new Date();
  const expiresAt = new Date(now.getTime() + event.timeoutSeconds * 1000);
  const pending: PendingApproval = { taskToken: event.taskToken, requestedAt: now.toISOString(), expiresAt: expiresAt.toISOString() };
  // Kept before anyone is told: a decision sent at once must find it.
  await store.putJson(runKey(event.executionId, 'approval'), pending);
  const summary = approvalSummary(plan, event.executionId, store.locate(runKey(event.executionId, 'plan')), expiresAt);
  const messageId = await publishToTopic(approvalText(summary));
  await emitAudit(log, [
    auditEvent({
      executionId: event.executionId,
      org: event.org ?? null,
      action: 'approval_requested',
      status: 'waiting',
      reason: `${summary.toOptimize} of ${summary.total} indexes to optimize, ${summary.skipped} skipped; waiting for a decision until ${summary.expiresAt}`,
      plan: summary,
    }),
  ]);
  log.info('plan waits for approval', { outcome: 'waiting', toOptimize: summary.toOptimize, skipped: summary.skipped, expiresAt: summary.expiresAt, messageId });
  return { requested: true };
});
