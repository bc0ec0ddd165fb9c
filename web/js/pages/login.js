// Log in with a username and password, or with the bootstrap admin token.
import * as api from '../api.js';
import {clearErrors, field, formError, h, input, showFormError} from '../dom.js';

export function render(view, ctx) {
  const notice = sessionStorage.getItem('apigw.notice');
  sessionStorage.removeItem('apigw.notice');

  const user = input('username', {autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false'});
  const pass = input('password', {type: 'password', autocomplete: 'current-password'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary btn-block'}, 'Log in');
  const form = h('form', {class: 'form', id: 'login-form', novalidate: true},
    field('Username', user), field('Password', pass), formError(), submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!user.value.trim()) {
      showFormError(form, {message: 'username: required'});
      return;
    }
    if (!pass.value) {
      showFormError(form, {message: 'password: required'});
      return;
    }
    submit.disabled = true;
    try {
      const res = await api.login(user.value.trim(), pass.value);
      const session = await api.me(res.token);
      ctx.loggedIn(res.token, session);
    } catch (e) {
      // 401 here is a wrong username or password: say so at the form.
      showFormError(form, {message: e.message});
    } finally {
      submit.disabled = false;
    }
  });

  const tok = input('admin_token', {type: 'password', autocomplete: 'off', spellcheck: 'false'});
  const tokSubmit = h('button', {type: 'submit', class: 'btn btn-block'}, 'Use admin token');
  const tokForm = h('form', {class: 'form', id: 'token-form', novalidate: true},
    field('Admin token', tok, 'The bootstrap token from the configuration (admin_token).'),
    formError(), tokSubmit);
  tokForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(tokForm);
    const t = tok.value.trim();
    if (!t) {
      showFormError(tokForm, {message: 'admin_token: required'});
      return;
    }
    tokSubmit.disabled = true;
    try {
      const session = await api.me(t);
      ctx.loggedIn(t, session);
    } catch (e) {
      showFormError(tokForm, {message: e.status === 401 ? 'admin_token: this token is not accepted' : e.message});
    } finally {
      tokSubmit.disabled = false;
    }
  });

  view.append(h('div', {class: 'login'},
    h('div', {class: 'login-card card'},
      h('h1', null, 'API Gateway Pro'),
      h('p', {class: 'muted'}, 'Sign in to manage upstreams, keys, rules and tokens.'),
      notice ? h('p', {class: 'notice', role: 'status'}, notice) : null,
      form,
      h('div', {class: 'divider'}, h('span', null, 'or')),
      tokForm)));
  user.focus();
}
