/**
 * The state machines' state names: part of the contract with the local runner and the progress
 * displays (npm run execute). A module of its own, without the CDK, so that the command can name
 * the states without loading it.
 */

/** The optimizer's states (infra/stack/state-machine.ts). */
export const STATE = {
  validateInput: 'ValidateInput',
  fetchInventory: 'FetchInventory',
  makePlan: 'MakePlan',
  awaitApproval: 'AwaitApproval',
  probeBefore: 'ProbeLatencyBefore',
  probeAfter: 'ProbeLatencyAfter',
  optimizeIndexes: 'OptimizeIndexes',
  optimize: 'Optimize',
  verify: 'Verify',
  report: 'Report',
} as const;

/** The Fleet's states (infra/stack/fleet.ts). */
export const FLEET_STATE = {
  plan: 'PlanFleet',
  runWave: 'RunWave',
  startOrgRun: 'StartOrgRun',
  assess: 'AssessWave',
  report: 'FleetReport',
} as const;
