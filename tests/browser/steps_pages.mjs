// Browser steps: logs, dashboard, usage, affinity and the rules editor.

import {execFileSync} from 'node:child_process';
import path from 'node:path';
import {assert, sleep, waitFor, expectText, env, apiCall, api, browser, state, newPage, shot, loginWithToken,
  go, row, proxied, logRow, tests, test, ensureUpstream, ensureKeys, BUILD, ROOT} from './harness.mjs';

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
    /^required when usage_format is custom/, 'the usage_paths error at its field');
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

test('capacity: alert thresholds through the upstream form; the dashboard shows the state', async (t) => {
  let up = (await api('GET', '/upstreams')).items.find((u) => u.name === 'capdemo');
  if (!up) {
    up = await api('POST', '/upstreams', {name: 'capdemo', base_url: env.mock_url});
    await api('POST', '/keys/import', {upstream_id: up.id, text: 'cap-key-000000000001\ncap-key-000000000002'});
  }
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/upstreams');
  await row(page, '#upstreams-list', 'capdemo').getByRole('button', {name: 'Edit'}).click();
  const form = page.locator('#upstream-form');
  assert(await form.locator('input[name=alert_min_active_pct]').inputValue() === '20', 'the form shows the default share');
  await form.locator('input[name=alert_min_active_pct]').fill('101');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(form.locator('.field[data-field=alert_min_active_pct] .field-error'), /^must be between 0 and 100/, 'the share\'s error at its field');
  await form.locator('input[name=alert_min_active_pct]').fill('0');
  await form.locator('input[name=alert_min_active]').fill('3');
  await page.getByRole('button', {name: 'Save'}).click();
  await waitFor(async () => {
    const u = await api('GET', `/upstreams/${up.id}`);
    return u.alert_min_active_pct === 0 && u.alert_min_active === 3;
  }, 'the API has the thresholds');
  // apigw-recover checks capacity: two keys are fewer than three.
  try {
    execFileSync(path.join(BUILD, 'bin', 'apigw-recover'), [],
      {env: {...process.env, APIGW_CONFIG: env.config}, cwd: ROOT, stdio: 'pipe'});
  } catch (e) {
    throw new Error(`apigw-recover failed: ${e.stderr}`);
  }
  await go(page, '#/dashboard');
  const upRow = page.locator('#dash-upstreams tbody tr').filter({hasText: 'capdemo'});
  await expectText(upRow.locator('.capacity-state'), /^low$/, 'the capacity state of capdemo');
  await expectText(page.locator('#dash-capacity tbody tr').filter({hasText: 'capdemo'}), /low/, 'the alert in force');
  await expectText(page.locator('#dash-alerts'), /capacity_low/, 'the alert with its kind');
  await shot(page, 'dashboard-capacity');
}, {allowStatus: [400]});

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
  await page.locator('#rule-mode-json').click(); // the editor opens as a form (issue 22)
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
  await expectText(err, /^condition\.op: must be/, 'the dry run\'s compiler message at the editor');
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

test('rules: the backtest replays the editor\'s rule before saving', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/rules');
  await page.locator('#rule-new').click();
  await page.locator('#rule-mode-json').click();
  const draft = {name: 'browser-backtest', condition: {type: 'status', op: 'gte', value: 400},
    actions: [{type: 'disable_key', duration_s: 60}], threshold: 2, window_s: 60};
  await page.locator('#rule-json').fill(JSON.stringify(draft, null, 2));
  await page.locator('#backtest-run').click();
  const matched = await expectText(page.locator('#backtest-matched'), /^\d[\d,]*$/, 'the number of matches');
  const direct = await apiCall('POST', '/api/admin/rules/backtest', {rule: draft});
  assert(direct.status === 200 && typeof direct.json.matched === 'number', 'the API answers the backtest');
  assert(Number(matched.replace(/,/g, '')) <= direct.json.matched, `the page shows the API's count (${matched}, ${direct.json.matched})`);
  await expectText(page.locator('#backtest-guard'), /would/, 'the guard line');
  await shot(page, 'rules-backtest');
  // A fault of the rule is shown at the editor; nothing was saved.
  draft.condition.op = 'almost';
  await page.locator('#rule-json').fill(JSON.stringify(draft, null, 2));
  await page.locator('#backtest-run').click();
  await expectText(page.locator('#rule-form .field[data-field=rule] .field-error'), /^condition\.op: must be/, 'the compiler message at the editor');
  const rules = await api('GET', '/rules');
  assert(!rules.items.find((r) => r.name === 'browser-backtest'), 'the backtest saved nothing');
}, {allowStatus: [400]});
