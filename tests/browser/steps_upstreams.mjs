// Browser steps: the page itself (static checks, login) and the upstreams
// page (form, fields of each feature, script editor, shaping preview).

import fs from 'node:fs';
import path from 'node:path';
import {ROOT, assert, waitFor, expectText, expectHidden, env, apiCall, api, state, newPage, shot,
  loginWithToken, go, row, test, ensureUpstream} from './harness.mjs';

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
  const msg = await expectText(err, /^must start with http:\/\/ or https:\/\//, 'the base_url error at its field, in words');
  const direct = await apiCall('POST', '/api/admin/upstreams', {name: 'mock2', base_url: 'ftp://example.com/v1'});
  assert(direct.status === 400 && direct.json.error.message === 'base_url: ' + msg.trim(), `the field shows the API's own message under its label (${msg} vs ${direct.text})`);
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
  await editRejectThenSave('timeout_ms', '0', /^must be between 1 and 3600000/, '20000');
  await expectText(row(page, '#upstreams-list', 'mock'), /20\.0 s/, 'the new timeout in the list');
  assert((await api('GET', `/upstreams/${up.id}`)).timeout_ms === 20000, 'the API has the new timeout');
  // max_concurrent: 0 refused at its field, a limit saved, then lifted by emptying the field.
  await editRejectThenSave('max_concurrent', '0', /^must be between 1 and 100000/, '8');
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
  await expectText(page.locator('#upstream-form .field[data-field=affinity_path] .field-error'), /^required when affinity is body/, 'the affinity_path error at its input');
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
  await expectText(page.locator('#upstream-form .field[data-field=header_rules] .field-error'), /^\[1\]\.name: Host cannot be changed/, 'the header rule error at its field');
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
  await expectText(page.locator('#upstream-form .field[data-field=body_set] .field-error'), /^"\$\.messages\[0\]\.role": only a chain of member names/, 'the body_set error at its textarea');
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
  await expectText(form.locator('.field[data-field=queue_wait_ms] .field-error'), /^must be between 0 and 30000/, 'the queue_wait_ms error at its field');
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
  await expectText(form.locator('.field[data-field=quota_reset_tz] .field-error'), /^unknown time zone Mars\/Olympus/, 'the unknown zone named at its field');
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

test('upstreams: script editor shows a compile error at its line, and the test panel a result', async (t) => {
  const up = await ensureUpstream();
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/upstreams');
  await row(page, '#upstreams-list', up.name).getByRole('button', {name: 'Edit'}).click();
  const script = page.locator('#upstream-form textarea[name=script]');
  await script.fill('function onRequest(req, ctx) {\n  var a = 1;\n  a = = 2;\n}\n');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#upstream-form .field[data-field=script] .field-error'), /^line 3: /, 'the compile error at the script field');
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
