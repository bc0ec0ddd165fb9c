// The harness of the browser tests (run.mjs): the stack, the browser, the
// helpers every step file uses, and the list of tests they register.

import {spawn} from 'node:child_process';
import {createInterface} from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const BUILD = path.resolve(ROOT, process.env.BUILD || 'build');
export const SHOTS = path.join(BUILD, 'screenshots');
export const DOC_SHOTS = path.join(ROOT, 'docs', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const DESKTOP = {width: 1280, height: 800};
export const PHONE = {width: 390, height: 844};
export const TEST_TIMEOUT_MS = 120000;
export const WAIT_MS = 10000;

// ---- the stack ------------------------------------------------------------

export function startStack() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PYTHON || 'python3', [path.join(HERE, 'stack.py')], {
      cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'],
    });
    const rl = createInterface({input: child.stdout});
    const timer = setTimeout(() => reject(new Error('the stack did not start within 180 s')), 180000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      let info;
      try { info = JSON.parse(line); } catch { return reject(new Error('stack.py said: ' + line)); }
      if (info.error) return reject(new Error(info.error));
      resolve({child, info});
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error('stack.py exited with ' + code)); });
  });
}

export function stopStack(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null) return resolve();
    const t = setTimeout(() => { child.kill('SIGTERM'); }, 60000);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.stdin.end();
  });
}

// ---- small helpers ------------------------------------------------------------

export class Failure extends Error {}

export function assert(cond, message) {
  if (!cond) throw new Failure(message);
}

export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

export async function waitFor(fn, what, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Failure(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(100);
  }
}

// Waits until a locator is visible and its text matches.
export async function expectText(locator, re, what) {
  await locator.first().waitFor({state: 'visible', timeout: WAIT_MS}).catch(() => {
    throw new Failure(`${what}: not visible`);
  });
  return waitFor(async () => {
    const t = await locator.first().innerText();
    return re.test(t) ? t : false;
  }, `${what} to match ${re}`);
}

export async function expectHidden(locator, what) {
  const n = await locator.count();
  for (let i = 0; i < n; i++) {
    assert(!(await locator.nth(i).isVisible()), `${what} should not be shown`);
  }
}

export let env;

export async function apiCall(method, p, body, token = env.admin_token) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(env.base_url + p, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return {status: res.status, json, headers: res.headers, text};
}

export async function api(method, p, body, token) {
  const r = await apiCall(method, '/api/admin' + p, body, token);
  if (r.status >= 400) throw new Failure(`${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

// ---- the browser --------------------------------------------------------------

export let browser;
export const state = {};

// opts: {locale, colorScheme} for the language and theme tests (English
// and light otherwise).
export async function newPage(t, viewport = DESKTOP, opts = {}) {
  const context = await browser.newContext({viewport, deviceScaleFactor: 1, locale: opts.locale || 'en-US',
    colorScheme: opts.colorScheme || 'light',
    timezoneId: 'UTC', permissions: ['clipboard-read', 'clipboard-write'], serviceWorkers: 'block'});
  t.contexts.push(context);
  // CSP violations also reach the console; this makes sure each is named.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const origin = new URL(env.base_url).origin;
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const text = msg.text();
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    if (m && t.allowStatus.includes(Number(m[1]))) return;
    if (msg.type() === 'warning' && !/Content.Security.Policy|Refused/i.test(text)) return;
    t.problems.push(`console ${msg.type()}: ${text} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => t.problems.push('page error: ' + err.message));
  page.on('request', (req) => {
    const u = req.url();
    if (u.startsWith('data:') || u.startsWith('blob:')) return;
    if (new URL(u).origin !== origin) t.problems.push('request to another origin: ' + u);
  });
  page.on('response', (res) => {
    const s = res.status();
    if (s >= 400 && !t.allowStatus.includes(s)) t.problems.push(`unexpected HTTP ${s} for ${res.request().method()} ${res.url()}`);
  });
  return page;
}

export async function shot(page, name, opts = {}) {
  fs.mkdirSync(SHOTS, {recursive: true});
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await sleep(150); // let transitions (the phone menu, bars) settle
  await page.screenshot({path: path.join(SHOTS, name + '.png'), fullPage: !!opts.fullPage});
}

