// The fleet's rules on their own: the orgs setting, the fleet input, the waves, the decision after
// each wave and the fleet report. The Fleet state machine only carries these (test/fleet-local.test.ts
// runs it).
import { describe, expect, it } from 'vitest';
import {
  afterWave,
  buildFleetReport,
  failedExecution,
  fleetOrgs,
  mergeInput,
  orgResult,
  parseFleetInput,
  parseOrgSettings,
  planFleet,
  type OrgResult,
} from '../functions/domain/fleet.ts';
import { InputError } from '../functions/domain/input-error.ts';
import { orgCredentialVariables, orgSecretName } from '../functions/domain/orgs.ts';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return `${err.field} | ${err.message.slice(err.field.length + 2)}`;
    throw err;
  }
  throw new Error('expected an InputError');
}

const SETTINGS = [
  { name: 'test-eu', wave: 1, region: 'mypurecloud.ie', input: { timing: { settleSeconds: 5, healthPollSeconds: 5 } } },
  { name: 'prod-eu', wave: 2, region: 'mypurecloud.ie', apiBudgetPerMinute: 100 },
  { name: 'prod-us', wave: 2, region: 'mypurecloud.com', input: { policy: { maxShards: 20 } } },
  { name: 'prod-au', wave: 3, apiUrl: 'https://api.mypurecloud.com.au', loginUrl: 'https://login.mypurecloud.com.au' },
];
const ORGS = fleetOrgs(parseOrgSettings(SETTINGS, 'orgs'));
const ok = (name: string, wave: number, regressions = 0): OrgResult => ({
  name,
  wave,
  status: 'succeeded',
  executionArn: `arn:aws:states:eu-west-1:123456789012:execution:X-Optimizer:${name}-1`,
  summary: { total: 3, optimized: 3, skipped: 0, failed: 0, planned: 0 },
  regressions,
  reason: null,
});

describe('the orgs setting', () => {
  it('keeps each org with its wave (1 by default) and folds its API budget into its input', () => {
    const parsed = parseOrgSettings([...SETTINGS, { name: 'lab' }], 'orgs');
    expect(parsed.map((o) => [o.name, o.wave])).toEqual([['test-eu', 1], ['prod-eu', 2], ['prod-us', 2], ['prod-au', 3], ['lab', 1]]);
    expect(parsed[1]).toMatchObject({ region: 'mypurecloud.ie', input: { apiBudgetPerMinute: 100 } });
    // What the state machine carries: no hosts (those are the secrets').
    expect(fleetOrgs(parsed)[3]).toEqual({ name: 'prod-au', wave: 3, input: {} });
  });

  it('names the field of each mistake', () => {
    const bad = (orgs: unknown, local = false) => fieldOf(() => parseOrgSettings(orgs, 'orgs', { local }));
    expect(bad([])).toMatch(/^orgs \| /);
    expect(bad([{ name: 'Prod EU' }])).toMatch(/^orgs\[0\]\.name \| .*short slug/);
    expect(bad([{ name: 'a' }, { name: 'a' }])).toMatch(/^orgs\[1\]\.name \| .*named twice/);
    expect(bad([{ name: 'a', wave: 0 }])).toMatch(/^orgs\[0\]\.wave \| /);
    expect(bad([{ name: 'a', colour: 'red' }])).toMatch(/^orgs\[0\]\.colour \| unknown field/);
    expect(bad([{ name: 'a', apiUrl: 'https://api.x' }])).toMatch(/^orgs\[0\]\.loginUrl \| is missing/);
    expect(bad([{ name: 'a' }, { name: 'b', input: { timing: { settleSeconds: -1 } } }])).toMatch(/^orgs\[1\]\.input\.timing\.settleSeconds \| must be between/);
    expect(bad([{ name: 'a', apiBudgetPerMinute: 1 }])).toMatch(/^orgs\[0\]\.apiBudgetPerMinute \| must be between 3/);
    expect(bad([{ name: 'a', input: { org: 'b' } }])).toMatch(/^orgs\[0\]\.input\.org \| /);
    // The embedded simulator is for local fleet files only.
    expect(bad([{ name: 'a', simulator: true }])).toMatch(/^orgs\[0\]\.simulator \| unknown field/);
    expect(parseOrgSettings([{ name: 'a', simulator: true }], 'orgs', { local: true })[0]!.simulator).toBe(true);
  });

  it('derives the secret and the credential variables from the name', () => {
    expect(orgSecretName('genesys-index-optimizer/oauth-client', 'prod-eu')).toBe('genesys-index-optimizer/oauth-client/prod-eu');
    expect(orgCredentialVariables('prod-eu-2')).toEqual({ clientId: 'GENESYS_CLIENT_ID_PROD_EU_2', clientSecret: 'GENESYS_CLIENT_SECRET_PROD_EU_2' });
  });
});

