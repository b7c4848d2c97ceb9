import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { AUDIT_DETAIL_TYPE, AUDIT_SOURCE, type AuditEvent } from './audit-event.ts';
import { lazily } from '../shared/lazily.ts';

/** PutEvents takes at most 10 entries per call. */
const BATCH = 10;

let client: { endpoint: string | undefined; eventBridge: EventBridgeClient } | undefined;
// When events first go to a bus.
const eventBridgeSdk = lazily(() => import('@aws-sdk/client-eventbridge'));

/**
 * Every audit event goes to the function's log (so CloudWatch Logs alone is a complete audit
 * trail) and, when AUDIT_BUS_NAME is set, to that EventBridge bus for other systems' rules.
 * Emitting never fails the step: a bus problem is logged as a warning and the index goes on.
 */
export async function emitAudit(log: Logger, events: AuditEvent[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const event of events) {
    log.info(`audit: ${event.action}`, { audit: event, ...(event.indexId ? { indexId: event.indexId } : {}), outcome: event.status });
  }
  const bus = env['AUDIT_BUS_NAME'];
  if (!bus || events.length === 0) return;
  const { EventBridgeClient, PutEventsCommand } = await eventBridgeSdk();
  // Kept for the container's life; a new one only for a process that changes endpoints (local runs, tests).
  if (client === undefined || client.endpoint !== env['AWS_ENDPOINT_URL']) client = { endpoint: env['AWS_ENDPOINT_URL'], eventBridge: new EventBridgeClient({}) };
  const { eventBridge } = client;
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    try {
      const res = await eventBridge.send(
        new PutEventsCommand({
          Entries: batch.map((e) => ({ EventBusName: bus, Source: AUDIT_SOURCE, DetailType: AUDIT_DETAIL_TYPE[e.action], Detail: JSON.stringify(e) })),
        }),
      );
      if (res.FailedEntryCount) log.warn('some audit events were not accepted by EventBridge', { failed: res.FailedEntryCount, bus });
    } catch (err) {
      log.warn('audit events could not be sent to EventBridge', { bus, errorName: (err as Error).name, errorMessage: (err as Error).message });
    }
  }
}
