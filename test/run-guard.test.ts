import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_EXECUTIONS_DIR, LocalRunGuard } from '../functions/guard/local-run-guard.ts';
import { verdict } from '../functions/guard/run-guard.ts';
import { StepFunctionsRunGuard } from '../functions/guard/sfn-run-guard.ts';
import { synthesizeDefinition } from '../infra/local/definition.ts';
import { runLocally } from '../infra/local/run-local.ts';
import { parseScenario } from '../infra/simulator/scenario.ts';
import { startSimulator } from '../infra/simulator/server.ts';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Optimizer';
const exec = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:Optimizer:${name}`;
const me = { executionId: exec('b'), startTime: '2026-11-24T10:00:00.000Z' };

describe('run guard decision', () => {
  it('gives way only to an earlier real run', () => {
    expect(verdict(me, [])).toEqual({ proceed: true });
    expect(verdict(me, [{ executionId: exec('a'), startTime: '2026-11-24T09:00:00.000Z', dryRun: false }])).toEqual({
      proceed: false,
      runningExecution: exec('a'),
      startedAt: '2026-11-24T09:00:00.000Z',
    });
    // A later run, a dry run and this run itself never block.
    expect(verdict(me, [{ executionId: exec('c'), startTime: '2026-11-24T11:00:00.000Z', dryRun: false }])).toEqual({ proceed: true });
    expect(verdict(me, [{ executionId: exec('a'), startTime: '2026-11-24T09:00:00.000Z', dryRun: true }])).toEqual({ proceed: true });
    expect(verdict(me, [{ ...me, dryRun: false }])).toEqual({ proceed: true });
  });

  it('breaks a tie of start times by execution id, so exactly one of two runs goes on', () => {
    const a = { executionId: exec('a'), startTime: me.startTime };
    expect(verdict(me, [{ ...a, dryRun: false }]).proceed).toBe(false);
    expect(verdict(a, [{ ...me, dryRun: false }]).proceed).toBe(true);
  });
});

describe('Step Functions run guard', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());

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
});

async function register(storeDir: string, record: object): Promise<void> {
  await mkdir(join(storeDir, LOCAL_EXECUTIONS_DIR), { recursive: true });
  await writeFile(join(storeDir, LOCAL_EXECUTIONS_DIR, `${Math.random().toString(36).slice(2)}.json`), JSON.stringify(record));
}

describe('local run guard', () => {
  it('counts only live processes on the same target', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'guard-'));
    const earlier = { executionId: exec('a'), startTime: '2026-11-24T09:00:00.000Z', dryRun: false };
    await register(dir, { ...earlier, pid: 2 ** 22 + 12345, target: 'http://x' }); // no such process
    await register(dir, { ...earlier, pid: process.pid, target: 'http://other-org' });
    expect(await new LocalRunGuard(dir, 'http://x').check(me)).toEqual({ proceed: true });
    await register(dir, { ...earlier, pid: process.pid, target: 'http://x' });
    expect(await new LocalRunGuard(dir, 'http://x').check(me)).toMatchObject({ proceed: false, runningExecution: exec('a') });
  });

  it('stops a real run through the state machine while an earlier real run on the same org is going, touching nothing', async () => {
    const sim = await startSimulator({
      scenario: parseScenario({ indexes: [{ id: 'a', name: 'alpha', shardCount: 1, replicaCount: 1, storageBytes: 1, status: 'active' }] }),
    });
    try {
      const storeDir = await mkdtemp(join(tmpdir(), 'guard-run-'));
      await register(storeDir, { executionId: exec('earlier'), startTime: '2020-01-01T00:00:00.000Z', dryRun: false, pid: process.pid, target: sim.apiUrl });
      const synthesized = synthesizeDefinition();
      const target = { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl, ...sim.credentials };
      const blocked = await runLocally({ input: {}, target, storeDir, synthesized, onLogLine: () => {} });
      expect(blocked.status).toBe('SUCCEEDED');
      expect(blocked.output).toMatchObject({ outcome: 'already-running', runningExecution: exec('earlier') });
      expect(sim.requests).toHaveLength(0);
      // A dry run is never held back.
      const dry = await runLocally({ input: { dryRun: true }, target, storeDir, synthesized, onLogLine: () => {} });
      expect(dry.report?.summary).toMatchObject({ total: 1, planned: 1 });
    } finally {
      await sim.close();
    }
  }, 30_000);
});
