// Browser tests of the admin page (web/): Debian's Chromium, headless,
// driven by playwright-core, against a stack of its own (stack.py: private
// MariaDB, the application, nginx serving web/, a mock upstream).
//
// Every test fails on a console error, an uncaught page error, a
// Content-Security-Policy violation or a request to another origin.  HTTP
// error answers that a test provokes on purpose (a 400 from a validation, a
// 403 for a viewer) are allowed per test, by status.
//
// Screenshots go to build/screenshots/ (1280x800 and 390x844).  With
// UPDATE_DOCS_SCREENSHOTS=1 the main ones are copied to docs/screenshots/.
//
// Arguments filter tests by substring.  The last line is
// `RESULT browser passed=N failed=M`.

import {spawn} from 'node:child_process';
import {createInterface} from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BUILD = path.resolve(ROOT, process.env.BUILD || 'build');
const SHOTS = path.join(BUILD, 'screenshots');
const DOC_SHOTS = path.join(ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DESKTOP = {width: 1280, height: 800};
const PHONE = {width: 390, height: 844};
const TEST_TIMEOUT_MS = 120000;
const WAIT_MS = 10000;

// ---- the stack ------------------------------------------------------------

function startStack() {
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

function stopStack(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null) return resolve();
    const t = setTimeout(() => { child.kill('SIGTERM'); }, 60000);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.stdin.end();
  });
}

// ---- small helpers ------------------------------------------------------------

class Failure extends Error {}

