// Browser steps of the rules page without raw JSON (issue 22): a rule with
// a nested group built by the form, the JSON toggle both ways unchanged, a
// rule the form cannot show kept as JSON, the save, and "which rules would
// fire, in order" with a stop; a sample from a logged request and the
// hits of 24 h; the page in Chinese with no string missing
// from the catalogue; the builder on a phone.  Loaded by run.mjs, which
// passes its helpers.
import fs from 'node:fs';
import path from 'node:path';

const MINE = ['web/js/pages/rules.js', 'web/js/rule_form.js', 'web/js/rule_spec.js', 'web/js/rule_reference.js',
  'web/js/rule_dryrun.js', 'web/js/rule_order.js', 'web/js/rule_backtest.js', 'web/js/rule_templates.js'];

const EXPECTED_CONDITION = {all: [
  {type: 'status', op: 'gte', value: 500},
  {type: 'body_contains', value: 'overloaded'},
  {any: [{type: 'status', op: 'in', value: [500, 503]}, {not: {type: 'transport_error', value: 'timeout'}}]},
]};

export function register(h) {
  const {test, api, assert, waitFor, expectText, newPage, loginWithToken, go, shot, env, root, phone, proxied} = h;

  const leaf = (page, at) => page.locator(`#rule-builder .rule-leaf[data-at="${at}"]`);
  const ruleField = (page, name) => page.locator(`#rule-builder .rule-fields .rule-field[data-name=${name}]`).locator('input, select');

  // Builds EXPECTED_CONDITION by the form, starting from the blank rule.
  async function buildNested(page) {
    await page.locator('#rule-root-add').click();
    await leaf(page, 'condition.all[0]').locator('.rule-op').selectOption('gte');
    await leaf(page, 'condition.all[0]').locator('.rule-field[data-name=value] input').fill('500');
    await leaf(page, 'condition.all[1]').locator('.rule-leaf-type').selectOption('body_contains');
    await leaf(page, 'condition.all[1]').locator('.rule-field[data-name=value] input').fill('overloaded');
    await page.locator('#rule-builder .rule-group[data-at=condition] > .rule-group-add .rule-add-group').click();
    await leaf(page, 'condition.all[2].any[0]').locator('.rule-op').selectOption('in');
    await leaf(page, 'condition.all[2].any[0]').locator('.rule-field[data-name=value] input').fill('500, 503');
    await page.locator('#rule-builder .rule-group[data-at="condition.all[2]"] > .rule-group-add .rule-add-leaf').click();
    await leaf(page, 'condition.all[2].any[1]').locator('.rule-negate').click();
    await leaf(page, 'condition.all[2].any[1].not').locator('.rule-leaf-type').selectOption('transport_error');
    await leaf(page, 'condition.all[2].any[1].not').locator('.rule-field[data-name=value] select').selectOption('timeout');
  }

  test('rules builder: a nested group by the form, JSON and back unchanged, saved, which rules fire in order', async (t) => {
    const up = await api('POST', '/upstreams', {name: 'rb-up', base_url: env().mock_url + '/v1'});
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/rules');
    await page.locator('#rule-new').click();
    assert(await page.locator('#rule-builder').isVisible() && await page.locator('#rule-json').isHidden(), 'the editor opens as a form');
    await expectText(page.locator('#rule-reference'), /json_path[\s\S]*disable_key[\s\S]*threshold/, 'the reference beside the form');
    await ruleField(page, 'name').fill('rb-nested');
    await ruleField(page, 'upstream_id').selectOption(String(up.id));
    await ruleField(page, 'priority').fill('-500');
    await buildNested(page);
    await page.locator('#rule-add-action').selectOption('retry');
    await shot(page, 'rules-builder');

    await page.locator('#rule-mode-json').click();
    const text = await page.locator('#rule-json').inputValue();
    const built = JSON.parse(text);
    assert(JSON.stringify(built.condition) === JSON.stringify(EXPECTED_CONDITION), `the form built the condition: ${JSON.stringify(built.condition)}`);
    assert(JSON.stringify(built.actions) === JSON.stringify([{type: 'log', message: 'saw a 429'}, {type: 'retry'}]), 'the actions');
    assert(built.name === 'rb-nested' && built.upstream_id === up.id && built.priority === -500, 'the rule\'s fields');
    await page.locator('#rule-mode-form').click();
    await page.locator('#rule-mode-json').click();
    assert(await page.locator('#rule-json').inputValue() === text, 'form -> JSON -> form -> JSON gives the same rule');

    // JSON the form cannot show stays JSON, with a note naming the part.
    const odd = {...built, condition: {type: 'status', op: 'eq', value: 'soon'}};
    await page.locator('#rule-json').fill(JSON.stringify(odd, null, 2));
    await page.locator('#rule-mode-form').click();
    await expectText(page.locator('#rule-json-note'), /condition\.value/, 'the note on what the form cannot show');
    assert(await page.locator('#rule-json').isVisible(), 'it stays in the JSON editor');
    await page.locator('#rule-json').fill(text);
    await page.locator('#rule-mode-form').click();
    assert(await page.locator('#rule-builder').isVisible() && await page.locator('#rule-json-note').isHidden(), 'back to the form');

    await page.locator('#rule-save').click();
    const saved = await waitFor(async () => (await api('GET', `/rules?upstream_id=${up.id}`)).items.find((r) => r.name === 'rb-nested'), 'the rule saved');
    assert(JSON.stringify(saved.condition) === JSON.stringify(EXPECTED_CONDITION), 'saved as built');
    await expectText(page.locator('#rules-list tr[data-name=rb-nested]'), /-500[\s\S]*rb-nested[\s\S]*rb-up/, 'the rule in the list');
    assert(await page.locator('#rules-list th', {hasText: 'Hits (24 h)'}).count() === 1, 'the hits column');

    // Which rules would fire, in order, for a 503 saying "overloaded".
    await page.locator('#order-upstream').selectOption(String(up.id));
    await page.locator('#dryrun input[name=status]').fill('503');
    await page.locator('#dryrun textarea[name=body]').fill('{"error": "overloaded"}');
    await page.locator('#order-run').click();
    await waitFor(async () => await page.locator('#order-result tr[data-name=rb-nested][data-why=fires]').count() === 1, 'rb-nested fires');
    await expectText(page.locator('#order-verdict'), /retried with another key/, 'the verdict');
    await api('POST', '/rules', {name: 'rb-stopper', upstream_id: up.id, priority: -600, stop: true,
      condition: {type: 'status', op: 'eq', value: 503}, actions: [{type: 'log', message: 'stop here'}]});
    await page.locator('#order-run').click();
    await waitFor(async () => await page.locator('#order-result tr[data-name=rb-nested][data-why=not_reached]').count() === 1, 'rb-nested is not reached after the stop');
    await expectText(page.locator('#order-verdict'), /stops at: rb-stopper/, 'where the evaluation stops');
    const names = await page.locator('#order-result tr.order-row').evaluateAll((rows) => rows.map((r) => r.dataset.name));
    assert(names.indexOf('rb-stopper') < names.indexOf('rb-nested'), 'in their order');
    await shot(page, 'rules-order');
  });

  test('rules builder: test against a logged request, and the hits of 24 h', async (t) => {
    const up = await api('POST', '/upstreams', {name: 'rb-log', base_url: env().mock_url + '/v1'});
    // Four keys: the upstream-wide guard lets a rule take out one of them.
    for (let i = 1; i <= 4; i++) await api('POST', '/keys', {upstream_id: up.id, key_value: `sk-rb-log-000000000000${i}`});
    await api('POST', '/rules', {name: 'rb-ban-403', upstream_id: up.id, priority: -700,
      condition: {type: 'status', op: 'eq', value: 403}, actions: [{type: 'ban_key'}]});
    const token = (await api('POST', '/tokens', {name: 'rb-log-token'})).token;
    // The gateway's pool learns of the new upstream within pool_refresh_ms.
    const res = await waitFor(async () => {
      const r = await proxied('/proxy/rb-log/status/403', token);
      return r.status === 403 ? r : null;
    }, 'the mock\'s 403 through the gateway');
    const rid = res.headers.get('x-gateway-request-id');
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/rules');
    // The ban's key event, and any alert of the rule (the upstream-wide
    // guard's, should a second key be asked to go).
    const rule = (await api('GET', `/rules?upstream_id=${up.id}`)).items.find((r) => r.name === 'rb-ban-403');
    const hits = (await api('GET', '/rules/hits')).items.find((x) => x.rule_id === rule.id);
    assert(hits && hits.key_events >= 1, 'the API counts the ban');
    await expectText(page.locator('#rules-list tr[data-name=rb-ban-403] .rule-hits'), new RegExp(`^${hits.key_events + hits.alerts}$`), 'the hits in the list');
    await page.locator('#order-upstream').selectOption(String(up.id));
    await page.locator('#log-request-id').fill(rid);
    await waitFor(async () => {
      await page.locator('#log-sample-load').click();
      return await page.locator('#dryrun input[name=status]').inputValue() === '403';
    }, 'the sample from the log row');
    assert((await page.locator('#dryrun textarea[name=body]').inputValue()).includes('mock_403'), 'the body from the key event\'s excerpt');
    await expectText(page.locator('#log-sample-fired'), /rb-ban-403/, 'the rules that fired on the proxy');
    await page.locator('#order-run').click();
    await waitFor(async () => await page.locator('#order-result tr[data-name=rb-ban-403][data-why=fires]').count() === 1, 'the rule fires on the logged answer');
  });

  test('rules builder: the page in Chinese, every string translated', async (t) => {
    const page = await newPage(t);
    await page.context().addInitScript(() => { localStorage.setItem('apigw.lang', 'zh-CN'); });
    await loginWithToken(page);
    await go(page, '#/rules');
    await expectText(page.locator('#view h1'), /规则/, 'the title in Chinese');
    await page.locator('#rule-new').click();
    await expectText(page.locator('#rule-reference summary'), /参考：条件与动作/, 'the reference in Chinese');
    await page.locator('#rule-template').selectOption('quota-exhausted');
    await expectText(page.locator('#rule-template-about'), /配额/, 'the template described in Chinese');
    const up = (await api('GET', '/upstreams')).items[0];
    await page.locator('#order-upstream').selectOption(String(up.id));
    await page.locator('#order-run').click();
    await expectText(page.locator('#order-verdict'), /[客密]/, 'the verdict in Chinese');
    await page.locator('#rule-mode-json').click();
    await page.locator('#rule-mode-form').click();
    await shot(page, 'rules-zh');
    const sources = MINE.map((f) => fs.readFileSync(path.join(root, f), 'utf8')).join('\n');
    const missing = (await page.evaluate(() => window.__apigwI18nMissing()))
      .filter((s) => sources.includes(`'${s.replace(/'/g, '\\\'')}'`) || sources.includes(`"${s}"`));
    assert(missing.length === 0, `strings of the rules page missing from the catalogue: ${JSON.stringify(missing)}`);
  });

  test('rules builder: a phone keeps the form on the screen', async (t) => {
    const page = await newPage(t, phone);
    await loginWithToken(page);
    await go(page, '#/rules');
    await page.locator('#rule-new').click();
    await buildNested(page);
    const over = await page.evaluate(() => {
      const out = [];
      for (const sel of ['#rule-builder', '#rule-save', '#rule-mode-json', '#dryrun-run', '#order-run']) {
        const r = document.querySelector(sel).getBoundingClientRect();
        if (r.right > window.innerWidth + 1) out.push(`${sel} ends at ${Math.round(r.right)}`);
      }
      return out;
    });
    assert(over.length === 0, 'nothing leaves the screen: ' + over.join(', '));
    await shot(page, 'phone-rules-builder', {fullPage: true});
  });
}
