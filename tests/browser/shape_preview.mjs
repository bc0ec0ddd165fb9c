// The upstream form's "Preview shaping" panel (issue 20): a header rule
// and a model map typed into the form, not saved, show in the preview of
// the outgoing request, with the key as <key>.  run.mjs loads this file
// and hands it its helpers.

export function register(h) {
  const {test, api, assert, ensureUpstream, expectText, go, loginWithToken, newPage, row, shot, waitFor} = h;

  test('upstreams: the shaping preview shows unsaved header rules and model map, the key as <key>', async (t) => {
    const up = await ensureUpstream();
    const before = await api('GET', `/upstreams/${up.id}`);
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/upstreams');
    await row(page, '#upstreams-list', up.name).getByRole('button', {name: 'Edit'}).click();
    const form = page.locator('#upstream-form');
    await form.locator('textarea[name=header_rules]').fill('set X-Preview from-{upstream}\nremove X-Debug');
    await form.locator('textarea[name=model_map]').fill('{"gpt-4": "gpt-4o"}');
    await page.locator('#shape-preview summary').click();
    await page.locator('#shape-preview textarea[name=preview_headers]').fill('Content-Type: application/json\nX-Debug: 1');
    await page.locator('#shape-preview-run').click();
    const request = page.locator('#shape-preview-request');
    await expectText(request, new RegExp(`X-Preview: from-${up.name}`), 'the header rule in the outgoing request');
    await expectText(request, /Authorization: Bearer <key>/, 'the key shown as <key>');
    assert(!/X-Debug/.test(await request.innerText()), 'the removed header is not sent');
    await expectText(page.locator('#shape-preview-body'), /"model":"gpt-4o"/, 'the mapped model in the body');
    await expectText(page.locator('#shape-preview-model'), /gpt-4 → gpt-4o/, 'the model asked for and sent');
    await expectText(page.locator('#shape-preview-applied'), /header_rules: set X-Preview[\s\S]*model_map: gpt-4 -> gpt-4o/, 'what shaping applied');
    await page.evaluate(() => document.querySelector('#shape-preview').scrollIntoView({block: 'center'}));
    await shot(page, 'upstream-shape-preview');
    await page.getByRole('button', {name: 'Cancel'}).click();
    await waitFor(async () => {
      const now = await api('GET', `/upstreams/${up.id}`);
      return JSON.stringify(now.header_rules) === JSON.stringify(before.header_rules) && now.model_map === before.model_map;
    }, 'the preview saved nothing');
  });
}