function assert(cond, message) {
  if (!cond) throw new Failure(message);
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function waitFor(fn, what, timeout = WAIT_MS) {
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
async function expectText(locator, re, what) {
  await locator.first().waitFor({state: 'visible', timeout: WAIT_MS}).catch(() => {
    throw new Failure(`${what}: not visible`);
  });
  return waitFor(async () => {
    const t = await locator.first().innerText();
    return re.test(t) ? t : false;
  }, `${what} to match ${re}`);
}

async function expectHidden(locator, what) {
  const n = await locator.count();
  for (let i = 0; i < n; i++) {
    assert(!(await locator.nth(i).isVisible()), `${what} should not be shown`);
  }
}

let env;

async function apiCall(method, p, body, token = env.admin_token) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(env.base_url + p, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return {status: res.status, json, headers: res.headers, text};
}

async function api(method, p, body, token) {
  const r = await apiCall(method, '/api/admin' + p, body, token);
  if (r.status >= 400) throw new Failure(`${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

// ---- the browser --------------------------------------------------------------

let browser;
const state = {};

async function newPage(t, viewport = DESKTOP) {
  const context = await browser.newContext({viewport, deviceScaleFactor: 1, locale: 'en-US',
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

async function shot(page, name, opts = {}) {
  fs.mkdirSync(SHOTS, {recursive: true});
  await page.evaluate(() => document.fonts && document.fonts.ready);
  await sleep(150); // let transitions (the phone menu, bars) settle
  await page.screenshot({path: path.join(SHOTS, name + '.png'), fullPage: !!opts.fullPage});
}

async function loginWithToken(page, token = env.admin_token) {
  await page.goto(env.base_url + '/');
  await page.locator('#token-form input[name=admin_token]').fill(token);
  await page.locator('#token-form button[type=submit]').click();
  await page.locator('#view[data-page=dashboard]').waitFor();
  await page.locator('#who').waitFor({state: 'visible'});
  await page.locator('#dash-updated[data-requests]').waitFor({state: 'attached'});
}

async function loginWithPassword(page, username, password) {
  await page.goto(env.base_url + '/');
  await page.locator('#login-form input[name=username]').fill(username);
  await page.locator('#login-form input[name=password]').fill(password);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#view[data-page=dashboard]').waitFor();
  await page.locator('#dash-updated[data-requests]').waitFor({state: 'attached'});
}

async function go(page, route) {
  await page.evaluate((r) => { location.hash = r; }, route);
  const name = route.replace(/^#\//, '').split('?')[0];
  await page.locator(`#view[data-page=${name}]`).waitFor({state: 'attached'});
}

function row(page, tableSel, text) {
  return page.locator(`${tableSel} tbody tr`).filter({hasText: text});
}

async function proxied(p, token, extra = {}) {
  const headers = token ? {Authorization: 'Bearer ' + token, ...extra} : {...extra};
  const res = await fetch(env.base_url + p, {headers});
  await res.arrayBuffer();
  return res;
}

// The row of request rid in the logs page, once the list shows it.
async function logRow(page, rid, what = 'the request in the logs') {
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

const tests = [];
function test(name, fn, opts = {}) { tests.push({name, fn, allowStatus: opts.allowStatus || []}); }

test('static: CSP meta, no inline script or style, no innerHTML in web/js', async () => {
  const html = fs.readFileSync(path.join(ROOT, 'web', 'index.html'), 'utf8');
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
  assert(csp, 'index.html has a CSP meta tag');
  for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'"]) {
    assert(csp[1].includes(d), `the CSP has ${d}`);
  }
  assert(!/unsafe-inline|unsafe-eval/.test(csp[1]), 'the CSP allows no unsafe-inline or unsafe-eval');
  assert(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'index.html has no inline <script>');
  assert(!/<style/i.test(html) && !/\sstyle=/i.test(html), 'index.html has no <style> or style=');
  assert(!/\son[a-z]+=/i.test(html), 'index.html has no inline event handlers');
  const files = [];
  const walk = (d) => { for (const f of fs.readdirSync(d, {withFileTypes: true})) {
    const p = path.join(d, f.name);
    if (f.isDirectory()) walk(p); else if (f.name.endsWith('.js')) files.push(p);
  } };
  walk(path.join(ROOT, 'web', 'js'));
  assert(files.length >= 10, 'web/js has the modules');
  for (const f of files) {
    const src = fs.readFileSync(f, 'utf8');
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function',
      "setAttribute('style'", 'setAttribute("style"', '.cssText']) {
      assert(!src.includes(bad), `${path.relative(ROOT, f)} uses ${bad}`);
    }
  }
  for (const f of ['web/vendor/uplot/uPlot.esm.js', 'web/vendor/uplot/uPlot.min.css', 'web/vendor/uplot/LICENSE']) {
    assert(fs.existsSync(path.join(ROOT, f)), `${f} is there`);
  }
  const res = await fetch(env.base_url + '/js/app.js');
  assert(res.status === 200 && /javascript/.test(res.headers.get('content-type')), 'nginx serves web/js as JavaScript');
  await res.arrayBuffer();
});

test('login with the admin token, and a wrong one refused at the field', async (t) => {
  const page = await newPage(t);
  await page.goto(env.base_url + '/');
  await page.locator('#login-form').waitFor();
  await shot(page, 'login');
  await page.locator('#token-form input[name=admin_token]').fill('not-the-token-0000000000');
  await page.locator('#token-form button[type=submit]').click();
  await expectText(page.locator('#token-form .field-error'), /not accepted/, 'the wrong token message');
  await page.locator('#token-form input[name=admin_token]').fill(env.admin_token);
  await page.locator('#token-form button[type=submit]').click();
  await page.locator('#view[data-page=dashboard]').waitFor();
  await expectText(page.locator('#who'), /admin token\s*admin/, 'who is logged in');
  const stored = await page.evaluate(() => sessionStorage.getItem('apigw.token'));
  assert(stored === env.admin_token, 'the token is kept in sessionStorage');
  const local = await page.evaluate(() => localStorage.length);
  assert(local === 0, 'nothing goes to localStorage');
  for (const p of ['Dashboard', 'Upstreams', 'Keys', 'Rules', 'Logs', 'Client tokens', 'Users']) {
    assert(await page.locator('#nav a', {hasText: p}).isVisible(), `the admin sees ${p} in the navigation`);
  }
}, {allowStatus: [401]});

test('upstreams: create through the form, the API\'s validation message at the field', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/upstreams');
  await page.locator('#upstream-new').click();
  const form = page.locator('#upstream-form');
  await form.locator('input[name=name]').fill('mock');
  await form.locator('input[name=base_url]').fill('ftp://example.com/v1');
  await page.getByRole('button', {name: 'Create upstream'}).click();
  const err = form.locator('.field[data-field=base_url] .field-error');
  const msg = await expectText(err, /^base_url: /, 'the base_url error at its field');
  const direct = await apiCall('POST', '/api/admin/upstreams', {name: 'mock2', base_url: 'ftp://example.com/v1'});
  assert(direct.status === 400 && direct.json.error.message === msg.trim(), `the field shows the API's own message (${msg} vs ${direct.text})`);
  assert(await form.locator('input[name=base_url]').getAttribute('aria-invalid') === 'true', 'the field is marked invalid');
  await form.locator('input[name=base_url]').fill(env.mock_url + '/v1');
  await form.locator('select[name=probe_method]').selectOption('GET');
  await form.locator('input[name=probe_path]').fill('/models');
  await shot(page, 'upstream-form');
  await page.getByRole('button', {name: 'Create upstream'}).click();
  await expectText(row(page, '#upstreams-list', 'mock'), /mock/, 'the new upstream in the list');
  const list = await api('GET', '/upstreams');
  const up = list.items.find((u) => u.name === 'mock');
  assert(up && up.base_url === env.mock_url + '/v1' && up.probe_path === '/models', 'the API has the upstream as entered');
  state.upstream = up;
  // Edit a field: a bad value refused at the field with the API's message,
  // then a good one saved.
  const editRejectThenSave = async (field, bad, message, good) => {
    await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
    await page.locator(`#upstream-form input[name=${field}]`).fill(bad);
    await page.getByRole('button', {name: 'Save'}).click();
    await expectText(page.locator(`#upstream-form .field[data-field=${field}] .field-error`), message, `the ${field} error at its field`);
    await page.locator(`#upstream-form input[name=${field}]`).fill(good);
    await page.getByRole('button', {name: 'Save'}).click();
  };
  await editRejectThenSave('timeout_ms', '0', /^timeout_ms: must be between 1 and 3600000/, '20000');
  await expectText(row(page, '#upstreams-list', 'mock'), /20\.0 s/, 'the new timeout in the list');
  assert((await api('GET', `/upstreams/${up.id}`)).timeout_ms === 20000, 'the API has the new timeout');
  // max_concurrent: 0 refused at its field, a limit saved, then lifted by emptying the field.
  await editRejectThenSave('max_concurrent', '0', /^max_concurrent: must be between 1 and 100000/, '8');
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).max_concurrent === 8, 'the API has max_concurrent 8');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  assert(await page.locator('#upstream-form input[name=max_concurrent]').inputValue() === '8', 'the form shows max_concurrent');
  await page.locator('#upstream-form input[name=max_concurrent]').fill('');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).max_concurrent === null, 'an empty max_concurrent lifts the limit');
  // stream_peek: an ms out of range refused at its input, then saved; both inputs emptied turn it off.
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form input[name=stream_peek_bytes]').fill('4096');
  await page.locator('#upstream-form input[name=stream_peek_ms]').fill('20000');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=stream_peek_ms] .field-error'), /^stream_peek\.ms: must be an integer from 0 to 10000/, 'the stream_peek.ms error at its input');
  await page.locator('#upstream-form input[name=stream_peek_ms]').fill('500');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const p = (await api('GET', `/upstreams/${up.id}`)).stream_peek;
    return p !== null && p.bytes === 4096 && p.ms === 500;
  }, 'the API has stream_peek {bytes: 4096, ms: 500}');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  assert(await page.locator('#upstream-form input[name=stream_peek_ms]').inputValue() === '500', 'the form shows stream_peek.ms');
  await page.locator('#upstream-form input[name=stream_peek_bytes]').fill('');
  await page.locator('#upstream-form input[name=stream_peek_ms]').fill('');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).stream_peek === null, 'both inputs emptied turn stream_peek off');
  // Key affinity: body without a path refused at the path, then saved with one; back to none.
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form select[name=affinity]').selectOption('body');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=affinity_path] .field-error'), /^affinity_path: required when affinity is body/, 'the affinity_path error at its input');
  await page.locator('#upstream-form input[name=affinity_path]').fill('$.metadata.conversation_id');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.affinity === 'body' && u.affinity_path === '$.metadata.conversation_id';
  }, 'the API has body affinity with its path');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  assert(await page.locator('#upstream-form select[name=affinity]').inputValue() === 'body', 'the form shows the affinity');
  await page.locator('#upstream-form select[name=affinity]').selectOption('none');
  await page.locator('#upstream-form input[name=affinity_path]').fill('');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).affinity_path === null, 'affinity back to none, its path emptied');
  // Egress proxies: a URL with a password saved per key; the form shows it masked, and the
  // masked line left as it is keeps the password when a line is added; then back to none.
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form textarea[name=proxies]').fill('socks5://u:pw-secret@127.0.0.1:1080');
  await page.locator('#upstream-form select[name=proxy_mode]').selectOption('per_key');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.proxy_mode === 'per_key' && JSON.stringify(u.proxies) === JSON.stringify(['socks5://u:***@127.0.0.1:1080']);
  }, 'the API has the proxy, masked, and per_key');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  const shown = await page.locator('#upstream-form textarea[name=proxies]').inputValue();
  assert(shown === 'socks5://u:***@127.0.0.1:1080', `the form shows the proxy masked (${shown})`);
  await page.locator('#upstream-form textarea[name=proxies]').fill(shown + '\nhttp://127.0.0.1:3128');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).proxies.length === 2, 'a second proxy added, the first kept');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form textarea[name=proxies]').fill('');
  await page.locator('#upstream-form select[name=proxy_mode]').selectOption('none');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.proxy_mode === 'none' && u.proxies === null;
  }, 'the proxies removed');
  // endpoints: two lines with weights through the text, the breakers shown, then back to base_url alone.
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form textarea[name=endpoints]').fill(`${env.mock_url}/v1 3\nhttp://127.0.0.1:9/v1 1 off`);
  await page.locator('#upstream-form input[name=endpoint_cooldown_s]').fill('45');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.endpoints.length === 2 && u.endpoints[0].weight === 3 && u.endpoints[1].enabled === false &&
      u.base_url === env.mock_url + '/v1' && u.endpoint_cooldown_s === 45;
  }, 'the API has the two endpoints and the cooldown');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await expectText(page.locator('#upstream-breakers tr', {hasText: 'http://127.0.0.1:9/v1'}), /closed/, 'the breaker state of an endpoint');
  await page.locator('#upstream-form textarea[name=endpoints]').fill('');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).endpoints.length === 1, 'an empty text is base_url alone again');
  // Header rules: a rule on Host refused at the field, then three rules and the strip box saved;
  // the form shows them as lines again; then back to none.
  const rulesText = 'set X-Team alpha\nremove X-Debug\nappend X-Tags {upstream} x';
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form textarea[name=header_rules]').fill('set X-Team alpha\nset Host evil');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=header_rules] .field-error'), /^header_rules\[1\]\.name: Host cannot be changed/, 'the header rule error at its field');
  await page.locator('#upstream-form textarea[name=header_rules]').fill(rulesText);
  await page.locator('#upstream-form input[name=strip_forwarding_headers]').check();
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    const r = u.header_rules;
    return u.strip_forwarding_headers === true && r.length === 3 && r[0].op === 'set' && r[0].name === 'X-Team' &&
      r[0].value === 'alpha' && r[1].op === 'remove' && r[1].value === undefined && r[2].value === '{upstream} x';
  }, 'the API has the header rules and strip_forwarding_headers');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  const rulesShown = await page.locator('#upstream-form textarea[name=header_rules]').inputValue();
  assert(rulesShown === rulesText, `the form shows the rules as lines (${rulesShown})`);
  assert(await page.locator('#upstream-form input[name=strip_forwarding_headers]').isChecked(), 'the form shows strip_forwarding_headers');
  await page.locator('#upstream-form textarea[name=header_rules]').fill('');
  await page.locator('#upstream-form input[name=strip_forwarding_headers]').uncheck();
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.header_rules.length === 0 && u.strip_forwarding_headers === false;
  }, 'the header rules removed');
  // Model shaping: a bad body_set path refused at its textarea; then an allow-list, a model map and
  // a body override saved, shown again, and cleared.
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form input[name=model_allow]').fill('gpt-4o*, fast');
  await page.locator('#upstream-form textarea[name=model_map]').fill('{"fast": "gpt-4o-mini"}');
  await page.locator('#upstream-form textarea[name=body_set]').fill('{"$.messages[0].role": "user"}');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=body_set] .field-error'), /^body_set: "\$\.messages\[0\]\.role": only a chain of member names/, 'the body_set error at its textarea');
  await page.locator('#upstream-form textarea[name=body_set]').fill('{"$.stream_options.include_usage": true}');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return JSON.stringify(u.model_allow) === '["gpt-4o*","fast"]' && u.model_map && u.model_map.fast === 'gpt-4o-mini' &&
      u.body_set && u.body_set['$.stream_options.include_usage'] === true;
  }, 'the API has the allow-list, the model map and the body override');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  assert(await page.locator('#upstream-form input[name=model_allow]').inputValue() === 'gpt-4o*, fast', 'the form shows model_allow');
  assert(JSON.parse(await page.locator('#upstream-form textarea[name=model_map]').inputValue()).fast === 'gpt-4o-mini', 'the form shows model_map');
  await page.locator('#upstream-form input[name=model_allow]').fill('');
  await page.locator('#upstream-form textarea[name=model_map]').fill('');
  await page.locator('#upstream-form textarea[name=body_set]').fill('');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.model_allow === null && u.model_map === null && u.body_set === null;
  }, 'model shaping cleared');
  // A second one, as a duplicate name: 409 shown at the name field.
  await page.locator('#upstream-new').click();
  await page.locator('#upstream-form input[name=name]').fill('mock');
  await page.locator('#upstream-form input[name=base_url]').fill(env.mock_url);
  await page.getByRole('button', {name: 'Create upstream'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=name] .field-error'), /already exists/, 'the duplicate name message');
  await page.keyboard.press('Escape');
  await shot(page, 'upstreams');
}, {allowStatus: [400, 409]});

