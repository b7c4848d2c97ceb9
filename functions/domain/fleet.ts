/**
 * A fleet: many orgs from one deployment, rolled out wave by wave. Wave 1 (the canaries) runs
 * first; the next wave starts only when every run of the one before succeeded without a latency
 * regression. This module knows the orgs' settings, the fleet's input, the plan of waves, the
 * decision after each wave and the fleet report; the Fleet state machine and its function only
 * carry them.
 */
import { describeValue, InputError, isJsonObject } from './input-error.ts';
import { parseExecutionInput, type RunConfig } from './execution-input.ts';
import { listOrgNames, ORG_NAME, ORG_NAME_RULE } from './orgs.ts';
import { errorMessageOf } from '../shared/lambda-cause.ts';

type Json = Record<string, unknown>;

const isObject = isJsonObject;
const describe = describeValue;

/** One org of the `orgs` setting, as the Fleet state machine carries it. */
export interface FleetOrg {
  name: string;
  wave: number;
  /** The org's own execution input (its API budget among it), before the fleet's overrides. */
  input: Json;
}

/** Where an org's Genesys is: only a deployment's secrets (and local runs) need it. */
export interface OrgHosts {
  region?: string;
  apiUrl?: string;
  loginUrl?: string;
}

export type OrgSetting = FleetOrg & OrgHosts & {
  /** Local runs only: an embedded simulator of its own (true), or one started from this scenario file. */
  simulator?: true | string;
};

const ORG_FIELDS = ['name', 'wave', 'region', 'apiUrl', 'loginUrl', 'apiBudgetPerMinute', 'input'] as const;
const LOCAL_ORG_FIELDS = [...ORG_FIELDS, 'simulator'] as const;

/**
 * The `orgs` setting (CDK context), or a local fleet file (`local`: it may also say where each
 * org's Genesys is, `simulator`). Every org's input is checked as its runs will check it, so a
 * typo fails the synth (or the local run) rather than a run. `where` prefixes the field in errors.
 */
export function parseOrgSettings(raw: unknown, where: string, options: { local?: boolean } = {}): OrgSetting[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new InputError(where, `must be a non-empty array of orgs, got ${describe(raw)}`);
  const allowed: readonly string[] = options.local ? LOCAL_ORG_FIELDS : ORG_FIELDS;
  const names = raw.map((o, i) => (isObject(o) ? o['name'] : undefined)).filter((n): n is string => typeof n === 'string');
  const seen = new Set<string>();
  return raw.map((o, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(o)) throw new InputError(at, `must be an object, got ${describe(o)}`);
    for (const key of Object.keys(o)) if (!allowed.includes(key)) throw new InputError(`${at}.${key}`, `unknown field; allowed here: ${allowed.join(', ')}`);
    const name = o['name'];
    if (typeof name !== 'string' || !ORG_NAME.test(name)) throw new InputError(`${at}.name`, `must be ${ORG_NAME_RULE}, got ${describe(name)}`);
    if (seen.has(name)) throw new InputError(`${at}.name`, `${JSON.stringify(name)} is named twice`);
    seen.add(name);
    const wave = o['wave'] ?? 1;
    if (typeof wave !== 'number' || !Number.isInteger(wave) || wave < 1 || wave > 100) throw new InputError(`${at}.wave`, `must be a whole number from 1 (the canaries) to 100, got ${describe(wave)}`);
    const hosts: OrgHosts = {};
    for (const key of ['region', 'apiUrl', 'loginUrl'] as const) {
      const v = o[key];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v.trim() === '') throw new InputError(`${at}.${key}`, `must be a non-empty string, got ${describe(v)}`);
      hosts[key] = v.trim();
    }
    if (Boolean(hosts.apiUrl) !== Boolean(hosts.loginUrl)) throw new InputError(`${at}.${hosts.apiUrl ? 'loginUrl' : 'apiUrl'}`, 'is missing; give apiUrl and loginUrl together');
    const input = o['input'] ?? {};
    if (!isObject(input)) throw new InputError(`${at}.input`, `must be an object (the org's execution input), got ${describe(input)}`);
    if ('org' in input) throw new InputError(`${at}.input.org`, 'is set from the org\'s name; leave it out');
    const own: Json = { ...input, ...(o['apiBudgetPerMinute'] !== undefined ? { apiBudgetPerMinute: o['apiBudgetPerMinute'] } : {}) };
    checkRunInput({ ...own, org: name }, names, (field) => (field === 'apiBudgetPerMinute' && o['apiBudgetPerMinute'] !== undefined ? `${at}.apiBudgetPerMinute` : `${at}.input.${field}`));
    const simulator = o['simulator'];
    if (simulator !== undefined && simulator !== true && (typeof simulator !== 'string' || simulator === '')) {
      throw new InputError(`${at}.simulator`, `must be true or the path of a scenario file, got ${describe(simulator)}`);
    }
    return { name, wave, input: own, ...hosts, ...(simulator !== undefined ? { simulator: simulator as true | string } : {}) };
  });
}

