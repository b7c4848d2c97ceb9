// The run's page (functions/report-html): one self-contained file whose size stays small for a
// large org, whose data survives the compact encoding, and in which nothing from the data can
// become markup. What it looks like and does in a browser: test/browser/report-page.test.ts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildRunPage, embeddableJson, escapeHtml } from '../functions/report-html/run-page.ts';
import { CALL, ENTRY_WIDTH, OUTCOMES, pageData, WAIT, WAIT_REASONS, type PageData } from '../functions/report-html/page-data.ts';
import { inlineableScript, loadChartLibrary } from '../functions/report-html/chart-library.ts';
import { PAGE_SCRIPT } from '../functions/report-html/page-script.ts';
import { runNotice } from '../functions/domain/run-notice.ts';
import { syntheticRun } from './support/synthetic-run.ts';

const chart = loadChartLibrary();

/** The JSON embedded in a page, read back as the browser reads it. */
function embedded(html: string): PageData {
  const m = /<script type="application\/json" id="run-data">([^<]*)<\/script>/.exec(html);
  expect(m, 'the data element').not.toBeNull();
  return JSON.parse(m![1]!) as PageData;
}

const scripts = (html: string) => [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);

describe('the run page', () => {
  it('for 1,000 indexes is one file of a few hundred KB: Chart.js and the data inlined, nothing to fetch', () => {
    const model = syntheticRun(1_000);
    const html = buildRunPage(model, chart);
    const bytes = Buffer.byteLength(html);
    expect(bytes).toBeLessThan(550 * 1024);
    // Nothing the browser would fetch: no src or href to another resource, no link, no import.
    expect(html).not.toMatch(/<(link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\ssrc=/i);
    expect(html).not.toMatch(/sourceMappingURL/);
    expect(html).not.toMatch(/\bimport\s*\(/);
    expect(scripts(html)).toEqual(['<script type="application/json" id="run-data">', '<script>', '<script>']);
    expect(html).toContain('Chart.js v4');
    const data = embedded(html);
    expect(data.ix).toHaveLength(1_000);
    process.stdout.write(`run page for 1,000 indexes: ${(bytes / 1024).toFixed(0)} KiB (Chart.js ${(Buffer.byteLength(chart) / 1024).toFixed(0)} KiB, data ${(Buffer.byteLength(JSON.stringify(data)) / 1024).toFixed(0)} KiB)\n`);
  });

  it('its Content-Security-Policy allows no request and only its own two scripts', () => {
    const html = buildRunPage(syntheticRun(5), chart);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!.replace(/&#39;/g, "'");
    expect(csp).toMatch(/^default-src 'none'; /);
    expect(csp).not.toMatch(/connect-src|unsafe-eval|'unsafe-inline'[^;]*script|https?:/);
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
    expect(csp).toContain(`script-src ${hash(chart)} ${hash(PAGE_SCRIPT)};`);
    // The hashed text is exactly what stands between the tags.
    expect(html).toContain(`<script>${chart}</script>`);
    expect(html).toContain(`<script>${PAGE_SCRIPT}</script>`);
  });

  it('keeps every index, outcome, reason, effect and timeline entry: times from the first call, each after the one before', () => {
    const model = syntheticRun(30);
    const data = pageData(model);
    const start = Date.parse(data.start);
    const firstCall = Math.min(...[...model.timelines.values()].flat().map((e) => Date.parse(e.at) - (e.kind === 'call' ? e.durationMs : 0)), ...model.runCalls.listing.map((c) => Date.parse(c.at) - c.durationMs));
    expect(start).toBe(firstCall);
    expect(data.budget).toBe(240);
    expect(data.maxRegression).toBe(0.2);
    expect(data.end).toBe(Date.parse(model.report.finishedAt) - start);
    for (const [i, row] of data.ix.entries()) {
      const entry = model.report.indexes[i]!;
      const [id, name, outcome, reasonRef, effect, flat] = row;
      expect([id, name, OUTCOMES[outcome], reasonRef < 0 ? null : data.s[reasonRef]]).toEqual([entry.id, entry.name, entry.outcome, entry.reason]);
      expect(effect === 0 ? null : effect).toEqual(entry.effect ? [entry.effect.queryLatencyMs.before, entry.effect.queryLatencyMs.after, entry.effect.diskUsage.before, entry.effect.diskUsage.after, entry.effect.regressed ? 1 : 0] : null);
      const timeline = model.timelines.get(entry.id) ?? [];
      expect(flat).toHaveLength(timeline.length * ENTRY_WIDTH);
      let t = 0;
      timeline.forEach((e, k) => {
        const [kind, code, since, length, last] = flat.slice(k * ENTRY_WIDTH, (k + 1) * ENTRY_WIDTH) as [number, number, number, number, number];
        t += since;
        expect(t).toBe(Date.parse(e.at) - start);
        if (e.kind === 'call') expect([kind, data.s[code], length, last]).toEqual([CALL, e.call, e.durationMs, e.status]);
        else expect([kind, WAIT_REASONS[code], length, last < 0 ? undefined : data.s[last]]).toEqual([WAIT, e.reason, e.seconds, e.detail]);
      });
    }
    expect(data.run).toHaveLength(model.runCalls.listing.length + 2);
  });

  it('a run without a single call (a dry run that failed to list, say) starts at its report', () => {
    const model = { ...syntheticRun(3), timelines: new Map(), runCalls: { listing: [], probeBefore: [], probeAfter: [] } };
    const data = pageData(model);
    expect(data.start).toBe(model.report.finishedAt);
    expect(data.end).toBe(0);
  });

  it('nothing from the data becomes markup: names, reasons, the org, warnings, the error and the input are text', () => {
    const evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
    const model = syntheticRun(12, { name: (i) => (i === 0 ? evil : `idx-${i}`) });
    model.report.org = `org ${evil}`;
    model.report.warnings = [`warning ${evil}`];
    model.report.error = { name: 'Run.IndexesFailed', cause: `cause ${evil}` };
    model.report.indexes[1]!.reason = `reason ${evil}`;
    model.report.indexes[1]!.outcome = 'failed';
    model.input = { note: evil };
    model.executionUrl = 'javascript:alert(3)';
    const html = buildRunPage(model, chart);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('href="javascript:');
    expect(scripts(html)).toHaveLength(3);
    expect(html).toContain(escapeHtml(`org ${evil}`));
    expect(html).toContain(escapeHtml(`warning ${evil}`));
    // The data element holds the names as they are, once parsed.
    const data = embedded(html);
    expect(data.ix[0]![1]).toBe(evil);
    expect(data.s[data.ix[1]![3]]).toBe(`reason ${evil}`);
    expect(embeddableJson({ a: '</script><!--' })).toBe('{"a":"\\u003c/script>\\u003c!--"}');
  });

  it('the scripts it inlines cannot end their element early', () => {
    expect(inlineableScript(PAGE_SCRIPT)).toBe(PAGE_SCRIPT);
    expect(chart).not.toMatch(/<\/script|<!--/i);
    expect(() => inlineableScript('var a = "</script>";')).toThrow(/cannot be inlined/);
    expect(inlineableScript('x();\n//# sourceMappingURL=x.js.map\n')).toBe('x();\n');
  });
});

describe('the run-completed notice', () => {
  it('names the page in the S3 console with its s3:// location, or says it was not written', () => {
    const { report } = syntheticRun(3);
    const page = 's3://run-bucket/runs/GenesysIndexOptimizer-Optimizer/weekly-2026-12-06/report.html';
    const notice = runNotice(report, page.replace(/html$/, 'json'), page);
    expect(notice.page).toBe(`https://console.aws.amazon.com/s3/object/run-bucket?region=eu-west-1&prefix=${encodeURIComponent(page.slice('s3://run-bucket/'.length))} (${page})`);
    expect(runNotice(report, page.replace(/html$/, 'json'), null).page).toMatch(/^not written/);
  });
});
