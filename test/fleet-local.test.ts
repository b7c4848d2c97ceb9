// The fleet end to end: the Fleet state machine exactly as the stack synthesizes it with the
// `orgs` setting, executed locally (infra/local/fleet-local.ts) with the real fleet handler, each
// StartOrgRun a complete optimizer execution (its Distributed Map, IAM, run guard, report) against
// a Genesys Cloud simulator of that org's own. Each test picks its orgs from the one deployment
// with the fleet input's `orgs`, as an operator would.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { MAX_API_BUDGET_PER_MINUTE } from '../functions/domain/execution-input.ts';
import type { OrgResult } from '../functions/domain/fleet.ts';
import { ADMIN } from '../infra/local/aws/local-aws.ts';
import { LOCAL_REGION } from '../infra/local/aws/resources.ts';
import type { LocalFleetResult } from '../infra/local/fleet-local.ts';
import { FAST, index } from './support/local-run.ts';
import { useLocalFleet, type OrgSim } from './support/local-fleet.ts';

// Up to ten org runs share the machine's two cores: a health timeout far above what these indexes
// take (they are healthy at the first read), so a busy machine delays them without failing them.
const ORG_INPUT = { timing: { ...FAST, healthTimeoutSeconds: 30 }, apiBudgetPerMinute: MAX_API_BUDGET_PER_MINUTE };
const org = (name: string, wave: number) => ({ name, wave, input: ORG_INPUT });
const MANY = Array.from({ length: 20 }, (_, i) => `f-${String(i + 1).padStart(2, '0')}`);

const fleet = useLocalFleet([
  org('a-canary', 1),
  org('a-emea', 2),
  org('a-apac', 2),
  org('b-canary', 1),
  org('b-emea', 2),
  org('b-apac', 2),
  org('c-canary', 1),
  org('c-emea', 2),
  org('e-1', 1),
  org('e-2', 1),
  org('e-3', 1),
  // The many: two canaries, then eighteen.
  ...MANY.map((name, i) => org(name, i < 2 ? 1 : 2)),
]);

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);
const cleanOrg = (name: string, n = 2) => fleet.startOrgSim(name, { indexes: ids(name, n).map((id) => index(id)) });
const byName = (r: LocalFleetResult, name: string): OrgResult => {
  const found = r.report?.orgs.filter((o) => o.name === name) ?? [];
  expect(found, `the fleet report's entries for ${name}`).toHaveLength(1);
  return found[0]!;
};
const orgEvents = (r: LocalFleetResult, type: 'OrgRunStarted' | 'OrgRunEnded') => r.events.filter((e) => e.type === type);

/** The most org runs going at once, from the fleet's start and end events. */
function peakConcurrency(r: LocalFleetResult): number {
  let now = 0;
  let peak = 0;
  for (const e of r.events) {
    if (e.type === 'OrgRunStarted') peak = Math.max(peak, ++now);
    if (e.type === 'OrgRunEnded') now--;
  }
  return peak;
}

