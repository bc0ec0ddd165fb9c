// Browser steps of issue 22's OpenAPI and human error messages: the API
// reference page renders the server's generated document (groups, a route
// with its role and body fields, the filter), in English at 1280x800 and in
// Chinese at 390x844 with no string missing from a catalogue; and a form
// with two bad fields shows both errors at their inputs, in words, and
// clears them as the inputs change.  Loaded by run.mjs, which passes its
// helpers.

export function register(h) {
  const {test, assert, waitFor, expectText, newPage, loginWithToken, go, shot, PHONE} = h;

  async function openReference(page) {
    await go(page, '#/api');
    await waitFor(async () => (await page.locator('#api-docs .api-op').count()) > 50, 'the routes listed');
  }

  test('api docs: the reference lists the routes by group, with roles and body fields', async (t) => {
    const page = await newPage(t);
    await loginWithToken(page);
    await openReference(page);
    for (const tag of ['session', 'upstreams', 'keys', 'rules', 'tokens', 'users', 'proxy']) {
      assert(await page.locator(`section.api-group[data-tag=${tag}]`).count() === 1, `the ${tag} group`);
    }
    const op = page.locator('details.api-op[data-op="POST /api/admin/upstreams"]');
    await op.locator('summary').click();
    await expectText(op, /Needs the admin role or above/, 'the role of creating an upstream');
    const strategy = op.locator('tr').filter({hasText: 'strategy'}).first();
    await expectText(strategy, /one of: round_robin, random, weighted[\s\S]*default "round_robin"/, 'the enum and default of strategy');
    const timeout = op.locator('tr').filter({hasText: 'timeout_ms'}).first();
    await expectText(timeout, /1 to 3,600,000/, 'the range of timeout_ms');
    const name = op.locator('tr').filter({hasText: /^name/}).first();
    await expectText(name, /yes/, 'name is required');
    await expectText(op.locator('.api-answer[data-status="201"]'), /Created/, 'the 201 answer');
    await shot(page, 'desktop-api-docs');
    await page.locator('#api-filter').fill('/tokens');
    await waitFor(async () => (await page.locator('.api-op:visible').count()) === 6, 'only the six token routes');
    await page.locator('#api-filter').fill('no-such-route');
    await expectText(page.locator('#api-none'), /No route matches/, 'the empty filter');
  });

  test('api docs: zh-CN on a phone, every string translated', async (t) => {
    const page = await newPage(t, PHONE);
    await page.context().addInitScript(() => { localStorage.setItem('apigw.lang', 'zh-CN'); });
    await loginWithToken(page);
    await openReference(page);
    await expectText(page.locator('#view h1'), /^API 文档$/, 'the Chinese title');
    await expectText(page.locator('section.api-group[data-tag=upstreams] > h2'), /^上游$/, 'a Chinese group name');
    const op = page.locator('details.api-op[data-op="GET /api/admin/keys"]');
    await expectText(op.locator('summary'), /列出密钥/, 'a Chinese summary');
    await op.locator('summary').click();
    await expectText(op, /需要 只读用户 或更高角色/, 'the role in Chinese');
    await expectText(op, /参数[\s\S]*upstream_id/, 'the parameters, names untranslated');
    const missing = await page.evaluate(() => window.__apigwI18nMissing());
    assert(missing.length === 0, 'strings missing from the catalogues: ' + JSON.stringify(missing));
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, `the page fits the phone (scrollWidth ${wide})`);
    await shot(page, 'phone-api-docs-zh');
  });

  async function twoBadFields(page) {
    await go(page, '#/users');
    await page.locator('#user-new').click();
    const form = page.locator('#user-form');
    await form.locator('input[name=username]').fill('bad name!');
    await form.locator('input[name=password]').fill('short');
    await page.locator('button[form=user-form]').click();
    return form;
  }

  test('forms: two bad fields show both errors in words, and clear as they change', async (t) => {
    const page = await newPage(t);
    await loginWithToken(page);
    const form = await twoBadFields(page);
    const user = form.locator('.field[data-field=username] .field-error');
    const pass = form.locator('.field[data-field=password] .field-error');
    await expectText(user, /^use only letters/, 'the username error at its input, without the API name');
    await expectText(pass, /^length must be 8 to 256$/, 'the password error at the same time');
    assert(await form.locator('.field[data-field=_form] .field-error').isHidden(), 'nothing left for the form line');
    await form.locator('input[name=username]').fill('goodname');
    await waitFor(async () => await user.isHidden(), 'the username error cleared on change');
    assert(await pass.isVisible(), 'the password error stays until its input changes');
    await form.locator('input[name=password]').fill('long-enough-pass');
    await waitFor(async () => await pass.isHidden(), 'the password error cleared on change');
    await shot(page, 'desktop-form-errors-cleared');
    await page.locator('button[form=user-form]').click();
    await expectText(page.locator('#users-list tr[data-username=goodname]'), /goodname/, 'the user saved');
  }, {allowStatus: [400]});

  test('forms: zh-CN errors say what is wrong in Chinese', async (t) => {
    const page = await newPage(t);
    await page.context().addInitScript(() => { localStorage.setItem('apigw.lang', 'zh-CN'); });
    await loginWithToken(page);
    const form = await twoBadFields(page);
    await expectText(form.locator('.field[data-field=password] .field-error'), /^长度须为 8 到 256$/, 'the password error in Chinese');
    const missing = await page.evaluate(() => window.__apigwI18nMissing());
    assert(missing.length === 0, 'strings missing from the catalogues: ' + JSON.stringify(missing));
  }, {allowStatus: [400]});
}
