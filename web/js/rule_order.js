// Two tools of the rules page's sample panel: "Which rules would fire, in
// order" (every rule of an upstream on the sample answer, through POST
// /upstreams/{id}/rules/test) and "Test against a logged request" (the
// sample filled from a request-log row and the excerpt its key event
// kept).
import * as api from './api.js';
import {badge, h, replace, table} from './dom.js';
import {t} from './i18n.js';

const WHY = {
  fires: 'matched: fires',
  counts: 'matched: counts toward its threshold',
  no_match: 'no match',
  not_reached: 'not reached: an earlier rule stopped the evaluation',
  disabled: 'disabled',
};
const PHASE = {
  held: 'on the held answer', transport: 'on the failed attempt', headers: 'when the headers come',
  after: 'after the answer went out (cannot retry)',
};

// The transport cause of a failed request from its log error, as the
// backtest reads it (admin/backtest_read.c).
function transportOf(error) {
  const e = error.toLowerCase();
  if (e.includes('timed out') || e.includes('timeout')) return 'timeout';
  if (e.includes('proxy')) return 'proxy';
  if (e.includes('connect') || e.includes('resolve')) return 'connect';
  return 'other';
}

// The key event that kept an excerpt of the request's answer, or null.
// The log row names only the last key tried; an event is written when a
// rule changed a key's status, so the other keys to look at are those of
// the upstream that are not active now (at most 50).
async function excerptOf(row, requestId) {
  const keys = [row.key_id];
  if (row.upstream_id) {
    const list = await api.get(`/keys?upstream_id=${row.upstream_id}&limit=200`).catch(() => ({items: []}));
    keys.push(...(list.items || []).filter((k) => k.status !== 'active' && k.id !== row.key_id).slice(0, 50).map((k) => k.id));
  }
  const found = await Promise.all(keys.map((id) => api.get(`/keys/${id}/events?limit=50`)
    .then((ev) => (ev.items || []).find((e) => e.request_id === requestId && e.excerpt))
    .catch(() => null)));
  return found.find(Boolean) || null;
}

// The sample as the rules saw the request's answer, and notes on what the
// log could not tell.  The request is found by id (GET /logs/{id}); its
// last failed attempt, when the gateway recorded its attempts, gives the
// answer's status and excerpt, else the log row and a key event do.
export async function sampleFromLog(requestId, upstreamId) {
  let row;
  try {
    row = await api.get('/logs/' + encodeURIComponent(requestId));
  } catch (e) {
    if (e && e.status === 404) return null;
    throw e;
  }
  if (upstreamId && row.upstream_id && String(row.upstream_id) !== String(upstreamId)) return null;
  const notes = [t('The log keeps no headers; the latency is the whole request\'s.')];
  const s = {status: row.status, latency_ms: row.latency_ms, transport_error: '', headers: '', body: ''};
  const failed = (row.timeline || []).filter((a) => a.error || (a.status && a.status >= 400));
  const last = failed.length ? failed[failed.length - 1] : null;
  const error = last ? last.error : row.error;
  const retried = /^the answer \(status (\d+)/.exec(error || '');
  if (last) {
    s.status = last.status || 0;
    if (last.latency_ms !== null && last.latency_ms !== undefined) s.latency_ms = last.latency_ms;
  }
  if (row.status === 499 && !last) notes.push(t('The client left before an answer: no rule saw this request.'));
  if (retried) s.status = Number(retried[1]);
  else if (error && (s.status === 0 || (!last && (row.status === 502 || row.status === 504)))) {
    s.status = 0;
    s.transport_error = transportOf(error);
  }
  if (last && last.excerpt) {
    s.body = last.excerpt;
    notes.push(t('The body is the excerpt the gateway kept of this attempt (its first 512 bytes, key masked).'));
  } else if (row.key_id && s.status !== 0) {
    const hit = await excerptOf(row, requestId);
    if (hit) {
      s.body = hit.excerpt;
      notes.push(t('The body is the excerpt a key event kept (its first 512 bytes, key masked).'));
    } else {
      notes.push(t('No key event kept an excerpt of this answer: the body is empty.'));
    }
  }
  return {sample: s, row, notes};
}

// The recent request ids of an upstream, for the picker.
export async function recentRequests(upstreamId) {
  const q = new URLSearchParams({limit: '50'});
  if (upstreamId) q.set('upstream_id', upstreamId);
  const page = await api.get('/logs?' + q.toString());
  return page.items || [];
}

// The leaf at a place the API names ("condition.all[1].not"), or null.
export function leafAt(rule, at) {
  let c = rule;
  for (const m of at.matchAll(/\.?(\w+)(?:\[(\d+)\])?/g)) {
    if (!c || typeof c !== 'object') return null;
    c = c[m[1]];
    if (m[2] !== undefined) c = Array.isArray(c) ? c[Number(m[2])] : null;
  }
  return c || null;
}

// describe(id, at): the leaf at `at` of rule id in words, or null.
export async function runOrder(upstreamId, sample, out, describe) {
  const r = await api.post(`/upstreams/${upstreamId}/rules/test`, sample);
  const stops = [r.stopped_by, r.stopped_after_by].filter(Boolean);
  replace(out,
    h('p', {class: 'verdict', id: 'order-verdict', dataset: {retry: String(r.retry)}},
      r.retry ? t('The attempt would be retried with another key.') : t('The answer would go to the client.'),
      ' ', stops.length ? t('Evaluation stops at: {names}.', {names: stops.map((id) => (r.rules.find((x) => x.id === id) || {}).name).join(', ')})
        : t('No rule stops the evaluation.')),
    table([
      {title: t('#'), class: 'num', cell: (x) => String(r.rules.indexOf(x) + 1)},
      {title: t('Rule'), cell: (x) => x.name},
      {title: t('Priority'), class: 'num', cell: (x) => String(x.priority)},
      {title: t('Runs'), class: 'small', cell: (x) => t(PHASE[x.phase])},
      {title: t('Verdict'), cell: (x) => badge(t(WHY[x.why]), x.why === 'fires' ? 'ok' : x.why === 'counts' ? 'warn' : 'neutral')},
      {title: t('Why'), class: 'mono small wrap', cell: (x) => x.leaves.map((l) => `${l.held ? '✓' : '✗'} ${(describe && describe(x.id, l.at)) || l.at}`).join('\n')},
      {title: t('Actions'), class: 'small', cell: (x) => [x.actions.map((a) => a.type).join(', '), x.stops_here ? ' ' + t('(stop)') : '']},
    ], r.rules, {empty: t('This upstream has no rules.'),
      rowAttrs: (x) => ({class: ['order-row', x.stops_here ? 'order-stop' : null], dataset: {name: x.name, why: x.why}})}));
}