test('upstreams: queue wait and fallback upstreams through the form', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  const up = await ensureUpstream();
  const spare = await api('POST', '/upstreams', {name: 'fb-spare', base_url: env.mock_url});
  try {
    await fallbackForm(page, up, spare);
  } finally {
    await api('DELETE', `/upstreams/${spare.id}`);
  }
}, {allowStatus: [400]});

async function fallbackForm(page, up, spare) {
  await go(page, '#/upstreams');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  const form = page.locator('#upstream-form');
  await form.locator('input[name=queue_wait_ms]').fill('40000');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(form.locator('.field[data-field=queue_wait_ms] .field-error'), /^queue_wait_ms: must be between 0 and 30000/, 'the queue_wait_ms error at its field');
  await form.locator('input[name=queue_wait_ms]').fill('1500');
  await form.locator('input[name=fallback_names]').fill('no-such-upstream');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(form.locator('.field[data-field=fallback_names] .field-error'), /no upstream is named no-such-upstream/, 'an unknown fallback name at its field');
  await form.locator('input[name=fallback_names]').fill('fb-spare');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.queue_wait_ms === 1500 && u.fallback_upstreams.length === 1 && u.fallback_upstreams[0] === spare.id;
  }, 'the API has queue_wait_ms 1500 and the fallback');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  assert(await form.locator('input[name=fallback_names]').inputValue() === 'fb-spare', 'the form shows the fallback by name');
  await form.locator('input[name=fallback_names]').fill('');
  await form.locator('input[name=queue_wait_ms]').fill('0');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).fallback_upstreams.length === 0, 'an empty field removes the fallbacks');
}

test('upstreams: its own daily reset hour and time zone through the form', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  const up = await ensureUpstream();
  await go(page, '#/upstreams');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  const form = page.locator('#upstream-form');
  await form.locator('input[name=quota_reset_hour]').fill('0');
  await form.locator('input[name=quota_reset_tz]').fill('Mars/Olympus');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(form.locator('.field[data-field=quota_reset_tz] .field-error'), /^quota_reset_tz: unknown time zone Mars\/Olympus/, 'the unknown zone named at its field');
  await form.locator('input[name=quota_reset_tz]').fill('America/Los_Angeles');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.quota_reset_hour === 0 && u.quota_reset_tz === 'America/Los_Angeles';
  }, 'the API has the upstream\'s own reset');
  await page.locator('#upstream-form').waitFor({state: 'detached'});
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await waitFor(async () => await form.locator('input[name=quota_reset_tz]').inputValue() === 'America/Los_Angeles', 'the form shows the zone');
  assert(await form.locator('input[name=quota_reset_hour]').inputValue() === '0', 'the form shows the hour');
  await form.locator('input[name=quota_reset_hour]').fill('');
  await form.locator('input[name=quota_reset_tz]').fill('');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.quota_reset_hour === null && u.quota_reset_tz === null;
  }, 'empty fields go back to the global reset');
}, {allowStatus: [400]});

test('upstreams: pacing by the provider\'s headers through the form', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  const up = await ensureUpstream();
  await go(page, '#/upstreams');
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  const form = page.locator('#upstream-form');
  assert(!(await form.locator('input[name=pace_by_headers]').isChecked()), 'pacing is off by default');
  await form.locator('input[name=pace_by_headers]').check();
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).pace_by_headers === true, 'the API has pace_by_headers');
  await page.locator('#upstream-form').waitFor({state: 'detached'});
  await row(page, '#upstreams-list', 'mock').getByRole('button', {name: 'Edit'}).click();
  await waitFor(async () => await form.locator('input[name=pace_by_headers]').isChecked(), 'the form shows pacing on');
  await form.locator('input[name=pace_by_headers]').uncheck();
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).pace_by_headers === false, 'pacing off again');
});

async function ensureUpstream() {
  if (state.upstream) return state.upstream;
  const list = await api('GET', '/upstreams');
  state.upstream = list.items.find((u) => u.name === 'mock') ||
    await api('POST', '/upstreams', {name: 'mock', base_url: env.mock_url + '/v1', probe_method: 'GET', probe_path: '/models'});
  return state.upstream;
}

test('upstreams: script editor shows a compile error at its line, and the test panel a result', async (t) => {
  const up = await ensureUpstream();
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/upstreams');
  await row(page, '#upstreams-list', up.name).getByRole('button', {name: 'Edit'}).click();
  const script = page.locator('#upstream-form textarea[name=script]');
  await script.fill('function onRequest(req, ctx) {\n  var a = 1;\n  a = = 2;\n}\n');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=script] .field-error'), /^script: line 3: /, 'the compile error at the script field');
  await waitFor(async () => (await page.locator('#script-editor').getAttribute('data-error-line')) === '3', 'the editor marks line 3');
  await expectText(page.locator('#script-editor .code-line-no.line-error'), /^3$/, 'the gutter marks line 3');
  assert(await page.locator('#script-editor .code-line-no').count() === 5, 'the gutter numbers every line');
  // A template, then the test panel against it.
  await page.locator('[data-template=model-mapping]').click();
  await page.getByRole('button', {name: 'Replace', exact: true}).click();
  await expectHidden(page.locator('#script-error-at'), 'the error marker once the script changes');
  await expectHidden(page.locator('#upstream-form .field[data-field=script] .field-error'), 'the field error once the script changes');
  await page.locator('#script-test summary').click();
  await page.locator('#script-test-run').click();
  await expectText(page.locator('#script-test-body'), /"model":"gpt-4o"/, 'the outgoing body with the mapped model');
  await expectText(page.locator('#script-test-request'), /"changed|"path": "\/v1\/chat\/completions"/, 'the outgoing request');
  await expectText(page.locator('#script-test-request'), /Bearer <key>/, 'the key shown as <key>');
  await expectText(page.locator('#script-test-logs'), /model gpt-4 -> gpt-4o/, 'the ctx.log line');
  await page.evaluate(() => document.querySelector('#script-editor').scrollIntoView({block: 'center'}));
  await shot(page, 'upstream-script');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => /gpt-4o-mini/.test((await api('GET', `/upstreams/${up.id}`)).script || ''), 'the template saved as the script');
  const saved = await api('PATCH', `/upstreams/${up.id}`, {script: null});
  assert(saved.script === null, 'the script removed again');
}, {allowStatus: [400]});

// The shaping preview's steps live in a file of their own.
(await import('./shape_preview.mjs')).register({test, api, assert, ensureUpstream, expectText, go, loginWithToken, newPage, row, shot, waitFor});

