// Browser steps of "trace a failure" (issue 22): a request retried over two
// keys is found by its request id on the logs page, its detail shows the
// query string without the client token, the attempts as a timeline with
// each failed answer's excerpt, and the key and token as links; a key's
// history links a request id to the detail; the detail in Chinese, and on
// a phone.  Loaded by run.mjs, which passes its helpers.
import {apiCall, PHONE, proxied} from './harness.mjs';

export function register(h) {
  const {test, api, assert, waitFor, expectText, newPage, loginWithToken, go, shot, sleep, env} = h;
  let made = null;

  // An upstream with two named keys whose mock answers 500 on /status/500
  // (retried on the other key by the default rule), and one such request.
  async function retried() {
    if (made) return made;
    const up = await api('POST', '/upstreams', {name: 'trace-up', base_url: env().mock_url + '/v1',
      max_retries: 1, retry_backoff_ms: 10});
    const k1 = await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-trace-0000000000000001', name: 'trace-one'});
    const k2 = await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-trace-0000000000000002', name: 'trace-two'});
    const tok = await api('POST', '/tokens', {name: 'trace-client'});
    await sleep(700); // the pool snapshot catches up
    const res = await proxied(`/proxy/trace-up/status/500?key=${tok.token}&foo=bar`, null);
    assert(res.status === 500 && res.headers.get('x-gateway-attempts') === '2', `two attempts, got ${res.status}`);
    const rid = res.headers.get('x-gateway-request-id');
    await waitFor(async () => (await apiCall('GET', `/api/admin/logs/${rid}`)).status === 200, 'the log row written');
    made = {up, k1, k2, tok, rid};
    return made;
  }

  async function checkDetail(page, m) {
    const tl = page.locator('#log-detail-timeline');
    await tl.waitFor();
    assert(await tl.locator('.timeline-item').count() === 2, 'two attempts in the timeline');
    assert(await tl.locator('.timeline-failed').count() === 2, 'both failed');
    await expectText(tl, /the mock answered 500/, 'the excerpt of a failed answer');
    await expectText(page.locator('#log-detail-query'), /^\?foo=bar$/, 'the query without the client token');
    const keyHrefs = await page.locator('#log-detail a.key-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert(keyHrefs.length >= 3 && keyHrefs.every((x) => x.startsWith('#/keys?')), 'keys linked: ' + keyHrefs);
    const names = await tl.locator('a.key-link').allTextContents();
    assert(names.some((x) => x.includes('trace-one')) && names.some((x) => x.includes('trace-two')), 'both keys by name: ' + names);
    await expectText(page.locator('#log-detail a.token-link'), /trace-client/, 'the token by name');
    const text = await page.locator('#log-detail').textContent();
    assert(!text.includes(m.tok.token) && !text.includes('sk-trace-0000000000000001'), 'no token or key value');
  }

  test('logs: a request found by its id shows its attempts as a timeline, with links', async (t) => {
    const m = await retried();
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/logs');
    await page.locator('#logs-request-id').fill(m.rid);
    await page.getByRole('button', {name: 'Find request'}).click();
    await checkDetail(page, m);
    assert((await page.evaluate(() => location.hash)).includes(`request_id=${m.rid}`), 'the id in the address');
    await shot(page, 'desktop-log-detail');
    await page.locator('#log-detail-timeline a.key-link').first().click();
    await page.locator('#view[data-page=keys]').waitFor({state: 'attached'});
    // An unknown id says so.
    await page.evaluate(() => { for (const d of document.querySelectorAll('dialog')) d.close(); });
    await go(page, '#/logs');
    await page.locator('#logs-request-id').fill('0123456789abcdef01234567');
    await page.getByRole('button', {name: 'Find request'}).click();
    await expectText(page.locator('#log-detail-error'), /No logged request has this id/, 'the unknown id');
  }, {allowStatus: [404]});

  test('logs: a request id in a key\'s history links to the log detail', async (t) => {
    // A 401 bans the key (the default rule; the upstream-wide guard lets
    // its one key go): its history names the request.
    const up = await api('POST', '/upstreams', {name: 'trace-ban', base_url: env().mock_url + '/v1', max_retries: 0,
      auto_disable_max_pct: 100});
    const k = await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-trace-ban-000000000001'});
    const tok = await api('POST', '/tokens', {name: 'trace-ban-client'});
    await sleep(700);
    const res = await proxied('/proxy/trace-ban/status/401', tok.token);
    const rid = res.headers.get('x-gateway-request-id');
    assert(res.status === 401, `the mock's 401 passed on (got ${res.status})`);
    let seen = null;
    await waitFor(async () => {
      seen = (await api('GET', `/keys/${k.id}/events?limit=5`)).items;
      return seen.some((e) => e.request_id === rid);
    }, 'the ban recorded with its request id').catch((e) => { throw new Error(`${e.message}: ${rid} ${JSON.stringify(seen)}`); });
    await waitFor(async () => (await apiCall('GET', `/api/admin/logs/${rid}`)).status === 200, 'the log row written');
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, `#/keys?upstream_id=${up.id}`);
    await page.locator('#keys-list button[data-act=history]').first().click();
    await page.locator(`#key-history a.request-link[href="#/logs?request_id=${rid}"]`).click();
    await page.locator('#view[data-page=logs]').waitFor({state: 'attached'});
    await expectText(page.locator('#log-detail-request-id'), new RegExp(rid), 'the detail of the request');
    await expectText(page.locator('#log-detail-timeline'), /401/, 'its failed attempt');
  });

  test('logs: the log detail in Chinese, and on a phone', async (t) => {
    const m = await retried();
    const page = await newPage(t, PHONE);
    await page.context().addInitScript(() => localStorage.setItem('apigw.lang', 'zh-CN'));
    await loginWithToken(page);
    await go(page, `#/logs?request_id=${m.rid}`);
    await checkDetail(page, m);
    await expectText(page.locator('#log-detail-timeline'), /第 1 次尝试[\s\S]*第 2 次尝试/, 'the attempts in Chinese');
    await expectText(page.locator('#logs-find'), /查找请求/, 'the search in Chinese');
    const missing = await page.evaluate(() => window.__apigwI18nMissing());
    assert(missing.length === 0, 'strings without Chinese: ' + JSON.stringify(missing));
    const box = await page.locator('#log-detail-timeline').boundingBox();
    assert(box && box.x >= 0 && box.x + box.width <= PHONE.width, 'the timeline fits the phone: ' + JSON.stringify(box));
    await shot(page, 'phone-log-detail-zh');
  });
}
