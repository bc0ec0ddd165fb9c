// Dashboard: traffic and errors over time, status classes, latency
// percentiles, keys by status and capacity state per upstream, capacity
// alerts in force, recent alerts.  Refreshes every
// 15 s while the page is visible.
import * as api from '../api.js';
import {COLORS, lineChart} from '../charts.js';
import {badge, fmtMs, fmtNum, fmtTimeShort, h, pageHead, replace, select, table} from '../dom.js';

const RANGES = [['3600', 'Last hour'], ['21600', 'Last 6 hours'], ['86400', 'Last 24 hours'],
  ['604800', 'Last 7 days']];
const STATUSES = ['active', 'disabled', 'exhausted', 'banned'];
const REFRESH_MS = 15000;

export async function render(view, ctx) {
  const range = select('range', RANGES, ctx.params.get('range') || '3600', {'aria-label': 'Time range'});
  const upstreamSel = select('upstream_id', [['', 'All upstreams']], '', {'aria-label': 'Upstream'});
  const updated = h('span', {class: 'muted small', id: 'dash-updated', 'aria-live': 'polite'});
  const refreshBtn = h('button', {type: 'button', class: 'btn'}, 'Refresh');

  const cards = h('div', {class: 'cards', id: 'dash-cards'});
  const trafficBox = h('div', {class: 'chart', id: 'chart-traffic'});
  const latencyBox = h('div', {class: 'chart', id: 'chart-latency'});
  const statusBox = h('div', {class: 'status-bars', id: 'dash-status'});
  const upstreamBox = h('div', {id: 'dash-upstreams'});
  const alertsBox = h('div', {id: 'dash-alerts'});
  const capacityBox = h('div', {id: 'dash-capacity'});
  const modelsBox = h('div', {id: 'dash-models'});
  const tokensBox = h('div', {id: 'dash-tokens'});

  view.append(
    pageHead('Dashboard', updated, range, upstreamSel, refreshBtn),
    cards,
    h('div', {class: 'grid-2'},
      h('section', {class: 'card'}, h('h2', null, 'Requests and errors'), trafficBox),
      h('section', {class: 'card'}, h('h2', null, 'Latency p50'), latencyBox)),
    h('div', {class: 'grid-2'},
      h('section', {class: 'card'}, h('h2', null, 'Status classes'), statusBox),
      h('section', {class: 'card'}, h('h2', null, 'Recent alerts'), alertsBox)),
    h('section', {class: 'card'}, h('h2', null, 'Capacity alerts in force'), capacityBox),
    h('section', {class: 'card'}, h('h2', null, 'Upstreams: latency and keys'), upstreamBox),
    h('div', {class: 'grid-2'},
      h('section', {class: 'card'}, h('h2', null, 'Tokens by model'), modelsBox),
      h('section', {class: 'card'}, h('h2', null, 'Tokens by client token'), tokensBox)));

  let charts = null;
  let upstreams = [];
  let timer = null;
  let busy = false;

  async function loadUpstreams() {
    upstreams = await api.listAll('/upstreams');
    const keep = upstreamSel.value || ctx.params.get('upstream_id') || '';
    replace(upstreamSel, h('option', {value: ''}, 'All upstreams'),
      upstreams.map((u) => h('option', {value: String(u.id)}, u.name)));
    upstreamSel.value = keep;
  }

  async function keyCounts(list) {
    const out = new Map();
    await Promise.all(list.flatMap((u) => STATUSES.map(async (s) => {
      const r = await api.get('/keys', {upstream_id: u.id, status: s, limit: 1});
      if (!out.has(u.id)) out.set(u.id, {});
      out.get(u.id)[s] = r.total;
    })));
    return out;
  }

  async function refresh() {
    if (busy || !ctx.isCurrent()) return;
    busy = true;
    try {
      await loadUpstreams();
      const seconds = Number(range.value);
      const now = Date.now();
      const from = new Date(now - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const upId = upstreamSel.value;
      const [stats, alerts, capacity] = await Promise.all([
        api.get('/stats', {from, upstream_id: upId}),
        api.get('/alerts', {limit: 10, upstream_id: upId}),
        api.get('/capacity'),
      ]);
      const shown = upId ? upstreams.filter((u) => String(u.id) === upId) : upstreams;
      const counts = await keyCounts(shown);
      if (!ctx.isCurrent()) return;
      drawCards(stats);
      drawCharts(stats);
      drawStatus(stats);
      drawUpstreams(stats, shown, counts, capacity);
      drawCapacity(capacity, upId);
      drawAlerts(alerts);
      drawUsage(stats);
      updated.textContent = 'Updated ' + new Date().toLocaleTimeString();
      updated.dataset.requests = String(stats.totals.requests);
    } catch (e) {
      if (e.status !== 401) ctx.showError(e);
    } finally {
      busy = false;
    }
  }

  function card(label, value, sub, id) {
    return h('div', {class: 'stat', id},
      h('div', {class: 'stat-label'}, label),
      h('div', {class: 'stat-value'}, value),
      sub ? h('div', {class: 'stat-sub'}, sub) : null);
  }

  function drawCards(stats) {
    const t = stats.totals;
    const rate = t.requests ? (100 * t.errors / t.requests) : 0;
    replace(cards,
      card('Requests', fmtNum(t.requests), `${fmtNum(t.retries)} retries`, 'stat-requests'),
      card('Errors', fmtNum(t.errors), `${rate.toFixed(1)} % of requests`, 'stat-errors'),
      card('Latency p50', fmtMs(t.p50_ms), `avg ${fmtMs(t.avg_ms)}`, 'stat-p50'),
      card('Latency p95', fmtMs(t.p95_ms), null, 'stat-p95'),
      card('Latency p99', fmtMs(t.p99_ms), null, 'stat-p99'),
      card('Tokens', fmtNum(t.total_tokens || 0),
        `${fmtNum(t.prompt_tokens || 0)} prompt · ${fmtNum(t.completion_tokens || 0)} completion`, 'stat-tokens'));
  }

  // Token sums by model and by client token (the 100 largest of each).
  function drawUsage(stats) {
    const cols = (first) => [first,
      {title: 'Requests', class: 'num', cell: (r) => fmtNum(r.requests)},
      {title: 'Prompt', class: 'num', cell: (r) => fmtNum(r.prompt_tokens)},
      {title: 'Cached', class: 'num', cell: (r) => fmtNum(r.cached_tokens)},
      {title: 'Completion', class: 'num', cell: (r) => fmtNum(r.completion_tokens)},
      {title: 'Total', class: 'num', cell: (r) => fmtNum(r.total_tokens)}];
    replace(modelsBox, table(cols({title: 'Model', class: 'mono', cell: (r) =>
      h('a', {href: `#/logs?model=${encodeURIComponent(r.model)}`}, r.model)}),
    stats.by_model || [], {empty: 'No model named yet: set a usage format on an upstream.'}));
    replace(tokensBox, table(cols({title: 'Client token', cell: (r) =>
      h('a', {href: `#/logs?token_id=${r.token_id}`}, r.name || `#${r.token_id} (deleted)`)}),
    stats.by_token || [], {empty: 'No requests with a client token in this range.'}));
  }

  function drawCharts(stats) {
    const xs = stats.series.map((p) => Date.parse(p.ts) / 1000);
    const traffic = [
      {label: 'Requests', color: COLORS.requests, fill: true, values: stats.series.map((p) => p.requests)},
      {label: 'Errors', color: COLORS.errors, values: stats.series.map((p) => p.errors)},
    ];
    const latency = [
      {label: 'p50', color: COLORS.p50, fill: true, spanGaps: true, points: true,
        values: stats.series.map((p) => (p.requests ? p.p50_ms : null))},
    ];
    if (!charts) {
      charts = {
        traffic: lineChart(trafficBox, xs, traffic),
        latency: lineChart(latencyBox, xs, latency, {unit: ' ms', minMax: 10}),
      };
    } else {
      charts.traffic.update(xs, traffic);
      charts.latency.update(xs, latency);
    }
  }

  function drawStatus(stats) {
    const classes = ['2xx', '3xx', '4xx', '5xx'];
    const total = classes.reduce((a, c) => a + (stats.by_status[c] || 0), 0) +
      Object.entries(stats.by_status).filter(([c]) => !classes.includes(c)).reduce((a, [, n]) => a + n, 0);
    const rows = classes.concat(Object.keys(stats.by_status).filter((c) => !classes.includes(c)));
    replace(statusBox, rows.map((c) => {
      const n = stats.by_status[c] || 0;
      const bar = h('div', {class: ['bar', 'bar-' + c]});
      // Set through the CSSOM, which the Content-Security-Policy allows.
      bar.style.width = (total ? (100 * n / total) : 0).toFixed(1) + '%';
      return h('div', {class: 'status-row', dataset: {class: c}},
        h('span', {class: 'status-name mono'}, c),
        h('div', {class: 'bar-track'}, bar),
        h('span', {class: 'status-count'}, fmtNum(n)));
    }));
  }

  // The capacity states the last apigw-recover run saw (ok, low, dry).
  function drawCapacity(capacity, upId) {
    const rows = capacity.active.filter((a) => !upId || String(a.upstream_id) === upId);
    replace(capacityBox, table([
      {title: 'Since', class: 'nowrap', cell: (a) => h('span', {title: a.since || ''}, a.since ? fmtTimeShort(a.since) : '—')},
      {title: 'Upstream', cell: (a) => h('a', {href: `#/keys?upstream_id=${a.upstream_id}`}, a.upstream)},
      {title: 'State', cell: (a) => badge(a.kind.replace('_', ' '), a.kind === 'low' ? 'warn' : 'bad')},
      {title: 'Key', cell: (a) => (a.key_id ? h('span', {class: 'mono'}, a.key_masked) : '—')},
    ], rows, {empty: 'None: every checked upstream has capacity.', class: 'dash-capacity'}));
  }

  function drawUpstreams(stats, shown, counts, capacity) {
    const capById = new Map(capacity.upstreams.map((c) => [c.upstream_id, c]));
    const byId = new Map(stats.by_upstream.map((s) => [s.upstream_id, s]));
    const rows = shown.map((u) => ({u, s: byId.get(u.id) || {}, c: counts.get(u.id) || {}}));
    // Upstreams that had traffic in the range and are gone since.
    for (const s of stats.by_upstream) {
      if (!shown.some((u) => u.id === s.upstream_id) && !upstreamSel.value) {
        const name = s.upstream_id === 0 ? 'no upstream (refused before routing)' : (s.upstream || `#${s.upstream_id} (deleted)`);
        rows.push({u: {id: s.upstream_id, name, gone: true}, s, c: {}});
      }
    }
    replace(upstreamBox, table([
      {title: 'Upstream', cell: (r) => (r.u.gone ? h('span', {class: 'muted'}, r.u.name) : h('a', {href: `#/keys?upstream_id=${r.u.id}`}, r.u.name))},
      {title: 'Requests', class: 'num', cell: (r) => fmtNum(r.s.requests || 0)},
      {title: 'Errors', class: 'num', cell: (r) => fmtNum(r.s.errors || 0)},
      {title: 'p50', class: 'num', cell: (r) => (r.s.requests ? fmtMs(r.s.p50_ms) : '—')},
      {title: 'p95', class: 'num', cell: (r) => (r.s.requests ? fmtMs(r.s.p95_ms) : '—')},
      {title: 'p99', class: 'num', cell: (r) => (r.s.requests ? fmtMs(r.s.p99_ms) : '—')},
      {title: 'Keys', cell: (r) => {
        if (r.u.gone) return '—';
        const total = STATUSES.reduce((a, s) => a + (r.c[s] || 0), 0);
        return h('div', {class: 'key-counts'},
          h('span', {class: 'muted'}, `${total} keys`),
          STATUSES.filter((s) => r.c[s]).map((s) =>
            h('a', {href: `#/keys?upstream_id=${r.u.id}&status=${s}`, class: 'badge-link'},
              badge(`${r.c[s]} ${s}`, {active: 'ok', disabled: 'warn', exhausted: 'info', banned: 'bad'}[s]))));
      }},
      {title: 'Capacity', cell: (r) => {
        const c = capById.get(r.u.id);
        if (r.u.gone || !c) return '—';
        const title = c.since ? `since ${c.since}` : 'not checked yet';
        return h('span', {title, class: 'capacity-state', dataset: {state: c.state}},
          badge(c.state, {ok: 'ok', low: 'warn', dry: 'bad'}[c.state] || 'neutral'));
      }},
    ], rows, {empty: 'No upstreams yet. Create one on the Upstreams page.', class: 'dash-upstreams'}));
  }

  function drawAlerts(alerts) {
    replace(alertsBox, table([
      {title: 'Time', class: 'nowrap', cell: (a) => h('span', {title: a.ts}, fmtTimeShort(a.ts))},
      {title: 'Kind', cell: (a) => h('span', {class: 'mono'}, a.kind || 'rule')},
      {title: 'Message', cell: (a) => [a.message, a.request_id ? [' ', h('a', {href: `#/logs?request_id=${encodeURIComponent(a.request_id)}`, class: 'request-link mono small'}, a.request_id)] : null]},
      {title: 'Key', class: 'num', cell: (a) => (a.key_id ? h('a', {href: `#/logs?key_id=${a.key_id}`, title: 'Requests with this key'}, String(a.key_id)) : '—')},
      {title: 'Webhook', cell: (a) => {
        if (a.delivered === true) return badge('delivered', 'ok');
        if (a.delivered === false) return h('span', {title: a.delivery_error || ''}, badge('failed', 'bad'));
        return h('span', {class: 'muted'}, '—');
      }},
    ], alerts.items, {empty: 'No alerts in the log.'}));
  }

  range.addEventListener('change', () => { ctx.setParams({range: range.value, upstream_id: upstreamSel.value}); refresh(); });
  upstreamSel.addEventListener('change', () => { ctx.setParams({range: range.value, upstream_id: upstreamSel.value}); refresh(); });
  refreshBtn.addEventListener('click', refresh);
  const onVisible = () => { if (document.visibilityState === 'visible') refresh(); };
  document.addEventListener('visibilitychange', onVisible);
  timer = setInterval(() => { if (document.visibilityState === 'visible') refresh(); }, REFRESH_MS);

  await refresh();

  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
    if (charts) { charts.traffic.destroy(); charts.latency.destroy(); }
  };
}