test('keys: import by paste shows created, duplicate and invalid counts', async (t) => {
  const up = await ensureUpstream();
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/keys');
  await page.locator('#keys-import').click();
  const form = page.locator('#import-form');
  await form.locator('select[name=upstream_id]').selectOption(String(up.id));
  const keys = ['sk-test-aaaaaaaaaaaaaaaaaaaaaaaa1', 'sk-test-bbbbbbbbbbbbbbbbbbbbbbbb2', 'sk-test-cccccccccccccccccccccccc3',
    'sk-test-dddddddddddddddddddddddd4', 'sk-test-aaaaaaaaaaaaaaaaaaaaaaaa1', 'sk-not-\u00e4-key', ''];
  // The preview applies the paste rules before anything is sent: commas,
  // semicolons, spaces and quotes separate keys; short values are refused.
  await form.locator('textarea[name=text]').fill('"sk-test-p1-000000", \'sk-test-p2-000000\';abc\nsk-test-p1-000000');
  await expectText(page.locator('#import-preview-counts'), /^2 key\(s\) to import, 1 duplicate\(s\) in the paste, 1 rejected/, 'preview counts');
  await expectText(page.locator('#import-preview-rejected'), /line 1: too short\s+line 2: duplicate/, 'preview rejected lines');
  await form.locator('textarea[name=text]').fill(keys.join('\n'));
  await expectText(page.locator('#import-preview-counts'), /^4 key\(s\) to import, 1 duplicate\(s\) in the paste, 1 rejected/, 'preview counts of the paste');
  await form.locator('input[name=weight]').fill('2');
  await page.getByRole('button', {name: 'Import', exact: true}).click();
  await expectText(page.locator('#import-created'), /^4 created/, 'created count');
  await expectText(page.locator('#import-duplicates'), /^1 duplicate/, 'duplicate count');
  await expectText(page.locator('#import-invalid'), /^1 invalid/, 'invalid count');
  await expectText(page.locator('#import-rejected'), /line 5: duplicate\s+line 6: bad character/, 'the server names the rejected lines');
  await shot(page, 'keys-import');
  // A file, read in the page: the same four keys are all duplicates now.
  await form.locator('input[type=file]').setInputFiles({name: 'keys.txt', mimeType: 'text/plain',
    buffer: Buffer.from(keys.slice(0, 4).join('\n') + '\nsk-test-eeeeeeeeeeeeeeeeeeeeeeee5\n')});
  await expectText(form.locator('.muted.small'), /^5 key/, 'the file is read into the form');
  await page.getByRole('button', {name: 'Import', exact: true}).click();
  await expectText(page.locator('#import-created'), /^1 created/, 'created count from the file');
  await expectText(page.locator('#import-duplicates'), /^4 duplicate/, 'duplicate count from the file');
  await page.keyboard.press('Escape');
  const list = await api('GET', `/keys?upstream_id=${up.id}`);
  assert(list.total === 5, `the API has 5 keys (has ${list.total})`);
  assert(list.items.every((k) => k.weight === 2 || k.key_masked.endsWith('eee5')), 'the weight was sent');
  await expectText(page.locator('#keys-range'), /of 5$/, 'the list shows 5 keys');
  const masked = await page.locator('#keys-list tbody').innerText();
  assert(!masked.includes('sk-test-aaaaaaaaaaaaaaaaaaaaaaaa1'), 'no key value is shown');
  state.keys = list.items;
});

async function ensureKeys() {
  const up = await ensureUpstream();
  let list = await api('GET', `/keys?upstream_id=${up.id}`);
  if (list.total < 3) {
    await api('POST', '/keys/import', {upstream_id: up.id, keys: ['sk-fallback-1111111111', 'sk-fallback-2222222222', 'sk-fallback-3333333333']});
    list = await api('GET', `/keys?upstream_id=${up.id}`);
  }
  return list.items;
}

test('keys: batch-disable two selected keys, filter, paging, history, test', async (t) => {
  const items = await ensureKeys();
  const [a, b] = items;
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, `#/keys?upstream_id=${state.upstream.id}`);
  await page.locator(`#keys-list tr[data-id="${a.id}"] input.row-check`).check();
  await page.locator(`#keys-list tr[data-id="${b.id}"] input.row-check`).check();
  await expectText(page.locator('#keys-selected'), /^2 selected/, 'the selection count');
  await shot(page, 'keys-selected');
  await page.locator('#keys-batch button[data-action=disable]').click();
  await expectText(page.locator(`#keys-list tr[data-id="${a.id}"] .badge`), /disabled/, 'key a disabled');
  await expectText(page.locator(`#keys-list tr[data-id="${b.id}"] .badge`), /disabled/, 'key b disabled');
  for (const k of [a, b]) {
    const got = await api('GET', `/keys/${k.id}`);
    assert(got.status === 'disabled' && got.status_reason === 'manual', `the API has key ${k.id} disabled`);
  }
  const others = items.filter((k) => k.id !== a.id && k.id !== b.id);
  for (const k of others) {
    assert((await api('GET', `/keys/${k.id}`)).status === 'active', `key ${k.id} stays active`);
  }
  await expectHidden(page.locator('#keys-batch'), 'the batch bar after the action');
  // Filter by status.
  await page.locator('select[name=status]').selectOption('disabled');
  await expectText(page.locator('#keys-range'), /of 2$/, 'two disabled keys');
  await page.locator('select[name=status]').selectOption('');
  // Paging: 2 a page would need the size select; use the hash.
  await go(page, `#/keys?upstream_id=${state.upstream.id}&limit=2`);
  await expectText(page.locator('#keys-range'), /^1–2 of \d+/, 'first page of 2');
  await page.getByRole('button', {name: 'Next ›'}).click();
  await expectText(page.locator('#keys-range'), /^3–4 of \d+/, 'second page');
  await go(page, `#/keys?upstream_id=${state.upstream.id}`);
  // History.
  await page.locator(`#keys-list tr[data-id="${a.id}"] button[data-act=history]`).click();
  await expectText(page.locator('#key-history tbody tr').first(), /active\s*→\s*disabled[\s\S]*manual[\s\S]*admin-token/, 'the history row');
  await shot(page, 'key-history');
  await page.keyboard.press('Escape');
  // The probe test: the upstream's probe is GET /models; the mock says 200.
  await page.locator(`#keys-list tr[data-id="${others[0].id}"] button[data-act=test]`).click();
  await expectText(page.locator('#key-test-result'), /works[\s\S]*200/, 'the test result');
  await page.keyboard.press('Escape');
  await shot(page, 'keys');
  state.disabled = [a.id, b.id];
});

test('keys: a resting key whose time has passed says when it serves again', async (t) => {
  const withProbe = await ensureUpstream();
  const noProbe = await api('POST', '/upstreams', {name: 'mock-noprobe', base_url: env.mock_url + '/v1'});
  const past = new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z$/, 'Z');
  const future = new Date(Date.now() + 3600000).toISOString().replace(/\.\d+Z$/, 'Z');
  const due = await api('POST', '/keys', {upstream_id: noProbe.id, key_value: 'sk-rest-due-0000000001', status: 'disabled', disabled_until: past});
  const later = await api('POST', '/keys', {upstream_id: noProbe.id, key_value: 'sk-rest-later-00000002', status: 'disabled', disabled_until: future});
  const probed = await api('POST', '/keys', {upstream_id: withProbe.id, key_value: 'sk-rest-probed-0000003', status: 'disabled', disabled_until: past});
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, `#/keys?upstream_id=${noProbe.id}`);
  await expectText(page.locator(`#keys-list tr[data-id="${due.id}"] .rest-due`), /due: serves again at its next use/, 'the due key without a probe');
  await expectText(page.locator(`#keys-list tr[data-id="${later.id}"]`), /until /, 'the key resting into the future');
  assert(await page.locator(`#keys-list tr[data-id="${later.id}"] .rest-due`).count() === 0, 'no due hint for a future time');
  await go(page, `#/keys?upstream_id=${withProbe.id}`);
  await expectText(page.locator(`#keys-list tr[data-id="${probed.id}"] .rest-due`), /due: the next recover run probes it/, 'the due key with a probe');
  for (const k of [due, later, probed]) await api('DELETE', `/keys/${k.id}`);
  await api('DELETE', `/upstreams/${noProbe.id}`);
});

