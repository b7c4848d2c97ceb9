/**
 * The run's page, report.html: one self-contained HTML file (Chart.js and the data inlined, a
 * Content-Security-Policy that allows no request at all) that shows what the run did. A header
 * (org, when, input, outcome, counts, approval, the links), a timeline with one row per index
 * (each wait for its API slot, each PUT and retry with its reason, the settle, each health read),
 * the API calls in any 60 s against the budget, each index's latency before and after, and a table
 * of every index that sorts and filters.
 *
 * Pure: the model and the library's source in, the page out. Everything from the data is escaped
 * here or reaches the page as text in the browser (page-script.ts); the data goes in as JSON in a
 * <script type="application/json"> element, with every `<` escaped.
 */
import { createHash } from 'node:crypto';
import { describeDecision } from '../domain/approval.ts';
import { runOutcome } from '../domain/run-notice.ts';
import { pageData, type RunPageModel } from './page-data.ts';
import { PAGE_SCRIPT } from './page-script.ts';

export type { RunPageModel } from './page-data.ts';

/** The page's content type, as the run store keeps it. */
export const RUN_PAGE_CONTENT_TYPE = 'text/html; charset=utf-8';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as it can stand in HTML content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** JSON that cannot end its <script> element or open a comment in it: every `<` as \u003c (and the line separators JavaScript once refused). */
export function embeddableJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** A link only to an https: address; anything else is shown as text. */
function link(url: string | null, text: string): string {
  if (url && /^https:\/\//i.test(url)) return `<a href="${escapeHtml(url)}" rel="noreferrer">${escapeHtml(text)}</a>`;
  return escapeHtml(text);
}

const ms = (v: number | null) => (v === null ? 'not measured' : `${v.toFixed(1)} ms`);

function duration(fromIso: string, toIso: string): string {
  const s = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d232a; --muted: #5f6b7a; --line: #dde3ea; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--fg); background: #fff; }
header, section { padding: 16px 24px; border-bottom: 1px solid var(--line); }
header { background: var(--bg); }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 0 0 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.outcome-failed { color: #b3261e; font-weight: 600; }
.outcome-succeeded { color: #1e7b34; font-weight: 600; }
pre { background: #fff; border: 1px solid var(--line); padding: 8px; overflow: auto; max-height: 320px; }
.help, .summary { color: var(--muted); margin: 4px 0 8px; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0; }
.controls input[type=number] { width: 6em; }
.chart-box { position: relative; width: 100%; }
#calls-box, #latency-box { height: 320px; }
#tl-select { position: absolute; display: none; background: rgba(51, 102, 204, 0.15); border: 1px solid #3366cc; pointer-events: none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { position: sticky; top: 0; background: #fff; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th[aria-sort=ascending] button::after { content: " ▲"; }
th[aria-sort=descending] button::after { content: " ▼"; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.name { min-width: 16em; overflow-wrap: anywhere; }
td.reason { min-width: 24em; overflow-wrap: anywhere; }
td .id { color: var(--muted); font-size: 12px; }
td button.to-timeline { font-size: 11px; }
tr.o-failed td.outcome { color: #b3261e; font-weight: 600; }
tr.o-optimized td.outcome { color: #1e7b34; }
tr.o-skipped td.outcome, tr.o-planned td.outcome { color: var(--muted); }
tr.regressed td { background: #fdecea; }
`;

export function buildRunPage(model: RunPageModel, chartLibrary: string): string {
  const r = model.report;
  const data = pageData(model);
  const run = r.executionId.split(':').pop() ?? r.executionId;
  const outcome = runOutcome(r);
  const s = r.summary;
  const counts = `${s.total} indexes: ${s.optimized} optimized, ${s.skipped} skipped, ${s.failed} failed${s.planned > 0 ? `, ${s.planned} planned` : ''}`;
  const change = r.medianIndexLatencyChange === null ? '' : `; median change per index ${r.medianIndexLatencyChange >= 0 ? '+' : ''}${Math.round(r.medianIndexLatencyChange * 100)}%`;
  const facts: Array<[string, string]> = [
    ['Outcome', `<span class="outcome-${r.error ? 'failed' : 'succeeded'}">${escapeHtml(outcome)}</span>${r.error ? `: ${escapeHtml(r.error.name)}: ${escapeHtml(r.error.cause)}` : ''}`],
    ['Indexes', escapeHtml(counts)],
    ['Org', escapeHtml(r.org ?? 'the deployment\'s org (single-org)')],
    ['When', escapeHtml(`first Genesys call ${data.start}, report ${r.finishedAt} (${duration(data.start, r.finishedAt)})`)],
    ['Approval', escapeHtml(r.approval ? describeDecision(r.approval) : 'not required')],
    ...(r.retryOf ? ([['Retry of', escapeHtml(r.retryOf)]] as Array<[string, string]>) : []),
    ['Query latency', escapeHtml(`before ${ms(r.queryLatencyMs.before)}, after ${ms(r.queryLatencyMs.after)}${change}; ${r.regressions.length} regression(s)`)],
    ['API budget', escapeHtml(model.apiBudgetPerMinute === null ? 'unknown' : `${model.apiBudgetPerMinute} calls a minute`)],
    ['Execution', link(model.executionUrl, r.executionId)],
    ['Report', `${link(model.reportConsoleUrl, model.reportLocation)} (this page: ${escapeHtml(model.pageLocation)})`],
    ...(r.warnings.length > 0 ? ([['Warnings', r.warnings.map(escapeHtml).join('<br>')]] as Array<[string, string]>) : []),
  ];
  const script = PAGE_SCRIPT;
  const csp = `default-src 'none'; script-src ${sha256(chartLibrary)} ${sha256(script)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const title = `Run ${run}${r.org ? ` (org ${r.org})` : ''}: ${outcome}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Genesys index optimizer</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Genesys index optimizer: ${escapeHtml(title)}</h1>
<dl class="facts">
${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join('\n')}
</dl>
<details><summary>Input (the checked execution input)</summary><pre id="run-input">${escapeHtml(JSON.stringify(model.input ?? null, null, 2))}</pre></details>
<noscript><p>The charts and the table need JavaScript; report.json has the same data.</p></noscript>
</header>
<main>
<section id="timeline">
<h2>Timeline</h2>
<p class="help">One row per index that made a call or waited, in the order they began. Bars: the waits the state machine made for it (for its API slot, before a retry, settling after the PUT, before the next health read) and each call in flight; marks: each PUT and health read when it was answered, green for success, orange for 429, red for an error or no answer. Hover for the reason. Drag across the chart to zoom into that time, double-click for the whole run, Ctrl (or ⌘) and the wheel to zoom around the pointer.</p>
<div class="controls">
<label>first row <input id="tl-first" type="range" min="0" max="0" value="0" step="1"></label>
<button id="tl-up" type="button">◀ earlier rows</button><button id="tl-down" type="button">later rows ▶</button>
<span id="tl-rows"></span>
<label>rows shown <select id="tl-size"><option>25</option><option selected>50</option><option>100</option><option>200</option></select></label>
<label>from <input id="tl-from" type="number" step="any" min="0"> s</label>
<label>to <input id="tl-to" type="number" step="any" min="0"> s</label>
<button id="tl-reset" type="button">whole run</button>
<label><input id="tl-fit" type="checkbox"> time of the rows shown</label>
<label><input id="tl-only-table" type="checkbox"> only the indexes the table shows</label>
</div>
<div class="chart-box" id="tl-box"><canvas id="timeline-chart"></canvas><div id="tl-select"></div></div>
</section>
<section id="calls">
<h2>API calls per minute</h2>
<p class="help">Genesys calls in the 60 seconds before each moment (every index's and the run's own: the listing and the latency probes), against the run's budget.</p>
<p class="summary" id="calls-summary"></p>
<div class="chart-box" id="calls-box"><canvas id="calls-chart"></canvas></div>
</section>
<section id="latency">
<h2>Latency per index, before and after</h2>
<p class="help">Each optimized index's query latency from its health read before the PUT and the first healthy one after it. Above the diagonal is slower; red triangles regressed past the policy's threshold.</p>
<p class="summary" id="latency-summary"></p>
<div class="chart-box" id="latency-box"><canvas id="latency-chart"></canvas></div>
</section>
<section id="indexes">
<h2>Every index</h2>
<div class="controls">
<label>filter <input id="filter" type="search" placeholder="name, id, outcome or reason" size="36"></label>
<label>outcome <select id="filter-outcome"><option value="">any</option><option>optimized</option><option>skipped</option><option>failed</option><option>planned</option></select></label>
<span id="table-count"></span>
</div>
<table id="index-table"><thead><tr></tr></thead><tbody></tbody></table>
</section>
</main>
<script type="application/json" id="run-data">${embeddableJson(data)}</script>
<script>${chartLibrary}</script>
<script>${script}</script>
</body>
</html>
`;
}