/** Checks an org's execution input as its run will, reporting the field where the fleet's user wrote it. */
function checkRunInput(input: Json, orgs: readonly string[], fieldFor: (field: string) => string): RunConfig {
  try {
    return parseExecutionInput(input, orgs);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(fieldFor(err.field), err.message.slice(err.field.length + 2));
    throw err;
  }
}

/** What the Fleet state machine carries of the orgs (no hosts: those live in each org's secret). */
export function fleetOrgs(settings: readonly OrgSetting[]): FleetOrg[] {
  return settings.map(({ name, wave, input }) => ({ name, wave, input }));
}

/** The fleet execution's input: `{"orgs"?: [...], "dryRun"?, "input"?: {...}, "maxConcurrentOrgs"?}`. */
export interface FleetInput {
  /** A subset of the orgs, by name; null: all of them. */
  orgs: string[] | null;
  dryRun: boolean | null;
  /** Overrides of every org's execution input (merged into each org's own, objects field by field). */
  input: Json;
  maxConcurrentOrgs: number;
}

export const DEFAULT_MAX_CONCURRENT_ORGS = 5;
/**
 * The wave's Map runs inline (each org's run is a Standard execution of its own, so the fleet's
 * history holds only a few events per org), and an inline Map runs at most 40 iterations at once.
 */
export const MAX_CONCURRENT_ORGS = 40;

export function parseFleetInput(raw: unknown, known: readonly FleetOrg[]): FleetInput {
  const input = raw === undefined || raw === null ? {} : raw;
  if (!isObject(input)) throw new InputError('input', `must be a JSON object, got ${describe(input)}`);
  const allowed = ['orgs', 'dryRun', 'input', 'maxConcurrentOrgs'];
  for (const key of Object.keys(input)) if (!allowed.includes(key)) throw new InputError(key, `unknown field; allowed here: ${allowed.join(', ')}`);
  let orgs: string[] | null = null;
  if (input['orgs'] !== undefined && input['orgs'] !== null) {
    const list = input['orgs'];
    if (!Array.isArray(list) || list.length === 0) throw new InputError('orgs', `must be a non-empty array of org names (leave it out for every org), got ${describe(list)}`);
    const names = known.map((o) => o.name);
    orgs = list.map((n, i) => {
      if (typeof n !== 'string' || !names.includes(n)) {
        throw new InputError(`orgs[${i}]`, `unknown org ${typeof n === 'string' ? JSON.stringify(n) : describe(n)}; this deployment's orgs: ${listOrgNames(names)}`);
      }
      return n;
    });
    orgs = [...new Set(orgs)];
  }
  const dryRun = input['dryRun'];
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new InputError('dryRun', `must be true or false, got ${describe(dryRun)}`);
  const overrides = input['input'] ?? {};
  if (!isObject(overrides)) throw new InputError('input', `must be an object (overrides of every org's execution input), got ${describe(overrides)}`);
  if ('org' in overrides) throw new InputError('input.org', 'each org\'s run names its own org; leave it out');
  const max = input['maxConcurrentOrgs'] ?? DEFAULT_MAX_CONCURRENT_ORGS;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_CONCURRENT_ORGS) {
    throw new InputError('maxConcurrentOrgs', `must be a whole number from 1 to ${MAX_CONCURRENT_ORGS}, got ${describe(max)}`);
  }
  return { orgs, dryRun: typeof dryRun === 'boolean' ? dryRun : null, input: overrides, maxConcurrentOrgs: max };
}