test('client tokens: the new token is shown once, with a copy button', async (t) => {
  await ensureUpstream();
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/tokens');
  await page.locator('#token-new').click();
  await page.locator('#token-form input[name=name]').fill('browser-test');
  await page.locator('#token-form input[name=max_concurrent]').fill('3');
  await page.getByRole('button', {name: 'Create token'}).click();
  const value = (await expectText(page.locator('#token-value'), /^agw_[0-9a-f]{48}$/, 'the token value')).trim();
  assert(await page.locator('#token-copy').isVisible(), 'the copy button is there');
  await page.locator('#token-copy').click();
  await expectText(page.locator('#token-copy'), /Copied/, 'the copy button says it copied');
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert(clip === value, 'the clipboard has the token');
  await shot(page, 'token-created');
  const list = await api('GET', '/tokens');
  const tok = list.items.find((x) => x.name === 'browser-test');
  assert(tok && !('token' in tok) && value.endsWith(tok.token_masked.slice(-4)), 'the API lists it masked');
  assert(tok.max_concurrent === 3, 'the API has the max_concurrent entered');
  await expectText(row(page, '#tokens-list', 'browser-test'), /agw_…/, 'the list shows it masked');
  // Shown once: after a reload only the masked form is left.
  await page.reload();
  await page.locator('#tokens-list tbody tr').first().waitFor();
  assert(await page.locator('#token-value').count() === 0, 'the value is gone after a reload');
  assert(!(await page.locator('body').innerText()).includes(value), 'the value is nowhere on the page');
  state.clientToken = value;
  state.clientTokenId = tok.id;
});

test('limit windows: a key\'s and a token\'s limits through their forms, with the current windows', async (t) => {
  const items = await ensureKeys();
  const k = items[items.length - 1];
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, `#/keys?upstream_id=${k.upstream_id}`);
  await page.locator(`#keys-list tr[data-id="${k.id}"] button[data-act=edit]`).click();
  const form = page.locator('#key-form');
  // A window the API does not know: its message at the field.
  await form.locator('textarea[name=limits]').fill('week requests=5');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(form.locator('.field[data-field=limits] .field-error'), /^limits\[0\]\.window: /, 'the limits error at its field');
  await form.locator('textarea[name=limits]').fill('minute requests=5\nday tokens=1000 model=gpt-4o*');
  await page.getByRole('button', {name: 'Save'}).click();
  await form.waitFor({state: 'hidden', timeout: WAIT_MS});
  const got = await api('GET', `/keys/${k.id}`);
  assert(JSON.stringify(got.limits) === JSON.stringify([{window: 'minute', requests: 5}, {window: 'day', tokens: 1000, model: 'gpt-4o*'}]),
    `the API has the key's limits (${JSON.stringify(got.limits)})`);
  await page.locator(`#keys-list tr[data-id="${k.id}"] button[data-act=edit]`).click();
  await expectText(page.locator('#key-limits-usage'), /minute[\s\S]*0 \/ 5[\s\S]*day[\s\S]*gpt-4o\*/, 'the current windows of the key');
  assert(await form.locator('textarea[name=limits]').inputValue() === 'minute requests=5\nday tokens=1000 model=gpt-4o*', 'the form shows the limits as lines');
  await shot(page, 'key-limits');
  await page.keyboard.press('Escape');
  // A token's limits, from its row.
  const tok = await api('POST', '/tokens', {name: 'browser-limits'});
  await go(page, '#/tokens');
  await row(page, '#tokens-list', 'browser-limits').getByRole('button', {name: 'Limits'}).click();
  await page.locator('#token-limits-form textarea[name=limits]').fill('hour requests=10');
  await page.getByRole('button', {name: 'Save'}).click();
  await page.locator('#token-limits-form').waitFor({state: 'hidden', timeout: WAIT_MS});
  const t2 = await api('GET', `/tokens/${tok.id}`);
  assert(t2.limits_usage && t2.limits_usage[0].window === 'hour', `the API has the token's window (${JSON.stringify(t2)})`);
  await row(page, '#tokens-list', 'browser-limits').getByRole('button', {name: 'Limits'}).click();
  await expectText(page.locator('#token-limits-usage'), /hour[\s\S]*0 \/ 10/, 'the current window of the token');
  await page.keyboard.press('Escape');
  // Cleared again, so that later tests see keys without limits.
  await api('PATCH', `/keys/${k.id}`, {limits: null});
}, {allowStatus: [400]});

test('a proxied request shows in the logs (with its detail view) and on the dashboard', async (t) => {
  const up = await ensureUpstream();
  await ensureKeys();
  if (!state.clientToken) state.clientToken = (await api('POST', '/tokens', {name: 'fallback'})).token;
  const res = await proxied('/proxy/mock/chat/completions?browser=1', state.clientToken);
  assert(res.status === 200, `the proxied request answers 200 (got ${res.status})`);
  const rid = res.headers.get('x-gateway-request-id');
  assert(rid, 'the answer has X-Gateway-Request-Id');
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/logs');
  const r = await logRow(page, rid);
  await expectText(r, /200[\s\S]*GET \/proxy\/mock\/chat\/completions[\s\S]*mock/, 'the log row');
  await shot(page, 'logs');
  await r.locator('button.link').click();
  await expectText(page.locator('#log-detail-request-id'), new RegExp('^' + rid + '$'), 'the detail view');
  await expectText(page.locator('dialog'), /Attempts\s*1/, 'the detail view attempts');
  await shot(page, 'log-detail');
  await page.keyboard.press('Escape');
  // Filters: by upstream and path, and a status class that excludes it.
  await page.locator('input[name=q]').fill('chat/completions');
  await page.locator('input[name=status]').fill('2xx');
  await page.getByRole('button', {name: 'Filter'}).click();
  await r.waitFor();
  await page.locator('input[name=status]').fill('5xx');
  await page.getByRole('button', {name: 'Filter'}).click();
  await waitFor(async () => (await r.count()) === 0, 'the row filtered out by 5xx');
  // The dashboard counts it.
  await go(page, '#/dashboard');
  const n = await waitFor(async () => {
    const v = Number(await page.locator('#dash-updated').getAttribute('data-requests'));
    if (v > 0) return v;
    await page.getByRole('button', {name: 'Refresh'}).click();
    await sleep(400);
    return 0;
  }, 'a request count above 0 on the dashboard', 20000);
  await expectText(page.locator('#stat-requests .stat-value'), /^[1-9]/, 'the requests card');
  await expectText(page.locator(`#dash-upstreams tbody tr`).filter({hasText: up.name}), /mock\s*[1-9]/, 'the upstream row with requests');
  await expectText(page.locator('#dash-status .status-row[data-class="2xx"] .status-count'), /^[1-9]/, 'the 2xx class');
  assert(n > 0, 'requests > 0');
});

test('key affinity: a request with an affinity id shows in the log detail', async (t) => {
  const up = await ensureUpstream();
  await ensureKeys();
  if (!state.clientToken) state.clientToken = (await api('POST', '/tokens', {name: 'fallback-affinity'})).token;
  await api('PATCH', `/upstreams/${up.id}`, {affinity: 'header'});
  try {
    await sleep(600); // the pool sees the change within pool_refresh_ms
    const res = await proxied('/proxy/mock/affinity/x', state.clientToken, {'X-Gateway-Affinity': 'conversation-1'});
    assert(res.status === 200, `the proxied request answers 200 (got ${res.status})`);
    const rid = res.headers.get('x-gateway-request-id');
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/logs');
    const r = await logRow(page, rid);
    await r.locator('button.link').click();
    // Earlier tests may have disabled the id's preferred key: either text is right.
    await expectText(page.locator('#log-detail-affinity'), /^(the preferred key served|another key served \(the preferred one was out or failed\))$/, 'the affinity in the detail view');
    await page.keyboard.press('Escape');
  } finally {
    await api('PATCH', `/upstreams/${up.id}`, {affinity: 'none'});
  }
});

