/**
 * The run page's own script, run in the browser after Chart.js: it reads the embedded data
 * (page-data.ts), draws the timeline, the calls per minute against the budget and the latency of
 * each index, and fills the table of indexes, which sorts and filters. Everything that comes from
 * the data reaches the page as text (textContent, chart labels), never as markup.
 *
 * Plain browser JavaScript in a string: it is inlined into the page as it is (no template
 * literals inside, so that this file's own literal cannot end early). test/browser/ runs it.
 */
export const PAGE_SCRIPT = String.raw`(function () {
'use strict';
var D = JSON.parse(document.getElementById('run-data').textContent);
var S = D.s;
var OUTCOMES = ['optimized', 'skipped', 'failed', 'planned'];
var WAITS = ['slot', 'retry', 'settle', 'poll'];
var WAIT_LABEL = { slot: 'waiting for its API slot', retry: 'waiting to retry', settle: 'settling after the PUT', poll: 'waiting to read health again' };
var WAIT_COLOR = { slot: '#b8c0cc', retry: '#f2b134', settle: '#7aa6f0', poll: '#9fd8cb' };
var CALL_LABEL = { putOptimization: 'PUT', getHealth: 'health read', listIndexPage: 'listing page', probeQueryLatency: 'latency probe' };
var PHASES = ['listing', 'latency probe before', 'latency probe after'];
var str = function (r) { return r < 0 ? null : S[r]; };

function fmtT(ms) {
  var neg = ms < 0; ms = Math.abs(ms);
  var s = ms / 1000, h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  var ss = (sec < 10 ? '0' : '') + (ms < 60000 && ms % 1000 !== 0 ? sec.toFixed(1) : Math.floor(sec));
  return (neg ? '-' : '') + (h > 0 ? h + ':' + (m < 10 ? '0' : '') + m : m) + ':' + ss;
}
function fmtDur(ms) { return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s'; }
function statusColor(st) { return st >= 200 && st < 400 ? '#2e7d32' : st === 429 ? '#ef6c00' : '#c62828'; }
function statusText(st) { return st === 0 ? 'no answer' : String(st); }

// The indexes, decoded.
var indexes = D.ix.map(function (r, n) {
  var tl = r[5], entries = [], puts = 0, reads = 0, first = Infinity, t = 0;
  for (var k = 0; k + 4 < tl.length; k += 5) {
    var e;
    t += tl[k + 2];
    if (tl[k] === 0) {
      e = { kind: 'call', call: S[tl[k + 1]], start: t - tl[k + 3], end: t, dur: tl[k + 3], status: tl[k + 4] };
      if (e.call === 'putOptimization') puts++;
      if (e.call === 'getHealth') reads++;
    } else {
      e = { kind: 'wait', reason: WAITS[tl[k + 1]], start: t, end: t + tl[k + 3] * 1000, dur: tl[k + 3] * 1000, detail: str(tl[k + 4]) };
    }
    if (e.start < first) first = e.start;
    entries.push(e);
  }
  var ef = r[4] || null;
  var effect = ef ? { lb: ef[0], la: ef[1], db: ef[2], da: ef[3], regressed: ef[4] === 1 } : null;
  var change = effect && effect.lb !== null && effect.la !== null && effect.lb > 0 ? effect.la / effect.lb - 1 : null;
  return { n: n, id: r[0], name: r[1] === null ? r[0] : r[1], outcome: OUTCOMES[r[2]], reason: str(r[3]), effect: effect, change: change,
    entries: entries, puts: puts, reads: reads, attempts: entries.length ? puts + reads : null, first: first };
});
var runCalls = D.run.map(function (c) { return { phase: PHASES[c[0]], call: S[c[1]], end: c[2], dur: c[3], status: c[4] }; });
var lastMoment = D.end;
indexes.forEach(function (ix) { ix.entries.forEach(function (e) { if (e.end > lastMoment) lastMoment = e.end; }); });
runCalls.forEach(function (c) { if (c.end > lastMoment) lastMoment = c.end; });
var timeScale = function (title) {
  return { type: 'linear', title: { display: true, text: title }, ticks: { callback: function (v) { return fmtT(v); } } };
};
Chart.defaults.animation = false;
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

function describe(e) {
  if (e.kind === 'call') return (CALL_LABEL[e.call] || e.call) + ': ' + statusText(e.status) + ' after ' + fmtDur(e.dur) + ', at ' + fmtT(e.end);
  return WAIT_LABEL[e.reason] + ' ' + fmtDur(e.dur) + (e.detail ? ' (' + e.detail + ')' : '') + ', from ' + fmtT(e.start);
}

// ---- The timeline: one row per index that made a call or waited, in the order they began.
var allRows = indexes.filter(function (ix) { return ix.entries.length > 0; }).sort(function (a, b) { return a.first - b.first || a.n - b.n; });
var rows = allRows;
// fit: the time axis follows the rows shown (a large org's rows each take a moment of a long run).
var view = { first: 0, size: 50, tmin: 0, tmax: lastMoment, fit: allRows.length > 50 };
var tlCanvas = document.getElementById('timeline-chart');
var tlBox = document.getElementById('tl-box');
var tlFirst = document.getElementById('tl-first');
var tlSize = document.getElementById('tl-size');
var tlFrom = document.getElementById('tl-from');
var tlTo = document.getElementById('tl-to');
var tlRows = document.getElementById('tl-rows');
var tlOnlyTable = document.getElementById('tl-only-table');
var tlFit = document.getElementById('tl-fit');
var timeline = null;

function timelineData() {
  var win = rows.slice(view.first, view.first + view.size);
  var bars = { slot: [], retry: [], settle: [], poll: [], call: [] };
  var points = { put: [], health: [], other: [] };
  win.forEach(function (ix, y) {
    ix.entries.forEach(function (e) {
      if (e.kind === 'wait') { bars[e.reason].push({ x: [e.start, e.end], y: y, ix: ix, e: e }); return; }
      if (e.dur > 0) bars.call.push({ x: [e.start, e.end], y: y, ix: ix, e: e });
      (e.call === 'putOptimization' ? points.put : e.call === 'getHealth' ? points.health : points.other).push({ x: e.end, y: y, ix: ix, e: e });
    });
  });
  var bar = function (label, data, color) {
    return { type: 'bar', label: label, data: data, backgroundColor: color, indexAxis: 'y', grouped: false, barPercentage: 0.7, categoryPercentage: 1, order: 2 };
  };
  var dot = function (label, data, style, radius) {
    return { type: 'scatter', label: label, data: data, pointStyle: style, pointRadius: radius, pointHoverRadius: radius + 2, order: 1,
      pointBackgroundColor: function (c) { return c.raw ? statusColor(c.raw.e.status) : '#2e7d32'; }, pointBorderColor: '#ffffff', backgroundColor: '#2e7d32' };
  };
  return {
    labels: win.map(function (ix) { return ix.name; }),
    datasets: [
      bar(WAIT_LABEL.slot, bars.slot, WAIT_COLOR.slot),
      bar(WAIT_LABEL.retry, bars.retry, WAIT_COLOR.retry),
      bar(WAIT_LABEL.settle, bars.settle, WAIT_COLOR.settle),
      bar(WAIT_LABEL.poll, bars.poll, WAIT_COLOR.poll),
      bar('call in flight', bars.call, '#d9d9d9'),
      dot('PUT', points.put, 'rectRot', 6),
      dot('health read', points.health, 'circle', 4),
      dot('other call', points.other, 'triangle', 5)
    ].filter(function (d) { return d.data.length > 0; })
  };
}

function drawTimeline() {
  var maxFirst = Math.max(0, rows.length - view.size);
  view.first = Math.max(0, Math.min(view.first, maxFirst));
  tlFirst.max = String(maxFirst);
  tlFirst.value = String(view.first);
  tlFirst.disabled = maxFirst === 0;
  tlRows.textContent = rows.length === 0 ? 'no index made a call' : 'rows ' + (view.first + 1) + '–' + Math.min(rows.length, view.first + view.size) + ' of ' + rows.length;
  if (view.fit) {
    var lo = Infinity, hi = -Infinity;
    rows.slice(view.first, view.first + view.size).forEach(function (ix) { ix.entries.forEach(function (e) { lo = Math.min(lo, e.start); hi = Math.max(hi, e.end); }); });
    if (hi > lo) { var pad = (hi - lo) * 0.02; view.tmin = Math.max(0, lo - pad); view.tmax = Math.min(lastMoment, hi + pad); }
  }
  tlFit.checked = view.fit;
  tlFrom.value = (view.tmin / 1000).toFixed(1);
  tlTo.value = (view.tmax / 1000).toFixed(1);
  var shown = Math.max(1, Math.min(view.size, rows.length - view.first));
  tlBox.style.height = (shown * 20 + 90) + 'px';
  var data = timelineData();
  if (!timeline) {
    timeline = new Chart(tlCanvas, {
      type: 'bar',
      data: data,
      options: {
        indexAxis: 'y', maintainAspectRatio: false, responsive: true,
        scales: {
          x: Object.assign(timeScale('time from the first call (m:ss)'), { min: view.tmin, max: view.tmax, position: 'top' }),
          y: { type: 'category', ticks: { autoSkip: false }, grid: { display: false } }
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { title: function (items) { return items.length ? items[0].raw.ix.name : ''; }, label: function (item) { return describe(item.raw.e); } } }
        }
      }
    });
  } else {
    timeline.data = data;
    timeline.options.scales.x.min = view.tmin;
    timeline.options.scales.x.max = view.tmax;
    timeline.update();
  }
}

function setTime(a, b) {
  var lo = Math.max(0, Math.min(a, b)), hi = Math.min(lastMoment, Math.max(a, b));
  if (hi - lo < 50) return;
  view.fit = false; view.tmin = lo; view.tmax = hi; drawTimeline();
}
function wholeRun() { view.fit = false; view.tmin = 0; view.tmax = lastMoment; drawTimeline(); }
tlFirst.addEventListener('input', function () { view.first = Number(tlFirst.value); drawTimeline(); });
tlSize.addEventListener('change', function () { view.size = Number(tlSize.value); drawTimeline(); });
tlFrom.addEventListener('change', function () { setTime(Number(tlFrom.value) * 1000, view.tmax); });
tlTo.addEventListener('change', function () { setTime(view.tmin, Number(tlTo.value) * 1000); });
document.getElementById('tl-reset').addEventListener('click', wholeRun);
tlFit.addEventListener('change', function () { if (tlFit.checked) { view.fit = true; drawTimeline(); } else wholeRun(); });
document.getElementById('tl-up').addEventListener('click', function () { view.first -= view.size; drawTimeline(); });
document.getElementById('tl-down').addEventListener('click', function () { view.first += view.size; drawTimeline(); });
tlOnlyTable.addEventListener('change', function () { rows = tlOnlyTable.checked ? allRows.filter(function (ix) { return visible.has(ix); }) : allRows; view.first = 0; drawTimeline(); });
// Drag across the chart to zoom into that time; double-click for the whole run; Ctrl (or ⌘) and the wheel zoom around the pointer.
(function () {
  var sel = document.getElementById('tl-select'), from = null;
  var xOf = function (ev) { return ev.clientX - tlCanvas.getBoundingClientRect().left; };
  tlCanvas.addEventListener('mousedown', function (ev) {
    var a = timeline && timeline.chartArea;
    if (!a || xOf(ev) < a.left || xOf(ev) > a.right) return;
    from = xOf(ev);
    sel.style.display = 'block'; sel.style.left = from + 'px'; sel.style.width = '0px';
    sel.style.top = a.top + 'px'; sel.style.height = (a.bottom - a.top) + 'px';
  });
  window.addEventListener('mousemove', function (ev) {
    if (from === null) return;
    var a = timeline.chartArea, x = Math.max(a.left, Math.min(a.right, xOf(ev)));
    sel.style.left = Math.min(from, x) + 'px'; sel.style.width = Math.abs(x - from) + 'px';
  });
  window.addEventListener('mouseup', function (ev) {
    if (from === null) return;
    var a = timeline.chartArea, x = Math.max(a.left, Math.min(a.right, xOf(ev))), start = from;
    from = null; sel.style.display = 'none';
    if (Math.abs(x - start) < 5) return;
    var sx = timeline.scales.x;
    setTime(sx.getValueForPixel(start), sx.getValueForPixel(x));
  });
  tlCanvas.addEventListener('dblclick', wholeRun);
  tlCanvas.addEventListener('wheel', function (ev) {
    if (!(ev.ctrlKey || ev.metaKey) || !timeline) return;
    ev.preventDefault();
    var at = timeline.scales.x.getValueForPixel(xOf(ev)), k = ev.deltaY > 0 ? 1.25 : 0.8;
    setTime(at - (at - view.tmin) * k, at + (view.tmax - at) * k);
  }, { passive: false });
})();

// ---- API calls in any 60 seconds, against the run's budget.
(function () {
  var calls = [];
  indexes.forEach(function (ix) { ix.entries.forEach(function (e) { if (e.kind === 'call') calls.push({ t: e.end, status: e.status }); }); });
  runCalls.forEach(function (c) { calls.push({ t: c.end, status: c.status }); });
  calls.sort(function (a, b) { return a.t - b.t; });
  var events = [];
  calls.forEach(function (c) { events.push([c.t, 1]); events.push([c.t + 60000, -1]); });
  events.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
  var steps = [{ x: 0, y: 0 }], level = 0;
  events.forEach(function (ev) {
    level += ev[1];
    var last = steps[steps.length - 1];
    if (last.x === ev[0]) last.y = level; else steps.push({ x: ev[0], y: level });
  });
  var levelAt = function (t) {
    var lo = 0, hi = steps.length - 1;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (steps[mid].x <= t) lo = mid; else hi = mid - 1; }
    return steps[lo].y;
  };
  var end = lastMoment;
  var peak = steps.reduce(function (m, p) { return Math.max(m, p.y); }, 0);
  var throttled = calls.filter(function (c) { return c.status === 429; }).map(function (c) { return { x: c.t, y: levelAt(c.t) }; });
  var datasets = [
    { type: 'line', label: 'calls in the 60 s before', data: steps, stepped: 'after', borderColor: '#3366cc', backgroundColor: 'rgba(51,102,204,0.15)', fill: true, pointRadius: 0, borderWidth: 1.5 },
    { type: 'scatter', label: 'answered 429', data: throttled, pointStyle: 'crossRot', pointRadius: 6, borderColor: '#ef6c00', backgroundColor: '#ef6c00', borderWidth: 2 }
  ];
  if (D.budget !== null) datasets.push({ type: 'line', label: 'budget: ' + D.budget + ' a minute', data: [{ x: 0, y: D.budget }, { x: end, y: D.budget }], borderColor: '#c62828', borderDash: [6, 4], pointRadius: 0, borderWidth: 2 });
  document.getElementById('calls-summary').textContent = calls.length + ' Genesys calls (' + runCalls.length + ' of them the listing and the latency probes), at most ' + peak + ' in any 60 s' +
    (D.budget !== null ? ' (budget ' + D.budget + ')' : '') + '; ' + throttled.length + ' answered 429.';
  new Chart(document.getElementById('calls-chart'), {
    type: 'line', data: { datasets: datasets },
    options: {
      maintainAspectRatio: false, parsing: true,
      scales: { x: Object.assign(timeScale('time from the first call (m:ss)'), { min: 0, max: end }), y: { beginAtZero: true, suggestedMax: D.budget === null ? undefined : D.budget * 1.15, title: { display: true, text: 'calls' } } },
      plugins: { tooltip: { callbacks: { title: function (items) { return items.length ? fmtT(items[0].parsed.x) : ''; } } } }
    }
  });
})();

// ---- Each index's latency before and after: above the diagonal is slower.
(function () {
  var measured = indexes.filter(function (ix) { return ix.effect && ix.effect.lb !== null && ix.effect.la !== null; });
  var box = document.getElementById('latency-box');
  var summary = document.getElementById('latency-summary');
  if (measured.length === 0) {
    box.style.display = 'none';
    summary.textContent = 'No index had its latency measured before and after (nothing optimized, or healthCheckBeforePut off).';
    return;
  }
  var hi = 0, lo = Infinity;
  measured.forEach(function (ix) { hi = Math.max(hi, ix.effect.lb, ix.effect.la); lo = Math.min(lo, ix.effect.lb, ix.effect.la); });
  var step = Math.pow(10, Math.floor(Math.log10(Math.max(hi, 1))) - 1);
  lo = Math.max(0, Math.floor(lo * 0.9 / step) * step); hi = Math.ceil(hi * 1.05 / step) * step;
  var pt = function (ix) { return { x: ix.effect.lb, y: ix.effect.la, ix: ix }; };
  var regressed = measured.filter(function (ix) { return ix.effect.regressed; });
  var datasets = [
    { type: 'scatter', label: 'optimized', data: measured.filter(function (ix) { return !ix.effect.regressed; }).map(pt), backgroundColor: 'rgba(51,102,204,0.7)', pointRadius: 4 },
    { type: 'scatter', label: 'regressed', data: regressed.map(pt), backgroundColor: '#c62828', pointStyle: 'triangle', pointRadius: 8 },
    { type: 'line', label: 'no change', data: [{ x: lo, y: lo }, { x: hi, y: hi }], borderColor: '#888888', borderWidth: 1, pointRadius: 0 }
  ];
  if (D.maxRegression !== null) datasets.push({ type: 'line', label: 'regression threshold (+' + Math.round(D.maxRegression * 100) + '%)', data: [{ x: lo, y: lo * (1 + D.maxRegression) }, { x: hi, y: hi * (1 + D.maxRegression) }], borderColor: '#c62828', borderDash: [4, 4], borderWidth: 1, pointRadius: 0 });
  var changes = measured.map(function (ix) { return ix.change; }).filter(function (c) { return c !== null; }).sort(function (a, b) { return a - b; });
  var median = changes.length ? changes[Math.floor(changes.length / 2)] : null;
  summary.textContent = measured.length + ' indexes measured before and after' + (median !== null ? ', median change ' + (median >= 0 ? '+' : '') + Math.round(median * 100) + '%' : '') +
    '; ' + regressed.length + ' regressed' + (regressed.length ? ': ' + regressed.slice(0, 10).map(function (ix) { return ix.name; }).join(', ') + (regressed.length > 10 ? ', …' : '') : '') + '.';
  new Chart(document.getElementById('latency-chart'), {
    type: 'scatter', data: { datasets: datasets },
    options: {
      maintainAspectRatio: false,
      scales: { x: { type: 'linear', min: lo, max: hi, title: { display: true, text: 'latency before (ms)' } }, y: { type: 'linear', min: lo, title: { display: true, text: 'latency after (ms)' } } },
      plugins: { tooltip: { filter: function (item) { return !!item.raw.ix; }, callbacks: { label: function (item) {
        var ix = item.raw.ix; return ix.name + ': ' + ix.effect.lb + ' → ' + ix.effect.la + ' ms (' + (ix.change >= 0 ? '+' : '') + Math.round(ix.change * 100) + '%)';
      } } } }
    }
  });
})();

// ---- Every index: sorts by any column, filters by text (name, id, outcome or reason) and outcome.
var COLUMNS = [
  { key: 'name', label: 'Index', value: function (ix) { return ix.name.toLowerCase(); } },
  { key: 'outcome', label: 'Outcome', value: function (ix) { return ix.outcome; } },
  { key: 'reason', label: 'Reason', value: function (ix) { return ix.reason === null ? null : ix.reason.toLowerCase(); } },
  { key: 'attempts', label: 'PUTs + health reads', num: true, value: function (ix) { return ix.attempts; } },
  { key: 'lb', label: 'Latency before (ms)', num: true, value: function (ix) { return ix.effect ? ix.effect.lb : null; } },
  { key: 'la', label: 'Latency after (ms)', num: true, value: function (ix) { return ix.effect ? ix.effect.la : null; } },
  { key: 'change', label: 'Change', num: true, value: function (ix) { return ix.change; } },
  { key: 'disk', label: 'Disk use before → after', num: true, value: function (ix) { return ix.effect ? ix.effect.da : null; } }
];
var sort = { key: null, dir: 1 };
var visible = new Set(indexes);
var filterText = document.getElementById('filter');
var filterOutcome = document.getElementById('filter-outcome');
var tbody = document.querySelector('#index-table tbody');
var headRow = document.querySelector('#index-table thead tr');
COLUMNS.forEach(function (col) {
  var th = document.createElement('th'), b = document.createElement('button');
  th.dataset.key = col.key; if (col.num) th.className = 'num';
  b.type = 'button'; b.textContent = col.label;
  b.addEventListener('click', function () { sort.dir = sort.key === col.key ? -sort.dir : 1; sort.key = col.key; drawTable(); });
  th.appendChild(b); headRow.appendChild(th);
});
headRow.appendChild(document.createElement('th'));
function cell(tr, text, cls) { var td = document.createElement('td'); td.textContent = text === null || text === undefined ? '–' : String(text); if (cls) td.className = cls; tr.appendChild(td); return td; }
function num(v, digits) { return v === null || v === undefined ? null : Number(v).toFixed(digits); }
function drawTable() {
  var q = filterText.value.trim().toLowerCase(), o = filterOutcome.value;
  var list = indexes.filter(function (ix) {
    if (o && ix.outcome !== o) return false;
    return !q || (ix.name + '\n' + ix.id + '\n' + ix.outcome + '\n' + (ix.reason || '')).toLowerCase().indexOf(q) >= 0;
  });
  visible = new Set(list);
  if (sort.key) {
    var col = COLUMNS.filter(function (c) { return c.key === sort.key; })[0];
    list.sort(function (a, b) {
      var x = col.value(a), y = col.value(b);
      if (x === null || y === null) return x === y ? a.n - b.n : x === null ? 1 : -1;
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || a.n - b.n;
    });
  }
  Array.prototype.forEach.call(headRow.children, function (th) {
    if (th.dataset.key) th.setAttribute('aria-sort', th.dataset.key === sort.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
  });
  var frag = document.createDocumentFragment();
  list.forEach(function (ix) {
    var tr = document.createElement('tr');
    tr.dataset.id = ix.id; tr.className = 'o-' + ix.outcome + (ix.effect && ix.effect.regressed ? ' regressed' : '');
    var name = cell(tr, ix.name, 'name');
    if (ix.name !== ix.id) { var small = document.createElement('div'); small.className = 'id'; small.textContent = ix.id; name.appendChild(small); }
    cell(tr, ix.outcome, 'outcome');
    cell(tr, ix.reason, 'reason');
    cell(tr, ix.attempts === null ? null : ix.puts + ' + ' + ix.reads, 'num');
    cell(tr, num(ix.effect && ix.effect.lb, 1), 'num');
    cell(tr, num(ix.effect && ix.effect.la, 1), 'num');
    cell(tr, ix.change === null ? null : (ix.change >= 0 ? '+' : '') + Math.round(ix.change * 100) + '%', 'num');
    cell(tr, ix.effect && (ix.effect.db !== null || ix.effect.da !== null) ? (num(ix.effect.db, 1) || '–') + ' → ' + (num(ix.effect.da, 1) || '–') : null, 'num');
    var go = document.createElement('td');
    if (ix.entries.length) {
      var b = document.createElement('button'); b.type = 'button'; b.className = 'to-timeline'; b.textContent = 'timeline'; b.title = 'show this index in the timeline';
      b.addEventListener('click', function () { showInTimeline(ix); });
      go.appendChild(b);
    }
    tr.appendChild(go);
    frag.appendChild(tr);
  });
  tbody.replaceChildren(frag);
  document.getElementById('table-count').textContent = list.length + ' of ' + indexes.length + ' indexes';
  if (tlOnlyTable.checked) { rows = allRows.filter(function (ix) { return visible.has(ix); }); drawTimeline(); }
}
function showInTimeline(ix) {
  if (rows.indexOf(ix) < 0) { tlOnlyTable.checked = false; rows = allRows; }
  view.first = rows.indexOf(ix) - Math.floor(view.size / 4);
  drawTimeline();
  document.getElementById('timeline').scrollIntoView();
}
filterText.addEventListener('input', drawTable);
filterOutcome.addEventListener('change', drawTable);

drawTimeline();
drawTable();
document.body.dataset.ready = 'true';
})();
`;
