// Browser steps: keys (import, batch actions, history, rests), client
// tokens and limit windows.

import {WAIT_MS, assert, waitFor, expectText, expectHidden, env, api, browser, state, newPage, shot,
  loginWithToken, go, row, tests, test, ensureUpstream, ensureKeys} from './harness.mjs';

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
  await expectText(form.locator('.field[data-field=limits] .field-error'), /^\[0\]\.window: /, 'the limits error at its field');
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
