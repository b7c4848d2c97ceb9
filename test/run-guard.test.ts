import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { verdict } from '../functions/guard/run-guard.ts';
import { StepFunctionsRunGuard } from '../functions/guard/sfn-run-guard.ts';
import { synthesizeDefinition } from '../infra/local/definition.ts';
import { runLocally } from '../infra/local/run-local.ts';
import { startLocalAws } from '../infra/local/aws/local-aws.ts';
import { parseScenario } from '../infra/simulator/scenario.ts';
import { startSimulator } from '../infra/simulator/server.ts';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Optimizer';
const exec = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:Optimizer:${name}`;
const me = { executionId: exec('b'), startTime: '2026-11-24T10:00:00.000Z', org: null };

describe('run guard decision', () => {
  it('gives way only to an earlier real run', () => {
    expect(verdict(me, [])).toEqual({ proceed: true });
    expect(verdict(me, [{ executionId: exec('a'), startTime: '2026-11-24T09:00:00.000Z', dryRun: false, org: null }])).toEqual({
      proceed: false,
      runningExecution: exec('a'),
      startedAt: '2026-11-24T09:00:00.000Z',
    });
    // A later run, a dry run and this run itself never block.
    expect(verdict(me, [{ executionId: exec('c'), startTime: '2026-11-24T11:00:00.000Z', dryRun: false, org: null }])).toEqual({ proceed: true });
    expect(verdict(me, [{ executionId: exec('a'), startTime: '2026-11-24T09:00:00.000Z', dryRun: true, org: null }])).toEqual({ proceed: true });
    expect(verdict(me, [{ ...me, dryRun: false, org: null }])).toEqual({ proceed: true });
  });

  it("in a fleet, gives way only to an earlier real run of the same org", () => {
    const prod = { ...me, org: 'prod-eu' };
    const earlier = { executionId: exec('a'), startTime: '2026-11-24T09:00:00.000Z', dryRun: false };
    expect(verdict(prod, [{ ...earlier, org: 'test-us' }])).toEqual({ proceed: true });
    expect(verdict(prod, [{ ...earlier, org: null }])).toEqual({ proceed: true });
    expect(verdict(prod, [{ ...earlier, org: 'prod-eu' }]).proceed).toBe(false);
  });

  it('breaks a tie of start times by execution id, so exactly one of two runs goes on', () => {
    const a = { executionId: exec('a'), startTime: me.startTime, org: null };
    expect(verdict(me, [{ ...a, dryRun: false, org: null }]).proceed).toBe(false);
    expect(verdict(a, [{ ...me, dryRun: false, org: null }]).proceed).toBe(true);
  });
});

describe('Step Functions run guard', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());
  // The mock replaces every SFNClient in the process: the local run below must reach the local endpoint.
  afterAll(() => sfn.restore());

  it('lists RUNNING executions of the state machine across pages and reads only earlier ones', async () => {
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({
        executions: [
          { executionArn: exec('b'), stateMachineArn: SM, name: 'b', status: 'RUNNING', startDate: new Date(me.startTime) },
          { executionArn: exec('later'), stateMachineArn: SM, name: 'later', status: 'RUNNING', startDate: new Date('2026-11-24T11:00:00Z') },
        ],
        nextToken: 'page2',
      })
      .resolvesOnce({
        executions: [{ executionArn: exec('early'), stateMachineArn: SM, name: 'early', status: 'RUNNING', startDate: new Date('2026-11-24T08:00:00Z') }],
      });
    sfn.on(DescribeExecutionCommand, { executionArn: exec('early') }).resolves({ input: '{"maxConcurrency": 3}' });
    const result = await new StepFunctionsRunGuard(SM, new SFNClient({ region: 'eu-west-1' })).check(me);
    expect(result).toEqual({ proceed: false, runningExecution: exec('early'), startedAt: '2026-11-24T08:00:00.000Z' });
    const lists = sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { stateMachineArn: SM, statusFilter: 'RUNNING', maxResults: 100, nextToken: undefined },
      { stateMachineArn: SM, statusFilter: 'RUNNING', maxResults: 100, nextToken: 'page2' },
    ]);
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([exec('early')]);
  });

  it('lets a run proceed when the earlier one is a dry run', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: exec('early'), stateMachineArn: SM, name: 'early', status: 'RUNNING', startDate: new Date('2026-11-24T08:00:00Z') }],
    });
    sfn.on(DescribeExecutionCommand).resolves({ input: '{"dryRun": true}' });
    expect(await new StepFunctionsRunGuard(SM, new SFNClient({ region: 'eu-west-1' })).check(me)).toEqual({ proceed: true });
  });

  it('a run that ended between the listing and its description blocks nothing', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: exec('early'), stateMachineArn: SM, name: 'early', status: 'RUNNING', startDate: new Date('2026-11-24T08:00:00Z') }],
    });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', input: '{}' });
    expect(await new StepFunctionsRunGuard(SM, new SFNClient({ region: 'eu-west-1' })).check(me)).toEqual({ proceed: true });
  });

  it("does not read another org's fleet run (named <org>-<uuid>): a wave of runs starting together makes no DescribeExecution calls for each other", async () => {
    const uuid = '6fa459ea-ee8a-3ca4-894e-db77e160355e';
    const started = new Date('2026-11-24T08:00:00Z');
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        { executionArn: exec(`prod-us-${uuid}`), stateMachineArn: SM, name: `prod-us-${uuid}`, status: 'RUNNING', startDate: started },
        { executionArn: exec(`prod-${uuid}`), stateMachineArn: SM, name: `prod-${uuid}`, status: 'RUNNING', startDate: started },
        { executionArn: exec(`prod-eu-${uuid}`), stateMachineArn: SM, name: `prod-eu-${uuid}`, status: 'RUNNING', startDate: started },
        { executionArn: exec('manual-1'), stateMachineArn: SM, name: 'manual-1', status: 'RUNNING', startDate: started },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({ input: '{"org": "prod-eu", "dryRun": true}' });
    const guard = new StepFunctionsRunGuard(SM, new SFNClient({ region: 'eu-west-1' }));
    expect(await guard.check({ ...me, org: 'prod-eu' })).toEqual({ proceed: true });
    // Its own org's run and the one whose name says nothing are read; "prod" and "prod-us" are not.
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([exec(`prod-eu-${uuid}`), exec('manual-1')]);
  });

  it("reads each earlier run's org from its input: another org's run never blocks", async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        { executionArn: exec('other'), stateMachineArn: SM, name: 'other', status: 'RUNNING', startDate: new Date('2026-11-24T08:00:00Z') },
        { executionArn: exec('same'), stateMachineArn: SM, name: 'same', status: 'RUNNING', startDate: new Date('2026-11-24T09:00:00Z') },
      ],
    });
    sfn.on(DescribeExecutionCommand, { executionArn: exec('other') }).resolves({ input: '{"org": "test-us"}' });
    sfn.on(DescribeExecutionCommand, { executionArn: exec('same') }).resolves({ input: '{"org": "prod-eu", "dryRun": false}' });
    const guard = new StepFunctionsRunGuard(SM, new SFNClient({ region: 'eu-west-1' }));
    expect(await guard.check({ ...me, org: 'prod-eu' })).toEqual({ proceed: false, runningExecution: exec('same'), startedAt: '2026-11-24T09:00:00.000Z' });
    expect(await guard.check({ ...me, org: 'eu-2' })).toEqual({ proceed: true });
  });
});

describe('run guard in a local run', () => {
  it('stops a real run through the state machine while an earlier real run of it is going, touching nothing', async () => {
    const sim = await startSimulator({
      scenario: parseScenario({ indexes: [{ id: 'a', name: 'alpha', shardCount: 1, replicaCount: 1, storageBytes: 1, status: 'active' }] }),
    });
    const dir = await mkdtemp(join(tmpdir(), 'guard-run-'));
    const aws = await startLocalAws({ dir });
    try {
      const synthesized = synthesizeDefinition();
      const stateMachineArn = synthesized.optimizer.arn;
      const earlier = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:earlier`;
      // Listed by the local Step Functions endpoint as RUNNING, as a run in another terminal would be.
      aws.executions.register({ executionArn: earlier, stateMachineArn, name: 'earlier', startDate: '2020-01-01T00:00:00.000Z', input: '{}', pid: process.pid });
      const target = { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl, ...sim.credentials };
      const blocked = await runLocally({ input: {}, target, storeDir: dir, aws, synthesized, onLogLine: () => {} });
      expect(blocked.denials).toEqual([]);
      expect(blocked.status).toBe('SUCCEEDED');
      expect(blocked.output).toMatchObject({ outcome: 'already-running', runningExecution: earlier });
      expect(sim.requests).toHaveLength(0);
      // A dry run is never held back.
      const dry = await runLocally({ input: { dryRun: true, org: null }, target, storeDir: dir, aws, synthesized, onLogLine: () => {} });
      expect(dry.report?.summary).toMatchObject({ total: 1, planned: 1 });
    } finally {
      await aws.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
