// The timelines a run keeps for its page (functions/domain/timeline.ts), through the real state
// machine and handlers against the simulator: each index's calls and waits in its outcome record,
// the listing's and the probes' calls in the final state, checked against the simulator's own
// log of what it served; and bounded (head and latest) for an index polled long past the bound.
import { describe, expect, it } from 'vitest';
import type { IndexResult } from '../functions/domain/report.ts';
import { MAX_TIMELINE_ENTRIES, TIMELINE_HEAD, type CallEntry, type TimelineEntry } from '../functions/domain/timeline.ts';
import { readOutcomes } from '../functions/steps/index-outcomes.ts';
import { S3RunStore } from '../functions/store/s3-run-store.ts';
import { ADMIN } from '../infra/local/aws/local-aws.ts';
import { clientsAs } from '../infra/local/run-local.ts';
import type { RecordedRequest, Simulator } from '../infra/simulator/server.ts';
import { STATE } from '../infra/stack/state-names.ts';
import { calls, entry, index, puts, useLocalRuns, type Run } from './support/local-run.ts';

const { run, aws, synthesized } = useLocalRuns();

const KIB = 1024;
const METHOD: Record<string, string> = { list: 'listIndexPage', health: 'getHealth', put: 'putOptimization', probe: 'probeQueryLatency' };

/** An entry as the comparisons see it: a call by its method and status, a wait by its reason. */
const shape = (e: TimelineEntry): string => (e.kind === 'call' ? `${e.call} ${e.status}` : `wait ${e.reason}`);

/**
 * What an index's timeline must be, from the simulator's log alone: each request it served for
 * the index (in the order served), followed by the Wait its answer calls for: a retry after a 429
 * on the PUT, the settle after an accepted PUT, a poll after a read that found it refreshing.
 */
function expectedFromLog(sim: Simulator, id: string): string[] {
  const served = sim.requests.filter((q) => q.indexId === id);
  const accepted = served.findIndex((q) => q.endpoint === 'put' && q.status >= 200 && q.status < 300);
  return served.flatMap((q, i) => {
    const waits: string[] = [];
    if (q.endpoint === 'put' && q.status === 429) waits.push('wait retry');
    if (q.endpoint === 'put' && i === accepted) waits.push('wait settle');
    if (q.endpoint === 'health' && accepted >= 0 && i > accepted && q.status === 503) waits.push('wait poll');
    return [`${METHOD[q.endpoint]} ${q.status}`, ...waits];
  });
}

async function outcomeOf(r: Run, id: string): Promise<IndexResult> {
  const store = new S3RunStore(synthesized().resources.only('AWS::S3::Bucket').name, clientsAs(aws(), ADMIN).s3);
  const found = (await readOutcomes(store, r.result.executionId)).filter((o) => o.id === id);
  expect(found, `outcome records of ${id}`).toHaveLength(1);
  return found[0]!;
}

/** The parent execution's state as the Report state received it. */
function finalState(r: Run): { fetch: { calls?: CallEntry[] }; latency: { before: { calls?: CallEntry[] }; after: { calls?: CallEntry[] } } } {
  const entered = r.result.events.filter((e) => e.type === 'StateEntered' && (e as { state?: { name?: string } }).state?.name === STATE.report);
  expect(entered).toHaveLength(1);
  return (entered[0] as unknown as { state: { input: ReturnType<typeof finalState> } }).state.input;
}

const inTimeOrder = (entries: readonly TimelineEntry[]) => {
  const times = entries.map((e) => Date.parse(e.at));
  expect(times.every((t) => !Number.isNaN(t))).toBe(true);
  expect(times).toEqual([...times].sort((a, b) => a - b));
};

/** Each recorded call was answered after the simulator received it (one clock: the simulator runs in this process). */
function answeredAfterArrival(recorded: CallEntry[], served: RecordedRequest[]): void {
  expect(recorded).toHaveLength(served.length);
  recorded.forEach((c, i) => expect(Date.parse(c.at), `${c.call} #${i}`).toBeGreaterThanOrEqual(served[i]!.at));
}

