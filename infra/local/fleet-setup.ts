/**
 * What `npm start -- --fleet [FILE]` runs: the fleet file (the `orgs` setting plus where each
 * org's Genesys is), each org's target (a real org's OAuth client from GENESYS_CLIENT_ID_<NAME> /
 * GENESYS_CLIENT_SECRET_<NAME>, or an embedded simulator of its own), and the demo fleet.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseOrgSettings, type OrgSetting } from '../../functions/domain/fleet.ts';
import { InputError } from '../../functions/domain/input-error.ts';
import { orgCredentialVariables } from '../../functions/domain/orgs.ts';
import { UsageError } from '../cli/execution-input-arg.ts';
import { parseScenario, type Scenario } from '../simulator/scenario.ts';
import { DEMO_SCENARIO_PATH, loadDemoScenario, readScenarioFile } from '../simulator/scenario-file.ts';
import type { LocalTarget } from './deployment.ts';

/** The demo org refreshes in seconds; the production defaults (30 s settle, 15 s polls) would only make it slow. */
export const DEMO_TIMING = { settleSeconds: 2, healthPollSeconds: 2, healthTimeoutSeconds: 30 };
/** The demo org allows Genesys' default 300 calls a minute; the demo may use most of it (a real run defaults to half). */
export const DEMO_BUDGET_PER_MINUTE = 240;

/** The orgs of a fleet file, checked as the `orgs` setting is (with the local-only fields), errors naming the file and field. */
export async function readFleetFile(path: string): Promise<OrgSetting[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--fleet: cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--fleet: ${path} is not valid JSON (${(err as Error).message})`);
  }
  try {
    return parseOrgSettings(raw, path, { local: true });
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(`--fleet: ${err.message}`);
    throw err;
  }
}

/**
 * A real org's target: its hosts from the fleet file, its OAuth client from
 * GENESYS_CLIENT_ID_<NAME> and GENESYS_CLIENT_SECRET_<NAME> (a missing one is named).
 */
export function realOrgTarget(org: OrgSetting, env: NodeJS.ProcessEnv = process.env): LocalTarget {
  if (!org.region && !org.apiUrl) throw new UsageError(`--fleet: org ${org.name} says neither where its Genesys is ("region", or "apiUrl" and "loginUrl") nor "simulator"`);
  const vars = orgCredentialVariables(org.name);
  const missing = [vars.clientId, vars.clientSecret].filter((v) => !env[v]);
  if (missing.length > 0) throw new UsageError(`--fleet: set ${missing.join(' and ')} for org ${org.name} (its OAuth client)`);
  return { clientId: env[vars.clientId]!, clientSecret: env[vars.clientSecret]!, ...(org.region ? { region: org.region } : { apiUrl: org.apiUrl!, loginUrl: org.loginUrl! }) };
}

/**
 * The scenario of a simulated org: the built-in demo org (`"simulator": true`) or the file it
 * names (relative to the fleet file). Each org gets an OAuth client of its own, as each org of a
 * fleet has: its pacing clock and refresh memory are its own.
 */
export async function orgScenario(org: OrgSetting, fleetFile: string | null): Promise<Scenario> {
  let scenario: Scenario;
  try {
    scenario = org.simulator === true ? await loadDemoScenario() : await readScenarioFile(resolve(fleetFile ? dirname(fleetFile) : '.', org.simulator!));
  } catch (err) {
    throw new UsageError(`--fleet: org ${org.name}: ${(err as Error).message}`);
  }
  return { ...scenario, name: `${scenario.name} (${org.name})`, credentials: { clientId: `${scenario.credentials.clientId}-${org.name}`, clientSecret: `${scenario.credentials.clientSecret}-${org.name}` } };
}

/** A simulated org's input gets the demo timings and budget unless its own input or the fleet's overrides set them. */
export function withDemoSettings(org: OrgSetting, overrides: Record<string, unknown>): OrgSetting {
  const input = { ...org.input };
  if (input['timing'] === undefined && overrides['timing'] === undefined) input['timing'] = DEMO_TIMING;
  if (input['apiBudgetPerMinute'] === undefined && overrides['apiBudgetPerMinute'] === undefined) input['apiBudgetPerMinute'] = DEMO_BUDGET_PER_MINUTE;
  return { ...org, input };
}

/** The demo's indexes that fail on purpose (400, red after refresh, deleted after the listing): the demo fleet leaves them out so its rollout can go through. */
const FAILS_ON_PURPOSE = /PUT rejected|red after refresh|deleted after list/;

export const DEMO_FLEET = [
  { name: 'canary', wave: 1 },
  { name: 'emea', wave: 2 },
  { name: 'apac', wave: 2 },
] as const;

/**
 * The demo fleet: three simulated orgs in two waves (one canary, then two), each a third of the
 * built-in demo org (every branch but the on-purpose failures, shared out in turn) with its own
 * OAuth client, at the demo timings and budget.
 */
export async function demoFleet(): Promise<{ orgs: OrgSetting[]; scenarios: Map<string, Scenario> }> {
  const raw = JSON.parse(await readFile(DEMO_SCENARIO_PATH, 'utf8')) as { indexes: Array<{ behaviour?: { $comment?: string } }>; [k: string]: unknown };
  const kept = raw.indexes.filter((ix) => !FAILS_ON_PURPOSE.test(ix.behaviour?.$comment ?? ''));
  const scenarios = new Map<string, Scenario>();
  DEMO_FLEET.forEach(({ name }, i) => {
    scenarios.set(
      name,
      parseScenario({
        ...raw,
        $comment: undefined,
        name: `demo (${name})`,
        credentials: { clientId: `sim-client-${name}`, clientSecret: `sim-secret-${name}` },
        indexes: kept.filter((_, j) => j % DEMO_FLEET.length === i),
      }),
    );
  });
  const orgs = parseOrgSettings(
    DEMO_FLEET.map(({ name, wave }) => ({ name, wave, simulator: true })),
    'the demo fleet',
    { local: true },
  ).map((o) => withDemoSettings(o, {}));
  return { orgs, scenarios };
}
