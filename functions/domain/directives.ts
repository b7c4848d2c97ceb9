import type { OptimizationDirectives } from '../genesys/client.ts';

/** The seed's optimization payload: what a run PUTs unless the execution input says otherwise. */
export const DEFAULT_DIRECTIVES: OptimizationDirectives = {
  refreshPolicy: 'on_demand',
  reindexStrategy: 'async_background',
  shardOptimization: { rebalanceStrategy: 'even_distribution', forceMerge: true, replicaTrigger: true },
  validationRules: { checkDiskUsage: true, checkQueryLatency: true },
};