describe("an index's timeline in its outcome record", { timeout: 60_000 }, () => {
  it('throttled once, then accepted, refreshing for a while, then green: every call and wait in time order, as the simulator served them', async () => {
    const r = await run(
      {
        org: { pageSizeCap: 1, faults: { list: [{ status: 429, times: 1, retryAfterSeconds: 1 }], probe: [{ status: 500, times: 1 }] } },
        indexes: [index('story', { refreshSeconds: 3, faults: { put: [{ status: 429, times: 1, retryAfterSeconds: 2 }] } }), index('calm')],
      },
      { timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 10 } },
    );
    expect(r.result.status).toBe('SUCCEEDED');
    expect(entry(r, 'story').outcome).toBe('optimized');

    const story = (await outcomeOf(r, 'story')).timeline!;
    const shapes = story.map(shape);
    // What the simulator served, in order, with the waits its answers call for.
    expect(shapes).toEqual(expectedFromLog(r.sim, 'story'));
    // Spelled out: the pre-check, the throttled PUT and its retry, the accepted PUT and its settle, the reads.
    expect(shapes.slice(0, 5)).toEqual(['getHealth 200', 'putOptimization 429', 'wait retry', 'putOptimization 202', 'wait settle']);
    const reads = shapes.slice(5);
    expect(reads.at(-1)).toBe('getHealth 200');
    const refreshing = reads.slice(0, -1);
    expect(refreshing.length).toBeGreaterThanOrEqual(4);
    expect(refreshing).toEqual(Array.from({ length: refreshing.length }, (_, i) => (i % 2 === 0 ? 'getHealth 503' : 'wait poll')));
    inTimeOrder(story);
    answeredAfterArrival(
      story.filter((e): e is CallEntry => e.kind === 'call'),
      r.sim.requests.filter((q) => q.indexId === 'story'),
    );

    const waits = story.filter((e) => e.kind === 'wait');
    // The retry waits what Retry-After said; the PUTs were that far apart.
    expect(waits[0]).toMatchObject({ reason: 'retry', seconds: 2, detail: 'rate limited (429)' });
    const [throttled, accepted] = puts(r.sim, 'story');
    expect(accepted!.at - throttled!.at).toBeGreaterThanOrEqual(2000);
    expect(waits[1]).toMatchObject({ reason: 'settle', seconds: 0 });
    expect(waits[1]).not.toHaveProperty('detail');
    for (const poll of waits.slice(2)) expect(poll).toMatchObject({ reason: 'poll', seconds: 1, detail: 'refreshing (503)' });
    for (const c of story) if (c.kind === 'call') expect(c.durationMs).toBeGreaterThanOrEqual(0);

    // The index that had nothing happen to it: its pre-check, its PUT, the settle, one read.
    const calm = (await outcomeOf(r, 'calm')).timeline!;
    expect(calm.map(shape)).toEqual(['getHealth 200', 'putOptimization 202', 'wait settle', 'getHealth 200']);
    expect(calm.map(shape)).toEqual(expectedFromLog(r.sim, 'calm'));

    // The run-level calls, in the final state the report function receives.
    const state = finalState(r);
    const listed = calls(r.sim, 'list');
    expect(listed.map((q) => q.status)).toEqual([429, 200, 200]);
    expect(state.fetch.calls!.map((c) => `${c.call} ${c.status}`)).toEqual(listed.map((q) => `listIndexPage ${q.status}`));
    answeredAfterArrival(state.fetch.calls!, listed);
    const firstPut = puts(r.sim)[0]!.at;
    const probes = calls(r.sim, 'probe');
    const before = probes.filter((q) => q.at < firstPut);
    const after = probes.filter((q) => q.at > firstPut);
    expect(before.map((q) => q.status)).toEqual([500, 200]);
    expect(after.map((q) => q.status)).toEqual([200]);
    expect(state.latency.before.calls!.map((c) => `${c.call} ${c.status}`)).toEqual(before.map((q) => `probeQueryLatency ${q.status}`));
    expect(state.latency.after.calls!.map((c) => `${c.call} ${c.status}`)).toEqual(after.map((q) => `probeQueryLatency ${q.status}`));
    answeredAfterArrival(state.latency.before.calls!, before);
    answeredAfterArrival(state.latency.after.calls!, after);

    // report.json keeps its entries small: no timeline in them.
    expect(JSON.stringify(r.result.report)).not.toContain('timeline');
    expect(r.result.maxPayloadBytes).toBeLessThan(16 * KIB);
  });

  it('skipped by the pre-check and failed on the PUT: their outcome records have the calls that decided it', async () => {
    const r = await run({
      indexes: [index('red-now', { health: 'red' }), index('rejected', { faults: { put: [{ status: 400, times: -1, message: 'bad directive' }] } }), index('goes-red', { healthAfterRefresh: 'red' })],
    });
    expect((await outcomeOf(r, 'red-now')).timeline!.map(shape)).toEqual(['getHealth 200']);
    expect((await outcomeOf(r, 'rejected')).timeline!.map(shape)).toEqual(['getHealth 200', 'putOptimization 400']);
    const red = await outcomeOf(r, 'goes-red');
    expect(red.outcome).toBe('failed');
    expect(red.timeline!.map(shape)).toEqual(expectedFromLog(r.sim, 'goes-red'));
    expect(red.timeline!.map(shape).slice(0, 3)).toEqual(['getHealth 200', 'putOptimization 202', 'wait settle']);
    expect(red.timeline!.at(-1)).toMatchObject({ kind: 'call', call: 'getHealth', status: 200 });
  });
});