export async function loginWithToken(page, token = env.admin_token) {
  await page.goto(env.base_url + '/');
  await page.locator('#token-form input[name=admin_token]').fill(token);
  await page.locator('#token-form button[type=submit]').click();
  await page.locator('#view[data-page=dashboard]').waitFor();
  await page.locator('#who').waitFor({state: 'visible'});
  await page.locator('#dash-updated[data-requests]').waitFor({state: 'attached'});
}

export async function loginWithPassword(page, username, password) {
  await page.goto(env.base_url + '/');
  await page.locator('#login-form input[name=username]').fill(username);
  await page.locator('#login-form input[name=password]').fill(password);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#view[data-page=dashboard]').waitFor();
  await page.locator('#dash-updated[data-requests]').waitFor({state: 'attached'});
}

export async function go(page, route) {
  await page.evaluate((r) => { location.hash = r; }, route);
  const name = route.replace(/^#\//, '').split('?')[0];
  await page.locator(`#view[data-page=${name}]`).waitFor({state: 'attached'});
}

export function row(page, tableSel, text) {
  return page.locator(`${tableSel} tbody tr`).filter({hasText: text});
}

export async function proxied(p, token, extra = {}) {
  const headers = token ? {Authorization: 'Bearer ' + token, ...extra} : {...extra};
  const res = await fetch(env.base_url + p, {headers});
  await res.arrayBuffer();
  return res;
}

// The row of request rid in the logs page, once the list shows it.
export async function logRow(page, rid, what = 'the request in the logs') {
  const r = page.locator(`#logs-list tr[data-request-id="${rid}"]`);
  await waitFor(async () => {
    if (await r.count()) return true;
    await page.locator('#logs-refresh').click();
    await sleep(300);
    return false;
  }, what);
  return r;
}

// ---- tests ------------------------------------------------------------------

export const tests = [];
export function test(name, fn, opts = {}) { tests.push({name, fn, allowStatus: opts.allowStatus || []}); }

export async function ensureUpstream() {
  if (state.upstream) return state.upstream;
  const list = await api('GET', '/upstreams');
  state.upstream = list.items.find((u) => u.name === 'mock') ||
    await api('POST', '/upstreams', {name: 'mock', base_url: env.mock_url + '/v1', probe_method: 'GET', probe_path: '/models'});
  return state.upstream;
}

export async function ensureKeys() {
  const up = await ensureUpstream();
  let list = await api('GET', `/keys?upstream_id=${up.id}`);
  if (list.total < 3) {
    await api('POST', '/keys/import', {upstream_id: up.id, keys: ['sk-fallback-1111111111', 'sk-fallback-2222222222', 'sk-fallback-3333333333']});
    list = await api('GET', `/keys?upstream_id=${up.id}`);
  }
  return list.items;
}

export async function runTest(tc) {
  const t = {contexts: [], problems: [], allowStatus: tc.allowStatus};
  let timer;
  try {
    await Promise.race([
      tc.fn(t),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Failure(`took longer than ${TEST_TIMEOUT_MS / 1000} s`)), TEST_TIMEOUT_MS); }),
    ]);
    await sleep(50);
    if (t.problems.length) throw new Failure(t.problems.join('\n    '));
    return null;
  } catch (e) {
    // What the page looked like when it failed.
    let i = 0;
    for (const c of t.contexts) {
      for (const pg of c.pages()) {
        fs.mkdirSync(SHOTS, {recursive: true});
        const name = 'FAILED-' + tc.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40) + (i++ ? '-' + i : '') + '.png';
        await pg.screenshot({path: path.join(SHOTS, name)}).catch(() => {});
      }
    }
    const problems = t.problems.length ? '\n    also: ' + t.problems.join('\n    also: ') : '';
    return (e instanceof Failure ? e.message : (e.stack || String(e))) + (e instanceof Failure ? '' : problems);
  } finally {
    clearTimeout(timer);
    for (const c of t.contexts) await c.close().catch(() => {});
  }
}

// The stack and the browser that run.mjs starts, for every step file.
export function setEnv(e) { env = e; }
export function setBrowser(b) { browser = b; }
