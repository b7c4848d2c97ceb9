import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SERVICE_NAME } from './logger.ts';

/** CloudWatch namespace of the optimizer's metrics; the dashboard and alarms read these names. */
export const METRICS_NAMESPACE = 'GenesysIndexOptimizer';

export const METRIC = {
  indexesOptimized: 'IndexesOptimized',
  indexesSkipped: 'IndexesSkipped',
  indexesFailed: 'IndexesFailed',
  indexesPlanned: 'IndexesPlanned',
  queryLatencyBefore: 'QueryLatencyBeforeMs',
  queryLatencyAfter: 'QueryLatencyAfterMs',
  throttledCalls: 'ThrottledCalls',
  latencyRegressions: 'IndexLatencyRegressions',
} as const;

export { MetricUnit };

/** The dimension that tells a fleet's orgs apart on every metric (absent in a single-org deployment). */
export const ORG_DIMENSION = 'Org';

/**
 * One Metrics buffer per invocation (EMF lines on stdout). Per invocation, because the local
 * runner runs many invocations at once in one process and a shared buffer would mix them.
 */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? METRICS_NAMESPACE, serviceName: SERVICE_NAME });
}
