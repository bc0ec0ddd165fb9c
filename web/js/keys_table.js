// The table of the keys page: a header that sorts by its column (the
// server sorts: GET /keys?sort=&order=), and cells that carry their
// column's name, so that on a phone each row stacks as label: value.
// `page`: {ctx, canWrite, sort, order, sortBy(col), upName(id), upstreamOf(id),
// batch (keys_batch.js), history(k), test(k), edit(k)}.
import {h} from './dom.js';
import {fmtNumber, fmtTime, t} from './i18n.js';
import {paceText} from './keys_dialogs.js';
import {statusBadge} from './keys_status.js';

// A resting key whose time has passed: without a probe the pool serves it
// again at once (and marks it active at its next use); with a probe it
// waits for the next apigw-recover run.  Say which, so that a stale
// "until" does not read as a stuck key.
function restHint(page, k) {
  if (!k.disabled_until || k.status === 'active') return null;
  if (Date.parse(k.disabled_until) > Date.now()) return h('div', {class: 'small muted'}, t('until {time}', {time: fmtTime(k.disabled_until)}));
  const up = page.upstreamOf(k.upstream_id) || {};
  return h('div', {class: 'small rest-due', title: t('disabled until {time}', {time: fmtTime(k.disabled_until)})},
    up.probe_path ? t('due: the next recover run probes it') : t('due: serves again at its next use'));
}

function paceHint(k) {
  const text = paceText(k);
  return text ? h('div', {class: 'small muted', dataset: {role: 'pace'}, title: t('Learned from the provider\'s rate-limit headers')}, text) : null;
}

// Rests of the key for one model (docs/API.md "Model-scoped key state"):
// the key stays active for every other model.
function modelBlocksBadge(k) {
  const n = (k.model_blocks || []).length;
  if (!n) return null;
  return [' ', h('span', {class: ['badge', 'badge-warn'], dataset: {role: 'model-blocks'},
    title: (k.model_blocks || []).map((b) => b.model).join(', ')},
  n === 1 ? t('rests for 1 model') : t('rests for {n} models', {n}))];
}

function columns(page) {
  const cols = [];
  if (page.canWrite) {
    cols.push({title: h('input', {type: 'checkbox', 'aria-label': t('Select all on this page'), id: 'keys-select-all',
      on: {change: (ev) => page.batch.togglePage(ev.target.checked)}}), class: 'check',
    cell: (k) => h('input', {type: 'checkbox', class: 'row-check', 'aria-label': t('Select key {id}', {id: k.id}), dataset: {id: k.id},
      on: {change: (ev) => page.batch.toggle(k.id, ev.target.checked)}})});
  }
  cols.push(
    {title: t('Id'), sort: 'id', class: 'num', cell: (k) => String(k.id)},
    {title: t('Key'), sort: 'key', class: 'mono nowrap', cell: (k) => k.key_masked},
    {title: t('Status'), sort: 'status', class: 'nowrap', cell: (k) => [statusBadge(k.status), modelBlocksBadge(k),
      h('div', {class: 'small muted data', title: t('Why the status last changed')}, k.status_reason || ''),
      restHint(page, k), paceHint(k)]},
    {title: t('Upstream'), sort: 'upstream_id', cell: (k) => page.upName(k.upstream_id)},
    {title: t('Name'), sort: 'name', class: 'clip', cell: (k) => k.name || h('span', {class: 'muted'}, '—')},
    {title: t('Weight'), sort: 'weight', class: 'num', cell: (k) => String(k.weight)},
    {title: t('Tier'), sort: 'priority', class: 'num', cell: (k) => String(k.priority)},
    {title: t('Used today'), sort: 'used_today', class: 'num nowrap', cell: (k) => fmtNumber(k.used_today)
      + (k.daily_quota ? ' / ' + fmtNumber(k.daily_quota) : '') + (k.leased_today > 0 ? ' ' + t('+{n} leased', {n: fmtNumber(k.leased_today)}) : '')},
    {title: t('Requests'), sort: 'total_requests', class: 'num nowrap', cell: (k) => [fmtNumber(k.total_requests),
      h('div', {class: ['small', k.total_failures ? 'error-text' : 'muted']}, t('{n} failed', {n: fmtNumber(k.total_failures)}))]},
    {title: t('Last used'), sort: 'last_used_at', class: 'small nowrap', cell: (k) => (k.last_used_at ? fmtTime(k.last_used_at) : '—')},
    {title: t('Actions'), hideTitle: true, class: 'actions-cell', cell: (k) => [
      h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'history'}, on: {click: () => page.history(k)}}, t('History')),
      page.canWrite ? h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'test'}, on: {click: () => page.test(k)}}, t('Test')) : null,
      page.canWrite ? h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'edit'}, on: {click: () => page.edit(k)}}, t('Edit')) : null,
    ]});
  return cols;
}

// A header cell: a button that sorts by the column (again: the other way).
function headCell(page, c) {
  const cls = (c.class || '').split(' ').filter((x) => ['num', 'check', 'actions-cell'].includes(x)).join(' ') || null;
  if (!c.sort) return h('th', {class: cls, scope: 'col'}, c.hideTitle ? h('span', {class: 'sr-only'}, c.title) : c.title);
  const on = page.sort === c.sort;
  const arrow = on ? (page.order === 'desc' ? ' ↓' : ' ↑') : '';
  return h('th', {class: cls, scope: 'col', 'aria-sort': on ? (page.order === 'desc' ? 'descending' : 'ascending') : 'none'},
    h('button', {type: 'button', class: 'sort-head', dataset: {sort: c.sort}, title: t('Sort by {column}', {column: c.title}),
      on: {click: () => page.sortBy(c.sort)}}, c.title, arrow));
}

export function keysTable(page, items, empty) {
  const cols = columns(page);
  const rows = items.length ? items.map((k) => h('tr', {dataset: {id: k.id, status: k.status}},
    cols.map((c) => h('td', {class: c.class, 'data-label': typeof c.title === 'string' && !c.hideTitle ? c.title : null}, c.cell(k)))))
    : [h('tr', {class: 'empty'}, h('td', {colspan: String(cols.length)}, empty))];
  return h('div', {class: 'table-wrap keys-table-wrap'},
    h('table', {class: 'table keys-table'}, h('thead', null, h('tr', null, cols.map((c) => headCell(page, c)))), h('tbody', null, rows)));
}

// The columns the list can be sorted by, for the select that phones use.
export function sortOptions() {
  return [['id', t('Id')], ['key', t('Key')], ['status', t('Status')], ['upstream_id', t('Upstream')], ['name', t('Name')],
    ['weight', t('Weight')], ['priority', t('Tier')], ['used_today', t('Used today')], ['total_requests', t('Requests')],
    ['total_failures', t('Failures')], ['last_used_at', t('Last used')], ['created_at', t('Created')]];
}