test('usage: the upstream form sets a usage format; tokens show in the logs and on the dashboard', async (t) => {
  const up = await ensureUpstream();
  await ensureKeys();
  if (!state.clientToken) state.clientToken = (await api('POST', '/tokens', {name: 'fallback-usage'})).token;
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/upstreams');
  // custom without paths: the API's message at the usage_paths field.
  await row(page, '#upstreams-list', up.name).getByRole('button', {name: 'Edit'}).click();
  await page.locator('#upstream-form select[name=usage_format]').selectOption('custom');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=usage_paths] .field-error'),
    /^usage_paths: required when usage_format is custom/, 'the usage_paths error at its field');
  await page.locator('#upstream-form select[name=usage_format]').selectOption('openai');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).usage_format === 'openai', 'the API has usage_format openai');
  await sleep(600); // the pool sees the change within pool_refresh_ms
  const res = await proxied('/proxy/mock/usage/chat', state.clientToken);
  assert(res.status === 200, `the proxied request answers 200 (got ${res.status})`);
  const rid = res.headers.get('x-gateway-request-id');
  await go(page, '#/logs?model=gpt-browser');
  const r = await logRow(page, rid, 'the request in the logs filtered by model');
  assert(await page.locator('input[name=model]').inputValue() === 'gpt-browser', 'the model filter is set from the address');
  await expectText(r, /\b18\b/, 'the tokens column');
  await r.locator('button.link').click();
  await expectText(page.locator('#log-detail-model'), /^gpt-browser$/, 'the model in the detail view');
  await expectText(page.locator('#log-detail-usage'), /11 prompt \(3 cached\) · 7 completion · 18 total · reported/, 'the usage in the detail view');
  await page.keyboard.press('Escape');
  await go(page, '#/dashboard');
  await waitFor(async () => {
    const v = Number(((await page.locator('#stat-tokens .stat-value').textContent()) || '0').replace(/[^0-9]/g, ''));
    if (v >= 18) return true;
    await page.getByRole('button', {name: 'Refresh'}).click();
    await sleep(400);
    return false;
  }, 'the tokens card counts the request', 20000);
  await expectText(page.locator('#dash-models tbody tr').filter({hasText: 'gpt-browser'}), /gpt-browser\s*[1-9]/, 'the model row');
  await shot(page, 'dashboard-tokens');
}, {allowStatus: [400]});

test('dashboard: charts, status classes, latency, keys by status, alerts', async (t) => {
  await ensureKeys();
  if (!state.clientToken) state.clientToken = (await api('POST', '/tokens', {name: 'fallback2'})).token;
  // A second upstream with traffic of every kind, and an alert rule.
  let demo = (await api('GET', '/upstreams')).items.find((u) => u.name === 'demo');
  if (!demo) {
    demo = await api('POST', '/upstreams', {name: 'demo', base_url: env.mock_url, max_retries: 0});
    await api('POST', '/keys/import', {upstream_id: demo.id, text: 'demo-key-000000000001\ndemo-key-000000000002\ndemo-key-000000000003\ndemo-key-000000000004'});
    await api('POST', '/rules', {name: 'alert-on-502', upstream_id: demo.id, priority: 1,
      condition: {type: 'status', op: 'eq', value: 502},
      actions: [{type: 'alert', message: 'demo answered 502'}]});
  }
  const plan = [];
  for (let i = 0; i < 24; i++) plan.push(`/proxy/demo/sleep/${20 + (i * 37) % 180}/ok`);
  for (let i = 0; i < 4; i++) plan.push('/proxy/demo/status/404');
  plan.push('/proxy/demo/status/502');
  for (let i = 0; i < 3; i++) plan.push('/proxy/mock/models');
  for (const p of plan) await proxied(p, state.clientToken);
  await proxied('/proxy/demo/x', 'agw_wrong');
  const page = await newPage(t);
  await loginWithToken(page);
  await waitFor(async () => {
    await page.getByRole('button', {name: 'Refresh'}).click();
    await sleep(400);
    return Number(await page.locator('#dash-updated').getAttribute('data-requests')) >= plan.length;
  }, 'the traffic on the dashboard', 20000);
  await expectText(page.locator('#dash-alerts'), /demo answered 502/, 'the alert');
  await expectText(page.locator('#dash-status .status-row[data-class="4xx"] .status-count'), /^[1-9]/, 'the 4xx class');
  await expectText(page.locator('#dash-status .status-row[data-class="5xx"] .status-count'), /^[1-9]/, 'the 5xx class');
  await expectText(page.locator('#stat-p95 .stat-value'), /\d+(\.\d)? ms/, 'p95');
  const mockRow = page.locator('#dash-upstreams tbody tr').filter({hasText: 'mock'});
  await expectText(mockRow, /\d+ keys[\s\S]*\d+ active[\s\S]*2 disabled/, 'keys by status for mock');
  assert(await page.locator('#chart-traffic canvas').count() === 1, 'the traffic chart is drawn');
  assert(await page.locator('#chart-latency canvas').count() === 1, 'the latency chart is drawn');
  const legend = await page.locator('#chart-traffic .u-legend').innerText();
  assert(/Requests/.test(legend) && /Errors/.test(legend), 'the chart has its legend');
  // It refreshes itself: a new request shows without a click (15 s period).
  const before = Number(await page.locator('#dash-updated').getAttribute('data-requests'));
  await proxied('/proxy/mock/models', state.clientToken);
  await waitFor(async () => Number(await page.locator('#dash-updated').getAttribute('data-requests')) > before,
    'the dashboard to refresh by itself', 25000);
  await shot(page, 'dashboard');
});

test('logs: cursor paging, newer and older', async (t) => {
  if (!state.clientToken) state.clientToken = (await api('POST', '/tokens', {name: 'fallback3'})).token;
  await ensureKeys();
  for (let i = 0; i < 30; i++) await proxied(`/proxy/mock/page/${i}`, state.clientToken);
  const first = await waitFor(async () => {
    const r = await api('GET', '/logs?limit=25&q=/proxy/mock/page/');
    return r.items.length === 25 && r.items[0].path === '/proxy/mock/page/29' ? r : false;
  }, 'the 30 requests in the log');
  assert(first.next_cursor, 'the API has a second page');
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/logs?limit=25&q=/proxy/mock/page/');
  const ids = async () => page.locator('#logs-list tbody tr[data-request-id]').evaluateAll((rows) => rows.map((r) => r.dataset.requestId));
  await waitFor(async () => (await ids()).length === 25, 'a first page of 25');
  const p1 = await ids();
  assert(JSON.stringify(p1) === JSON.stringify(first.items.map((x) => x.request_id)), 'page 1 is the API\'s first page');
  await page.locator('#logs-older').click();
  await expectText(page.locator('#logs-pager'), /Page 2 · 5 request/, 'page 2 with the 5 oldest');
  const p2 = await ids();
  assert(p2.length === 5 && !p2.some((id) => p1.includes(id)), 'page 2 holds the other requests');
  assert(await page.locator('#logs-older').isDisabled(), 'no page 3');
  await page.getByRole('button', {name: '‹ Newer'}).click();
  await expectText(page.locator('#logs-pager'), /Page 1/, 'back to page 1');
  assert(JSON.stringify(await ids()) === JSON.stringify(p1), 'page 1 again, the same rows');
});

