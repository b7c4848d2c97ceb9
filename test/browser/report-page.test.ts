// The run's page in a real browser: a small run against the simulator, locally as npm start runs
// it, then its report.html opened from the local store over file:// in Chromium. The charts are
// drawn with data, the timeline has a row per index that did something, the budget line is the
// run's budget, the table filters and sorts, nothing is fetched. `npm run test:browser`
// (vitest.browser.config.ts); Chromium from CHROMIUM_PATH or the usual paths (chromium.ts).
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { FAST, index, useLocalRuns, type Run } from '../support/local-run.ts';
import { localRunPage } from '../../infra/local/run-page-file.ts';
import type { ReportEntry } from '../../functions/domain/report.ts';
import { launchChromium } from './chromium.ts';

// The browser's globals, as the functions given to page.evaluate see them there (this project's types are Node's).
declare const document: any;
declare const window: any;

const OUTPUT = fileURLToPath(new URL('../../.test-output/', import.meta.url));
const BUDGET = 240;
/** A name that would be markup if it were ever inserted as HTML. */
const MARKUP_NAME = '<b>bold</b> & "co"';

const runs = useLocalRuns();
let browser: Browser;
let page: Page;
let run: Run;
let file: string;
const requests: string[] = [];
const errors: string[] = [];

beforeAll(async () => {
  rmSync(join(OUTPUT, 'pages'), { recursive: true, force: true });
  browser = await launchChromium();
  const sim = await runs.startSim({
    indexes: [
      index('quick'),
      index('slow', { refreshSeconds: 2 }),
      index('throttled', { faults: { put: [{ status: 429, retryAfterSeconds: 1, times: 1 }] } }),
      index('broken', { faults: { put: [{ status: 400, times: -1, message: 'Validation failed: refreshPolicy not allowed' }] } }),
      index('marked', {}, { name: MARKUP_NAME }),
      index('too-big', {}, { shardCount: 60 }),
    ],
  });
  run = await runs.runAgainst(sim, { timing: FAST, apiBudgetPerMinute: BUDGET });
  const copied = localRunPage(OUTPUT, run.result);
  expect(copied, 'the run wrote its page').not.toBeNull();
  file = copied!.file;
  // The copy is the object as the report function stored it.
  expect(readFileSync(file, 'utf8')).toBe(readFileSync(copied!.object, 'utf8'));
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready=true]', { timeout: 15_000 });
}, 150_000);

afterAll(async () => {
  if (page) {
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'report-page.png'), fullPage: true });
  }
  await browser?.close();
});

const report = () => run.result.report!;
const tableIds = () => page.$$eval('#index-table tbody tr', (trs) => trs.map((tr) => (tr as unknown as { dataset: Record<string, string> }).dataset['id']!));
/** The table's matching rule: the text is in the name, id, outcome or reason (case-insensitive). */
const matching = (q: string) => (e: ReportEntry) => [e.name ?? e.id, e.id, e.outcome, e.reason ?? ''].join('\n').toLowerCase().includes(q.toLowerCase());

