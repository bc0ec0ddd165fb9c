// Log in with a username and password, or with the bootstrap admin token.
import * as api from '../api.js';
import {errorText} from '../api_errors.js';
import {clearErrors, field, formError, h, input, showFormError} from '../dom.js';
import {t} from '../i18n.js';

// Shows a sentence of the page's own at the field it concerns.
function fieldError(form, name, sentence) {
  const target = showFormError(form, {message: name + ': ' + sentence});
  if (target) target.querySelector('.field-error').textContent = sentence;
}

export function render(view, ctx) {
  const notice = sessionStorage.getItem('apigw.notice');
  sessionStorage.removeItem('apigw.notice');

  const user = input('username', {autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false'});
  const pass = input('password', {type: 'password', autocomplete: 'current-password'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary btn-block'}, t('Log in'));
  const form = h('form', {class: 'form', id: 'login-form', novalidate: true},
    field(t('Username'), user), field(t('Password'), pass), formError(), submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!user.value.trim()) {
      fieldError(form, 'username', t('Enter your username.'));
      return;
    }
    if (!pass.value) {
      fieldError(form, 'password', t('Enter your password.'));
      return;
    }
    submit.disabled = true;
    try {
      const res = await api.login(user.value.trim(), pass.value);
      const session = await api.me(res.token);
      ctx.loggedIn(res.token, session);
    } catch (e) {
      // 401 here is a wrong username or password: say so at the form.
      showFormError(form, {message: e.status === 401 ? t('Log in failed: wrong username or password.') : errorText(e)});
    } finally {
      submit.disabled = false;
    }
  });

  const tok = input('admin_token', {type: 'password', autocomplete: 'off', spellcheck: 'false'});
  const tokSubmit = h('button', {type: 'submit', class: 'btn btn-block'}, t('Use admin token'));
  const tokForm = h('form', {class: 'form', id: 'token-form', novalidate: true},
    field(t('Admin token'), tok, t('The bootstrap token from the configuration (admin_token).')),
    formError(), tokSubmit);
  tokForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(tokForm);
    const value = tok.value.trim();
    if (!value) {
      fieldError(tokForm, 'admin_token', t('Enter the admin token.'));
      return;
    }
    tokSubmit.disabled = true;
    try {
      const session = await api.me(value);
      ctx.loggedIn(value, session);
    } catch (e) {
      if (e.status === 401) fieldError(tokForm, 'admin_token', t('This token is not accepted.'));
      else showFormError(tokForm, {message: errorText(e)});
    } finally {
      tokSubmit.disabled = false;
    }
  });

  view.append(h('div', {class: 'login'},
    h('div', {class: 'login-card card'},
      h('h1', null, 'API Gateway Pro'),
      h('p', {class: 'muted'}, t('Sign in to manage upstreams, keys, rules and tokens.')),
      notice ? h('p', {class: 'notice', role: 'status'}, t(notice)) : null,
      form,
      h('div', {class: 'divider'}, h('span', null, t('or'))),
      tokForm)));
  user.focus();
}
