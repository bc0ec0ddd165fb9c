// Dashboard: the first-run steps on an empty gateway, traffic and errors
// over time, status classes, latency percentiles, keys by status and
// capacity state per upstream, capacity alerts in force, recent alerts,
// top keys, errors by reason, housekeeping.  Refreshes at the interval
// picked (15 s unless changed, remembered) while the page is visible.
// Counts link to the logs they count.
import * as api from '../api.js';
import {COLORS, lineChart} from '../charts.js';
import {errorReasonsTable, logsLink, topKeysTable} from '../dash_panels.js';
import {badge, fmtMs, h, pageHead, replace, select, table} from '../dom.js';
import {housekeepingPanel} from '../housekeeping.js';
import {fmtNumber, fmtTime, t} from '../i18n.js';
import {onboardingPanel} from '../onboarding.js';
import {refreshPicker} from '../refresh_picker.js';

const fmtNum = (n) => (n === null || n === undefined || n === '' ? '—' : fmtNumber(n, {maximumFractionDigits: 1}));
const RANGES = () => [['3600', t('Last hour')], ['21600', t('Last 6 hours')], ['86400', t('Last 24 hours')],
  ['604800', t('Last 7 days')]];
const STATUSES = ['active', 'disabled', 'exhausted', 'banned'];
// The count of each status, as the catalogue has it (t() takes the text).
const STATUS_COUNTS = {active: '{n} active', disabled: '{n} disabled', exhausted: '{n} exhausted', banned: '{n} banned'};