describe('the run page in Chromium', () => {
  it('opened from the local store, it made no request but its own file, and no error', () => {
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(errors).toEqual([]);
    expect(report().summary).toMatchObject({ total: 6, failed: 1 });
  });

  it('draws each chart with data: datasets with points, and pixels on the canvas', async () => {
    const charts = await page.evaluate(() => {
      return ['timeline-chart', 'calls-chart', 'latency-chart'].map((id) => {
        const canvas = document.getElementById(id);
        const chart: { data: { datasets: Array<{ data: unknown[] }> } } | undefined = window.Chart.getChart(canvas);
        const pixels: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let drawn = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) drawn++;
        return { id, datasets: chart?.data.datasets.length ?? 0, points: chart?.data.datasets.reduce((n, d) => n + d.data.length, 0) ?? 0, drawn, size: (canvas.width as number) * (canvas.height as number) };
      });
    });
    for (const c of charts) {
      expect(c.datasets, c.id).toBeGreaterThan(0);
      expect(c.points, c.id).toBeGreaterThan(0);
      // Transparent where nothing is drawn: a chart with axes, labels and data covers a fair share.
      expect(c.drawn / c.size, `${c.id}: share of the canvas drawn`).toBeGreaterThan(0.01);
    }
  });

  it('the timeline has one row per index that made a call, each with its PUT or health reads', async () => {
    const rows = await page.evaluate(() => {
      const chart: { data: { labels: string[]; datasets: Array<{ label: string; data: Array<{ y: number }> }> } } = window.Chart.getChart(document.getElementById('timeline-chart'));
      const calls = chart.data.datasets.filter((d) => d.label === 'PUT' || d.label === 'health read').flatMap((d) => d.data.map((p) => p.y));
      return { labels: chart.data.labels, rowsWithCalls: [...new Set(calls)].sort((a, b) => a - b) };
    });
    // Every index of the plan but the one skipped by policy made calls (too-big never did).
    const active = report().indexes.filter((e) => e.id !== 'too-big').map((e) => e.name);
    expect([...rows.labels].sort()).toEqual([...active].sort());
    expect(rows.rowsWithCalls).toEqual(rows.labels.map((_, i) => i));
    expect(await page.textContent('#tl-rows')).toBe(`rows 1–${active.length} of ${active.length}`);
  });

  it("draws the budget line at the run's budget", async () => {
    const budget = await page.evaluate(() => {
      const chart: { data: { datasets: Array<{ label: string; data: Array<{ y: number }> }> } } = window.Chart.getChart(document.getElementById('calls-chart'));
      return chart.data.datasets.filter((d) => d.label.startsWith('budget')).map((d) => d.data.map((p) => p.y));
    });
    expect(budget).toEqual([[BUDGET, BUDGET]]);
  });

  it('the table filters by text and by outcome, leaving exactly the matching rows', async () => {
    expect((await tableIds()).sort()).toEqual(report().indexes.map((e) => e.id).sort());
    for (const q of ['broken', 'failed', 'SLOW', 'refreshPolicy']) {
      await page.fill('#filter', q);
      expect((await tableIds()).sort(), q).toEqual(report().indexes.filter(matching(q)).map((e) => e.id).sort());
      expect(await page.textContent('#table-count')).toBe(`${report().indexes.filter(matching(q)).length} of 6 indexes`);
    }
    await page.fill('#filter', '');
    await page.selectOption('#filter-outcome', 'skipped');
    expect((await tableIds()).sort()).toEqual(report().indexes.filter((e) => e.outcome === 'skipped').map((e) => e.id).sort());
    await page.selectOption('#filter-outcome', '');
    expect(await tableIds()).toHaveLength(6);
  });

  it('the table sorts by a column, ascending then descending, missing values last', async () => {
    const before = (e: ReportEntry) => e.effect?.queryLatencyMs.before ?? null;
    const expected = (dir: 1 | -1) =>
      [...report().indexes]
        .map((e, n) => ({ e, n }))
        .sort((a, b) => {
          const x = before(a.e);
          const y = before(b.e);
          if (x === null || y === null) return x === y ? a.n - b.n : x === null ? 1 : -1;
          return (x - y) * dir || a.n - b.n;
        })
        .map(({ e }) => e.id);
    const header = page.locator('#index-table th[data-key=lb] button');
    await header.click();
    expect(await tableIds()).toEqual(expected(1));
    expect(await page.getAttribute('#index-table th[data-key=lb]', 'aria-sort')).toBe('ascending');
    await header.click();
    expect(await tableIds()).toEqual(expected(-1));
    await page.locator('#index-table th[data-key=name] button').click();
    const name = (e: ReportEntry) => (e.name ?? e.id).toLowerCase();
    expect(await tableIds()).toEqual([...report().indexes].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0)).map((e) => e.id));
  });

  it('an index name that looks like markup is shown as text', async () => {
    expect(await page.locator('#index-table b').count()).toBe(0);
    expect(await page.locator('#index-table tr[data-id=marked] td.name').innerText()).toContain(MARKUP_NAME);
  });
});
