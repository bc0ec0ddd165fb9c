// The dialogs of one key on the keys page: its history (status changes and
// rests for one model), the probe test, and the edit form.  `page` is what
// the list lends them: {ctx, canWrite, upName(id), reload()}.
import * as api from './api.js';
import {clearErrors, field, formError, h, input, kv, modal, replace, select, showFormError, table, toast} from './dom.js';
import {readForm, setForm} from './forms.js';
import {fmtNumber, fmtTime, t} from './i18n.js';
import {limitsField, limitsText, readLimits, usageTable} from './limits.js';
import {statusBadge, statusOptions} from './keys_status.js';

// The budget the provider's headers last reported (docs/API.md "Pacing by
// the provider's headers"), while it has not refilled.
export function paceText(k) {
  const p = k.pace;
  if (!p || !p.resets_at || Date.parse(p.resets_at) <= Date.now()) return null;
  const parts = [];
  if (p.remaining_requests !== null) parts.push(t('{n} requests', {n: fmtNumber(p.remaining_requests)}));
  if (p.remaining_tokens !== null) parts.push(t('{n} tokens', {n: fmtNumber(p.remaining_tokens)}));
  return parts.length ? t('{what} left until {time}', {what: parts.join(t(', ')), time: fmtTime(p.resets_at)}) : null;
}

function modelBlocksList(page, k) {
  const blocks = k.model_blocks || [];
  if (!blocks.length) return null;
  return h('div', {id: 'key-model-blocks'}, h('h3', null, t('Rests for one model')),
    h('p', {class: 'muted small'}, t('Requests for these models skip this key until the rest ends; enable the key to end them now.')),
    table([
      {title: t('Model'), class: 'mono', cell: (b) => b.model},
      {title: t('Kind'), class: 'nowrap', cell: (b) => h('span', {class: 'badge badge-warn'}, b.kind)},
      {title: t('Until'), class: 'nowrap', cell: (b) => (b.until ? fmtTime(b.until) : t('enabled by hand'))},
      {title: t('Reason'), cell: (b) => b.reason},
    ], blocks, {empty: ''}),
    page.canWrite ? h('p', null, h('button', {type: 'button', class: 'btn btn-small', dataset: {act: 'end-model-blocks'},
      on: {click: (ev) => page.ctx.guard(async () => {
        await api.patch(`/keys/${k.id}`, {status: 'active'});
        ev.target.closest('#key-model-blocks').remove();
        toast(t('Key {id} enabled for every model', {id: k.id}));
        await page.reload();
      })}}, t('Enable (ends these rests)'))) : null);
}

export async function openHistory(page, k) {
  const box = h('div', {id: 'key-history'}, h('p', {class: 'muted'}, t('Loading…')));
  modal(t('Key {id} history', {id: k.id}), [
    kv([[t('Key'), h('span', {class: 'mono'}, k.key_masked)], [t('Name'), k.name], [t('Upstream'), page.upName(k.upstream_id)],
      [t('Status'), statusBadge(k.status)], [t('Reason'), k.status_reason],
      [t('Disabled until'), k.disabled_until ? fmtTime(k.disabled_until) : null],
      [t('Egress proxy'), k.proxy ? h('span', {class: 'mono'}, k.proxy) : null],
      [t('Provider budget'), paceText(k) || (k.pace ? t('learned {time}, refilled since', {time: fmtTime(k.pace.learned_at)}) : null)],
      [t('Requests'), fmtNumber(k.total_requests)], [t('Failures'), fmtNumber(k.total_failures)], [t('Created'), fmtTime(k.created_at)]]),
    h('p', null, h('a', {href: `#/logs?key_id=${k.id}`}, t('Requests sent with this key →'))),
    modelBlocksList(page, k),
    h('h3', null, t('Status changes')), box], {wide: true});
  try {
    const ev = await api.get(`/keys/${k.id}/events`, {limit: 100});
    replace(box, table([
      {title: t('Time'), class: 'nowrap', cell: (e) => fmtTime(e.ts)},
      {title: t('Change'), class: 'nowrap', cell: (e) => [statusBadge(e.from), ' → ', statusBadge(e.to),
        e.model ? h('div', {class: 'small muted'}, t('for model {model} only', {model: e.model})) : null]},
      {title: t('Reason'), cell: (e) => e.reason},
      {title: t('By'), cell: (e) => e.actor || '—'},
      {title: t('Request'), class: 'mono small', cell: (e) => (e.request_id ? h('a', {href: `#/logs?request_id=${encodeURIComponent(e.request_id)}`, class: 'request-link'}, e.request_id) : '—')},
      {title: t('Answer excerpt'), cell: (e) => (e.excerpt ? h('pre', {class: 'excerpt'}, e.excerpt) : '—')},
    ], ev.items, {empty: t('No status changes yet.')}),
    ev.total > ev.items.length ? h('p', {class: 'muted small'}, t('Showing the latest {n} of {total}.', {n: ev.items.length, total: fmtNumber(ev.total)})) : null);
  } catch (e) {
    replace(box, h('p', {class: 'error-text'}, e.message));
  }
}

