// The JSON API, and the session token (kept in sessionStorage: it lasts as
// long as the tab and is never sent anywhere but this origin's API).
import {t} from './i18n.js';

const TOKEN_KEY = 'apigw.token';
const BASE = '/api/admin';

// local: the page made the error itself (no answer, or not JSON), so its
// message is already in the page's language; else message is the server's.
export class ApiError extends Error {
  constructor(status, code, message, local = false) {
    super(message);
    this.status = status;
    this.code = code;
    this.local = local;
  }
}

const handlers = {unauthorized: null, forbidden: null};

// app.js registers what a 401 (back to the login page) and a 403 (a plain
// message) do, so that every call, wherever it comes from, is handled alike.
export function onUnauthorized(fn) { handlers.unauthorized = fn; }
export function onForbidden(fn) { handlers.forbidden = fn; }

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function clearToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
}

function query(params) {
  if (!params) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

// request('GET', '/keys', {query: {...}}) or request('POST', '/keys', {body: {...}})
export async function request(method, path, opts = {}) {
  const headers = {'Accept': 'application/json'};
  const token = opts.token !== undefined ? opts.token : getToken();
  if (token) headers['Authorization'] = 'Bearer ' + token;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    // opts.absolute: a path outside /api/admin (the OpenAPI document).
    res = await fetch((opts.absolute ? '' : BASE) + path + query(opts.query), {
      method, headers, body, credentials: 'omit', cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network_error', t('The gateway cannot be reached: {detail}', {detail: e.message}), true);
  }
  if (res.status === 204) return null;
  const textBody = await res.text();
  let data = null;
  if (textBody) {
    try { data = JSON.parse(textBody); } catch { data = null; }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const err = e.code ? new ApiError(res.status, e.code, e.message || e.code)
      : new ApiError(res.status, 'http_' + res.status,
        t('The gateway answered {status} {text}', {status: res.status, text: res.statusText}), true);
    // invalid_field lists every bad field of the body (forms.js shows them).
    if (Array.isArray(e.fields)) err.fields = e.fields;
    if (res.status === 401 && !opts.noAuthRedirect && handlers.unauthorized) {
      handlers.unauthorized(err);
    } else if (res.status === 403 && handlers.forbidden) {
      handlers.forbidden(err);
    }
    throw err;
  }
  if (data === null && textBody) {
    throw new ApiError(res.status, 'invalid_json', t('The gateway answered with something that is not JSON'), true);
  }
  return data;
}

export const get = (path, queryParams) => request('GET', path, {query: queryParams});
export const post = (path, body) => request('POST', path, {body});
export const patch = (path, body) => request('PATCH', path, {body});
export const del = (path) => request('DELETE', path);

// Every page of a list route (for selects: upstreams, rules).
export async function listAll(path, params = {}) {
  const items = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await get(path, {...params, limit: 1000, offset});
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

export async function login(username, password) {
  return request('POST', '/login', {body: {username, password}, token: null, noAuthRedirect: true});
}

export async function me(token) {
  return request('GET', '/me', {token, noAuthRedirect: true});
}

// Ends the session on the server, then forgets the token whatever happened.
export async function logout() {
  try {
    if (getToken()) await request('POST', '/logout', {noAuthRedirect: true});
  } finally {
    clearToken();
  }
}