/** `over` on top of `base`: objects merge field by field, anything else replaces. */
export function mergeInput(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? mergeInput(out[k] as Json, v) : v;
  return out;
}

/** One org's run as the Fleet state machine starts it. */
export interface OrgRun {
  name: string;
  wave: number;
  /** Its execution input: the org's own, the fleet's overrides, its name. */
  input: Json;
}

export interface FleetWave {
  wave: number;
  orgs: OrgRun[];
}

/** What an org's run came to, as the fleet report gives it. */
export interface OrgResult {
  name: string;
  wave: number;
  status: 'succeeded' | 'failed' | 'notStarted';
  executionArn: string | null;
  /** The org run's report summary (null when it wrote none). */
  summary: { total: number; optimized: number; skipped: number; failed: number; planned: number } | null;
  /** Indexes whose latency regressed in the org's run. */
  regressions: number;
  reason: string | null;
}

/** The fleet's state between waves. */
export interface FleetProgress {
  waves: FleetWave[];
  maxConcurrentOrgs: number;
  /** The index (0-based) of the wave to run next. */
  next: number;
  /** Whether another wave is to run (the Choice reads it). */
  more: boolean;
  results: OrgResult[];
  /** The wave the rollout stopped after, and why; null while it goes on. */
  stoppedAtWave: number | null;
  stopReason: string | null;
}

/**
 * The waves to run: the orgs asked for, each with its merged input (checked here, so a bad
 * override fails the fleet before any org's run starts), grouped by wave in ascending order.
 */
export function planFleet(known: readonly FleetOrg[], fleet: FleetInput): FleetProgress {
  const names = known.map((o) => o.name);
  const chosen = fleet.orgs ? known.filter((o) => fleet.orgs!.includes(o.name)) : [...known];
  const runs: OrgRun[] = chosen.map((o) => {
    const merged = mergeInput(mergeInput(o.input, fleet.input), { ...(fleet.dryRun !== null ? { dryRun: fleet.dryRun } : {}), org: o.name });
    checkRunInput(merged, names, (field) => (field in fleet.input || field.split('.')[0]! in fleet.input ? `input.${field}` : `the input of org ${o.name}: ${field}`));
    return { name: o.name, wave: o.wave, input: merged };
  });
  const waves = [...new Set(runs.map((r) => r.wave))].sort((a, b) => a - b).map((wave) => ({ wave, orgs: runs.filter((r) => r.wave === wave) }));
  return { waves, maxConcurrentOrgs: fleet.maxConcurrentOrgs, next: 0, more: waves.length > 0, results: [], stoppedAtWave: null, stopReason: null };
}

/** The fleet after a wave: its orgs' results added, and whether the rollout goes on. */
export function afterWave(progress: FleetProgress, results: OrgResult[]): FleetProgress {
  const wave = progress.waves[progress.next]!;
  const failed = results.filter((r) => r.status !== 'succeeded');
  const regressed = results.filter((r) => r.regressions > 0);
  const next = progress.next + 1;
  let stopReason: string | null = null;
  if (failed.length > 0) stopReason = `wave ${wave.wave}: the run of ${failed.map((r) => r.name).join(', ')} did not succeed`;
  else if (regressed.length > 0) stopReason = `wave ${wave.wave}: latency regressed in ${regressed.map((r) => `${r.name} (${r.regressions} index${r.regressions === 1 ? '' : 'es'})`).join(', ')}`;
  const stopped = stopReason !== null && next < progress.waves.length;
  return {
    ...progress,
    next,
    results: [...progress.results, ...results],
    more: next < progress.waves.length && stopReason === null,
    stoppedAtWave: stopped ? wave.wave : progress.stoppedAtWave,
    stopReason: stopReason ?? progress.stopReason,
  };
}

export interface FleetReport {
  executionId: string;
  finishedAt: string;
  orgs: OrgResult[];
  /** The wave after which the rollout stopped (later waves not started); null when every wave ran. */
  stoppedAtWave: number | null;
  /** Why the fleet failed (a run that did not succeed, or a regression), null when it did not. */
  error: { name: string; cause: string } | null;
}

