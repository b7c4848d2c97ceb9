/**
 * The seed's "callbacks for external monitoring", as events: one per step of each index, with
 * the execution id and the Genesys correlation id so a support case can start from any of them.
 */
import type { ApprovalSummary } from '../domain/approval.ts';
import type { RunNotice } from '../domain/run-notice.ts';

export type AuditAction = 'approval_requested' | 'optimization_trigger' | 'health_verification' | 'latency_regressed' | 'optimization_complete' | 'run_complete';

export interface AuditEvent {
  timestamp: string;
  executionId: string;
  /** The run's org in a deployment that manages several; null in a single-org one. */
  org: string | null;
  indexId: string | null;
  action: AuditAction;
  status: string;
  latencyMs: number | null;
  throughputRate: number | null;
  diskUsagePercent: number | null;
  replicationTrigger: boolean | null;
  correlationId: string | null;
  reason: string | null;
  /** approval_requested: the plan as the operator is shown it. */
  plan?: ApprovalSummary;
  /** run_complete: the run as its notification tells it (the notification rule reads these fields). */
  notice?: RunNotice;
}

export const AUDIT_SOURCE = 'genesys.index-optimizer';
export const AUDIT_DETAIL_TYPE: Record<AuditAction, string> = {
  approval_requested: 'Plan Approval Requested',
  optimization_trigger: 'Index Optimization Triggered',
  health_verification: 'Index Health Verified',
  latency_regressed: 'Index Latency Regressed',
  optimization_complete: 'Index Optimization Completed',
  run_complete: 'Optimization Run Completed',
};

export function auditEvent(fields: Partial<AuditEvent> & Pick<AuditEvent, 'executionId' | 'action' | 'status'>): AuditEvent {
  return {
    timestamp: new Date().toISOString(),
    org: null,
    indexId: null,
    latencyMs: null,
    throughputRate: null,
    diskUsagePercent: null,
    replicationTrigger: null,
    correlationId: null,
    reason: null,
    ...fields,
  };
}
