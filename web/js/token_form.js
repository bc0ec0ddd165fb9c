// The client token form, for creating a token and for editing one (name,
// upstreams, limits, expiry), and the usage panel of the edit dialog.
import * as api from './api.js';
import {checkField, field, formError, h, input, isoToLocal, localToIso, table} from './dom.js';
import {fmtNumber, fmtTime, t} from './i18n.js';
import {limitsField, limitsText, readLimits, usageTable} from './limits.js';

const NUMBERS = ['rpm_limit', 'daily_quota', 'max_concurrent', 'daily_token_quota'];

// tok: the token being edited, or null for a new one.
export function tokenForm(id, upstreams, tok) {
  const boxes = upstreams.map((u) => checkField(u.name, h('input', {type: 'checkbox', name: 'up', value: String(u.id),
    id: `${id}-up-${u.id}`, checked: !!tok && tok.upstreams.includes(u.id)})));
  const form = h('form', {class: 'form', id, novalidate: true},
    field(t('Name'), input('name', {placeholder: 'backend'})),
    h('fieldset', {class: 'field', dataset: {field: 'upstreams'}},
      h('legend', null, t('Upstreams (none ticked = every upstream)')),
      h('div', {class: 'checks'}, boxes.length ? boxes : h('span', {class: 'muted'}, t('No upstreams yet.'))),
      h('div', {class: 'field-error', hidden: true})),
    h('div', {class: 'field-row'},
      field(t('Requests per minute'), input('rpm_limit', {type: 'number', placeholder: t('0 = none')})),
      field(t('Daily quota'), input('daily_quota', {type: 'number', placeholder: t('0 = none')})),
      field(t('Max concurrent'), input('max_concurrent', {type: 'number', placeholder: t('empty = none')}),
        t('Requests in flight at once, in each gateway process.'))),
    field(t('Daily token quota'), input('daily_token_quota', {type: 'number', placeholder: t('empty = none')}),
      t('Tokens a day, as the answers report them.')),
    field(t('Expires'), input('expires_at', {type: 'datetime-local'}), t('Empty: never. Your local time.')),
    limitsField(false),
    formError());
  if (tok) {
    const el = (n) => form.elements.namedItem(n);
    el('name').value = tok.name;
    for (const k of NUMBERS) el(k).value = tok[k] ? String(tok[k]) : '';
    el('expires_at').value = isoToLocal(tok.expires_at);
    el('limits').value = limitsText(tok.limits);
  }
  return form;
}

// The body of a create (tok null: empty fields left out) or an update
// (every field sent, empty ones as "none").
export function readTokenForm(form, tok) {
  const el = (n) => form.elements.namedItem(n);
  const body = {name: el('name').value};
  body.upstreams = [...form.querySelectorAll('input[name=up]:checked')].map((c) => Number(c.value));
  for (const k of NUMBERS) {
    const v = el(k).value.trim();
    if (v !== '') body[k] = /^-?\d+$/.test(v) ? Number(v) : v;
    else if (tok) body[k] = k === 'rpm_limit' || k === 'daily_quota' ? 0 : null;
  }
  const exp = el('expires_at').value;
  if (exp) body.expires_at = localToIso(exp);
  else if (tok) body.expires_at = null;
  const limits = readLimits(el('limits').value);
  if (limits) body.limits = limits;
  else if (tok) body.limits = null;
  return body;
}

// What the token used: today's counters, its current limit windows, and
// its requests, errors and tokens over the last 24 hours (GET /stats).
export async function tokenUsage(tok) {
  const from = new Date(Date.now() - 86400000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const [full, stats] = await Promise.all([api.get(`/tokens/${tok.id}`), api.get('/stats', {from})]);
  const day = (stats.by_token || []).find((r) => r.token_id === tok.id) ||
    {requests: 0, errors: 0, total_tokens: 0};
  const quota = (used, max) => (max ? t('{used} of {max}', {used: fmtNumber(used), max: fmtNumber(max)}) : fmtNumber(used));
  return h('div', {class: 'token-usage', id: 'token-usage'},
    h('h3', null, t('Usage')),
    table([
      {title: t('Measure'), cell: (r) => r[0]},
      {title: t('Value'), class: 'num', cell: (r) => r[1]},
    ], [
      [t('Requests today (since the quota reset)'), quota(full.used_today, full.daily_quota)],
      [t('Tokens today'), quota(full.tokens_today || 0, full.daily_token_quota)],
      [t('Requests, last 24 hours'), fmtNumber(day.requests)],
      [t('Errors, last 24 hours'), fmtNumber(day.errors)],
      [t('Tokens, last 24 hours'), fmtNumber(day.total_tokens || 0)],
      [t('Last used'), full.last_used_at ? fmtTime(full.last_used_at) : t('never')],
    ], {class: 'token-usage-table'}),
    full.limits && full.limits.length ? [h('h4', null, t('Current windows')), usageTable(full.limits, full.limits_usage)] : null,
    h('p', null, h('a', {href: `#/logs?token_id=${tok.id}`}, t('Requests of this token in the logs'))));
}
