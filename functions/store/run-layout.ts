/**
 * The run store's layout, defined once: every object a run keeps, its key, and which function
 * reads, writes or lists it. The functions build their keys here; the stack derives each
 * function's S3 grants from RUN_STORE_ACCESS (infra/stack/run-store-grants.ts), so a key that
 * moves takes its permission with it.
 *
 * Objects of one execution live under runs/<state machine>/<execution name>/. An execution ARN
 * is arn:aws:states:<region>:<account>:execution:<state machine>:<name>.
 */
export type RecordedOutcome = 'optimized' | 'skipped' | 'failed';

/** The functions that touch the run store (the stack's function names). */
export type StoreUser = 'fetch' | 'validate' | 'optimize' | 'verify' | 'report' | 'approval' | 'fleet';

/** All runs' objects live under this prefix: nothing else in the bucket is the functions' to touch. */
export const RUNS_ROOT = 'runs/';

/** One object per index under `dir`, named by its URL-encoded id (`'*'`: any index). */
const perIndex = (dir: string, indexId: string | '*') => `${dir}${indexId === '*' ? '*' : `${encodeURIComponent(indexId)}.json`}`;

/** Keys relative to a run's prefix. `'*'` in place of a part gives the pattern a grant uses. */
export const RUN_OBJECT = {
  /** The checked execution input, with the index id list the state does not carry. */
  config: 'config.json',
  inventory: 'inventory.json',
  plan: 'plan.json',
  /** The ids the Distributed Map optimizes, one array element per index (its ItemReader). */
  items: 'items.json',
  report: 'report.json',
  /** The run's page: the report, every index's timeline and the charts, in one self-contained HTML file. */
  reportPage: 'report.html',
  /** A fleet execution's report: every org's run, under the fleet execution's own prefix. */
  fleetReport: 'fleet-report.json',
  /** A plan waiting for approval: the callback's task token, which only the operator's decision reads (never the state or a log). */
  approval: 'approval.json',
  /** One small object per index: concurrent writers never touch the same key. */
  outcome: (outcome: RecordedOutcome | '*', indexId: string | '*') => perIndex(`outcomes/${outcome}/`, indexId),
  outcomes: (outcome?: RecordedOutcome) => `outcomes/${outcome ? `${outcome}/` : ''}`,
  /** Where each index is (explain): its step, attempts and last error, rewritten by every invocation. */
  progress: (indexId: string | '*') => perIndex('progress/', indexId),
  progresses: 'progress/',
  /** Why the run stopped starting indexes (run-breaker): one record per index that saw it first. */
  stop: (name: string | '*') => `stopped/${name === '*' ? '*' : `${name}.json`}`,
  stops: 'stopped/',
  /** Where the Distributed Map's ResultWriter puts every child execution's result (written by Step Functions). */
  mapResults: 'map-results/',
} as const;

export function runPrefix(executionId: string): string {
  const parts = executionId.split(':');
  const tail = parts.length >= 8 ? parts.slice(6, 8) : [executionId];
  const safe = tail.map((p) => p.replace(/[^A-Za-z0-9._-]/g, '_'));
  return `${RUNS_ROOT}${safe.join('/')}/`;
}

/** The full key of an object of this execution. */
export function runObjectKey(executionId: string, relative: string): string {
  return `${runPrefix(executionId)}${relative}`;
}

export interface RunStoreAccess {
  /** Keys (relative, `*` allowed) the function reads… */
  get: string[];
  /** …writes… */
  put: string[];
  /** …and key prefixes it lists (s3:ListBucket with an s3:prefix condition). */
  list: string[];
}

const o = RUN_OBJECT;

/** What each function does in the run store: the source of its S3 grants. */
export const RUN_STORE_ACCESS: Record<StoreUser, RunStoreAccess> = {
  // Lists the inventory; resumes a paused listing from what it saved.
  fetch: { get: [o.inventory], put: [o.inventory], list: [] },
  // Keeps the checked input; makes the plan and the Map's items from the inventory.
  validate: { get: [o.config, o.inventory], put: [o.config, o.plan, o.items], list: [] },
  // Records skipped and failed indexes; the run-level stop counts the failed ones and keeps its record.
  optimize: {
    get: [o.stop('*')],
    put: [o.outcome('skipped', '*'), o.outcome('failed', '*'), o.stop('*'), o.progress('*')],
    list: [o.outcomes('failed'), o.stops],
  },
  // Records optimized and failed indexes; a failure every index would meet stops the run at once.
  verify: { get: [], put: [o.outcome('optimized', '*'), o.outcome('failed', '*'), o.stop('*'), o.progress('*')], list: [] },
  // Shows the plan to the operator and keeps the task token the decision is sent with.
  approval: { get: [o.plan], put: [o.approval], list: [] },
  // Reads the plan, the outcomes and the Map's results back, writes the report and its page.
  report: {
    get: [o.plan, o.outcome('*', '*'), `${o.mapResults}*`],
    put: [o.report, o.reportPage],
    list: [o.outcomes(), o.mapResults],
  },
  // The fleet (a deployment with orgs): reads each org run's report, writes the fleet's.
  fleet: { get: [o.report], put: [o.fleetReport], list: [] },
};