describe('a fleet run locally, each org run a real optimizer execution', { timeout: 60_000 }, () => {
  it('three orgs in two waves all succeed: each run its own execution, report and secret; the fleet report lists them all', async () => {
    const names = ['a-canary', 'a-emea', 'a-apac'];
    const sims: Record<string, OrgSim> = {};
    for (const name of names) sims[name] = await cleanOrg(name);
    const { result } = await fleet.runFleet(sims, { orgs: names });

    expect(result.error).toBeNull();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ report: expect.stringMatching(/fleet-report\.json$/), stoppedAtWave: null });
    expect(result.report?.executionId).toBe(result.executionId);
    expect(result.report?.orgs.map((o) => o.name).sort()).toEqual([...names].sort());
    for (const name of names) {
      const entry = byName(result, name);
      expect(entry).toMatchObject({ status: 'succeeded', wave: name === 'a-canary' ? 1 : 2, regressions: 0, reason: null, summary: { total: 2, optimized: 2, skipped: 0, failed: 0, planned: 0 } });
      // Its own execution of the optimizer, named after the org, with its own report naming the org.
      const run = result.orgRuns.find((r) => r.org === name)!;
      expect(run.executionArn).toMatch(new RegExp(`:execution:GenesysIndexOptimizer-Optimizer:${name}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`));
      expect(entry.executionArn).toBe(run.executionArn);
      expect(run.result.status).toBe('SUCCEEDED');
      expect(run.result.report).toMatchObject({ executionId: run.executionArn, org: name, summary: { optimized: 2 } });
      // The whole optimizer ran: a Distributed Map child per index, every index PUT once.
      expect(run.result.events.filter((e) => e.type === 'MapIterationStarted')).toHaveLength(2);
      expect(sims[name]!.sim.requests.filter((q) => q.endpoint === 'put')).toHaveLength(2);
      // With its own org's OAuth client, from its own secret: no other org's client reached this org.
      expect(sims[name]!.clientIds.length).toBeGreaterThan(0);
      expect(new Set(sims[name]!.clientIds)).toEqual(new Set([`client-${name}`]));
    }
    // Wave 2 starts only after the canary's run ended; its two runs go at once.
    const started = orgEvents(result, 'OrgRunStarted');
    const ended = orgEvents(result, 'OrgRunEnded');
    expect(started.map((e) => e.org)[0]).toBe('a-canary');
    expect(result.events.indexOf(ended.find((e) => e.org === 'a-canary')!)).toBeLessThan(result.events.indexOf(started.find((e) => e.wave === 2)!));
    expect(peakConcurrency(result)).toBe(2);
    // Each org's secret is found by its name, as the functions ask for it, and by its ARN.
    const sm = new SecretsManagerClient({ endpoint: fleet.aws().endpoint, region: LOCAL_REGION, credentials: { accessKeyId: ADMIN, secretAccessKey: 'local' } });
    const secret = fleet.synthesized().secrets.orgs.get('a-emea')!;
    for (const id of [secret.name, secret.arn]) {
      const value = await sm.send(new GetSecretValueCommand({ SecretId: id }));
      expect(value.ARN).toBe(secret.arn);
      expect(JSON.parse(value.SecretString ?? '{}')).toMatchObject({ clientId: 'client-a-emea', apiUrl: sims['a-emea']!.sim.apiUrl });
    }
    expect(secret.name).toBe('genesys-index-optimizer/oauth-client/a-emea');
  });

  it("the canary's org fails (every PUT rejected with a 400): the rollout stops after wave 1, wave 2 is not started and never touched", async () => {
    const rejected = { faults: { put: [{ status: 400, times: -1, message: 'Validation failed' }] } };
    const sims: Record<string, OrgSim> = {
      'b-canary': await fleet.startOrgSim('b-canary', { indexes: ids('b-canary', 2).map((id) => index(id, rejected)) }),
      'b-emea': await cleanOrg('b-emea'),
      'b-apac': await cleanOrg('b-apac'),
    };
    const { result } = await fleet.runFleet(sims, { orgs: ['b-canary', 'b-emea', 'b-apac'] });

    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('Fleet.Stopped');
    expect(result.error?.cause).toMatch(/stopped after wave 1: wave 1: the run of b-canary did not succeed; 2 org\(s\) not started/);
    expect(result.report?.stoppedAtWave).toBe(1);
    const canary = byName(result, 'b-canary');
    expect(canary).toMatchObject({ status: 'failed', summary: { failed: 2, optimized: 0 } });
    expect(canary.reason).toMatch(/^Run\.IndexesFailed: /);
    // The org run's own failure, as Step Functions gives it to the fleet: its execution, failed.
    const run = result.orgRuns.find((r) => r.org === 'b-canary')!;
    expect(run.result.status).toBe('FAILED');
    expect(canary.executionArn).toBe(run.executionArn);
    for (const name of ['b-emea', 'b-apac']) {
      expect(byName(result, name)).toMatchObject({ status: 'notStarted', executionArn: null, summary: null });
      expect(byName(result, name).reason).toMatch(/^not started: the rollout stopped after wave 1 \(wave 1: the run of b-canary did not succeed\)/);
      expect(sims[name]!.sim.requests, `requests to ${name}`).toEqual([]);
    }
    expect(result.orgRuns.map((r) => r.org)).toEqual(['b-canary']);
  });

  it('a latency regression in wave 1 stops the rollout too, though the canary run itself succeeded', async () => {
    const slower = { health: { status: 'green', queryLatencyMs: 100 }, healthAfterRefresh: { status: 'green', queryLatencyMs: 150 } };
    const sims: Record<string, OrgSim> = {
      'c-canary': await fleet.startOrgSim('c-canary', { indexes: [index('c-canary-slower', slower), index('c-canary-fine')] }),
      'c-emea': await cleanOrg('c-emea'),
    };
    const { result } = await fleet.runFleet(sims, { orgs: ['c-canary', 'c-emea'] });

    expect(result.orgRuns.find((r) => r.org === 'c-canary')!.result.status).toBe('SUCCEEDED');
    expect(byName(result, 'c-canary')).toMatchObject({ status: 'succeeded', regressions: 1, summary: { optimized: 2 } });
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('Fleet.Stopped');
    expect(byName(result, 'c-emea')).toMatchObject({ status: 'notStarted' });
    expect(byName(result, 'c-emea').reason).toMatch(/latency regressed in c-canary \(1 index\)/);
    expect(sims['c-emea']!.sim.requests).toEqual([]);
  });

  it('a bad fleet input (an unknown org) fails at once, naming orgs[0]; no org run starts', async () => {
    const sims: Record<string, OrgSim> = { 'a-canary': await cleanOrg('a-canary') };
    const { result } = await fleet.runFleet(sims, { orgs: ['nope'] });

    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('Input.Invalid');
    expect(result.error?.cause).toMatch(/^orgs\[0\]: unknown org "nope"; this deployment's orgs: a-canary, /);
    expect(result.orgRuns).toEqual([]);
    expect(orgEvents(result, 'OrgRunStarted')).toEqual([]);
    expect(result.report).toBeNull();
    expect(result.invocations.fleet).toBe(1);
    expect(sims['a-canary']!.sim.requests).toEqual([]);
  });

  it('the Fleet role without states:StartExecution: every org fails with the AccessDenied, nothing is started or PUT', async () => {
    const names = ['e-1', 'e-2', 'e-3'];
    const sims: Record<string, OrgSim> = {};
    for (const name of names) sims[name] = await cleanOrg(name);
    const { result } = await fleet.runFleet(sims, { orgs: names }, { iam: (iam) => iam.withoutAction('fleetStateMachine', 'states:StartExecution'), expectDenials: true });

    expect(result.status).toBe('FAILED');
    // One wave: no later wave to stop, so the fleet fails with the org runs' failures.
    expect(result.error?.name).toBe('Fleet.OrgsFailed');
    for (const name of names) {
      const entry = byName(result, name);
      expect(entry).toMatchObject({ status: 'failed', executionArn: null, summary: null });
      expect(entry.reason).toMatch(/^StepFunctions\.AWSStepFunctionsException: User: arn:aws:sts::\d+:assumed-role\/[^/]+\/fleetStateMachine is not authorized to perform: states:StartExecution on resource: arn:aws:states:[^:]+:\d+:stateMachine:GenesysIndexOptimizer-Optimizer /);
      expect(sims[name]!.sim.requests).toEqual([]);
    }
    expect(result.orgRuns).toEqual([]);
    expect(result.denials.map((d) => `${d.principal} ${d.service}:${d.operation}`)).toEqual(Array(3).fill('fleetStateMachine states:StartExecution'));
  });

  it('a fleet of twenty orgs, ten runs at once: every org succeeds, none holds another back', async () => {
    const sims: Record<string, OrgSim> = {};
    await Promise.all(MANY.map(async (name) => (sims[name] = await cleanOrg(name, 3))));
    const { result, wallMs } = await fleet.runFleet(sims, { orgs: MANY, maxConcurrentOrgs: 10 });
    process.stdout.write(`fleet of ${MANY.length} orgs (3 indexes each, at most 10 at once): ${(wallMs / 1000).toFixed(1)} s wall time\n`);

    const notPassed = result.report?.orgs.filter((o) => o.status !== 'succeeded').map((o) => `${o.name}: ${o.reason}`);
    expect(result.error, JSON.stringify(notPassed)).toBeNull();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.report?.orgs).toHaveLength(MANY.length);
    for (const entry of result.report!.orgs) {
      // A run that gave way to another (the run guard) would be failed, "gave way".
      expect(entry, entry.name).toMatchObject({ status: 'succeeded', summary: { total: 3, optimized: 3 }, reason: null });
      expect(new Set(sims[entry.name]!.clientIds)).toEqual(new Set([`client-${entry.name}`]));
    }
    expect(result.orgRuns).toHaveLength(MANY.length);
    expect(peakConcurrency(result)).toBe(10);
    // The fleet execution's own history stays small: the org runs keep theirs.
    expect(result.historyEvents).toBeLessThan(600);
  });
});
