// Logs: every proxied request, newest first, with filters, cursor paging,
// a search by request id and a detail view (log_detail.js).
import * as api from '../api.js';
import {
  fmtMs, h, input, localToIso, isoToLocal, pageHead, replace, select, statusBadge, table,
} from '../dom.js';
import {fmtNumber, fmtTime, t} from '../i18n.js';
import {showLogDetail, upstreamText} from './log_detail.js';

export async function render(view, ctx) {
  const p = ctx.params;
  const upSel = select('upstream_id', [['', t('All upstreams')]], '', {'aria-label': t('Upstream')});
  const status = input('status', {placeholder: t('Status (429, 5xx)'), value: p.get('status') || '', 'aria-label': t('Status'), size: '14'});
  const q = input('q', {type: 'search', placeholder: t('Path contains…'), value: p.get('q') || '', 'aria-label': t('Path contains')});
  const keyId = input('key_id', {type: 'number', placeholder: t('Key id'), value: p.get('key_id') || '', 'aria-label': t('Key id'), min: '1'});
  const model = input('model', {placeholder: t('Model'), value: p.get('model') || '', 'aria-label': t('Model'), size: '16', spellcheck: 'false'});
  const tokenId = input('token_id', {type: 'number', placeholder: t('Token id'), value: p.get('token_id') || '', 'aria-label': t('Token id'), min: '1'});
  const from = input('from', {type: 'datetime-local', value: isoToLocal(p.get('from')), 'aria-label': t('From')});
  const to = input('to', {type: 'datetime-local', value: isoToLocal(p.get('to')), 'aria-label': t('To')});
  const size = select('limit', ['25', '50', '100', '200'].map((n) => [n, t('{n} a page', {n})]), p.get('limit') || '50', {'aria-label': t('Page size')});
  const reset = h('button', {type: 'button', class: 'btn btn-ghost'}, t('Clear'));
  const refresh = h('button', {type: 'button', class: 'btn', id: 'logs-refresh'}, t('Refresh'));
  // The X-Gateway-Request-Id a client received.
  const ridInput = input('request_id', {type: 'search', id: 'logs-request-id', placeholder: t('Request id'),
    'aria-label': t('Request id'), spellcheck: 'false', autocomplete: 'off', size: '26'});
  const ridForm = h('form', {class: 'filters', role: 'search', id: 'logs-find'},
    ridInput, h('button', {type: 'submit', class: 'btn'}, t('Find request')));

  const listBox = h('div', {id: 'logs-list'}, h('p', {class: 'muted'}, t('Loading…')));
  const pager = h('div', {class: 'pager', id: 'logs-pager'});
  const filters = h('form', {class: 'filters filters-wrap', role: 'search'},
    upSel, status, q, model, keyId, tokenId,
    h('label', {class: 'inline-label'}, t('From') + ' ', from), h('label', {class: 'inline-label'}, t('To') + ' ', to),
    size, h('button', {type: 'submit', class: 'btn'}, t('Filter')), reset);
  // On a phone the filters fold away unless one is set.
  const anySet = ['upstream_id', 'status', 'q', 'model', 'key_id', 'token_id', 'from', 'to'].some((k) => p.get(k));
  const box = h('details', {class: 'filters-box', open: anySet || window.matchMedia('(min-width: 861px)').matches},
    h('summary', null, t('Filters')), filters);
  view.append(pageHead(t('Logs'), refresh), ridForm, box, listBox, pager);

  // cursors[i] is the cursor that gives page i (null for the first).
  let cursors = [null];
  let pageNo = 0;
  let upstreams = [];
  // The request whose detail is open, kept in the address so that a link
  // (#/logs?request_id=...) opens it.
  let openId = p.get('request_id') || '';

  function filterParams() {
    return {
      upstream_id: upSel.value, status: status.value.trim(), q: q.value.trim(), model: model.value.trim(),
      key_id: keyId.value.trim(), token_id: tokenId.value.trim(),
      from: localToIso(from.value), to: localToIso(to.value), limit: size.value,
    };
  }

  const saveParams = () => {
    const f = filterParams();
    ctx.setParams({...f, limit: f.limit === '50' ? '' : f.limit, request_id: openId});
  };

  function detail(rid) {
    openId = rid;
    saveParams();
    showLogDetail(rid, () => {
      if (!ctx.isCurrent()) return;
      openId = '';
      saveParams();
    });
  }

  async function load() {
    const f = filterParams();
    saveParams();
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

  function drawTable(items) {
    replace(listBox, table([
      {title: t('Time'), class: 'nowrap small', cell: (r) => h('span', {title: r.ts}, fmtTime(r.ts))},
      {title: t('Status'), cell: (r) => statusBadge(r.status)},
      {title: t('Request'), class: 'path', cell: (r) => [h('span', {class: 'method mono'}, r.method), ' ',
        h('button', {type: 'button', class: 'link mono', title: t('Show the details'), on: {click: () => detail(r.request_id)}}, r.path)]},
      {title: t('Upstream'), cell: (r) => upstreamText(r)},
      {title: t('Latency'), class: 'num nowrap', cell: (r) => fmtMs(r.latency_ms)},
      {title: t('Attempts'), class: 'num', cell: (r) => String(r.attempts)},
      {title: t('Key'), class: 'num', cell: (r) => (r.key_id ? String(r.key_id) : '—')},
      {title: t('Tokens'), class: 'num nowrap', cell: (r) => (r.total_tokens !== null && r.total_tokens !== undefined ? h('span', {title: r.model || ''}, fmtNumber(r.total_tokens)) : '—')},
      {title: t('Rules'), class: 'small', cell: (r) => (r.rules && r.rules.length ? r.rules.join(', ') : '—')},
      {title: t('Error'), class: 'small clip data', cell: (r) => (r.error ? h('span', {title: r.error}, r.error) : '')},
    ], items, {empty: t('No request matches these filters.'), rowAttrs: (r) => ({dataset: {requestId: r.request_id}, class: 'clickable'})}));
  }

  function drawPager(n, hasNext) {
    const prev = h('button', {type: 'button', class: 'btn btn-small', disabled: pageNo === 0,
      on: {click: () => { pageNo -= 1; load(); }}}, t('‹ Newer'));
    const next = h('button', {type: 'button', class: 'btn btn-small', disabled: !hasNext, id: 'logs-older',
      on: {click: () => { pageNo += 1; load(); }}}, t('Older ›'));
    replace(pager, h('span', {class: 'muted'}, t('Page {page} · {n} request(s)', {page: pageNo + 1, n: fmtNumber(n)})), prev, next);
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
  ridForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const rid = ridInput.value.trim();
    if (rid) detail(rid);
  });

  try {
    upstreams = await api.listAll('/upstreams');
  } catch (e) {
    if (e.status !== 401) ctx.showError(e);
    return;
  }
  replace(upSel, h('option', {value: ''}, t('All upstreams')), upstreams.map((u) => h('option', {value: String(u.id)}, u.name)));
  upSel.value = p.get('upstream_id') || '';
  if (openId) detail(openId);
  await load();
}
