// Shared by the tests that run the Fleet state machine locally (infra/local/fleet-local.ts): one
// synthesis with every org the file's tests use (each test picks its orgs with the fleet input's
// `orgs`), one local AWS, simulators closed after each test, and a recorder of the OAuth client
// each simulator was asked for a token with.
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrgSettings, type OrgSetting } from '../../functions/domain/fleet.ts';
import { startLocalAws, type LocalAws } from '../../infra/local/aws/local-aws.ts';
import { synthesizeDefinition, type SynthesizedDefinition } from '../../infra/local/definition.ts';
import type { LocalTarget } from '../../infra/local/deployment.ts';
import { runFleetLocally, type LocalFleetOptions, type LocalFleetResult } from '../../infra/local/fleet-local.ts';
import { parseScenario } from '../../infra/simulator/scenario.ts';
import { startSimulator, type Simulator } from '../../infra/simulator/server.ts';

export const FLEET_TIMEOUT_MS = 120_000;

/** A simulator of one org, behind a proxy that records the OAuth client of every token request. */
export interface OrgSim {
  sim: Simulator;
  /** The client id of each token request the simulator got (from its Basic authorization). */
  clientIds: string[];
  target: LocalTarget;
}

export interface FleetRun {
  result: LocalFleetResult;
  lines: string[];
  wallMs: number;
}

export interface FleetExtras {
  iam?: LocalFleetOptions['iam'];
  /** The fleet is expected to meet IAM denials; otherwise any denial fails the test. */
  expectDenials?: boolean;
}

async function recordingProxy(sim: Simulator, clientIds: string[]): Promise<{ url: string; server: Server }> {
  const upstream = new URL(sim.url);
  const server = createServer((req, res) => {
    const basic = /^Basic (.+)$/.exec(String(req.headers['authorization'] ?? ''))?.[1];
    if (req.url?.startsWith('/oauth/token') && basic) clientIds.push(Buffer.from(basic, 'base64').toString('utf8').split(':')[0] ?? '');
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Registers the file's hooks (one synthesis with `orgs`, one local AWS) and returns the helpers.
 * `orgs` is the `orgs` setting, as a fleet file or a deployment gives it.
 */
export function useLocalFleet(orgsSetting: unknown[]) {
  const orgs: OrgSetting[] = parseOrgSettings(orgsSetting, 'orgs', { local: true });
  let synthesized: SynthesizedDefinition | undefined;
  let aws: LocalAws | undefined;
  let dir: string | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    synthesized = synthesizeDefinition({ orgs });
    dir = mkdtempSync(join(tmpdir(), 'fleet-test-'));
    aws = await startLocalAws({ dir });
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  afterAll(async () => {
    await aws?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A simulator of `org`'s Genesys, with an OAuth client of its own (`client-<org>`), closed after the test. */
  const startOrgSim = async (org: string, scenario: Record<string, unknown>): Promise<OrgSim> => {
    const sim = await startSimulator({ scenario: parseScenario({ ...scenario, credentials: { clientId: `client-${org}`, clientSecret: `secret-${org}` } }) });
    const clientIds: string[] = [];
    const proxy = await recordingProxy(sim, clientIds);
    closers.push(async () => {
      proxy.server.closeAllConnections();
      await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
      await sim.close();
    });
    // The token requests go through the recorder; the API calls straight to the simulator.
    return { sim, clientIds, target: { apiUrl: sim.apiUrl, loginUrl: proxy.url, ...sim.credentials } };
  };

  const runFleet = async (sims: Record<string, OrgSim>, input: unknown, extras: FleetExtras = {}): Promise<FleetRun> => {
    if (!aws || !dir || !synthesized) throw new Error('useLocalFleet: the local AWS starts in beforeAll');
    const lines: string[] = [];
    const started = Date.now();
    const result = await runFleetLocally({
      orgs,
      targets: Object.fromEntries(Object.entries(sims).map(([org, s]) => [org, s.target])),
      input,
      storeDir: dir,
      aws,
      synthesized,
      onLogLine: (line) => lines.push(line),
      timeoutMs: FLEET_TIMEOUT_MS,
      ...(extras.iam ? { iam: extras.iam } : {}),
    });
    if (!extras.expectDenials) {
      expect(result.denials.map((d) => `${d.principal}: ${d.service}:${d.operation} on ${d.resource}`), 'AWS calls IAM denied').toEqual([]);
    }
    return { result, lines, wallMs: Date.now() - started };
  };

  return {
    orgs,
    startOrgSim,
    runFleet,
    synthesized: () => {
      if (!synthesized) throw new Error('useLocalFleet: synthesized in beforeAll');
      return synthesized;
    },
    aws: () => {
      if (!aws) throw new Error('useLocalFleet: the local AWS starts in beforeAll');
      return aws;
    },
  };
}
