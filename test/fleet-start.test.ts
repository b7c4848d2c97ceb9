// `npm start -- --fleet [FILE]`: the fleet file, each org's target and credentials, the demo
// fleet, and the command's output and exit status (the fleet itself: test/fleet-local.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../functions/domain/fleet.ts';
import { DEMO_BUDGET_PER_MINUTE, DEMO_TIMING, demoFleet, readFleetFile, realOrgTarget } from '../infra/local/fleet-setup.ts';
import { FAST, index } from './support/local-run.ts';

const dir = mkdtempSync(join(tmpdir(), 'fleet-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GENESYS_CLIENT_')));
  return spawnSync(process.execPath, ['infra/local/start.ts', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...clean, ...env } });
}

describe('the fleet file and the demo fleet', { timeout: 30_000 }, () => {
  it('the demo fleet: three simulated orgs in two waves, the demo org shared out without its failures, each with its own client and the demo timings', async () => {
    const { orgs, scenarios } = await demoFleet();
    expect(orgs.map((o) => [o.name, o.wave, o.simulator])).toEqual([
      ['canary', 1, true],
      ['emea', 2, true],
      ['apac', 2, true],
    ]);
    for (const o of orgs) expect(o.input).toEqual({ timing: DEMO_TIMING, apiBudgetPerMinute: DEMO_BUDGET_PER_MINUTE });
    const all = [...scenarios.values()];
    expect(new Set(all.map((s) => s.credentials.clientId)).size).toBe(3);
    const indexes = all.flatMap((s) => s.indexes);
    expect(indexes).toHaveLength(37);
    for (const ix of indexes) {
      expect(ix.behaviour.deletedAfterList).toBe(false);
      expect(ix.behaviour.healthAfterRefresh.status).not.toBe('red');
      expect(ix.behaviour.faults.put.filter((f) => f.status === 400)).toEqual([]);
    }
  });

  it("a real org's client comes from GENESYS_CLIENT_ID_<NAME> / GENESYS_CLIENT_SECRET_<NAME>; a missing one is named", async () => {
    const [org] = await readFleetFile(file('real.json', [{ name: 'prod-eu', wave: 2, region: 'mypurecloud.ie' }]));
    expect(() => realOrgTarget(org!, {})).toThrow('set GENESYS_CLIENT_ID_PROD_EU and GENESYS_CLIENT_SECRET_PROD_EU for org prod-eu');
    expect(() => realOrgTarget(org!, { GENESYS_CLIENT_ID_PROD_EU: 'id' })).toThrow('set GENESYS_CLIENT_SECRET_PROD_EU for org prod-eu');
    expect(realOrgTarget(org!, { GENESYS_CLIENT_ID_PROD_EU: 'id', GENESYS_CLIENT_SECRET_PROD_EU: 's' })).toEqual({ clientId: 'id', clientSecret: 's', region: 'mypurecloud.ie' });
    const [nowhere] = await readFleetFile(file('nowhere.json', [{ name: 'lost' }]));
    expect(() => realOrgTarget(nowhere!, {})).toThrow(/org lost says neither where its Genesys is/);
  });

  it('refuses a bad fleet file, a missing credential and single-run flags at once (exit 2), naming what is wrong', () => {
    const bad = start(['--fleet', file('bad.json', [{ name: 'Prod EU' }])]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad\.json\[0\]\.name: must be a short slug/);
    const noCreds = start(['--fleet', file('nocreds.json', [{ name: 'prod-eu', region: 'mypurecloud.ie' }])]);
    expect(noCreds.status).toBe(2);
    expect(noCreds.stderr).toMatch(/set GENESYS_CLIENT_ID_PROD_EU and GENESYS_CLIENT_SECRET_PROD_EU for org prod-eu/);
    const single = start(['--fleet', '--index', 'x']);
    expect(single.status).toBe(2);
    expect(single.stderr).toMatch(/--index is for one run/);
  });
});

describe('npm start -- --fleet FILE', { timeout: 60_000 }, () => {
  const scenario = (prefix: string, behaviour: Record<string, unknown> = {}) => ({ indexes: [index(`${prefix}-1`, behaviour), index(`${prefix}-2`, behaviour)] });

  it('runs each org against its own simulator, wave by wave: a line per org as its run starts and ends, the table, the fleet report; exit 0', () => {
    file('one.json', scenario('one'));
    file('two.json', scenario('two'));
    const fleet = file('fleet.json', [
      { name: 'one', wave: 1, simulator: 'one.json', input: { timing: FAST } },
      { name: 'two', wave: 2, simulator: 'two.json', input: { timing: FAST } },
    ]);
    const report = join(dir, 'fleet-report.json');
    const r = start(['--fleet', fleet, '--store', join(dir, 'store-ok'), '--report', report]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Plan: wave 1: one; wave 2: two/);
    expect(r.stdout).toMatch(/wave 1 {2}one {2}started {4}one-[0-9a-f-]{36}\n/);
    expect(r.stdout).toMatch(/wave 1 {2}one {2}succeeded {2}2 optimized, 0 skipped, 0 failed, 0 regression\(s\)/);
    expect(r.stdout.indexOf('wave 1  one  succeeded')).toBeLessThan(r.stdout.indexOf('wave 2  two  started'));
    expect(r.stdout).toMatch(/ORG +WAVE +STATUS +OPTIMIZED +SKIPPED +FAILED +REGRESSIONS +REASON\none +1 +succeeded +2 +0 +0 +0\ntwo +2 +succeeded +2 +0 +0 +0/);
    expect(r.stdout).toMatch(/Fleet report: s3:\/\/[^/]+\/runs\/GenesysIndexOptimizer-Fleet\/[^/]+\/fleet-report\.json/);
    const written = JSON.parse(readFileSync(report, 'utf8')) as FleetReport;
    expect(written.orgs.map((o) => [o.name, o.status])).toEqual([
      ['one', 'succeeded'],
      ['two', 'succeeded'],
    ]);
  });

  it('a canary that fails stops the rollout: the later wave is not started, the table says why; exit 1', () => {
    file('broken.json', scenario('broken', { faults: { put: [{ status: 400, times: -1 }] } }));
    file('fine.json', scenario('fine'));
    const fleet = file('fleet-stop.json', [
      { name: 'broken', wave: 1, simulator: 'broken.json', input: { timing: FAST } },
      { name: 'fine', wave: 2, simulator: 'fine.json', input: { timing: FAST } },
    ]);
    const r = start(['--fleet', fleet, '--store', join(dir, 'store-stop')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/wave 1 {2}broken {2}failed {5}0 optimized, 0 skipped, 2 failed, 0 regression\(s\) {2}Run\.IndexesFailed: /);
    expect(r.stdout).toMatch(/Rollout stopped after wave 1: wave 1: the run of broken did not succeed/);
    expect(r.stdout).not.toMatch(/fine +started/);
    expect(r.stdout).toMatch(/fine +2 +not started +- +- +- +- +not started: the rollout stopped after wave 1/);
    expect(r.stdout).toMatch(/Fleet failed: Fleet\.Stopped: /);
  });
});