export async function testKey(k) {
  const box = h('div', {id: 'key-test-result', 'aria-live': 'polite'}, h('p', {class: 'muted'}, t('Sending the upstream\'s probe with this key…')));
  modal(t('Test key {id}', {id: k.id}), [h('p', {class: 'muted small'}, t('Sends the upstream\'s probe request with this key. Nothing is changed.')), box]);
  try {
    const r = await api.post(`/keys/${k.id}/test`);
    replace(box, h('p', {class: 'test-verdict'}, h('span', {class: ['badge', r.ok ? 'badge-ok' : 'badge-bad']}, r.ok ? t('works') : t('failed'))),
      kv([[t('Key'), h('span', {class: 'mono'}, r.key_masked || k.key_masked)], [t('Status'), r.status ? String(r.status) : t('no answer')],
        [t('Latency'), t('{n} ms', {n: r.latency_ms})], [t('Error'), r.error]]));
  } catch (e) {
    replace(box, h('p', {class: 'error-text', role: 'alert'}, e.message));
  }
}

const EDIT_FIELDS = [['name', 'nullable'], ['weight', 'int'], ['priority', 'int'], ['daily_quota', 'int'], ['rpm_limit', 'int'], ['status', 'string'], ['proxy', 'nullable']];

export function openEdit(page, k) {
  const form = h('form', {class: 'form', id: 'key-form', novalidate: true},
    field(t('Name'), input('name')),
    field(t('Status'), select('status', statusOptions())),
    field(t('Weight'), input('weight', {type: 'number'})),
    field(t('Priority (tier)'), input('priority', {type: 'number'}), t('Higher tiers are tried first; the strategy applies inside a tier.')),
    field(t('Daily quota'), input('daily_quota', {type: 'number'}), t('0 = unlimited')),
    field(t('Requests per minute'), input('rpm_limit', {type: 'number'}), t('0 = no limit')),
    field(t('Egress proxy'), input('proxy', {class: 'mono', spellcheck: 'false', placeholder: t('the upstream\'s')}),
      t('This key\'s own http://, https://, socks5:// or socks5h:// proxy; empty = the upstream\'s. The password shows as ***; left as it is, it is kept.')),
    limitsField(false),
    formError());
  setForm(form, EDIT_FIELDS, k);
  form.elements.namedItem('limits').value = limitsText(k.limits);
  const usage = h('div', {id: 'key-limits-usage', class: 'small'});
  if (k.limits && k.limits.length) {
    api.get(`/keys/${k.id}`).then((full) => replace(usage, h('h3', null, t('Current windows')),
      usageTable(full.limits, full.limits_usage))).catch(() => replace(usage));
  }
  const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'key-form'}, t('Save'));
  const cancel = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
  const m = modal(t('Edit key {id}', {id: k.id}), [h('p', {class: 'mono'}, k.key_masked), form, usage, h('div', {class: 'actions'}, cancel, save)]);
  cancel.addEventListener('click', m.close);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = readForm(form, EDIT_FIELDS, false);
    if (body.status === k.status) delete body.status;
    body.limits = readLimits(form.elements.namedItem('limits').value);
    try {
      await api.patch(`/keys/${k.id}`, body);
      m.close();
      toast(t('Key {id} saved', {id: k.id}));
      await page.reload();
    } catch (e) {
      if (e.status === 401 || e.status === 403) { m.close(); return; }
      showFormError(form, e);
    }
  });
}
