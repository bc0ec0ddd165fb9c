// Browser steps of first run and daily use (issue 22): the dashboard's
// first-run steps on an empty gateway, provider presets in the upstream
// form, the client snippets and their copy buttons, editing a client token
// and its usage, the confirmations before making an upstream public and
// before deleting one with keys, dialogs closed by Back, the housekeeping
// panel, KPI links and the remembered refresh interval; once in Chinese
// (no string missing from the catalogues) and once on a phone.
// Loaded last by run.mjs (the first test empties the stack's upstreams and
// tokens), which passes its helpers.

const PHONE = {width: 390, height: 844};

export function register(h) {
  const {test, api, assert, waitFor, expectText, newPage, loginWithToken, go, shot, proxied, env} = h;

  async function emptyStack() {
    for (const u of (await api('GET', '/upstreams?limit=1000')).items) await api('DELETE', `/upstreams/${u.id}`);
    for (const k of (await api('GET', '/tokens?limit=1000')).items) await api('DELETE', `/tokens/${k.id}`);
  }

  async function chinesePage(t, viewport) {
    const page = await newPage(t, viewport);
    await page.context().addInitScript(() => localStorage.setItem('apigw.lang', 'zh-CN'));
    return page;
  }

  test('first run: onboarding on an empty stack, presets fill the form, snippets copy, the test call works', async (t) => {
    await emptyStack();
    const page = await newPage(t);
    await loginWithToken(page);
    const steps = page.locator('#onboarding');
    await expectText(steps, /Get started[\s\S]*Create an upstream[\s\S]*Import keys[\s\S]*Create a client token[\s\S]*Make a test call/, 'the four steps');
    assert(await steps.locator('[data-step="1"]').getAttribute('data-done') === 'no', 'step 1 not done');
    await shot(page, 'first-run-empty');
    // Step 1: the OpenAI preset opens the upstream form filled.
    await steps.locator('a[data-preset=openai]').click();
    const form = page.locator('#upstream-form');
    await form.waitFor();
    const val = (n) => form.locator(`[name=${n}]`).inputValue();
    assert(await val('name') === 'openai' && await val('base_url') === 'https://api.openai.com/v1' &&
      await val('probe_method') === 'GET' && await val('probe_path') === '/models' &&
      await val('usage_format') === 'openai' && await val('auth_template') === 'Bearer {key}', 'the OpenAI preset');
    // Another preset in the form replaces the provider fields, not a name typed.
    await form.locator('[name=name]').fill('fr-ai');
    await page.locator('#upstream-presets button[data-preset=anthropic]').click();
    assert(await val('auth_header') === 'x-api-key' && await val('auth_template') === '{key}' &&
      await val('usage_format') === 'anthropic' && await val('name') === 'fr-ai' &&
      await val('header_rules') === 'set anthropic-version 2023-06-01', 'the Anthropic preset');
    await page.locator('#upstream-presets button[data-preset=gemini]').click();
    assert(await val('auth_header') === 'x-goog-api-key' && await val('quota_reset_tz') === 'America/Los_Angeles', 'the Gemini preset');
    await page.locator('#upstream-presets button[data-preset=openai]').click();
    assert(await val('header_rules') === '' && await val('quota_reset_tz') === '', 'the OpenAI preset leaves nothing of the others');
    await form.locator('[name=base_url]').fill(env().mock_url + '/v1');
    await page.getByRole('button', {name: 'Create upstream'}).click();
    await form.waitFor({state: 'detached'});
    const up = (await api('GET', '/upstreams')).items.find((u) => u.name === 'fr-ai');
    assert(up && up.usage_format === 'openai' && up.probe_path === '/models', 'the upstream saved from the preset');
    // Steps 2 and 3 remain; step 4 shows the test call for it.
    await go(page, '#/dashboard');
    await waitFor(async () => await steps.locator('[data-step="1"]').getAttribute('data-done') === 'yes', 'step 1 done');
    const base = `${env().base_url}/proxy/fr-ai`;
    await expectText(steps.locator('#client-base-url'), new RegExp('^' + base.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') + '$'), 'the client base URL');
    await expectText(steps.locator('#snippet-curl'), /curl http.*\/proxy\/fr-ai\/chat\/completions[\s\S]*Authorization: Bearer \$APIGW_TOKEN/, 'the curl snippet');
    await expectText(steps.locator('#snippet-python'), /base_url="http.*\/proxy\/fr-ai"/, 'the Python snippet');
    await expectText(steps.locator('#snippet-js'), /baseURL: 'http.*\/proxy\/fr-ai'/, 'the JavaScript snippet');
    await steps.locator('.snippet').filter({hasText: 'curl'}).getByRole('button', {name: /Copy/}).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert(copied.startsWith(`curl ${base}/chat/completions`), 'the curl snippet copied: ' + copied);
    // Step 2 by the API, step 3 through the tokens page the step links to.
    await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-firstrun-000000000001'});
    await steps.getByRole('link', {name: 'New client token'}).click();
    await page.locator('#token-form').waitFor();
    await page.locator('#token-form input[name=name]').fill('fr-client');
    await page.getByRole('button', {name: 'Create token'}).click();
    const token = (await expectText(page.locator('#token-value'), /^agw_/, 'the new token')).trim();
    // The test call of step 4, as the snippet makes it.
    const r = await fetch(`${base}/chat/completions`, {method: 'POST',
      headers: {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'},
      body: JSON.stringify({model: 'gpt-4o-mini', messages: [{role: 'user', content: 'Say hello'}]})});
    assert(r.status === 200, 'the test call through the gateway: ' + r.status);
    await go(page, '#/dashboard');
    await waitFor(async () => await steps.isHidden(), 'the steps gone once done');
  });

  test('first run: every upstream shows its client base URL and snippets', async (t) => {
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/upstreams');
    const tr = page.locator('#upstreams-list tbody tr').filter({hasText: 'fr-ai'});
    await expectText(tr, /\/proxy\/fr-ai/, 'the client base URL in the list');
    await tr.getByRole('button', {name: 'How to call'}).click();
    const dlg = page.locator('dialog');
    await expectText(dlg.locator('#snippet-python'), /from openai import OpenAI/, 'the snippets dialog');
    await dlg.locator('#client-base-copy').click();
    assert(await page.evaluate(() => navigator.clipboard.readText()) === `${env().base_url}/proxy/fr-ai`, 'the base URL copied');
  });

  test('first run: a client token is edited (limits, upstreams, expiry) and shows its usage', async (t) => {
    const up = (await api('GET', '/upstreams')).items.find((u) => u.name === 'fr-ai');
    const tok = await api('POST', '/tokens', {name: 'fr-edit'});
    await proxied('/proxy/fr-ai/models', tok.token);
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/tokens');
    await page.locator('#tokens-list tr[data-name="fr-edit"]').getByRole('button', {name: 'Edit'}).click();
    const form = page.locator('#token-edit-form');
    await expectText(page.locator('#token-usage'), /Requests today[\s\S]*1[\s\S]*Last used/, 'the usage of the token');
    await form.locator('input[name=name]').fill('fr-edited');
    await form.locator('input[name=rpm_limit]').fill('30');
    await form.locator(`input[name=up][value="${up.id}"]`).check();
    await form.locator('input[name=expires_at]').fill('2031-05-06T07:08');
    await form.locator('textarea[name=limits]').fill('day requests=1000');
    await page.getByRole('button', {name: 'Save'}).click();
    await form.waitFor({state: 'detached'});
    const after = await api('GET', `/tokens/${tok.id}`);
    assert(after.name === 'fr-edited' && after.rpm_limit === 30 && after.upstreams.length === 1 &&
      after.upstreams[0] === up.id && after.expires_at === '2031-05-06T07:08:00Z' &&
      after.limits.length === 1 && after.limits[0].requests === 1000, 'the edit saved: ' + JSON.stringify(after));
    // Emptied fields are cleared, not left as they were.
    await page.locator('#tokens-list tr[data-name="fr-edited"]').getByRole('button', {name: 'Edit'}).click();
    await form.locator('input[name=rpm_limit]').fill('');
    await form.locator('input[name=expires_at]').fill('');
    await form.locator('textarea[name=limits]').fill('');
    await page.getByRole('button', {name: 'Save'}).click();
    await form.waitFor({state: 'detached'});
    const cleared = await api('GET', `/tokens/${tok.id}`);
    assert(cleared.rpm_limit === 0 && cleared.expires_at === null && !(cleared.limits && cleared.limits.length), 'the limits cleared');
  });

  test('first run: confirmations before public and before deleting an upstream with keys; Back closes a dialog', async (t) => {
    const up = await api('POST', '/upstreams', {name: 'fr-confirm', base_url: env().mock_url + '/v1'});
    await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-confirm-0000000000001'});
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/upstreams');
    const row = page.locator('#upstreams-list tbody tr[data-name="fr-confirm"]');
    await row.getByRole('button', {name: 'Edit'}).click();
    await page.locator('#upstream-form input[name=public]').check();
    await page.getByRole('button', {name: 'Save'}).click();
    const confirm = page.locator('dialog').filter({hasText: 'Make upstream public'});
    await expectText(confirm, /without a client token/, 'the public confirmation');
    await confirm.getByRole('button', {name: 'Cancel'}).click();
    assert((await api('GET', `/upstreams/${up.id}`)).public === false, 'not public after Cancel');
    await page.getByRole('button', {name: 'Save'}).click();
    await page.locator('dialog').filter({hasText: 'Make upstream public'}).getByRole('button', {name: 'Make public'}).click();
    await waitFor(async () => (await api('GET', `/upstreams/${up.id}`)).public === true, 'public after the confirmation');
    // Deleting an upstream with keys asks for its name.
    await row.getByRole('button', {name: 'Delete'}).click();
    const del = page.locator('#confirm-delete');
    assert(await del.isDisabled(), 'Delete disabled before the name is typed');
    await page.locator('#confirm-name').fill('fr-confirn');
    assert(await del.isDisabled(), 'Delete disabled for another name');
    await page.locator('#confirm-name').fill('fr-confirm');
    await del.click();
    await waitFor(async () => !(await api('GET', '/upstreams')).items.some((u) => u.id === up.id), 'the upstream deleted');
    // A dialog closes when Back leaves its page.
    await go(page, '#/dashboard');
    await go(page, '#/upstreams');
    await page.locator('#upstreams-list tbody tr[data-name="fr-ai"]').getByRole('button', {name: 'Edit'}).click();
    await page.locator('#upstream-form').waitFor();
    await page.goBack();
    await page.locator('#view[data-page=dashboard]').waitFor();
    await page.locator('dialog').waitFor({state: 'detached'});
  });

  test('first run: housekeeping, KPI links, top panels and the remembered refresh interval', async (t) => {
    const page = await newPage(t);
    await loginWithToken(page);
    const hk = page.locator('#dash-housekeeping');
    for (const job of ['apigw-recover', 'apigw-jobs', 'apigw-quota-reset', 'apigw-log-cleanup']) {
      await expectText(hk.locator(`tr[data-job="${job}"]`), new RegExp(job), 'the row of ' + job);
    }
    // The browser stack runs no cron (a test may run apigw-recover once):
    // jobs are late, and said so.
    await expectText(page.locator('#housekeeping-late'), /apigw-[a-z-]+ has (never run \(expected (every minute|hourly|daily)\)|not run for)/, 'the warning');
    assert(await hk.locator('tr[data-late="yes"]').count() >= 3, 'late jobs');
    const href = await page.locator('#stat-requests').getAttribute('href');
    assert(/^#\/logs\?from=\d{4}-/.test(href), 'the requests KPI links to the logs: ' + href);
    assert(/status=5xx/.test(await page.locator('#stat-errors').getAttribute('href')), 'the errors KPI links to 5xx');
    await page.locator('#dash-status .status-row[data-class="2xx"] a').click();
    await page.locator('#view[data-page=logs]').waitFor();
    assert(/status=2xx/.test(await page.evaluate(() => location.hash)), 'the 2xx bar opened the logs of 2xx');
    await go(page, '#/dashboard');
    await page.locator('#dash-top-keys table').waitFor();
    await page.locator('#dash-reasons table').waitFor();
    await page.locator('#dash-refresh').selectOption('0');
    await page.reload();
    await page.locator('#dash-updated[data-requests]').waitFor({state: 'attached'});
    assert(await page.locator('#dash-refresh').inputValue() === '0', 'paused after a reload');
    await page.locator('#dash-refresh').selectOption('15');
    await shot(page, 'dashboard-housekeeping', {fullPage: true});
  });

  test('first run: in Chinese, every string of the dashboard, upstreams and tokens pages is translated', async (t) => {
    const page = await chinesePage(t);
    await loginWithToken(page);
    await expectText(page.locator('#dash-housekeeping').locator('..'), /定时维护任务/, 'the housekeeping panel in Chinese');
    await expectText(page.locator('#view'), /请求与错误/, 'the dashboard in Chinese');
    await go(page, '#/upstreams');
    await page.locator('#upstreams-list tbody tr[data-name="fr-ai"]').getByRole('button', {name: '编辑'}).click();
    await expectText(page.locator('dialog'), /服务商预设|从预设填充/, 'the upstream form in Chinese');
    await page.locator('dialog details.snippets-box summary').click();
    await page.locator('dialog #shape-preview summary').click();
    await page.keyboard.press('Escape');
    await page.locator('#upstreams-list tbody tr[data-name="fr-ai"]').getByRole('button', {name: '调用方式'}).click();
    await expectText(page.locator('dialog'), /客户端基础 URL/, 'the snippets in Chinese');
    await page.keyboard.press('Escape');
    await go(page, '#/tokens');
    await page.locator('#tokens-list tbody tr').first().getByRole('button', {name: '编辑'}).click();
    await expectText(page.locator('#token-usage'), /用量/, 'the token usage in Chinese');
    await page.keyboard.press('Escape');
    await page.locator('#token-new').click();
    await page.keyboard.press('Escape');
    await shot(page, 'zh-tokens');
    const missing = await page.evaluate(() => window.__apigwI18nMissing());
    assert(missing.length === 0, 'strings missing from the catalogues: ' + JSON.stringify(missing));
  });

  test('first run: on a phone the dashboard and the snippets fit the screen', async (t) => {
    await emptyStack();
    const page = await newPage(t, PHONE);
    await loginWithToken(page);
    await page.locator('#onboarding').waitFor();
    await api('POST', '/upstreams', {name: 'fr-phone', base_url: env().mock_url + '/v1'});
    await page.locator('#dash-refresh').selectOption('5');
    await page.locator('#onboarding #snippet-curl').waitFor({timeout: 15000});
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, 'the page is no wider than the phone: ' + wide);
    await shot(page, 'phone-first-run', {fullPage: true});
    await page.locator('#dash-refresh').selectOption('15');
  });
}