test('rules: an invalid rule shows the API\'s message; a dry run matches', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/rules');
  await expectText(row(page, '#rules-list', 'quota-exhausted'), /^\s*10\s/, 'the default rule quota-exhausted');
  const names = await page.locator('#rules-list tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.name));
  const order = ['quota-exhausted', 'rate-limited', 'invalid-key', 'upstream-trouble'].map((n) => names.indexOf(n));
  assert(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), `the default rules in priority order (${names})`);
  await page.locator('#rule-new').click();
  const bad = {name: 'bad-regex', condition: {all: [{type: 'status', op: 'eq', value: 400},
    {type: 'body_regex', pattern: 'a(b'}]}, actions: [{type: 'retry'}]};
  await page.locator('#rule-json').fill(JSON.stringify(bad, null, 2));
  await page.locator('#rule-save').click();
  const err = page.locator('#rule-form .field[data-field=rule] .field-error');
  const msg = await expectText(err, /condition\.all\[1\]\.pattern: missing closing parenthesis/, 'the compiler message at the editor');
  const direct = await apiCall('POST', '/api/admin/rules', bad);
  assert(direct.status === 400 && direct.json.error.message === msg.trim(), 'it is the API\'s own message');
  await shot(page, 'rules-error');
  // Not JSON at all: said before anything is sent.
  await page.locator('#rule-json').fill('{"name": "x",, }');
  await page.locator('#rule-save').click();
  await expectText(err, /not valid JSON/, 'the JSON syntax message');
  // An unknown op inside a template-made rule.
  await page.locator('#rule-template').selectOption('rate-limited');
  const tpl = JSON.parse(await page.locator('#rule-json').inputValue());
  assert(tpl.name === 'rate-limited' && tpl.condition.value === 429, 'the template fills the editor');
  assert(await page.locator('#dryrun input[name=status]').inputValue() === '429', 'the template fills the dry run');
  tpl.condition.op = 'almost';
  await page.locator('#rule-json').fill(JSON.stringify(tpl, null, 2));
  await page.locator('#dryrun-run').click();
  await expectText(err, /^rule\.condition\.op: must be/, 'the dry run\'s compiler message at the editor');
  // The dry run.
  tpl.condition.op = 'eq';
  tpl.name = 'browser-429';
  tpl.stop = false;
  await page.locator('#rule-json').fill(JSON.stringify(tpl, null, 2));
  await page.locator('#dryrun-run').click();
  await expectText(page.locator('#dryrun-verdict'), /Matched:\s*true/, 'matched true');
  await expectText(page.locator('#dryrun-result pre'), /retry_after/, 'the actions it would take');
  await shot(page, 'rules-dryrun');
  await page.locator('#dryrun input[name=status]').fill('200');
  await page.locator('#dryrun-run').click();
  await expectText(page.locator('#dryrun-verdict'), /Matched:\s*false/, 'matched false for a 200');
  await page.locator('#dryrun input[name=status]').fill('429');
  await page.locator('#dryrun-run').click();
  await expectText(page.locator('#dryrun-verdict'), /Matched:\s*true/, 'matched true again');
  // Save it (disabled, for the upstream), and find it in the list and the API.
  tpl.enabled = false;
  tpl.upstream_id = (await ensureUpstream()).id;
  tpl.priority = 500;
  await page.locator('#rule-json').fill(JSON.stringify(tpl, null, 2));
  await page.locator('#rule-save').click();
  await expectText(row(page, '#rules-list', 'browser-429'), /500[\s\S]*browser-429[\s\S]*mock[\s\S]*no/, 'the saved rule in the list');
  const rules = await api('GET', '/rules');
  const saved = rules.items.find((r) => r.name === 'browser-429');
  assert(saved && saved.enabled === false && saved.priority === 500, 'the API has the rule');
  await shot(page, 'rules');
}, {allowStatus: [400]});

test('log in with a user\'s password; an operator sees no admin pages', async (t) => {
  const users = await api('GET', '/users');
  if (!users.items.find((u) => u.username === 'olivia')) {
    await api('POST', '/users', {username: 'olivia', password: 'operator-pass-1', role: 'operator'});
  }
  const page = await newPage(t);
  await page.goto(env.base_url + '/');
  await page.locator('#login-form input[name=username]').fill('olivia');
  await page.locator('#login-form input[name=password]').fill('wrong-password');
  await page.locator('#login-form button[type=submit]').click();
  await expectText(page.locator('#login-form .field[data-field=_form] .field-error'), /wrong username or password/, 'the wrong password message');
  await loginWithPassword(page, 'olivia', 'operator-pass-1');
  await expectText(page.locator('#who'), /olivia\s*operator/, 'who is logged in');
  const token = await page.evaluate(() => sessionStorage.getItem('apigw.token'));
  assert(/^ses_[0-9a-f]{48}$/.test(token), 'a session token is kept in sessionStorage');
  await expectHidden(page.locator('#nav a[data-page=tokens]'), 'Client tokens for an operator');
  await expectHidden(page.locator('#nav a[data-page=users]'), 'Users for an operator');
  await go(page, '#/keys');
  await page.locator('#keys-list tbody tr').first().waitFor();
  assert(await page.locator('#keys-import').isVisible(), 'an operator may import keys');
  assert(await page.locator('#keys-list input.row-check').count() > 0, 'an operator may select keys');
  await go(page, '#/upstreams');
  await page.locator('#upstreams-list tbody tr').first().waitFor();
  assert(await page.locator('#upstream-new').count() === 0, 'an operator may not create upstreams');
  await go(page, '#/rules');
  await page.locator('#rules-list tbody tr').first().waitFor();
  assert(await page.locator('#rule-new').isVisible(), 'an operator may write rules');
}, {allowStatus: [401]});

test('a viewer sees no write buttons nor admin pages, and a 403 is shown plainly', async (t) => {
  const users = await api('GET', '/users');
  if (!users.items.find((u) => u.username === 'vera')) {
    await api('POST', '/users', {username: 'vera', password: 'viewer-pass-1', role: 'viewer'});
  }
  await ensureKeys();
  const page = await newPage(t);
  await loginWithPassword(page, 'vera', 'viewer-pass-1');
  await expectText(page.locator('#who'), /vera\s*viewer/, 'who is logged in');
  await expectHidden(page.locator('#nav a[data-page=tokens]'), 'Client tokens for a viewer');
  await expectHidden(page.locator('#nav a[data-page=users]'), 'Users for a viewer');
  await go(page, '#/upstreams');
  await page.locator('#upstreams-list tbody tr').first().waitFor();
  assert(await page.locator('#upstream-new').count() === 0, 'no New upstream button');
  assert(await page.locator('#upstreams-list button', {hasText: /^(Edit|Delete)$/}).count() === 0, 'no Edit or Delete');
  await page.locator('#upstreams-list button', {hasText: 'View'}).first().click();
  assert(await page.locator('#upstream-form input[name=name]').isDisabled(), 'the upstream form is read-only');
  assert(await page.getByRole('button', {name: /Save|Create upstream/}).count() === 0, 'no Save button');
  await page.keyboard.press('Escape');
  await go(page, '#/keys');
  await page.locator('#keys-list tbody tr').first().waitFor();
  assert(await page.locator('#keys-import').count() === 0, 'no Import button');
  assert(await page.locator('#keys-list input[type=checkbox]').count() === 0, 'no selection checkboxes');
  assert(await page.locator('#keys-batch').count() === 0, 'no batch actions');
  assert(await page.locator('#keys-list button[data-act=test]').count() === 0, 'no Test button');
  assert(await page.locator('#keys-list button[data-act=history]').count() > 0, 'History is there');
  await go(page, '#/rules');
  await page.locator('#rules-list tbody tr').first().waitFor();
  assert(await page.locator('#rule-new').count() === 0, 'no New rule button');
  assert(await page.locator('#rules-list button', {hasText: /^(Edit|Delete|Disable|Enable)$/}).count() === 0, 'no rule write buttons');
  await page.locator('#rules-list button', {hasText: 'View'}).first().click();
  assert(await page.locator('#rule-json').evaluate((e) => e.readOnly), 'the rule editor is read-only');
  assert(await page.locator('#rule-save').count() === 0 && await page.locator('#dryrun').count() === 0, 'no save, no dry run');
  await shot(page, 'viewer-rules');
  // #/users by hand: the API's 403, shown plainly.
  await go(page, '#/users');
  await expectText(page.locator('#banner'), /Not allowed: this needs the admin role; you are viewer/, 'the 403 banner');
  await expectText(page.locator('#users-forbidden'), /needs the admin role/, 'the 403 on the page');
  await shot(page, 'viewer-forbidden');
  // A write forced from the console through the page's own API module.
  await go(page, '#/dashboard');
  await expectHidden(page.locator('#banner'), 'the banner after navigating');
  const status = await page.evaluate(async () => {
    const api = await import('/js/api.js');
    try {
      await api.post('/upstreams', {name: 'forced', base_url: 'http://127.0.0.1:9/'});
      return 'created';
    } catch (e) {
      return e.status;
    }
  });
  assert(status === 403, `the forced write got 403 (got ${status})`);
  await expectText(page.locator('#banner'), /Not allowed: this needs the admin role; you are viewer/, 'the forced 403 banner');
  const ups = await api('GET', '/upstreams');
  assert(!ups.items.some((u) => u.name === 'forced'), 'nothing was created');
}, {allowStatus: [403]});

