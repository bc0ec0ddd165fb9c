// The admin page: session, navigation, hash routes, the error banner.
import './i18n/catalogue.js';
import * as api from './api.js';
import {errorText} from './api_errors.js';
import {setupPrefs, translateStatic} from './frame_prefs.js';
import {onLocaleChange, t} from './i18n.js';
import {clear, h} from './dom.js';
import * as loginPage from './pages/login.js';
import * as dashboardPage from './pages/dashboard.js';
import * as upstreamsPage from './pages/upstreams.js';
import * as keysPage from './pages/keys.js';
import * as rulesPage from './pages/rules.js';
import * as logsPage from './pages/logs.js';
import * as tokensPage from './pages/tokens.js';
import * as usersPage from './pages/users.js';
import * as apiDocsPage from './pages/api_docs.js';

const PAGES = {
  login: loginPage, dashboard: dashboardPage, upstreams: upstreamsPage, keys: keysPage,
  rules: rulesPage, logs: logsPage, tokens: tokensPage, users: usersPage, api: apiDocsPage,
};
const TITLES = {
  login: 'Log in', dashboard: 'Dashboard', upstreams: 'Upstreams', keys: 'Keys', rules: 'Rules',
  logs: 'Logs', tokens: 'Client tokens', users: 'Users', api: 'API reference',
};
const RANK = {viewer: 1, operator: 2, admin: 3};

const state = {session: null, cleanup: null, renderSeq: 0, shownError: null};

const $ = (id) => document.getElementById(id);

export function can(role) {
  return !!state.session && (RANK[state.session.role] || 0) >= RANK[role];
}

// ---- the banner: errors shown plainly, above the page -------------------

// An API error shows its code's sentence in the page's language, then the
// server's message (api_errors.js); any other error shows its message.
export function showError(err) {
  if (!err) return;
  state.shownError = err;
  const status = err.status;
  $('banner-text').textContent = err instanceof api.ApiError ? errorText(err) : (err.message || String(err));
  $('banner').dataset.status = String(status || '');
  $('banner').dataset.code = err.code || '';
  $('banner').hidden = false;
}

export function hideError() {
  $('banner').hidden = true;
  $('banner-text').textContent = '';
}

// Runs fn; an API error goes to the banner (a 401 has already gone back to
// the login page).
export async function guard(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e && e.status !== 401) showError(e);
    else if (!(e instanceof api.ApiError)) showError(e);
    return undefined;
  }
}

// ---- routes -----------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const name = path.split('/')[0] || '';
  return {name, params: new URLSearchParams(qs || '')};
}

export function navigate(name, params) {
  const qs = params ? new URLSearchParams(params).toString() : '';
  const target = '#/' + name + (qs ? '?' + qs : '');
  if (location.hash === target) route();
  else location.hash = target;
}

// Changes the hash's parameters without rendering the page again.
export function setParams(params) {
  const {name} = parseHash();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const qs = q.toString();
  history.replaceState(null, '', '#/' + name + (qs ? '?' + qs : ''));
}

function updateChrome() {
  const s = state.session;
  $('session').hidden = !s;
  $('nav').hidden = !s;
  $('menu-button').hidden = !s;
  document.body.classList.toggle('logged-in', !!s);
  if (s) {
    $('who').replaceChildren(
      h('span', {class: 'who-name'}, s.username || t('admin token')),
      ' ',
      h('span', {class: ['badge', 'badge-role', 'badge-' + s.role], 'data-role': s.role}, t(s.role)));
  }
  $('nav-who').textContent = s ? t('Signed in as {who} ({role})', {who: s.username || t('the admin token'), role: t(s.role)}) : '';
  for (const a of $('nav').querySelectorAll('a[data-role]')) {
    a.hidden = !can(a.dataset.role);
  }
}

async function route() {
  const seq = ++state.renderSeq;
  let {name, params} = parseHash();
  if (state.cleanup) {
    try { state.cleanup(); } catch { /* ignore */ }
    state.cleanup = null;
  }
  closeMenu();
  if (!state.session && api.getToken()) {
    try {
      state.session = await api.me();
    } catch (e) {
      api.clearToken();
      state.session = null;
      if (e.status !== 401) showError(e);
    }
    if (seq !== state.renderSeq) return;
    updateChrome();
  }
  if (!state.session) {
    if (name !== 'login') {
      history.replaceState(null, '', '#/login');
      name = 'login';
    }
  } else if (name === 'login' || !PAGES[name]) {
    history.replaceState(null, '', '#/dashboard');
    name = 'dashboard';
    params = new URLSearchParams();
  }
  hideError();
  for (const a of $('nav').querySelectorAll('a')) {
    a.classList.toggle('active', a.dataset.page === name);
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = t(TITLES[name]) + ' — API Gateway Pro';
  const view = $('view');
  clear(view);
  view.dataset.page = name;
  const ctx = {
    session: state.session, can, params, navigate, setParams, guard, showError, hideError,
    isCurrent: () => seq === state.renderSeq, loggedIn,
  };
  try {
    const cleanup = await PAGES[name].render(view, ctx);
    if (seq === state.renderSeq) state.cleanup = typeof cleanup === 'function' ? cleanup : null;
    else if (typeof cleanup === 'function') cleanup();
  } catch (e) {
    if (seq === state.renderSeq && e && e.status !== 401) showError(e);
  }
}

// Called by the login page once it has a token that works.
export function loggedIn(token, session) {
  api.setToken(token);
  state.session = session;
  updateChrome();
  navigate('dashboard');
}

async function logout() {
  try {
    await api.logout();
  } catch (e) {
    // The token is forgotten anyway; say so if the server did not end it.
    if (e.status !== 401) showError(e);
  }
  state.session = null;
  updateChrome();
  navigate('login');
}

function closeMenu() {
  document.body.classList.remove('menu-open');
  $('menu-button').setAttribute('aria-expanded', 'false');
}

function start() {
  // frame-ancestors cannot be set from a <meta> tag: refuse to run framed.
  if (window.top !== window.self) {
    document.body.textContent = t('The admin page does not run inside a frame.');
    return;
  }
  api.onUnauthorized(() => {
    // Requests in flight may all get 401: the first one does this.
    if (!state.session && !api.getToken()) return;
    api.clearToken();
    state.session = null;
    updateChrome();
    // Kept in English and translated when shown: the language may change.
    sessionStorage.setItem('apigw.notice', 'Your session has ended. Log in again.');
    navigate('login');
  });
  api.onForbidden((err) => showError(err));
  $('banner-close').addEventListener('click', hideError);
  $('logout').addEventListener('click', logout);
  $('menu-button').addEventListener('click', () => {
    const open = !document.body.classList.contains('menu-open');
    document.body.classList.toggle('menu-open', open);
    $('menu-button').setAttribute('aria-expanded', String(open));
  });
  $('nav').addEventListener('click', (ev) => { if (ev.target.closest('a')) closeMenu(); });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (ev) => {
    if (ev.reason instanceof api.ApiError) {
      ev.preventDefault();
      if (ev.reason.status !== 401) showError(ev.reason);
    }
  });
  setupPrefs();
  translateStatic();
  // A new language: the frame's words, then the page drawn again (dialogs
  // of the old page close, as on any navigation); the banner's error, if
  // one shows, is shown again in the new language.
  onLocaleChange(async () => {
    const err = $('banner').hidden ? null : state.shownError;
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    translateStatic();
    updateChrome();
    await route();
    if (err && $('banner').hidden) showError(err);
  });
  updateChrome();
  route();
}

start();