export async function render(view, ctx) {
  const range = select('range', RANGES(), ctx.params.get('range') || '3600', {'aria-label': t('Time range')});
  const upstreamSel = select('upstream_id', [['', t('All upstreams')]], '', {'aria-label': t('Upstream')});
  const updated = h('span', {class: 'muted small', id: 'dash-updated', 'aria-live': 'polite'});
  const refreshBtn = h('button', {type: 'button', class: 'btn'}, t('Refresh'));
  const picker = refreshPicker(() => refresh());
  const onboarding = onboardingPanel(ctx);
  const housekeeping = housekeepingPanel();
  const topKeysBox = h('div', {id: 'dash-top-keys'});
  const reasonsBox = h('div', {id: 'dash-reasons'});

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
    pageHead(t('Dashboard'), updated, range, upstreamSel, picker.root, refreshBtn),
    onboarding.root,
    cards,
    h('div', {class: 'grid-2'},
      h('section', {class: 'card'}, h('h2', null, t('Requests and errors')), trafficBox),
      h('section', {class: 'card'}, h('h2', null, t('Latency p50')), latencyBox)),
    h('div', {class: 'grid-2'},
      h('section', {class: 'card'}, h('h2', null, t('Status classes')), statusBox),
      h('section', {class: 'card'}, h('h2', null, t('Recent alerts')), alertsBox)),
    h('section', {class: 'card'}, h('h2', null, t('Capacity alerts in force')), capacityBox),
    h('section', {class: 'card'}, h('h2', null, t('Upstreams: latency and keys')), upstreamBox),
    h('div', {class: 'grid-2'},
      h('section', {class: 'card'}, h('h2', null, t('Top keys')), topKeysBox),
      h('section', {class: 'card'}, h('h2', null, t('Errors by reason')), reasonsBox)),
    h('div', {class: 'grid-2'},
      h('section', {class: 'card'}, h('h2', null, t('Tokens by model')), modelsBox),
      h('section', {class: 'card'}, h('h2', null, t('Tokens by client token')), tokensBox)),
    housekeeping.root);

  let charts = null;
  let upstreams = [];
  let busy = false;
  let linkRange = {};

  async function loadUpstreams() {
    upstreams = await api.listAll('/upstreams');
    const keep = upstreamSel.value || ctx.params.get('upstream_id') || '';
    replace(upstreamSel, h('option', {value: ''}, t('All upstreams')),
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
      linkRange = {from, upstream_id: upId};
      const [stats, alerts, capacity] = await Promise.all([
        api.get('/stats', {from, upstream_id: upId}),
        api.get('/alerts', {limit: 10, upstream_id: upId}),
        api.get('/capacity'),
      ]);
      const shown = upId ? upstreams.filter((u) => String(u.id) === upId) : upstreams;
      const counts = await keyCounts(shown);
      await Promise.all([onboarding.refresh(upstreams), housekeeping.refresh()]);
      if (!ctx.isCurrent()) return;
      drawCards(stats);
      drawCharts(stats);
      drawStatus(stats);
      drawUpstreams(stats, shown, counts, capacity);
      drawCapacity(capacity, upId);
      drawAlerts(alerts);
      drawUsage(stats);
      replace(topKeysBox, topKeysTable(stats, linkRange));
      replace(reasonsBox, errorReasonsTable(stats, linkRange));
      updated.textContent = t('Updated {time}', {time: fmtTime(new Date())});
      updated.dataset.requests = String(stats.totals.requests);
    } catch (e) {
      if (e.status !== 401) ctx.showError(e);
    } finally {
      busy = false;
    }
  }

  // A KPI; with href, the whole card is a link to the logs it counts.
  function card(label, value, sub, id, href) {
    return h(href ? 'a' : 'div', {class: ['stat', href ? 'stat-link' : null], id, href},
      h('div', {class: 'stat-label'}, label),
      h('div', {class: 'stat-value'}, value),
      sub ? h('div', {class: 'stat-sub'}, sub) : null);
  }

  function drawCards(stats) {
    const tot = stats.totals;
    const rate = tot.requests ? (100 * tot.errors / tot.requests) : 0;
    replace(cards,
      card(t('Requests'), fmtNum(tot.requests), t('{n} retries', {n: fmtNum(tot.retries)}), 'stat-requests', logsLink(linkRange, {})),
      card(t('Errors'), fmtNum(tot.errors), t('{pct} % of requests', {pct: fmtNumber(rate, {maximumFractionDigits: 1, minimumFractionDigits: 1})}),
        'stat-errors', logsLink(linkRange, {status: '5xx'})),
      card(t('Latency p50'), fmtMs(tot.p50_ms), t('avg {ms}', {ms: fmtMs(tot.avg_ms)}), 'stat-p50'),
      card(t('Latency p95'), fmtMs(tot.p95_ms), null, 'stat-p95'),
      card(t('Latency p99'), fmtMs(tot.p99_ms), null, 'stat-p99'),
      card(t('Tokens'), fmtNum(tot.total_tokens || 0),
        t('{prompt} prompt · {completion} completion', {prompt: fmtNum(tot.prompt_tokens || 0), completion: fmtNum(tot.completion_tokens || 0)}), 'stat-tokens'));
  }

  // Token sums by model and by client token (the 100 largest of each).
  function drawUsage(stats) {
    const cols = (first) => [first,
      {title: t('Requests'), class: 'num', cell: (r) => fmtNum(r.requests)},
      {title: t('Prompt'), class: 'num', cell: (r) => fmtNum(r.prompt_tokens)},
      {title: t('Cached'), class: 'num', cell: (r) => fmtNum(r.cached_tokens)},
      {title: t('Completion'), class: 'num', cell: (r) => fmtNum(r.completion_tokens)},
      {title: t('Total'), class: 'num', cell: (r) => fmtNum(r.total_tokens)}];
    replace(modelsBox, table(cols({title: t('Model'), class: 'mono', cell: (r) =>
      h('a', {href: logsLink(linkRange, {model: r.model})}, r.model)}),
    stats.by_model || [], {empty: t('No model named yet: set a usage format on an upstream.')}));
    replace(tokensBox, table(cols({title: t('Client token'), cell: (r) =>
      h('a', {href: logsLink(linkRange, {token_id: r.token_id})}, r.name || t('#{id} (deleted)', {id: r.token_id}))}),
    stats.by_token || [], {empty: t('No requests with a client token in this range.')}));
  }

  function drawCharts(stats) {
    const xs = stats.series.map((p) => Date.parse(p.ts) / 1000);
    const traffic = [
      {label: t('Requests'), color: COLORS.requests, fill: true, values: stats.series.map((p) => p.requests)},
      {label: t('Errors'), color: COLORS.errors, values: stats.series.map((p) => p.errors)},
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
      // Each class links to its requests in the logs.
      return h('div', {class: 'status-row', dataset: {class: c}},
        h('a', {class: 'status-name mono', href: logsLink(linkRange, {status: c}), title: t('Requests of class {c} in the logs', {c})}, c),
        h('div', {class: 'bar-track'}, bar),
        h('span', {class: 'status-count'}, fmtNum(n)));
    }));
  }

  // The capacity states the last apigw-recover run saw (ok, low, dry).
  function drawCapacity(capacity, upId) {
    const rows = capacity.active.filter((a) => !upId || String(a.upstream_id) === upId);
    replace(capacityBox, table([
      {title: t('Since'), class: 'nowrap', cell: (a) => (a.since ? fmtTime(a.since) : '—')},
      {title: t('Upstream'), cell: (a) => h('a', {href: `#/keys?upstream_id=${a.upstream_id}`}, a.upstream)},
      {title: t('State'), cell: (a) => badge(t(a.kind.replace('_', ' ')), a.kind === 'low' ? 'warn' : 'bad')},
      {title: t('Key'), cell: (a) => (a.key_id ? h('span', {class: 'mono'}, a.key_masked) : '—')},
    ], rows, {empty: t('None: every checked upstream has capacity.'), class: 'dash-capacity'}));
  }

  function drawUpstreams(stats, shown, counts, capacity) {
    const capById = new Map(capacity.upstreams.map((c) => [c.upstream_id, c]));
    const byId = new Map(stats.by_upstream.map((s) => [s.upstream_id, s]));
    const rows = shown.map((u) => ({u, s: byId.get(u.id) || {}, c: counts.get(u.id) || {}}));
    // Upstreams that had traffic in the range and are gone since.
    for (const s of stats.by_upstream) {
      if (!shown.some((u) => u.id === s.upstream_id) && !upstreamSel.value) {
        const name = s.upstream_id === 0 ? t('no upstream (refused before routing)') : (s.upstream || t('#{id} (deleted)', {id: s.upstream_id}));
        rows.push({u: {id: s.upstream_id, name, gone: true}, s, c: {}});
      }
    }
    replace(upstreamBox, table([
      {title: t('Upstream'), cell: (r) => (r.u.gone ? h('span', {class: 'muted'}, r.u.name) : h('a', {href: `#/keys?upstream_id=${r.u.id}`}, r.u.name))},
      {title: t('Requests'), class: 'num', cell: (r) => (r.u.gone ? fmtNum(r.s.requests || 0)
        : h('a', {href: logsLink(linkRange, {upstream_id: r.u.id})}, fmtNum(r.s.requests || 0)))},
      {title: t('Errors'), class: 'num', cell: (r) => fmtNum(r.s.errors || 0)},
      {title: 'p50', class: 'num', cell: (r) => (r.s.requests ? fmtMs(r.s.p50_ms) : '—')},
      {title: 'p95', class: 'num', cell: (r) => (r.s.requests ? fmtMs(r.s.p95_ms) : '—')},
      {title: 'p99', class: 'num', cell: (r) => (r.s.requests ? fmtMs(r.s.p99_ms) : '—')},
      {title: t('Keys'), cell: (r) => {
        if (r.u.gone) return '—';
        const total = STATUSES.reduce((a, s) => a + (r.c[s] || 0), 0);
        return h('div', {class: 'key-counts'},
          h('span', {class: 'muted'}, t('{n} keys', {n: total})),
          STATUSES.filter((s) => r.c[s]).map((s) =>
            h('a', {href: `#/keys?upstream_id=${r.u.id}&status=${s}`, class: 'badge-link'},
              badge(t(STATUS_COUNTS[s], {n: r.c[s]}), {active: 'ok', disabled: 'warn', exhausted: 'info', banned: 'bad'}[s]))));
      }},
      {title: t('Capacity'), cell: (r) => {
        const c = capById.get(r.u.id);
        if (r.u.gone || !c) return '—';
        const title = c.since ? t('since {time}', {time: fmtTime(c.since)}) : t('not checked yet');
        return h('span', {title, class: 'capacity-state', dataset: {state: c.state}},
          badge(t(c.state), {ok: 'ok', low: 'warn', dry: 'bad'}[c.state] || 'neutral'));
      }},
    ], rows, {empty: t('No upstreams yet. Create one on the Upstreams page.'), class: 'dash-upstreams'}));
  }

  function drawAlerts(alerts) {
    replace(alertsBox, table([
      {title: t('Time'), class: 'nowrap', cell: (a) => fmtTime(a.ts)},
      {title: t('Kind'), cell: (a) => h('span', {class: 'mono'}, a.kind || 'rule')},
      {title: t('Message'), class: 'data', cell: (a) => [a.message, a.request_id ? [' ', h('a', {href: `#/logs?request_id=${encodeURIComponent(a.request_id)}`, class: 'request-link mono small'}, a.request_id)] : null]},
      {title: t('Key'), class: 'num', cell: (a) => (a.key_id ? h('a', {href: `#/logs?key_id=${a.key_id}`, title: t('Requests with this key')}, String(a.key_id)) : '—')},
      {title: t('Webhook'), cell: (a) => {
        if (a.delivered === true) return badge(t('delivered'), 'ok');
        if (a.delivered === false) return h('span', {title: a.delivery_error || ''}, badge(t('failed'), 'bad'));
        return h('span', {class: 'muted'}, '—');
      }},
    ], alerts.items, {empty: t('No alerts in the log.')}));
  }

  range.addEventListener('change', () => { ctx.setParams({range: range.value, upstream_id: upstreamSel.value}); refresh(); });
  upstreamSel.addEventListener('change', () => { ctx.setParams({range: range.value, upstream_id: upstreamSel.value}); refresh(); });
  refreshBtn.addEventListener('click', refresh);
  const onVisible = () => { if (document.visibilityState === 'visible' && !picker.paused()) refresh(); };
  document.addEventListener('visibilitychange', onVisible);

  await refresh();

  return () => {
    picker.stop();
    document.removeEventListener('visibilitychange', onVisible);
    if (charts) { charts.traffic.destroy(); charts.latency.destroy(); }
  };
}
