// Browser steps of the keys page (issue 22): sorting by a column header,
// search by name, a key found by pasting its value, the status legend,
// "select all N matching" across pages, batch test, "delete all banned",
// buttons that stay on screen at 1280x800 and 390x844 (rows stacked on a
// phone), and the page in Chinese with no string left untranslated.
// Loaded by run.mjs, which passes its helpers.

const PHONE = {width: 390, height: 844};

export function register(h) {
  const {test, api, assert, waitFor, expectText, newPage, loginWithToken, go, shot, env} = h;

  // An upstream with a probe and six named keys of weights 1 to 3.
  async function seed(tag) {
    const up = await api('POST', '/upstreams', {name: `kp-${tag}-${Date.now() % 100000}`, base_url: env().mock_url + '/v1',
      probe_method: 'GET', probe_path: '/models'});
    const keys = [];
    for (let i = 0; i < 6; i++) {
      const value = `sk-kp-${tag}-${Date.now()}-${i}-abcdefghijklmnop`;
      const k = await api('POST', '/keys', {upstream_id: up.id, key_value: value, name: `${tag}-name-${i}`, weight: (i % 3) + 1});
      keys.push({...k, value});
    }
    return {up, keys};
  }

  // Every visible button of the page (dialogs included) whose box leaves
  // the window sideways, by its text.
  async function offScreenButtons(page) {
    return page.evaluate(() => {
      const out = [];
      for (const b of document.querySelectorAll('#view button, #view select, #view input, dialog button, dialog select, dialog input')) {
        const r = b.getBoundingClientRect();
        if (!r.width || !r.height || b.closest('[hidden]') || getComputedStyle(b).visibility === 'hidden') continue;
        if (b.closest('thead')) continue; // column headers scroll with their table
        if (r.left < 0 || r.right > window.innerWidth + 0.5) out.push(`${b.tagName} "${(b.textContent || b.name || '').trim()}" ${Math.round(r.left)}..${Math.round(r.right)}`);
      }
      return out;
    });
  }

  const rowIds = (page) => page.locator('#keys-list tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)));

  test('keys page: sort by a header, search, find a key by pasting its value, legend', async (t) => {
    const {up, keys} = await seed('s');
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, `#/keys?upstream_id=${up.id}`);
    await expectText(page.locator('#keys-range'), /of 6$/, 'six keys');
    await page.locator('#keys-legend summary').click();
    await expectText(page.locator('#keys-legend'), /banned[\s\S]*Out of rotation until enabled by hand/, 'the legend');
    // Sort by weight, then the other way: as the API sorts.
    for (const order of ['asc', 'desc']) {
      await page.locator('#keys-list th button[data-sort=weight]').click();
      const want = (await api('GET', `/keys?upstream_id=${up.id}&sort=weight&order=${order}`)).items.map((k) => k.id);
      await waitFor(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(want), `rows by weight ${order}`);
      assert(page.url().includes('sort=weight'), 'the sort is in the address');
    }
    await shot(page, 'keys-sorted');
    // Search by name.
    await page.locator('input[name=q]').fill('s-name-4');
    await page.locator('input[name=q]').press('Enter');
    await expectText(page.locator('#keys-range'), /of 1$/, 'one key by name');
    await page.locator('input[name=q]').fill('');
    await page.locator('input[name=q]').press('Enter');
    await expectText(page.locator('#keys-range'), /of 6$/, 'all six again');
    // Find by value: the field is emptied, the value never reaches the address.
    const target = keys[2];
    const find = page.locator('#keys-find input[name=find_value]');
    await find.fill('  ' + target.value + '\n');
    await page.locator('#keys-find button[type=submit]').click();
    await expectText(page.locator('#keys-found'), /^1 key\(s\) with this value\./, 'one key found');
    assert(JSON.stringify(await rowIds(page)) === JSON.stringify([target.id]), 'the found key is listed');
    assert(await find.inputValue() === '', 'the pasted value is cleared');
    assert(!page.url().includes(target.value) && !page.url().includes('abcdefghijklmnop'), 'the value is not in the address');
    await page.getByRole('button', {name: 'Show all keys'}).click();
    await expectText(page.locator('#keys-range'), /of 6$/, 'back to the list');
    const off = await offScreenButtons(page);
    assert(!off.length, 'buttons off screen at 1280x800: ' + off.join('; '));
    await shot(page, 'keys-page-desktop');
  });

  test('keys page: select all matching across pages, batch test, delete all banned', async (t) => {
    const {up, keys} = await seed('b');
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, `#/keys?upstream_id=${up.id}&limit=25`);
    // Two keys ticked: a batch test queues a report-only job.
    await page.locator(`#keys-list tr[data-id="${keys[0].id}"] input.row-check`).check();
    await page.locator(`#keys-list tr[data-id="${keys[1].id}"] input.row-check`).check();
    await page.locator('#keys-batch button[data-action=test]').click();
    await page.locator('dialog').getByRole('button', {name: 'Test', exact: true}).click();
    const job = await waitFor(async () => (await api('GET', `/jobs?upstream_id=${up.id}`)).items[0], 'the test job');
    assert(job.total === 2 && job.on_invalid === 'none', 'a report-only job of the two keys');
    await expectText(page.locator(`#jobs-list tr[data-job="${job.id}"]`), /0 \/ 2/, 'the job in the panel');
    // Pages of 2 (the hash): tick the page, then all 6 matching.
    await go(page, `#/keys?upstream_id=${up.id}&limit=2`);
    await expectText(page.locator('#keys-range'), /^1–2 of 6$/, 'a page of 2');
    await page.locator('#keys-select-all').check();
    await expectText(page.locator('#keys-select-matching'), /^Select all 6 matching$/, 'the offer to select all');
    await page.locator('#keys-select-matching').click();
    await expectText(page.locator('#keys-selected'), /^All 6 matching keys selected$/, 'all selected');
    await page.locator('#keys-batch button[data-action=ban]').click();
    await expectText(page.locator('dialog'), /Ban 6 key\(s\)\?/, 'the confirmation names the count');
    await page.locator('dialog').getByRole('button', {name: 'Ban', exact: true}).click();
    await waitFor(async () => (await api('GET', `/keys?upstream_id=${up.id}&status=banned`)).total === 6, 'all six banned');
    await expectText(page.locator(`#keys-list tr[data-id="${keys[0].id}"] .badge`).first(), /banned/, 'the list redrawn');
    // Enable two, then delete all banned: the confirmation says 4.
    await api('POST', '/keys/batch', {ids: [keys[0].id, keys[1].id], action: 'enable'});
    await page.locator('#keys-delete-banned').click();
    await expectText(page.locator('dialog'), /Delete all 4 banned key\(s\) of upstream kp-b/, 'the count and the upstream');
    await shot(page, 'keys-delete-banned');
    await page.getByRole('button', {name: 'Delete 4 keys'}).click();
    await waitFor(async () => (await api('GET', `/keys?upstream_id=${up.id}`)).total === 2, 'two keys left');
    await expectText(page.locator('#keys-range'), /of 2$/, 'the list shows two');
  });

  test('keys page: phone 390x844 stacks rows and keeps every button on screen', async (t) => {
    const {up, keys} = await seed('p');
    const page = await newPage(t, PHONE);
    await loginWithToken(page);
    await go(page, `#/keys?upstream_id=${up.id}`);
    await expectText(page.locator('#keys-range'), /of 6$/, 'six keys');
    await page.locator(`#keys-list tr[data-id="${keys[0].id}"] input.row-check`).check();
    await expectText(page.locator('#keys-selected'), /^1 selected/, 'one selected');
    const stacked = await page.locator('#keys-list tbody tr').first().evaluate((tr) => getComputedStyle(tr).display);
    assert(stacked !== 'table-row', 'rows stack on a phone (display ' + stacked + ')');
    const label = await page.locator('#keys-list tbody tr td[data-label="Status"]').first()
      .evaluate((td) => getComputedStyle(td, '::before').content);
    assert(label.includes('Status'), 'each cell names its column: ' + label);
    const off = await offScreenButtons(page);
    assert(!off.length, 'buttons off screen at 390x844: ' + off.join('; '));
    await shot(page, 'keys-page-phone');
  });

  test('keys page: in Chinese (zh-CN), with every string translated', async (t) => {
    const {up} = await seed('z');
    const page = await newPage(t);
    await page.context().addInitScript(() => localStorage.setItem('apigw.lang', 'zh-CN'));
    await loginWithToken(page);
    const before = await page.evaluate(() => window.__apigwI18nMissing());
    await go(page, `#/keys?upstream_id=${up.id}`);
    await expectText(page.locator('#view h1'), /^密钥$/, 'the title');
    await expectText(page.locator('#keys-range'), /^第 1–6 条，共 6 条$/, 'the pager');
    await expectText(page.locator('#keys-list tbody tr').first().locator('.badge').first(), /^正常$/, 'the status');
    await page.locator('#keys-legend summary').click();
    await expectText(page.locator('#keys-legend'), /状态说明[\s\S]*封禁/, 'the legend');
    await page.locator('#keys-list tbody tr').first().locator('input.row-check').check();
    await expectText(page.locator('#keys-selected'), /^已选择 1 个$/, 'the selection');
    await page.locator('#keys-import').click();
    await expectText(page.locator('dialog h2').last(), /^导入密钥$/, 'the import dialog');
    await page.locator('#import-form textarea[name=text]').fill('abc\nsk-zh-000000001');
    await expectText(page.locator('#import-preview-counts'), /将导入 1 个密钥/, 'the preview');
    await page.keyboard.press('Escape');
    await page.locator('#keys-validate').click();
    await expectText(page.locator('dialog h2').last(), /^验证密钥$/, 'the validate dialog');
    await page.keyboard.press('Escape');
    await shot(page, 'keys-zh');
    const phone = await newPage(t, PHONE);
    await phone.context().addInitScript(() => localStorage.setItem('apigw.lang', 'zh-CN'));
    await loginWithToken(phone);
    await go(phone, `#/keys?upstream_id=${up.id}`);
    await expectText(phone.locator('#keys-range'), /共 6 条/, 'the phone pager');
    const off = await offScreenButtons(phone);
    assert(!off.length, 'buttons off screen at 390x844 in Chinese: ' + off.join('; '));
    await shot(phone, 'phone-keys-zh');
    const after = await page.evaluate(() => window.__apigwI18nMissing());
    const added = after.filter((s) => !before.includes(s));
    assert(!added.length, 'untranslated strings on the keys page: ' + added.join(' | '));
  });
}
