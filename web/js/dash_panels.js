// The dashboard's top-N panels from GET /stats: the keys with the most
// requests and the errors by reason, each row a link to the matching logs.
import {badge, h, table} from './dom.js';
import {fmtNumber, t} from './i18n.js';

const TOP = 10;

// Query text for #/logs: the dashboard's range and upstream plus more.
export function logsLink(range, extra) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({...range, ...extra})) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  return '#/logs?' + q.toString();
}

export function topKeysTable(stats, range) {
  const rows = (stats.by_key || []).slice(0, TOP);
  return table([
    {title: t('Key'), class: 'mono nowrap', cell: (k) => h('a', {href: logsLink(range, {key_id: k.key_id})},
      k.key_masked || t('#{id} (deleted)', {id: k.key_id}))},
    {title: t('Name'), cell: (k) => k.name || '—'},
    {title: t('Status'), cell: (k) => (k.status ? badge(t(k.status)) : '—')},
    {title: t('Requests'), class: 'num', cell: (k) => fmtNumber(k.requests)},
    {title: t('Errors'), class: 'num', cell: (k) => (k.errors
      ? h('a', {href: logsLink(range, {key_id: k.key_id, status: '5xx'})}, fmtNumber(k.errors)) : '0')},
  ], rows, {empty: t('No request used a key in this range.'), class: 'dash-top-keys'});
}

export function errorReasonsTable(stats, range) {
  const rows = stats.errors_by_reason || [];
  return table([
    {title: t('Status'), class: 'mono', cell: (e) => h('a', {href: logsLink(range, {status: String(e.status)})}, String(e.status))},
    {title: t('Reason'), class: 'wrap data', cell: (e) => (e.reason === '' ? h('span', {class: 'muted'}, t('the upstream\'s own answer')) : e.reason)},
    {title: t('Requests'), class: 'num', cell: (e) => fmtNumber(e.requests)},
  ], rows, {empty: t('No errors in this range.'), class: 'dash-error-reasons',
    rowAttrs: (e) => ({dataset: {status: e.status}})});
}