describe('an index polled long past the bound', () => {
  it(`keeps ${MAX_TIMELINE_ENTRIES} entries (the first ${TIMELINE_HEAD} and the latest), and the state stays small`, async () => {
    // About 58 reads while it refreshes, a call and a wait each: some 115 entries, cut to the bound
    // (each read costs a real second: the suite's time is why not more).
    const r = await run({ indexes: [index('long', { refreshSeconds: 58 })] }, { timing: { settleSeconds: 0, healthPollSeconds: 1, healthTimeoutSeconds: 110 } });
    expect(r.result.status).toBe('SUCCEEDED');
    expect(entry(r, 'long').outcome).toBe('optimized');
    const full = expectedFromLog(r.sim, 'long');
    expect(full.length).toBeGreaterThan(MAX_TIMELINE_ENTRIES + 5);
    const timeline = (await outcomeOf(r, 'long')).timeline!;
    expect(timeline).toHaveLength(MAX_TIMELINE_ENTRIES);
    expect(timeline.slice(0, TIMELINE_HEAD).map(shape)).toEqual(full.slice(0, TIMELINE_HEAD));
    expect(timeline.slice(TIMELINE_HEAD).map(shape)).toEqual(full.slice(full.length - (MAX_TIMELINE_ENTRIES - TIMELINE_HEAD)));
    expect(timeline.at(-1)).toMatchObject({ kind: 'call', call: 'getHealth', status: 200 });
    inTimeOrder(timeline);
    console.log(`long poll: ${full.length} entries cut to ${timeline.length}, ${JSON.stringify(timeline).length} B; max payload ${r.result.maxPayloadBytes} B; ${r.wallMs} ms`);
    // About 10 KiB: a state carries it at most twice (the optimize part, the verify part), here the verify part.
    expect(JSON.stringify(timeline).length).toBeLessThan(12 * KIB);
    expect(r.result.maxPayloadBytes).toBeLessThan(16 * KIB);
  }, 160_000);
});
