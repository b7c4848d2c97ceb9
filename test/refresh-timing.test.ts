// Timing the first health read after a PUT for when the refresh should be over: fewer reads that
// find an index still refreshing, within the user's timing. Through the real state machine, with
// the refresh memory in the pacer's (local DynamoDB) table, as in AWS.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { firstReadDelay, longestFirstReadDelay } from '../functions/domain/refresh-timing.ts';
import { ADMIN } from '../infra/local/aws/local-aws.ts';
import { clientsAs } from '../infra/local/run-local.ts';
import { expectReportCovers, healthReads, healthReadsAfterPut, index, useLocalRuns } from './support/local-run.ts';

const runs = useLocalRuns({ recordCalls: true });

describe('the first health read', () => {
  const timing = { settleSeconds: 30, healthPollSeconds: 15, healthTimeoutSeconds: 900 };

  it('is at the settle time when nothing is known, and never sooner', () => {
    expect(firstReadDelay(timing, null)).toBe(30);
    expect(firstReadDelay(timing, 12)).toBe(30);
  });

  it('waits for the refreshes the org has taken, in whole seconds, up to two polls past the settle', () => {
    expect(firstReadDelay(timing, 42.2)).toBe(43);
    // An outlier is polled for as before rather than making every index wait for it.
    expect(firstReadDelay(timing, 600)).toBe(30 + 2 * 15);
  });

  it('never past the health timeout', () => {
    const short = { settleSeconds: 5, healthPollSeconds: 10, healthTimeoutSeconds: 12 };
    expect(longestFirstReadDelay(short)).toBe(11);
    expect(firstReadDelay(short, 60)).toBe(11);
    // A settle at the timeout itself stays the user's choice.
    expect(firstReadDelay({ settleSeconds: 12, healthPollSeconds: 10, healthTimeoutSeconds: 12 }, 60)).toBe(12);
  });
});

describe('the refresh memory, through the real state machine', { timeout: 60_000 }, () => {
  it('a first run learns how long the org refreshes take; the next run reads each index once', async () => {
    // Every index refreshes for 2.5 s; the settle (1 s) is too short, the poll (2 s) long enough.
    const timing = { settleSeconds: 1, healthPollSeconds: 2, healthTimeoutSeconds: 20 };
    const ids = ['a', 'b', 'c', 'd'];
    const sim = await runs.startSim({ indexes: ids.map((id) => index(id, { refreshSeconds: 2.5 })) });
    const first = await runs.runAgainst(sim, { timing });
    expectReportCovers(first, ids);
    expect(first.result.report!.summary.optimized).toBe(4);
    for (const id of ids) expect(healthReadsAfterPut(sim, id), `first run, ${id}`).toHaveLength(2);

    // What the org's later runs will use: kept per OAuth client, beside its clock.
    const table = runs.synthesized().resources.only('AWS::DynamoDB::Table').name;
    const key = `refresh#${createHash('sha256').update(sim.credentials.clientId).digest('hex').slice(0, 16)}`;
    const { Item } = await clientsAs(runs.aws(), ADMIN).db.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } } }));
    const learned = Number(Item?.['longestSeconds']?.N);
    expect(learned).toBeGreaterThanOrEqual(3);
    expect(learned).toBeLessThanOrEqual(5);
    // The calls that taught it, by the roles the stack grants them to.
    const memoryCalls = runs.aws().calls.filter((c) => c.resource.endsWith(`table/${table}`) && c.operation === 'UpdateItem');
    expect(new Set(memoryCalls.map((c) => c.principal))).toEqual(new Set(['verify']));

    const before = sim.requests.length;
    const second = await runs.runAgainst(sim, { timing });
    expect(second.result.report!.summary.optimized).toBe(4);
    for (const id of ids) {
      // After this run's PUT (its pre-check read comes before it).
      const put = sim.requests.findIndex((r, i) => i >= before && r.endpoint === 'put' && r.indexId === id);
      const reads = healthReads(sim, id).filter((r) => sim.requests.indexOf(r) > put);
      expect(reads, `second run, ${id}: one read, when the refresh is over`).toHaveLength(1);
    }
  });

  it("a refresh shorter than the settle teaches the org nothing: its memory stays empty, reads stay at the settle, and the index's own says it was quick", async () => {
    const sim = await runs.startSim({ indexes: [index('quick', { refreshSeconds: 0.2 })] });
    const r = await runs.runAgainst(sim, { timing: { settleSeconds: 1, healthPollSeconds: 2, healthTimeoutSeconds: 20 } });
    expect(r.result.report!.summary.optimized).toBe(1);
    expect(healthReadsAfterPut(sim, 'quick')).toHaveLength(1);
    const table = runs.synthesized().resources.only('AWS::DynamoDB::Table').name;
    const key = `refresh#${createHash('sha256').update(sim.credentials.clientId).digest('hex').slice(0, 16)}`;
    const db = clientsAs(runs.aws(), ADMIN).db;
    const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } } }));
    expect(Item).toBeUndefined();
    const own = await db.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `${key}#${createHash('sha256').update('quick').digest('hex').slice(0, 24)}` } } }));
    // Healthy at its first read, about the settle (1 s) after its PUT: in whole seconds, 1 or 2.
    expect(Number(own.Item?.['seconds']?.N)).toBeGreaterThanOrEqual(1);
    expect(Number(own.Item?.['seconds']?.N)).toBeLessThanOrEqual(2);
  });

  it("the next run reads each index when its own refresh is over: a quick index at the settle, not at the org's longest", async () => {
    // One index refreshes in 0.2 s, two in 2.5 s; the settle (1 s) is too short for those two.
    const timing = { settleSeconds: 1, healthPollSeconds: 2, healthTimeoutSeconds: 20 };
    const sim = await runs.startSim({ indexes: [index('quick', { refreshSeconds: 0.2 }), index('slow-a', { refreshSeconds: 2.5 }), index('slow-b', { refreshSeconds: 2.5 })] });
    await runs.runAgainst(sim, { timing });
    const before = sim.requests.length;
    const second = await runs.runAgainst(sim, { timing });
    expect(second.result.report!.summary.optimized).toBe(3);
    const delay = (id: string) => {
      const put = sim.requests.find((r, i) => i >= before && r.endpoint === 'put' && r.indexId === id)!;
      const reads = healthReads(sim, id).filter((r) => r.at > put.at && sim.requests.indexOf(r) >= before);
      expect(reads, `second run, ${id}: one read`).toHaveLength(1);
      return (reads[0]!.at - put.at) / 1000;
    };
    // The org's longest is about 3 s (the slow ones' second read in the first run); the quick one
    // is read at its own, about the settle, not at that.
    expect(delay('quick')).toBeLessThan(2.5);
    expect(delay('slow-a')).toBeGreaterThanOrEqual(2.5);
    expect(delay('slow-b')).toBeGreaterThanOrEqual(2.5);
  });
});
