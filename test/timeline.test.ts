// An index's timeline (functions/domain/timeline.ts): the bound of its list (its head and its
// latest entries), the waits' details, and the calls the response recorder keeps from the real
// client over HTTP, answered or not (a reset connection, a timeout).
import { afterEach, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  appendTimeline,
  MAX_TIMELINE_ENTRIES,
  TIMELINE_HEAD,
  waitDetail,
  waitEntry,
  type CallEntry,
  type TimelineEntry,
} from '../functions/domain/timeline.ts';
import { GenesysClient, type OptimizationDirectives } from '../functions/genesys/client.ts';
import { recordGenesysResponses } from '../functions/shared/invocation.ts';
import { createMetrics } from '../functions/shared/metrics.ts';
import { parseScenario } from '../infra/simulator/scenario.ts';
import { startSimulator, type Simulator } from '../infra/simulator/server.ts';
import { index } from './support/local-run.ts';

const call = (n: number, status = 200): CallEntry => ({ kind: 'call', at: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(), call: 'getHealth', status, durationMs: n });

describe('appendTimeline', () => {
  it('keeps everything up to the bound, in order', () => {
    const all = Array.from({ length: MAX_TIMELINE_ENTRIES }, (_, i) => call(i));
    expect(appendTimeline(undefined, all)).toEqual(all);
    expect(appendTimeline(all.slice(0, 40), all.slice(40))).toEqual(all);
    expect(appendTimeline([], [])).toEqual([]);
  });

  it('over the bound: the first TIMELINE_HEAD entries and the latest ones, MAX_TIMELINE_ENTRIES in all', () => {
    const all = Array.from({ length: MAX_TIMELINE_ENTRIES + 1 }, (_, i) => call(i));
    const cut = appendTimeline(all.slice(0, MAX_TIMELINE_ENTRIES), all.slice(MAX_TIMELINE_ENTRIES));
    expect(cut).toHaveLength(MAX_TIMELINE_ENTRIES);
    expect(cut.slice(0, TIMELINE_HEAD)).toEqual(all.slice(0, TIMELINE_HEAD));
    // The one entry dropped is the first after the head.
    expect(cut.slice(TIMELINE_HEAD)).toEqual(all.slice(TIMELINE_HEAD + 1));
  });

  it('appended one invocation at a time (a call and a wait per poll, 1,000 polls): the head stays the start, the rest is the latest', () => {
    const start: TimelineEntry[] = [call(0), call(1, 202), waitEntry('settle', 30)];
    let timeline = appendTimeline(undefined, start);
    const every: TimelineEntry[] = [...start];
    for (let poll = 0; poll < 1000; poll++) {
      const added: TimelineEntry[] = [call(2 + poll, 503), waitEntry('poll', 15, 'refreshing (503)')];
      every.push(...added);
      timeline = appendTimeline(timeline, added);
      expect(timeline.length).toBeLessThanOrEqual(MAX_TIMELINE_ENTRIES);
    }
    expect(timeline).toHaveLength(MAX_TIMELINE_ENTRIES);
    expect(timeline.slice(0, TIMELINE_HEAD)).toEqual(every.slice(0, TIMELINE_HEAD));
    expect(timeline.slice(TIMELINE_HEAD)).toEqual(every.slice(every.length - (MAX_TIMELINE_ENTRIES - TIMELINE_HEAD)));
    // What one index carries through the state and into its outcome record: about 10 KiB at most.
    expect(JSON.stringify(timeline).length).toBeLessThan(10 * 1024);
  });

  it('does not change the list it was given', () => {
    const before = Array.from({ length: MAX_TIMELINE_ENTRIES }, (_, i) => call(i));
    const copy = structuredClone(before);
    appendTimeline(before, [call(500)]);
    expect(before).toEqual(copy);
  });
});

describe('a wait\'s detail', () => {
  it.each([
    ['rate limited (429), retry after 2 s: Rate limit exceeded (correlation id 5f0c…)', 'rate limited (429)'],
    ['index busy (503): refreshing or rebalancing: Cluster rebalancing in progress', 'index busy (503)'],
    ['server error (500): boom', 'server error (500)'],
    ['refreshing (503)', 'refreshing (503)'],
    ['no response within 10000 ms (timeout)', 'no response within 10000 ms (timeout)'],
    ['network error: ECONNREFUSED', 'network error: ECONNREFUSED'],
    // As the errors give them: the call first, the correlation id last.
    ['PUT /api/v2/search/indexes/story: rate limited (429), retry after 2 s [correlation id 0b6f-…]', 'rate limited (429)'],
    ['GET /api/v2/search/indexes/a/health: server error (502): Bad gateway [correlation id 0b6f-…]', 'server error (502)'],
    ['GET /api/v2/search/indexes/a/health: no response within 10000 ms (timeout)', 'no response within 10000 ms (timeout)'],
    ['POST /api/v2/analytics/conversations/details/query: network error: ECONNRESET', 'network error: ECONNRESET'],
  ])('%s → %s', (reason, detail) => {
    expect(waitDetail(reason)).toBe(detail);
  });

  it('is bounded whatever the reason', () => {
    expect(waitDetail(`network error: ${'x'.repeat(500)}`).length).toBeLessThanOrEqual(60);
    expect(waitEntry('retry', 4, `network error: ${'x'.repeat(500)}`).detail!.length).toBeLessThanOrEqual(60);
    expect(waitEntry('settle', 30)).not.toHaveProperty('detail');
  });
});

