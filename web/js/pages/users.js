// Users (admin): who may log in, with which role.
import * as api from '../api.js';
import {errorText} from '../api_errors.js';
import {
  badge, boolBadge, clearErrors, confirmDialog, field, fmtTime, formError, h, input, modal,
  pageHead, replace, select, showFormError, table, toast,
} from '../dom.js';
import {t} from '../i18n.js';

const ROLES = () => [['viewer', t('viewer — reads everything')], ['operator', t('operator — also keys and rules')],
  ['admin', t('admin — everything')]];

export async function render(view, ctx) {
  const isAdmin = ctx.can('admin');
  const newBtn = isAdmin ? h('button', {type: 'button', class: 'btn btn-primary', id: 'user-new'}, t('New user')) : null;
  const listBox = h('div', {id: 'users-list'}, h('p', {class: 'muted'}, t('Loading…')));
  view.append(pageHead(t('Users'), newBtn),
    h('p', {class: 'muted intro'}, t('Roles: viewer (read only), operator (also keys and rules), admin (everything, upstreams, tokens and users included).')),
    listBox);

  async function load() {
    let items;
    try {
      items = await api.listAll('/users');
    } catch (e) {
      // A role below admin gets the API's 403: say it here too, plainly.
      if (e.status === 403) replace(listBox, h('p', {class: 'error-text', id: 'users-forbidden'}, errorText(e)));
      else if (e.status !== 401) ctx.showError(e);
      return;
    }
    if (!ctx.isCurrent()) return;
    const me = ctx.session.username;
    replace(listBox, table([
      {title: t('Username'), cell: (u) => [h('span', {class: 'data'}, u.username),
        u.username === me ? h('span', {class: 'muted small'}, ' ' + t('(you)')) : null]},
      {title: t('Role'), cell: (u) => badge(u.role)},
      {title: t('Enabled'), cell: (u) => boolBadge(u.enabled)},
      {title: t('Last login'), class: 'small nowrap', cell: (u) => fmtTime(u.last_login_at)},
      {title: t('Created'), class: 'small nowrap', cell: (u) => fmtTime(u.created_at)},
      {title: '', class: 'actions-cell', cell: (u) => [
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => openForm(u)}}, t('Edit')),
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => toggle(u)}}, u.enabled ? t('Disable') : t('Enable')),
        h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => remove(u)}}, t('Delete')),
      ]},
    ], items, {empty: t('No users yet: the bootstrap admin token is the only way in.'), rowAttrs: (u) => ({dataset: {username: u.username}})}));
  }

  async function toggle(u) {
    await ctx.guard(async () => {
      await api.patch(`/users/${u.id}`, {enabled: !u.enabled});
      toast(u.enabled ? t('User {name} disabled: their sessions ended', {name: u.username})
        : t('User {name} enabled', {name: u.username}));
      await load();
    });
  }

  async function remove(u) {
    if (!await confirmDialog(t('Delete user'), t('Delete user {name}? Their sessions end at once.', {name: u.username}), t('Delete'))) return;
    await ctx.guard(async () => {
      await api.del(`/users/${u.id}`);
      toast(t('User {name} deleted', {name: u.username}));
      await load();
    });
  }

  function openForm(u) {
    const creating = !u;
    const form = h('form', {class: 'form', id: 'user-form', novalidate: true},
      field(t('Username'), input('username', {disabled: !creating, value: u ? u.username : '', autocapitalize: 'none'}),
        creating ? t('Letters, digits, _ . @ -') : t('A username cannot be changed.')),
      field(creating ? t('Password') : t('New password'), input('password', {type: 'password', autocomplete: 'new-password'}),
        creating ? t('At least 8 characters.') : t('Leave empty to keep it. A new password ends the user\'s sessions.')),
      field(t('Role'), select('role', ROLES(), u ? u.role : 'viewer')),
      formError());
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'user-form'}, creating ? t('Create user') : t('Save'));
    const cancel = h('button', {type: 'button', class: 'btn'}, t('Cancel'));
    const m = modal(creating ? t('New user') : t('User {name}', {name: u.username}), [form, h('div', {class: 'actions'}, cancel, save)]);
    cancel.addEventListener('click', m.close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const body = {role: form.elements.namedItem('role').value};
      const pw = form.elements.namedItem('password').value;
      if (creating) {
        body.username = form.elements.namedItem('username').value.trim();
        body.password = pw;
      } else if (pw) {
        body.password = pw;
      }
      save.disabled = true;
      try {
        const saved = creating ? await api.post('/users', body) : await api.patch(`/users/${u.id}`, body);
        m.close();
        toast(creating ? t('User {name} created', {name: saved.username}) : t('User {name} saved', {name: saved.username}));
        await load();
      } catch (e) {
        if (e.status === 401 || e.status === 403) { m.close(); return; }
        showFormError(form, e);
      } finally {
        save.disabled = false;
      }
    });
  }

  if (newBtn) newBtn.addEventListener('click', () => openForm(null));
  await load();
}