export const FLEET_STOPPED = 'Fleet.Stopped';
export const FLEET_ORGS_FAILED = 'Fleet.OrgsFailed';

/** Every org of the plan once: those that ran, and those a stop kept from starting. */
export function buildFleetReport(executionId: string, progress: FleetProgress, now: Date): FleetReport {
  const ran = new Set(progress.results.map((r) => r.name));
  const notStarted: OrgResult[] = progress.waves
    .flatMap((w) => w.orgs)
    .filter((o) => !ran.has(o.name))
    .map((o) => ({ name: o.name, wave: o.wave, status: 'notStarted', executionArn: null, summary: null, regressions: 0, reason: `not started: the rollout stopped after wave ${progress.stoppedAtWave} (${progress.stopReason})` }));
  const orgs = [...progress.results, ...notStarted];
  let error: FleetReport['error'] = null;
  if (progress.stoppedAtWave !== null) error = { name: FLEET_STOPPED, cause: `the rollout stopped after wave ${progress.stoppedAtWave}: ${progress.stopReason}; ${notStarted.length} org(s) not started` };
  else if (progress.stopReason) error = { name: FLEET_ORGS_FAILED, cause: progress.stopReason };
  return { executionId, finishedAt: now.toISOString(), orgs, stoppedAtWave: progress.stoppedAtWave, error };
}

/**
 * One org's iteration of the wave's Map: the `.sync` task's result when the org's execution
 * succeeded, or the error it failed with (its Cause: the execution's description, as JSON).
 */
export interface OrgIteration {
  name: string;
  wave: number;
  run?: { executionArn: string; output: unknown };
  error?: { Error?: string; Cause?: string };
}

/** What an org run's report says that the fleet reads. */
export interface OrgRunReport {
  summary: NonNullable<OrgResult['summary']>;
  regressions: unknown[];
  error: { name: string; cause: string } | null;
}

/** The failed execution's ARN, error and cause, from the Cause of a `.sync` task that failed with it. */
export function failedExecution(error: OrgIteration['error']): { executionArn: string | null; error: string; cause: string } {
  const name = error?.Error ?? 'States.TaskFailed';
  try {
    const d = JSON.parse(error?.Cause ?? '') as { ExecutionArn?: unknown; Error?: unknown; Cause?: unknown; Status?: unknown };
    return {
      executionArn: typeof d.ExecutionArn === 'string' ? d.ExecutionArn : null,
      error: typeof d.Error === 'string' ? d.Error : typeof d.Status === 'string' ? String(d.Status) : name,
      // A function's error arrives as the Lambda runtime's JSON (with its trace): its message is the reason.
      cause: typeof d.Cause === 'string' ? errorMessageOf(d.Cause) : '',
    };
  } catch {
    // Not an execution's description: the task itself failed (StartExecution refused, say).
    return { executionArn: null, error: name, cause: error?.Cause ?? '' };
  }
}

const short = (text: string) => (text.length > 300 ? `${text.slice(0, 299)}…` : text);

/** An org's result from its iteration and, when its run wrote one, its report. */
export function orgResult(it: OrgIteration, report: OrgRunReport | null): OrgResult {
  const base = { name: it.name, wave: it.wave, summary: report?.summary ?? null, regressions: report?.regressions.length ?? 0 };
  if (it.run) {
    const output = it.run.output as { outcome?: unknown; runningExecution?: unknown } | null;
    if (!report && output?.outcome === 'already-running') {
      return { ...base, status: 'failed', executionArn: it.run.executionArn, reason: `gave way: another run of this org was still going (${String(output.runningExecution)})` };
    }
    return { ...base, status: 'succeeded', executionArn: it.run.executionArn, reason: null };
  }
  const failed = failedExecution(it.error);
  const why = report?.error ? `${report.error.name}: ${report.error.cause}` : `${failed.error}${failed.cause ? `: ${failed.cause}` : ''}`;
  return { ...base, status: 'failed', executionArn: failed.executionArn, reason: short(why) };
}