describe('the calls an invocation records', () => {
  const sims: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });
  const DIRECTIVES: OptimizationDirectives = {
    refreshPolicy: 'on_demand',
    reindexStrategy: 'async_background',
    shardOptimization: { rebalanceStrategy: 'even_distribution', forceMerge: true, replicaTrigger: true },
    validationRules: { checkDiskUsage: true, checkQueryLatency: true },
  };

  it("every API call by the client's method, answered or not (status 0), in the order of the simulator's log; no token call", async () => {
    const sim = await startSimulator({
      scenario: parseScenario({
        org: { pageSizeCap: 1, faults: { list: [{ status: 429, times: 1, retryAfterSeconds: 1 }], probe: [{ delayMs: 800, times: 1 }] } },
        indexes: [index('a', { faults: { put: [{ reset: true, times: 1 }, { status: 429, times: 1, retryAfterSeconds: 1 }] } }), index('b')],
      }),
    });
    sims.push(sim);
    const log = new Logger({ serviceName: 'timeline-test', logLevel: 'SILENT' });
    const responses = recordGenesysResponses(log, createMetrics());
    const client = new GenesysClient({
      hosts: { apiUrl: sim.apiUrl, loginUrl: sim.loginUrl },
      credentials: sim.credentials,
      timeoutMs: 300,
      onResponse: responses.onResponse,
    });
    const attempt = async (p: Promise<unknown>) => p.then(() => 'ok', (err: Error) => err.name);

    expect(await attempt(client.listIndexPage(1))).toBe('Genesys.RateLimited');
    expect(await attempt(client.listIndexPage(1))).toBe('ok');
    expect(await attempt(client.listIndexPage(2))).toBe('ok');
    expect(await attempt(client.getHealth('a'))).toBe('ok');
    expect(await attempt(client.putOptimization('a', DIRECTIVES))).toBe('Genesys.Transient');
    expect(await attempt(client.putOptimization('a', DIRECTIVES))).toBe('Genesys.RateLimited');
    expect(await attempt(client.putOptimization('a', DIRECTIVES))).toBe('ok');
    expect(await attempt(client.probeQueryLatency())).toBe('Genesys.Transient');
    expect(await attempt(client.probeQueryLatency())).toBe('ok');

    const recorded = responses.calls();
    const method = { list: 'listIndexPage', health: 'getHealth', put: 'putOptimization', probe: 'probeQueryLatency' } as Record<string, string>;
    // The probe that timed out is in the simulator's log when its delayed answer is abandoned, later than the next one.
    const served = sim.requests.filter((q) => q.endpoint !== 'token').sort((x, y) => x.at - y.at);
    expect(recorded.map((c) => [c.call, c.status])).toEqual(served.map((q) => [method[q.endpoint], q.status]));
    expect(recorded.map((c) => [c.call, c.status])).toEqual([
      ['listIndexPage', 429],
      ['listIndexPage', 200],
      ['listIndexPage', 200],
      ['getHealth', 200],
      ['putOptimization', 0],
      ['putOptimization', 429],
      ['putOptimization', 202],
      ['probeQueryLatency', 0],
      ['probeQueryLatency', 200],
    ]);
    expect(sim.requests.some((q) => q.endpoint === 'token')).toBe(true);
    for (const c of recorded) {
      expect(c.kind).toBe('call');
      expect(Number.isNaN(Date.parse(c.at))).toBe(false);
      expect(c.durationMs).toBeGreaterThanOrEqual(0);
    }
    // The timed-out probe took about the client's timeout.
    expect(recorded[7]!.durationMs).toBeGreaterThanOrEqual(290);
    expect(recorded.map((c) => Date.parse(c.at))).toEqual([...recorded.map((c) => Date.parse(c.at))].sort((x, y) => x - y));
    // A copy: what the handler appends is not changed by later calls.
    responses.calls().pop();
    expect(responses.calls()).toHaveLength(9);
  });
});