describe('the fleet input and its waves', () => {
  it('every org by default, in waves of ascending number, each with its own input, the overrides and its name', () => {
    const plan = planFleet(ORGS, parseFleetInput({ input: { timing: { healthTimeoutSeconds: 600 } }, dryRun: true }, ORGS));
    expect(plan.waves.map((w) => [w.wave, w.orgs.map((o) => o.name)])).toEqual([[1, ['test-eu']], [2, ['prod-eu', 'prod-us']], [3, ['prod-au']]]);
    // Objects merge field by field: the org's settle stays, the fleet's timeout is added.
    expect(plan.waves[0]!.orgs[0]!.input).toEqual({ timing: { settleSeconds: 5, healthPollSeconds: 5, healthTimeoutSeconds: 600 }, dryRun: true, org: 'test-eu' });
    expect(plan.waves[1]!.orgs[0]!.input).toEqual({ apiBudgetPerMinute: 100, timing: { healthTimeoutSeconds: 600 }, dryRun: true, org: 'prod-eu' });
    expect(plan).toMatchObject({ next: 0, more: true, maxConcurrentOrgs: 5, results: [], stoppedAtWave: null });
  });

  it('a subset of the orgs keeps only their waves', () => {
    const plan = planFleet(ORGS, parseFleetInput({ orgs: ['prod-au', 'prod-us', 'prod-us'], maxConcurrentOrgs: 2 }, ORGS));
    expect(plan.waves.map((w) => [w.wave, w.orgs.map((o) => o.name)])).toEqual([[2, ['prod-us']], [3, ['prod-au']]]);
    expect(plan.maxConcurrentOrgs).toBe(2);
  });

  it('a bad fleet input fails before any run, naming the field', () => {
    expect(fieldOf(() => parseFleetInput({ orgs: ['prod-eu', 'prod-xx'] }, ORGS))).toMatch(/^orgs\[1\] \| unknown org "prod-xx"; this deployment's orgs: test-eu, prod-eu, prod-us, prod-au$/);
    expect(fieldOf(() => parseFleetInput({ orgs: [] }, ORGS))).toMatch(/^orgs \| /);
    expect(fieldOf(() => parseFleetInput({ maxConcurrentOrgs: 0 }, ORGS))).toMatch(/^maxConcurrentOrgs \| /);
    // An inline Map runs at most 40 iterations at once: more would not be honoured.
    expect(fieldOf(() => parseFleetInput({ maxConcurrentOrgs: 41 }, ORGS))).toMatch(/^maxConcurrentOrgs \| must be a whole number from 1 to 40/);
    expect(fieldOf(() => parseFleetInput({ dryrun: true }, ORGS))).toMatch(/^dryrun \| unknown field/);
    expect(fieldOf(() => parseFleetInput({ input: { org: 'x' } }, ORGS))).toMatch(/^input\.org \| /);
    // An override every org would refuse: named where the fleet's user wrote it.
    expect(fieldOf(() => planFleet(ORGS, parseFleetInput({ input: { timing: { settleSeconds: 99_999 } } }, ORGS)))).toMatch(/^input\.timing\.settleSeconds \| /);
    expect(fieldOf(() => planFleet(ORGS, parseFleetInput({ input: { maxConcurency: 3 } }, ORGS)))).toMatch(/^input\.maxConcurency \| unknown field/);
  });

  it('merges objects field by field; arrays and values replace', () => {
    expect(mergeInput({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: { e: 1 } })).toEqual({ a: { b: 1, c: [3] }, d: { e: 1 } });
  });
});

describe('after each wave', () => {
  const plan = () => planFleet(ORGS, parseFleetInput({}, ORGS));

  it('goes on when every run of the wave succeeded without a regression', () => {
    const p = afterWave(plan(), [ok('test-eu', 1)]);
    expect(p).toMatchObject({ next: 1, more: true, stoppedAtWave: null, stopReason: null });
    expect(p.results.map((r) => r.name)).toEqual(['test-eu']);
  });

  it('stops on a run that did not succeed, and the report names every org not started with the reason', () => {
    const failed: OrgResult = { ...ok('test-eu', 1), status: 'failed', reason: 'Run.IndexesFailed: 3 of 3 indexes failed' };
    const p = afterWave(plan(), [failed]);
    expect(p).toMatchObject({ more: false, stoppedAtWave: 1, stopReason: 'wave 1: the run of test-eu did not succeed' });
    const report = buildFleetReport('arn:fleet', p, new Date('2026-12-06T10:00:00Z'));
    expect(report.orgs.map((o) => [o.name, o.status])).toEqual([['test-eu', 'failed'], ['prod-eu', 'notStarted'], ['prod-us', 'notStarted'], ['prod-au', 'notStarted']]);
    expect(report.orgs[1]!.reason).toBe('not started: the rollout stopped after wave 1 (wave 1: the run of test-eu did not succeed)');
    expect(report).toMatchObject({ stoppedAtWave: 1, error: { name: 'Fleet.Stopped', cause: expect.stringMatching(/3 org\(s\) not started$/) } });
  });

  it('stops on a latency regression even when every run succeeded', () => {
    const p = afterWave(afterWave(plan(), [ok('test-eu', 1)]), [ok('prod-eu', 2), ok('prod-us', 2, 2)]);
    expect(p).toMatchObject({ more: false, stoppedAtWave: 2, stopReason: 'wave 2: latency regressed in prod-us (2 indexes)' });
    expect(buildFleetReport('arn:fleet', p, new Date()).orgs.filter((o) => o.status === 'notStarted').map((o) => o.name)).toEqual(['prod-au']);
  });

  it('a failure in the last wave stops nothing more but still fails the fleet', () => {
    let p = plan();
    p = afterWave(p, [ok('test-eu', 1)]);
    p = afterWave(p, [ok('prod-eu', 2), ok('prod-us', 2)]);
    p = afterWave(p, [{ ...ok('prod-au', 3), status: 'failed', reason: 'x' }]);
    const report = buildFleetReport('arn:fleet', p, new Date());
    expect(report).toMatchObject({ stoppedAtWave: null, error: { name: 'Fleet.OrgsFailed' } });
    expect(report.orgs.every((o) => o.status !== 'notStarted')).toBe(true);
  });

  it('every wave passed: no error', () => {
    let p = plan();
    p = afterWave(p, [ok('test-eu', 1)]);
    p = afterWave(p, [ok('prod-eu', 2), ok('prod-us', 2)]);
    p = afterWave(p, [ok('prod-au', 3)]);
    expect(p.more).toBe(false);
    expect(buildFleetReport('arn:fleet', p, new Date())).toMatchObject({ stoppedAtWave: null, error: null });
  });
});

describe("an org's result", () => {
  const arn = 'arn:aws:states:eu-west-1:123456789012:execution:X-Optimizer:prod-eu-1';
  const report = { summary: { total: 4, optimized: 2, skipped: 1, failed: 1, planned: 0 }, regressions: [{}], error: { name: 'Run.IndexesFailed', cause: '1 of 4 indexes failed' } };

  it('a failed run: its execution and the error from the .sync Cause, the reason from its report', () => {
    const cause = JSON.stringify({ ExecutionArn: arn, Status: 'FAILED', Error: 'Run.IndexesFailed', Cause: '1 of 4 indexes failed' });
    expect(failedExecution({ Error: 'States.TaskFailed', Cause: cause })).toEqual({ executionArn: arn, error: 'Run.IndexesFailed', cause: '1 of 4 indexes failed' });
    expect(orgResult({ name: 'prod-eu', wave: 2, error: { Error: 'States.TaskFailed', Cause: cause } }, report)).toEqual({
      name: 'prod-eu',
      wave: 2,
      status: 'failed',
      executionArn: arn,
      summary: report.summary,
      regressions: 1,
      reason: 'Run.IndexesFailed: 1 of 4 indexes failed',
    });
  });

  it("a run failed by a function's error: its message, not the runtime's JSON with its trace", () => {
    const lambdaCause = JSON.stringify({ errorType: 'Config.Credentials', errorMessage: 'secret prod-eu: clientId is empty', trace: ['at a', 'at b'] });
    const cause = JSON.stringify({ ExecutionArn: arn, Status: 'FAILED', Error: 'Config.Credentials', Cause: lambdaCause });
    expect(orgResult({ name: 'prod-eu', wave: 2, error: { Error: 'States.TaskFailed', Cause: cause } }, null).reason).toBe('Config.Credentials: secret prod-eu: clientId is empty');
  });

  it('a start that was refused (no execution): the task error itself', () => {
    const r = orgResult({ name: 'prod-eu', wave: 2, error: { Error: 'StepFunctions.AWSStepFunctionsException', Cause: 'User is not authorized to perform: states:StartExecution' } }, null);
    expect(r).toMatchObject({ status: 'failed', executionArn: null, summary: null, reason: 'StepFunctions.AWSStepFunctionsException: User is not authorized to perform: states:StartExecution' });
  });

  it('a run that gave way to another run of its org did not run: not a success', () => {
    const r = orgResult({ name: 'prod-eu', wave: 2, run: { executionArn: arn, output: { outcome: 'already-running', runningExecution: 'arn:other' } } }, null);
    expect(r).toMatchObject({ status: 'failed', reason: 'gave way: another run of this org was still going (arn:other)' });
  });
});
