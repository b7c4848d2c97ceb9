/**
 * The audit trail as events: a custom EventBridge bus that optimize, verify and report put their
 * audit events on (source `genesys.index-optimizer`, one detail-type per step), for other systems'
 * rules to react to. The same events are in the functions' logs, so the bus is an integration
 * point, not the record. An archive keeps them for replay as long as the logs are kept.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AUDIT_DETAIL_TYPE, AUDIT_SOURCE } from '../../functions/audit/audit-event.ts';

export interface AuditBusProps {
  /** Days the archive keeps events (the log retention; RetentionDays.INFINITE keeps them forever). */
  archiveRetentionDays: number;
}

export class AuditBus extends Construct {
  readonly bus: EventBus;

  constructor(scope: Construct, id: string, props: AuditBusProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: `${Stack.of(this).stackName}-audit`,
      description: `Audit events of the Genesys index optimizer (source ${AUDIT_SOURCE})`,
    });
    this.bus.archive('Archive', {
      description: 'Every optimizer audit event, for replay',
      eventPattern: { source: [AUDIT_SOURCE], detailType: Object.values(AUDIT_DETAIL_TYPE) },
      // 0 days is "keep forever" for an archive.
      retention: Duration.days(props.archiveRetentionDays === RetentionDays.INFINITE ? 0 : props.archiveRetentionDays),
    });
  }

  /** events:PutEvents on this bus only. */
  grantPut(grantee: IGrantable): void {
    this.bus.grantPutEventsTo(grantee);
  }
}
