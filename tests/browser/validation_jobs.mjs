// Browser steps of validation jobs (issue 21): the keys page's "Validate"
// dialog queues a job that the jobs panel shows and cancels, and the
// upstream form warns that a probe with a body may cost money.  The job is
// not run here (apigw-jobs does that; tests/integration covers it).
// Loaded by run.mjs, which passes its helpers.

export function register(h) {
  const {test, api, assert, waitFor, expectText, newPage, loginWithToken, go, shot, env} = h;

  test('keys: Validate queues a job that the jobs panel shows and cancels', async (t) => {
    const up = await api('POST', '/upstreams', {name: 'vj-up', base_url: env().mock_url + '/v1',
      probe_method: 'GET', probe_path: '/models'});
    await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-validate-000000000001'});
    await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-validate-000000000002'});
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, `#/keys?upstream_id=${up.id}`);
    await page.locator('#keys-validate').click();
    const form = page.locator('#validate-form');
    await form.locator('select[name=on_invalid]').selectOption('ban');
    await form.locator('input[name=concurrency]').fill('8');
    await shot(page, 'keys-validate');
    await page.getByRole('button', {name: 'Start validation'}).click();
    const jobs = await waitFor(async () => {
      const items = (await api('GET', `/jobs?upstream_id=${up.id}`)).items;
      return items.length ? items : null;
    }, 'the job queued');
    assert(jobs.length === 1 && jobs[0].total === 2 && jobs[0].on_invalid === 'ban' &&
      jobs[0].concurrency === 8, 'one job of both keys, as asked');
    const tr = page.locator(`#jobs-list tr[data-job="${jobs[0].id}"]`);
    await expectText(tr, /queued[\s\S]*0 \/ 2[\s\S]*0 valid, 0 invalid, 0 inconclusive[\s\S]*ban/, 'the queued job in the panel');
    await shot(page, 'keys-jobs');
    await tr.getByRole('button', {name: 'Cancel'}).click();
    await page.getByRole('button', {name: 'Cancel job'}).click();
    await expectText(tr, /cancelled/, 'the job cancelled');
    await waitFor(async () => (await api('GET', `/jobs/${jobs[0].id}`)).state === 'cancelled', 'the job cancelled in the API');
  });

  test('upstreams: a probe body shows that probes may cost money', async (t) => {
    const up = await api('POST', '/upstreams', {name: 'vj-body', base_url: env().mock_url + '/v1'});
    const page = await newPage(t);
    await loginWithToken(page);
    await go(page, '#/upstreams');
    await page.locator('#upstreams-list tbody tr').filter({hasText: 'vj-body'}).getByRole('button', {name: 'Edit'}).click();
    const warn = page.locator('#probe-body-warning');
    assert(await warn.isHidden(), 'no warning without a body');
    await page.locator('#upstream-form select[name=probe_method]').selectOption('POST');
    await page.locator('#upstream-form input[name=probe_path]').fill('/chat/completions');
    await page.locator('#upstream-form textarea[name=probe_body]').fill('{"model":"m","max_tokens":1}');
    await expectText(warn, /may cost money/, 'the warning');
    await page.locator('#upstream-form input[name=recheck_banned_s]').fill('3600');
    await page.getByRole('button', {name: 'Save'}).click();
    await waitFor(async () => {
      const u = await api('GET', `/upstreams/${up.id}`);
      return u.probe_body === '{"model":"m","max_tokens":1}' && u.recheck_banned_s === 3600;
    }, 'the probe body and re-check saved');
  });
}
