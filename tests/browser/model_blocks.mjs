// Browser steps of model-scoped key state (issue 20): a key rested for one
// model shows a badge in the key list and the rests in its detail, and the
// detail's button ends them.  Loaded by run.mjs, which passes its helpers.

export function register(h) {
  const {test, api, assert, waitFor, expectText, newPage, loginWithToken, go, shot, sleep, env} = h;

  test('keys: a key rested for one model shows the rest, and enabling ends it', async (t) => {
    const up = await api('POST', '/upstreams', {name: 'mb-up', base_url: env().mock_url + '/v1',
      auto_disable_max_pct: 100, max_retries: 0});
    const key = await api('POST', '/keys', {upstream_id: up.id, key_value: 'sk-model-block-000000000001'});
    // Before the default rate-limited rule, which would rest the whole key.
    const rule = await api('POST', '/rules', {name: 'mb-429', upstream_id: up.id, priority: 1, stop: true,
      condition: {type: 'status', op: 'eq', value: 429},
      actions: [{type: 'disable_key', scope: 'model', duration_s: 600}]});
    const tok = (await api('POST', '/tokens', {name: 'mb-token'})).token;
    try {
      // The mock answers 429 for /status/429: the rule rests the key for gpt-mb.
      await waitFor(async () => {
        await fetch(env().base_url + '/proxy/mb-up/status/429', {method: 'POST',
          headers: {Authorization: 'Bearer ' + tok, 'Content-Type': 'application/json'},
          body: JSON.stringify({model: 'gpt-mb', messages: []})});
        const k = await api('GET', `/keys/${key.id}`);
        if (!k.model_blocks.length) await sleep(300);
        return k.model_blocks.length === 1 && k.status === 'active';
      }, 'the key rested for gpt-mb');
      const page = await newPage(t);
      await loginWithToken(page);
      await go(page, `#/keys?upstream_id=${up.id}`);
      const tr = page.locator(`#keys-list tr[data-id="${key.id}"]`);
      await expectText(tr.locator('[data-role=model-blocks]'), /rests for 1 model/, 'the badge of the rest');
      await tr.locator('button[data-act=history]').click();
      await expectText(page.locator('#key-model-blocks'), /gpt-mb[\s\S]*disabled[\s\S]*mb-429/, 'the rest in the key detail');
      await expectText(page.locator('#key-history tbody tr').first(), /active\s*→\s*disabled[\s\S]*for model gpt-mb only/, 'the history row names the model');
      await shot(page, 'key-model-blocks');
      await page.locator('#key-model-blocks button[data-act=end-model-blocks]').click();
      await waitFor(async () => (await api('GET', `/keys/${key.id}`)).model_blocks.length === 0, 'the rests ended');
      assert((await api('GET', `/keys/${key.id}`)).status === 'active', 'the key stays active');
    } finally {
      await api('DELETE', `/rules/${rule.id}`);
    }
  });
}