test('logout ends the session on the server', async (t) => {
  const page = await newPage(t);
  if (!(await api('GET', '/users')).items.find((u) => u.username === 'olivia')) {
    await api('POST', '/users', {username: 'olivia', password: 'operator-pass-1', role: 'operator'});
  }
  await loginWithPassword(page, 'olivia', 'operator-pass-1');
  const token = await page.evaluate(() => sessionStorage.getItem('apigw.token'));
  assert((await apiCall('GET', '/api/admin/me', undefined, token)).status === 200, 'the session works before');
  await page.locator('#logout').click();
  await page.locator('#login-form').waitFor();
  assert(await page.evaluate(() => sessionStorage.getItem('apigw.token')) === null, 'the token is forgotten');
  const after = await apiCall('GET', '/api/admin/me', undefined, token);
  assert(after.status === 401, `the old token gets 401 (got ${after.status})`);
  await page.evaluate(() => { location.hash = '#/keys'; });
  await page.locator('#view[data-page=login] #login-form').waitFor();
  assert(await page.locator('#nav').isHidden(), 'no navigation when logged out');
  // A session that ends elsewhere sends the page back to the login.
  await loginWithPassword(page, 'olivia', 'operator-pass-1');
  const t2 = await page.evaluate(() => sessionStorage.getItem('apigw.token'));
  await apiCall('POST', '/api/admin/logout', undefined, t2);
  await page.evaluate(() => { location.hash = '#/keys'; });
  await page.locator('#view[data-page=login] #login-form').waitFor();
  await expectText(page.locator('.notice'), /session has ended/, 'the session-ended notice');
}, {allowStatus: [401]});

test('users: the admin creates a user and changes a role', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/users');
  await page.locator('#user-new').click();
  await page.locator('#user-form input[name=username]').fill('max');
  await page.locator('#user-form input[name=password]').fill('short');
  await page.locator('#user-form select[name=role]').selectOption('operator');
  await page.getByRole('button', {name: 'Create user'}).click();
  await expectText(page.locator('#user-form .field[data-field=password] .field-error'), /^password: /, 'the password rule at its field');
  await page.locator('#user-form input[name=password]').fill('long-enough-pass');
  await page.getByRole('button', {name: 'Create user'}).click();
  await expectText(page.locator('#users-list tr[data-username=max]'), /max[\s\S]*operator/, 'the new user');
  await page.locator('#users-list tr[data-username=max] button', {hasText: 'Edit'}).click();
  await page.locator('#user-form select[name=role]').selectOption('viewer');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#users-list tr[data-username=max]'), /viewer/, 'the new role');
  const u = (await api('GET', '/users')).items.find((x) => x.username === 'max');
  assert(u && u.role === 'viewer', 'the API has the new role');
  await shot(page, 'users');
}, {allowStatus: [400]});

test('phone size (390x844): menu, no sideways page scroll, tables scroll', async (t) => {
  await ensureKeys();
  const page = await newPage(t, PHONE);
  await loginWithToken(page);
  await page.getByRole('button', {name: 'Refresh'}).waitFor();
  assert(await page.locator('#menu-button').isVisible(), 'the menu button is shown');
  const navBox = await page.locator('#nav').boundingBox();
  assert(navBox.x + navBox.width <= 1, 'the navigation is off screen until opened');
  const noSideways = async (what) => {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(w <= PHONE.width, `${what}: the page is ${w}px wide`);
  };
  await sleep(300);
  await noSideways('dashboard');
  await shot(page, 'phone-dashboard');
  await page.locator('#menu-button').click();
  await waitFor(async () => (await page.locator('#nav').boundingBox()).x >= 0, 'the menu to open');
  await shot(page, 'phone-menu');
  await page.locator('#nav a[data-page=keys]').click();
  await page.locator('#keys-list tbody tr').first().waitFor();
  await waitFor(async () => {
    const b = await page.locator('#nav').boundingBox();
    return b.x + b.width <= 1;
  }, 'the menu to close');
  await noSideways('keys');
  const wrap = page.locator('#keys-list .table-wrap');
  const scrolls = await wrap.evaluate((e) => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === 'auto');
  assert(scrolls, 'the keys table scrolls sideways inside its box');
  await shot(page, 'phone-keys');
  for (const r of ['#/logs', '#/rules', '#/upstreams', '#/tokens']) {
    await go(page, r);
    await page.locator('#view .table-wrap, #view .page-head').first().waitFor();
    await sleep(200);
    await noSideways(r);
  }
  await go(page, '#/rules');
  await page.locator('#rule-new').click();
  await page.locator('#dryrun-run').click();
  await page.locator('#dryrun-verdict').waitFor();
  await noSideways('rules with the editor');
  await shot(page, 'phone-rules');
});

test('tour: every page at 1280x800 and 390x844, for the docs', async (t) => {
  await ensureKeys();
  const pages = ['dashboard', 'upstreams', 'keys', 'rules', 'logs', 'tokens', 'users'];
  const titles = {dashboard: 'Dashboard', upstreams: 'Upstreams', keys: 'Keys', rules: 'Rules', logs: 'Logs',
    tokens: 'Client tokens', users: 'Users'};
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const page = await newPage(t, viewport);
    await loginWithToken(page);
    for (const name of pages) {
      await go(page, '#/' + name);
      await expectText(page.locator('#view h1'), new RegExp('^' + titles[name] + '$'), `the ${name} heading`);
      await page.locator('#view .table-wrap tbody tr').first().waitFor();
      if (name === 'dashboard') await page.locator('#chart-traffic canvas').waitFor();
      if (name === 'rules') {
        await page.locator('#rule-new').click();
        await page.locator('#rule-template').selectOption('quota-exhausted');
        await page.locator('#dryrun-run').click();
        await expectText(page.locator('#dryrun-verdict'), /Matched:\s*true/, 'the quota-exhausted sample matches');
        await page.locator(size === 'phone' ? '#dryrun' : '#rule-editor').evaluate((e) => e.scrollIntoView({block: 'start'}));
        await page.evaluate(() => window.scrollBy(0, -70));
      }
      await sleep(250);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(w <= viewport.width, `${size} ${name}: the page is ${w}px wide`);
      await shot(page, `${size}-${name}`);
    }
  }
});

// ---- the runner --------------------------------------------------------------

async function runTest(tc) {
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

// Steps kept in files of their own, given the helpers here.
(await import('./model_blocks.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, sleep, env: () => env});

function copyDocShots() {
  const main = {'desktop-dashboard': 'dashboard', 'desktop-keys': 'keys', 'desktop-rules': 'rules-dry-run',
    'desktop-logs': 'logs', 'phone-dashboard': 'phone-dashboard', 'phone-keys': 'phone-keys'};
  fs.mkdirSync(DOC_SHOTS, {recursive: true});
  for (const [from, to] of Object.entries(main)) {
    const src = path.join(SHOTS, from + '.png');
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(DOC_SHOTS, to + '.png'));
  }
  console.log(`screenshots copied to ${path.relative(ROOT, DOC_SHOTS)}/`);
}

async function main() {
  const filters = process.argv.slice(2);
  const selected = tests.filter((tc) => !filters.length || filters.some((f) => tc.name.includes(f)));
  let stack;
  try {
    stack = await startStack();
  } catch (e) {
    console.log('the stack did not start: ' + e.message);
    console.log(`RESULT browser passed=0 failed=${Math.max(1, selected.length)}`);
    return 1;
  }
  env = stack.info;
  const cleanup = () => { try { stack.child.stdin.end(); } catch { /* ignore */ } };
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  process.on('SIGTERM', () => { cleanup(); process.exit(143); });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'apigw-chromium-'));
  let passed = 0;
  let failed = 0;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-quic', '--disable-sync', '--disable-dev-shm-usage',
        `--disk-cache-dir=${path.join(profile, 'cache')}`],
      env: {...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile},
    });
    for (const tc of selected) {
      const started = Date.now();
      const err = await runTest(tc);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (err === null) {
        passed++;
        console.log(`PASS ${tc.name} (${secs} s)`);
      } else {
        failed++;
        console.log(`FAIL ${tc.name} (${secs} s)\n    ${err}`);
      }
    }
  } catch (e) {
    console.log('the browser did not start: ' + (e.stack || e));
    failed += Math.max(1, selected.length - passed - failed);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopStack(stack.child);
    fs.rmSync(profile, {recursive: true, force: true});
  }
  if (process.env.UPDATE_DOCS_SCREENSHOTS === '1' && failed === 0) copyDocShots();
  console.log(`screenshots: ${path.relative(ROOT, SHOTS)}/`);
  console.log(`RESULT browser passed=${passed} failed=${failed}`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.log(e.stack || String(e));
  console.log('RESULT browser passed=0 failed=1');
  process.exit(1);
});
