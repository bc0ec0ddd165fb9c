// Logs: every proxied request, newest first, with filters, cursor paging
// and a detail view.
import * as api from '../api.js';
import {
  fmtMs, fmtNum, fmtTime, fmtTimeShort, h, input, kv, localToIso, isoToLocal, modal, pageHead, replace, select,
  statusBadge, table,
} from '../dom.js';

export async function render(view, ctx) {
  const p = ctx.params;
  const upSel = select('upstream_id', [['', 'All upstreams']], '', {'aria-label': 'Upstream'});
  const status = input('status', {placeholder: 'Status (429, 5xx)', value: p.get('status') || '', 'aria-label': 'Status', size: '14'});
  const q = input('q', {type: 'search', placeholder: 'Path contains…', value: p.get('q') || '', 'aria-label': 'Path contains'});
  const keyId = input('key_id', {type: 'number', placeholder: 'Key id', value: p.get('key_id') || '', 'aria-label': 'Key id', min: '1'});
  const model = input('model', {placeholder: 'Model', value: p.get('model') || '', 'aria-label': 'Model', size: '16', spellcheck: 'false'});
  const tokenId = input('token_id', {type: 'number', placeholder: 'Token id', value: p.get('token_id') || '', 'aria-label': 'Token id', min: '1'});
  const from = input('from', {type: 'datetime-local', value: isoToLocal(p.get('from')), 'aria-label': 'From'});
  const to = input('to', {type: 'datetime-local', value: isoToLocal(p.get('to')), 'aria-label': 'To'});
  const size = select('limit', [['25', '25 a page'], ['50', '50 a page'], ['100', '100 a page'], ['200', '200 a page']], p.get('limit') || '50', {'aria-label': 'Page size'});
  const reset = h('button', {type: 'button', class: 'btn btn-ghost'}, 'Clear');
  const refresh = h('button', {type: 'button', class: 'btn', id: 'logs-refresh'}, 'Refresh');

  const listBox = h('div', {id: 'logs-list'}, h('p', {class: 'muted'}, 'Loading…'));
  const pager = h('div', {class: 'pager', id: 'logs-pager'});
  const filters = h('form', {class: 'filters filters-wrap', role: 'search'},
    upSel, status, q, model, keyId, tokenId,
    h('label', {class: 'inline-label'}, 'From ', from), h('label', {class: 'inline-label'}, 'To ', to),
    size, h('button', {type: 'submit', class: 'btn'}, 'Filter'), reset);
  // On a phone the filters fold away unless one is set.
  const anySet = ['upstream_id', 'status', 'q', 'model', 'key_id', 'token_id', 'from', 'to'].some((k) => p.get(k));
  const box = h('details', {class: 'filters-box', open: anySet || window.matchMedia('(min-width: 861px)').matches},
    h('summary', null, 'Filters'), filters);
  view.append(pageHead('Logs', refresh), box, listBox, pager);

  // cursors[i] is the cursor that gives page i (null for the first).
  let cursors = [null];
  let pageNo = 0;
  let upstreams = [];

  function filterParams() {
    return {
      upstream_id: upSel.value, status: status.value.trim(), q: q.value.trim(), model: model.value.trim(),
      key_id: keyId.value.trim(), token_id: tokenId.value.trim(),
      from: localToIso(from.value), to: localToIso(to.value), limit: size.value,
    };
  }

  async function load() {
    const f = filterParams();
    ctx.setParams({...f, limit: f.limit === '50' ? '' : f.limit});
    try {
      const page = await api.get('/logs', {...f, cursor: cursors[pageNo]});
      if (!ctx.isCurrent()) return;
      cursors = cursors.slice(0, pageNo + 1);
      if (page.next_cursor) cursors.push(page.next_cursor);
      drawTable(page.items);
      drawPager(page.items.length, !!page.next_cursor);
    } catch (e) {
      if (e.status !== 401) ctx.showError(e);
    }
  }

  // A fallback that served shows as "fallback ← named".
  const upName = (row) => (row.upstream || (row.upstream_id ? `#${row.upstream_id}` : '—')) +
    (row.fallback_from ? ` ← ${row.fallback_from}` : '');

  function drawTable(items) {
    replace(listBox, table([
      {title: 'Time', class: 'nowrap small', cell: (r) => h('span', {title: r.ts}, fmtTimeShort(r.ts))},
      {title: 'Status', cell: (r) => statusBadge(r.status)},
      {title: 'Request', class: 'path', cell: (r) => [h('span', {class: 'method mono'}, r.method), ' ',
        h('button', {type: 'button', class: 'link mono', title: 'Show the details', on: {click: () => detail(r)}}, r.path)]},
      {title: 'Upstream', cell: (r) => upName(r)},
      {title: 'Latency', class: 'num nowrap', cell: (r) => fmtMs(r.latency_ms)},
      {title: 'Attempts', class: 'num', cell: (r) => String(r.attempts)},
      {title: 'Key', class: 'num', cell: (r) => (r.key_id ? String(r.key_id) : '—')},
      {title: 'Tokens', class: 'num nowrap', cell: (r) => (r.total_tokens !== null && r.total_tokens !== undefined ? h('span', {title: r.model || ''}, fmtNum(r.total_tokens)) : '—')},
      {title: 'Rules', class: 'small', cell: (r) => (r.rules && r.rules.length ? r.rules.join(', ') : '—')},
      {title: 'Error', class: 'small clip', cell: (r) => (r.error ? h('span', {title: r.error}, r.error) : '')},
    ], items, {empty: 'No request matches these filters.', rowAttrs: (r) => ({dataset: {requestId: r.request_id}, class: 'clickable'})}));
  }

  function drawPager(n, hasNext) {
    const prev = h('button', {type: 'button', class: 'btn btn-small', disabled: pageNo === 0,
      on: {click: () => { pageNo -= 1; load(); }}}, '‹ Newer');
    const next = h('button', {type: 'button', class: 'btn btn-small', disabled: !hasNext, id: 'logs-older',
      on: {click: () => { pageNo += 1; load(); }}}, 'Older ›');
    replace(pager, h('span', {class: 'muted'}, `Page ${pageNo + 1} · ${fmtNum(n)} request(s)`), prev, next);
  }

  const count = (n) => (n === null || n === undefined ? '—' : fmtNum(n));
  const usageText = (r) => `${count(r.prompt_tokens)} prompt (${count(r.cached_tokens)} cached) · ` +
    `${count(r.completion_tokens)} completion · ${count(r.total_tokens)} total · ${r.usage_source}`;

  // request_logs.affinity: null without an affinity id.
  const affinityText = (a) => (a === null || a === undefined ? null
    : h('span', {id: 'log-detail-affinity'}, a ? 'the preferred key served' : 'another key served (the preferred one was out or failed)'));

  function detail(r) {
    modal('Request ' + r.request_id, [
      kv([
        ['Request id', h('span', {class: 'mono', id: 'log-detail-request-id'}, r.request_id)],
        ['Time', fmtTime(r.ts) + ' (' + r.ts + ')'],
        ['Method', r.method],
        ['Path', h('span', {class: 'mono wrap'}, r.path)],
        ['Upstream', upName(r)],
        ['Status', statusBadge(r.status)],
        ['Latency', fmtMs(r.latency_ms)],
        ['Attempts', String(r.attempts)],
        ['Key', r.key_id ? `key ${r.key_id}` : null],
        ['Key affinity', affinityText(r.affinity)],
        ['Client token', r.token_id ? `token ${r.token_id}` : null],
        ['Request bytes', fmtNum(r.req_bytes)],
        ['Response bytes', fmtNum(r.resp_bytes)],
        ['Model', r.model ? h('span', {class: 'mono', id: 'log-detail-model'}, r.model) : null],
        ['Egress proxy', r.proxy ? h('span', {class: 'mono'}, r.proxy) : null],
        ['Usage', r.usage_source ? h('span', {id: 'log-detail-usage'}, usageText(r)) : null],
        ['Rules fired', r.rules && r.rules.length ? h('ul', {class: 'plain'}, r.rules.map((x) => h('li', null, x))) : null],
        ['Messages', r.messages && r.messages.length ? h('ul', {class: 'plain'}, r.messages.map((x) => h('li', null, x))) : null],
        ['Error', r.error ? h('pre', {class: 'excerpt'}, r.error) : null],
      ]),
      r.key_id ? h('p', null, h('a', {href: `#/logs?key_id=${r.key_id}`, class: 'small'}, 'All requests with this key →')) : null,
    ], {wide: true});
  }

  function apply(ev) {
    if (ev) ev.preventDefault();
    cursors = [null];
    pageNo = 0;
    load();
  }

  filters.addEventListener('submit', apply);
  upSel.addEventListener('change', apply);
  size.addEventListener('change', apply);
  refresh.addEventListener('click', apply);
  reset.addEventListener('click', () => {
    for (const el of [status, q, model, keyId, tokenId, from, to]) el.value = '';
    upSel.value = '';
    apply();
  });

  try {
    upstreams = await api.listAll('/upstreams');
  } catch (e) {
    if (e.status !== 401) ctx.showError(e);
    return;
  }
  replace(upSel, h('option', {value: ''}, 'All upstreams'), upstreams.map((u) => h('option', {value: String(u.id)}, u.name)));
  upSel.value = p.get('upstream_id') || '';
  await load();
}
