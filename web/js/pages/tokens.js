// Client tokens (admin): the list, create (the value is shown once, with a
// copy button), edit (name, upstreams, limits, expiry) with the token's
// usage, enable/disable, delete.  #/tokens?new=1 opens the create form
// (the dashboard's first-run steps link there).
import * as api from '../api.js';
import {copyText} from '../copy.js';
import {
  boolBadge, clearErrors, confirmDialog, formError, h, modal, pageHead, replace, showFormError, table, toast,
} from '../dom.js';
import {fmtNumber, fmtTime, t} from '../i18n.js';
import {limitsField, limitsText, readLimits, usageTable} from '../limits.js';
import {readTokenForm, tokenForm, tokenUsage} from '../token_form.js';

// Sends a dialog's form: closes the dialog and returns the answer, or shows
// the error at its field and returns undefined (a 401 or 403 closes it:
// the page or the banner says why).
async function send(form, save, m, call) {
  clearErrors(form);
  save.disabled = true;
  try {
    const out = await call();
    m.close();
    return out === null ? {} : out;
  } catch (e) {
    if (e.status === 401 || e.status === 403) m.close();
    else showFormError(form, e);
    return undefined;
  } finally {
    save.disabled = false;
  }
}

export async function render(view, ctx) {
  const isAdmin = ctx.can('admin');
  const newBtn = isAdmin ? h('button', {type: 'button', class: 'btn btn-primary', id: 'token-new'}, t('New client token')) : null;
  const listBox = h('div', {id: 'tokens-list'}, h('p', {class: 'muted'}, t('Loading…')));
  const shownOnce = h('div', {id: 'token-once'});
  view.append(pageHead(t('Client tokens'), newBtn),
    h('p', {class: 'muted intro'}, t('Clients present a token in one of these places when they call the proxy:'), ' ',
      h('code', null, '/proxy/… Authorization: Bearer <token> | X-Api-Key | X-Goog-Api-Key | ?key=')),
    shownOnce, listBox);

  let upstreams = [];
  const upName = (id) => (upstreams.find((u) => u.id === id) || {}).name || t('#{id} (deleted)', {id});

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
      {title: t('Id'), class: 'num', cell: (k) => String(k.id)},
      {title: t('Name'), cell: (k) => k.name},
      {title: t('Token'), class: 'mono nowrap', cell: (k) => k.token_masked},
      {title: t('Upstreams'), cell: (k) => (k.upstreams.length ? k.upstreams.map(upName).join(', ') : t('all'))},
      {title: t('Per minute'), class: 'num', cell: (k) => (k.rpm_limit ? fmtNumber(k.rpm_limit) : '—')},
      {title: t('Windows'), class: 'num', cell: (k) => (k.limits && k.limits.length ? String(k.limits.length) : '—')},
      {title: t('Daily quota'), class: 'num', cell: (k) => (k.daily_quota
        ? `${fmtNumber(k.used_today)} / ${fmtNumber(k.daily_quota)}` + (k.leased_today > 0 ? ' ' + t('+{n} leased', {n: fmtNumber(k.leased_today)}) : '')
        : '—')},
      {title: t('Used today'), class: 'num', cell: (k) => fmtNumber(k.used_today)},
      {title: t('Concurrent'), class: 'num', cell: (k) => (k.max_concurrent ? fmtNumber(k.max_concurrent) : '—')},
      {title: t('Expires'), class: 'small nowrap', cell: (k) => (k.expires_at ? fmtTime(k.expires_at) : t('never'))},
      {title: t('Enabled'), cell: (k) => boolBadge(k.enabled, t('yes'), t('no'))},
      {title: t('Last used'), class: 'small nowrap', cell: (k) => (k.last_used_at ? fmtTime(k.last_used_at) : '—')},
      {title: '', class: 'actions-cell', cell: (k) => [
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => openEdit(k)}}, t('Edit')),
        h('a', {class: 'btn btn-small', href: `#/logs?token_id=${k.id}`}, t('Logs')),
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => openLimits(k)}}, t('Limits')),
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => toggle(k)}}, k.enabled ? t('Disable') : t('Enable')),
        h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => remove(k)}}, t('Delete')),
      ]},
    ], items, {empty: t('No client tokens yet.'), rowAttrs: (k) => ({dataset: {id: k.id, name: k.name}})}));
  }

  async function toggle(k) {
    await ctx.guard(async () => {
      await api.patch(`/tokens/${k.id}`, {enabled: !k.enabled});
      toast(k.enabled ? t('Token {name} disabled', {name: k.name}) : t('Token {name} enabled', {name: k.name}));
      await load();
    });
  }

  // The token's limit windows, and the usage of each current window.
  async function openLimits(k) {
    const form = h('form', {class: 'form', id: 'token-limits-form', novalidate: true}, limitsField(false), formError());
    form.elements.namedItem('limits').value = limitsText(k.limits);
    const usage = h('div', {id: 'token-limits-usage', class: 'small'});
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'token-limits-form'}, t('Save'));
    const cancel = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
    const m = modal(t('Limits of token {name}', {name: k.name}), [form, usage, h('div', {class: 'actions'}, cancel, save)]);
    cancel.addEventListener('click', m.close);
    if (k.limits && k.limits.length) {
      api.get(`/tokens/${k.id}`).then((full) => replace(usage, h('h3', null, t('Current windows')),
        usageTable(full.limits, full.limits_usage))).catch(() => replace(usage));
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      try {
        await api.patch(`/tokens/${k.id}`, {limits: readLimits(form.elements.namedItem('limits').value)});
        m.close();
        toast(t('Limits of token {name} saved', {name: k.name}));
        await load();
      } catch (e) {
        if (e.status === 401 || e.status === 403) { m.close(); return; }
        showFormError(form, e);
      }
    });
  }

  // Edit a token's name, upstreams, limits and expiry; its usage below.
  function openEdit(k) {
    const form = tokenForm('token-edit-form', upstreams, k);
    const usage = h('div', {id: 'token-edit-usage', class: 'small'}, h('p', {class: 'muted'}, t('Loading…')));
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'token-edit-form'}, t('Save'));
    const cancel = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
    const m = modal(t('Client token {name}', {name: k.name}), [form, usage, h('div', {class: 'actions'}, cancel, save)], {wide: true});
    cancel.addEventListener('click', m.close);
    tokenUsage(k).then((panel) => replace(usage, panel),
      () => replace(usage, h('p', {class: 'muted'}, t('The usage could not be read.'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (await send(form, save, m, () => api.patch(`/tokens/${k.id}`, readTokenForm(form, k))) === undefined) return;
      toast(t('Token {name} saved', {name: form.elements.namedItem('name').value}));
      await load();
    });
  }

  async function remove(k) {
    if (!await confirmDialog(t('Delete client token'),
      t('Delete token {name} ({masked})? Clients using it get 401 at once.', {name: k.name, masked: k.token_masked}), t('Delete'))) return;
    await ctx.guard(async () => {
      await api.del(`/tokens/${k.id}`);
      toast(t('Token {name} deleted', {name: k.name}));
      await load();
    });
  }

  function showOnce(created) {
    const value = h('code', {class: 'token-value', id: 'token-value'}, created.token);
    const copy = h('button', {type: 'button', class: 'btn btn-primary', id: 'token-copy'}, t('Copy'));
    copy.addEventListener('click', () => copyText(created.token, copy));
    const dismiss = h('button', {type: 'button', class: 'btn btn-ghost'}, t('I have stored it'));
    const panel = h('div', {class: 'once card', role: 'status'},
      h('h2', null, t('Token {name} created', {name: created.name})),
      h('p', null, h('strong', null, t('Copy it now:')), ' ', t('this is the only time the gateway shows it. Afterwards only {masked} is shown.', {masked: created.token_masked})),
      h('div', {class: 'token-row'}, value, copy),
      h('div', {class: 'actions'}, dismiss));
    dismiss.addEventListener('click', () => replace(shownOnce));
    replace(shownOnce, panel);
  }

  function openCreate() {
    const form = tokenForm('token-form', upstreams, null);
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'token-form'}, t('Create token'));
    const cancel = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
    const m = modal(t('New client token'), [form, h('div', {class: 'actions'}, cancel, save)]);
    cancel.addEventListener('click', m.close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const created = await send(form, save, m, () => api.post('/tokens', readTokenForm(form, null)));
      if (created === undefined) return;
      showOnce(created);
      await load();
    });
    form.elements.namedItem('name').focus();
  }

  upstreams = await api.listAll('/upstreams');
  if (newBtn) newBtn.addEventListener('click', openCreate);
  await load();
  if (isAdmin && ctx.params.get('new')) {
    openCreate();
    ctx.setParams({});
  }
}
