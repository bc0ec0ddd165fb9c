// The detail of one logged request (GET /api/admin/logs/{request_id}):
// what the row holds, the names of its key, client token and upstream as
// links, its query string (the client token removed by the gateway), and
// its attempts as a timeline with each failed answer's excerpt.
import * as api from '../api.js';
import {fmtMs, h, kv, modal, replace, statusBadge} from '../dom.js';
import {fmtNumber, fmtTime, t} from '../i18n.js';

const count = (n) => (n === null || n === undefined ? '—' : fmtNumber(n));

// A fallback that served shows as "fallback ← named".
export const upstreamText = (row) => (row.upstream || (row.upstream_id ? `#${row.upstream_id}` : '—')) +
  (row.fallback_from ? ` ← ${row.fallback_from}` : '');

function usageText(r) {
  return t('{prompt} prompt ({cached} cached) · {completion} completion · {total} total · {source}', {
    prompt: count(r.prompt_tokens), cached: count(r.cached_tokens), completion: count(r.completion_tokens),
    total: count(r.total_tokens), source: r.usage_source,
  });
}

// request_logs.affinity: null without an affinity id.
function affinityText(a) {
  if (a === null || a === undefined) return null;
  return h('span', {id: 'log-detail-affinity'},
    a ? t('the preferred key served') : t('another key served (the preferred one was out or failed)'));
}

// A key as its masked value and name, linked to the keys page filtered on it.
function keyLink(id, masked, name, upstreamId) {
  if (!id) return null;
  const label = [masked || `#${id}`, name ? `(${name})` : null].filter(Boolean).join(' ');
  const q = new URLSearchParams({q: name || masked || ''});
  if (upstreamId) q.set('upstream_id', String(upstreamId));
  return h('a', {href: `#/keys?${q}`, class: 'mono key-link', title: t('Show this key on the keys page')}, label);
}

function tokenLink(r) {
  if (!r.token_id) return null;
  return h('a', {href: '#/tokens', class: 'token-link', title: t('Show the client tokens')},
    r.token_name || t('token {id}', {id: r.token_id}));
}

const list = (items) => (items && items.length ? h('ul', {class: 'plain'}, items.map((x) => h('li', null, x))) : null);

// One attempt of the timeline.
function attemptItem(a, r) {
  const failed = a.status >= 400 || a.status === 0 || !!a.error;
  return h('li', {class: ['timeline-item', failed ? 'timeline-failed' : 'timeline-ok'], dataset: {seq: String(a.seq)}},
    h('div', {class: 'timeline-head'},
      h('strong', null, t('Attempt {n}', {n: a.attempt})), ' ',
      a.status ? statusBadge(a.status) : h('span', {class: 'badge badge-bad'}, t('no answer')), ' ',
      h('span', {class: 'muted small'}, fmtMs(a.latency_ms))),
    kv([
      [t('Key'), keyLink(a.key_id, a.key_masked, a.key_name, r.upstream_id)],
      [t('Endpoint'), a.endpoint ? h('span', {class: 'mono'}, a.endpoint) : null],
      [t('Egress proxy'), a.proxy ? h('span', {class: 'mono'}, a.proxy) : null],
      [t('Rules fired'), list(a.rules)],
      [t('Error'), a.error || null],
    ]),
    a.excerpt ? [h('div', {class: 'small muted'}, t('Answer excerpt (masked)')), h('pre', {class: 'excerpt'}, a.excerpt)] : null);
}

// The timeline: the attempts recorded, or the row itself when its only
// attempt succeeded (the gateway records attempts only once one failed).
function timeline(r) {
  const items = r.timeline && r.timeline.length ? r.timeline
    : (r.attempts > 0 ? [{seq: 1, attempt: 1, key_id: r.key_id, key_masked: r.key_masked, key_name: r.key_name,
      endpoint: r.endpoint, proxy: r.proxy, status: r.status, error: r.error, latency_ms: r.latency_ms, rules: r.rules}] : []);
  if (!items.length) return h('p', {class: 'muted'}, t('No attempt was made.'));
  return h('ol', {class: 'timeline', id: 'log-detail-timeline'}, items.map((a) => attemptItem(a, r)));
}

function body(r) {
  return [
    kv([
      [t('Request id'), h('span', {class: 'mono', id: 'log-detail-request-id'}, r.request_id)],
      [t('Time'), fmtTime(r.ts)],
      [t('Method'), r.method],
      [t('Path'), h('span', {class: 'mono wrap'}, r.path)],
      [t('Query string'), r.query ? h('span', {class: 'mono wrap', id: 'log-detail-query'}, r.query) : null],
      [t('Upstream'), upstreamText(r)],
      [t('Status'), statusBadge(r.status)],
      [t('Latency'), fmtMs(r.latency_ms)],
      [t('Attempts'), String(r.attempts)],
      [t('Key'), keyLink(r.key_id, r.key_masked, r.key_name, r.upstream_id)],
      [t('Key affinity'), affinityText(r.affinity)],
      [t('Client token'), tokenLink(r)],
      [t('Request bytes'), fmtNumber(r.req_bytes)],
      [t('Response bytes'), fmtNumber(r.resp_bytes)],
      [t('Model'), r.model ? h('span', {class: 'mono', id: 'log-detail-model'}, r.model) : null],
      [t('Usage'), r.usage_source ? h('span', {id: 'log-detail-usage'}, usageText(r)) : null],
      [t('Rules fired'), list(r.rules)],
      [t('Messages'), list(r.messages)],
      [t('Error'), r.error ? h('pre', {class: 'excerpt'}, r.error) : null],
    ]),
    h('h3', null, t('Attempts')),
    timeline(r),
    r.key_id ? h('p', null, h('a', {href: `#/logs?key_id=${r.key_id}`, class: 'small'}, t('All requests with this key →'))) : null,
  ];
}

// Opens the detail of request id rid; onClose runs when it closes.
export function showLogDetail(rid, onClose) {
  const box = h('div', {id: 'log-detail'}, h('p', {class: 'muted'}, t('Loading…')));
  const m = modal(t('Request {id}', {id: rid}), box, {wide: true, onClose});
  api.get(`/logs/${encodeURIComponent(rid)}`).then((r) => replace(box, body(r)), (e) => {
    const text = e.status === 404 ? t('No logged request has this id.') : e.message;
    replace(box, h('p', {class: 'error-text', id: 'log-detail-error'}, text));
  });
  return m;
}
