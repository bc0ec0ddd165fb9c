// Users (admin): who may log in, with which role.
import * as api from '../api.js';
import {
  badge, boolBadge, clearErrors, confirmDialog, field, fmtTime, formError, h, input, modal,
  pageHead, replace, select, showFormError, table, toast,
} from '../dom.js';

const ROLES = [['viewer', 'viewer — reads everything'], ['operator', 'operator — also keys and rules'], ['admin', 'admin — everything']];

export async function render(view, ctx) {
  const isAdmin = ctx.can('admin');
  const newBtn = isAdmin ? h('button', {type: 'button', class: 'btn btn-primary', id: 'user-new'}, 'New user') : null;
  const listBox = h('div', {id: 'users-list'}, h('p', {class: 'muted'}, 'Loading…'));
  view.append(pageHead('Users', newBtn),
    h('p', {class: 'muted intro'}, 'Roles: viewer (read only), operator (also keys and rules), admin (everything, upstreams, tokens and users included).'),
    listBox);

  async function load() {
    let items;
    try {
      items = await api.listAll('/users');
    } catch (e) {
      // A role below admin gets the API's 403: say it here too, plainly.
      if (e.status === 403) replace(listBox, h('p', {class: 'error-text', id: 'users-forbidden'}, e.message));
      else if (e.status !== 401) ctx.showError(e);
      return;
    }
    if (!ctx.isCurrent()) return;
    const me = ctx.session.username;
    replace(listBox, table([
      {title: 'Username', cell: (u) => [u.username, u.username === me ? h('span', {class: 'muted small'}, ' (you)') : null]},
      {title: 'Role', cell: (u) => badge(u.role)},
      {title: 'Enabled', cell: (u) => boolBadge(u.enabled)},
      {title: 'Last login', class: 'small nowrap', cell: (u) => fmtTime(u.last_login_at)},
      {title: 'Created', class: 'small nowrap', cell: (u) => fmtTime(u.created_at)},
      {title: '', class: 'actions-cell', cell: (u) => [
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => openForm(u)}}, 'Edit'),
        h('button', {type: 'button', class: 'btn btn-small', on: {click: () => toggle(u)}}, u.enabled ? 'Disable' : 'Enable'),
        h('button', {type: 'button', class: 'btn btn-small btn-danger-ghost', on: {click: () => remove(u)}}, 'Delete'),
      ]},
    ], items, {empty: 'No users yet: the bootstrap admin token is the only way in.', rowAttrs: (u) => ({dataset: {username: u.username}})}));
  }

  async function toggle(u) {
    await ctx.guard(async () => {
      await api.patch(`/users/${u.id}`, {enabled: !u.enabled});
      toast(`User ${u.username} ${u.enabled ? 'disabled: their sessions ended' : 'enabled'}`);
      await load();
    });
  }

  async function remove(u) {
    if (!await confirmDialog('Delete user', `Delete user ${u.username}? Their sessions end at once.`, 'Delete')) return;
    await ctx.guard(async () => {
      await api.del(`/users/${u.id}`);
      toast(`User ${u.username} deleted`);
      await load();
    });
  }

  function openForm(u) {
    const creating = !u;
    const form = h('form', {class: 'form', id: 'user-form', novalidate: true},
      field('Username', input('username', {disabled: !creating, value: u ? u.username : '', autocapitalize: 'none'}), creating ? 'Letters, digits, _ . @ -' : 'A username cannot be changed.'),
      field(creating ? 'Password' : 'New password', input('password', {type: 'password', autocomplete: 'new-password'}), creating ? 'At least 8 characters.' : 'Leave empty to keep it. A new password ends the user\'s sessions.'),
      field('Role', select('role', ROLES, u ? u.role : 'viewer')),
      formError());
    const save = h('button', {type: 'submit', class: 'btn btn-primary', form: 'user-form'}, creating ? 'Create user' : 'Save');
    const cancel = h('button', {type: 'button', class: 'btn'}, 'Cancel');
    const m = modal(creating ? 'New user' : `User ${u.username}`, [form, h('div', {class: 'actions'}, cancel, save)]);
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
        toast(`User ${saved.username} ${creating ? 'created' : 'saved'}`);
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
