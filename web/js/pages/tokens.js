// Client tokens (admin): the list, create (the value is shown once, with a
// copy button), enable/disable, delete.
import * as api from '../api.js';
import {
  boolBadge, checkField, clearErrors, confirmDialog, field, fmtNum, fmtTime, formError, h, input,
  localToIso, modal, pageHead, replace, showFormError, table, toast,
} from '../dom.js';
import {limitsField, limitsText, readLimits, usageTable} from '../limits.js';

async function copyText(value, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(value);
    ok = true;
  } catch {
    ok = false;
  }
  button.textContent = ok ? 'Copied' : 'Select and copy it by hand';
  setTimeout(() => { button.textContent = 'Copy'; }, 2500);
}

export async function render(view, ctx) {
  const isAdmin = ctx.can('admin');
  const newBtn = isAdmin ? h('button', {type: 'button', class: 'btn btn-primary', id: 'token-new'}, 'New client token') : null;
  const listBox = h('div', {id: 'tokens-list'}, h('p', {class: 'muted'}, 'Loading…'));
  const shownOnce = h('div', {id: 'token-once'});
  view.append(pageHead('Client tokens', newBtn),
    h('p', {class: 'muted intro'}, 'Clients present one of these to call /proxy/…: Authorization: Bearer <token>, X-Api-Key, X-Goog-Api-Key or ?key=.'),
    shownOnce, listBox);

  let upstreams = [];
  const upName = (id) => (upstreams.find((u) => u.id === id) || {}).name || `#${id} (deleted)`;

  async function load() {
    let items;
    try {
      items = await api.listAll('/tokens');
    } catch (e) {
      // A role below admin gets the API's 403: say it here too, plainly.
      if (e.status === 403) replace(listBox, h('p', {class: 'error-text', id: 'tokens-forbidden'}, e.message));
      else if (e.status !== 401) ctx.showError(e);
      return;
    }
    if (!ctx.isCurrent()) return;
    replace(listBox, table([
      {title: 'Id', class: 'num', cell: (t) => String(t.id)},
      {title: 'Name', cell: (t) => t.name},
      {title: 'Token', class: 'mono nowrap', cell: (t) => t.token_masked},
      {title: 'Upstreams', cell: (t) => (t.upstreams.length ? t.upstreams.map(upName).join(', ') : 'all')},
      {title: 'Per minute', class: 'num', cell: (t) => (t.rpm_limit ? fmtNum(t.rpm_limit) : '—')},
      {title: 'Windows', class: 'num', cell: (t) => (t.limits && t.limits.length ? String(t.limits.length) : '—')},
      {title: 'Daily quota', class: 'num', cell: (t) => (t.daily_quota ? `${fmtNum(t.used_today)} / ${fmtNum(t.daily_quota)}` + (t.leased_today > 0 ? ` +${fmtNum(t.leased_today)} leased` : '') : '—')},
      {title: 'Concurrent', class: 'num', cell: (t) => (t.max_concurrent ? fmtNum(t.max_concurrent) : '—')},
      {title: 'Expires', class: 'small nowrap', cell: (t) => (t.expires_at ? fmtTime(t.expires_at) : 'never')},
      {title: 'Enabled', cell: (t) => boolBadge(t.enabled)},
      {title: 'Last used', class: 'small nowrap', cell: (t) => fmtTime(t.last_used_at)},
      {title: '', class: 'actions-cell', cell: (t) => [
        h('a', {class: 'btn btn-small', href: `#/logs?token_id=${t.id}`}, 'Logs'),
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => openLimits(t)}}, 'Limits'),
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => toggle(t)}}, t.enabled ? 'Disable' : 'Enable'),
        h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => remove(t)}}, 'Delete'),
      ]},
    ], items, {empty: 'No client tokens yet.', rowAttrs: (t) => ({dataset: {id: t.id, name: t.name}})}));
  }

  async function toggle(t) {
    await ctx.guard(async () => {
      await api.patch(`/tokens/${t.id}`, {enabled: !t.enabled});
      toast(`Token ${t.name} ${t.enabled ? 'disabled' : 'enabled'}`);
      await load();
    });
  }

  // The token's limit windows, and the usage of each current window.
  async function openLimits(t) {
    const form = h('form', {class: 'form', id: 'token-limits-form', novalidate: true}, limitsField(false), formError());
    form.elements.namedItem('limits').value = limitsText(t.limits);
    const usage = h('div', {id: 'token-limits-usage', class: 'small'});
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'token-limits-form'}, 'Save');
    const cancel = h('button', {type: 'button', class: 'btn'}, 'Cancel');
    const m = modal(`Limits of token ${t.name}`, [form, usage, h('div', {class: 'actions'}, cancel, save)]);
    cancel.addEventListener('click', m.close);
    if (t.limits && t.limits.length) {
      api.get(`/tokens/${t.id}`).then((full) => replace(usage, h('h3', null, 'Current windows'),
        usageTable(full.limits, full.limits_usage))).catch(() => replace(usage));
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      try {
        await api.patch(`/tokens/${t.id}`, {limits: readLimits(form.elements.namedItem('limits').value)});
        m.close();
        toast(`Limits of token ${t.name} saved`);
        await load();
      } catch (e) {
        if (e.status === 401 || e.status === 403) { m.close(); return; }
        showFormError(form, e);
      }
    });
  }

  async function remove(t) {
    if (!await confirmDialog('Delete client token', `Delete token ${t.name} (${t.token_masked})? Clients using it get 401 at once.`, 'Delete')) return;
    await ctx.guard(async () => {
      await api.del(`/tokens/${t.id}`);
      toast(`Token ${t.name} deleted`);
      await load();
    });
  }

  function showOnce(created) {
    const value = h('code', {class: 'token-value', id: 'token-value'}, created.token);
    const copy = h('button', {type: 'button', class: 'btn btn-primary', id: 'token-copy'}, 'Copy');
    copy.addEventListener('click', () => copyText(created.token, copy));
    const dismiss = h('button', {type: 'button', class: 'btn btn-ghost'}, 'I have stored it');
    const panel = h('div', {class: 'once card', role: 'status'},
      h('h2', null, `Token ${created.name} created`),
      h('p', null, h('strong', null, 'Copy it now: '), 'this is the only time the gateway shows it. Afterwards only ',
        h('span', {class: 'mono'}, created.token_masked), ' is shown.'),
      h('div', {class: 'token-row'}, value, copy),
      h('div', {class: 'actions'}, dismiss));
    dismiss.addEventListener('click', () => replace(shownOnce));
    replace(shownOnce, panel);
  }

  function openCreate() {
    const boxes = upstreams.map((u) => checkField(u.name, h('input', {type: 'checkbox', name: 'up', value: String(u.id), id: `tok-up-${u.id}`})));
    const form = h('form', {class: 'form', id: 'token-form', novalidate: true},
      field('Name', input('name', {placeholder: 'backend'})),
      h('fieldset', {class: 'field', dataset: {field: 'upstreams'}},
        h('legend', null, 'Upstreams (none ticked = every upstream)'),
        h('div', {class: 'checks'}, boxes.length ? boxes : h('span', {class: 'muted'}, 'No upstreams yet.')),
        h('div', {class: 'field-error', hidden: true})),
      h('div', {class: 'field-row'},
        field('Requests per minute', input('rpm_limit', {type: 'number', placeholder: '0 = none'})),
        field('Daily quota', input('daily_quota', {type: 'number', placeholder: '0 = none'})),
        field('Max concurrent', input('max_concurrent', {type: 'number', placeholder: 'empty = none'}),
          'Requests in flight at once, in each gateway process.')),
      field('Expires', input('expires_at', {type: 'datetime-local'}), 'Empty: never. Your local time.'),
      limitsField(false),
      formError());
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'token-form'}, 'Create token');
    const cancel = h('button', {type: 'button', class: 'btn'}, 'Cancel');
    const m = modal('New client token', [form, h('div', {class: 'actions'}, cancel, save)]);
    cancel.addEventListener('click', m.close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const body = {name: form.elements.namedItem('name').value};
      body.upstreams = [...form.querySelectorAll('input[name=up]:checked')].map((c) => Number(c.value));
      for (const k of ['rpm_limit', 'daily_quota', 'max_concurrent']) {
        const v = form.elements.namedItem(k).value.trim();
        if (v !== '') body[k] = /^-?\d+$/.test(v) ? Number(v) : v;
      }
      const exp = form.elements.namedItem('expires_at').value;
      if (exp) body.expires_at = localToIso(exp);
      const limits = readLimits(form.elements.namedItem('limits').value);
      if (limits) body.limits = limits;
      save.disabled = true;
      try {
        const created = await api.post('/tokens', body);
        m.close();
        showOnce(created);
        await load();
      } catch (e) {
        if (e.status === 401 || e.status === 403) { m.close(); return; }
        showFormError(form, e);
      } finally {
        save.disabled = false;
      }
    });
    form.elements.namedItem('name').focus();
  }

  upstreams = await api.listAll('/upstreams');
  if (newBtn) newBtn.addEventListener('click', openCreate);
  await load();
}
