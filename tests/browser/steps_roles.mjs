// Browser steps: users and roles, logout, the phone size and the tour of
// every page for the docs.

import {DESKTOP, PHONE, assert, sleep, waitFor, expectText, expectHidden, env, apiCall, api, newPage, shot,
  loginWithToken, loginWithPassword, go, row, test, ensureKeys} from './harness.mjs';

test('log in with a user\'s password; an operator sees no admin pages', async (t) => {
  const users = await api('GET', '/users');
  if (!users.items.find((u) => u.username === 'olivia')) {
    await api('POST', '/users', {username: 'olivia', password: 'operator-pass-1', role: 'operator'});
  }
  const page = await newPage(t);
  await page.goto(env.base_url + '/');
  await page.locator('#login-form input[name=username]').fill('olivia');
  await page.locator('#login-form input[name=password]').fill('wrong-password');
  await page.locator('#login-form button[type=submit]').click();
  await expectText(page.locator('#login-form .field[data-field=_form] .field-error'), /wrong username or password/, 'the wrong password message');
  await loginWithPassword(page, 'olivia', 'operator-pass-1');
  await expectText(page.locator('#who'), /olivia\s*operator/, 'who is logged in');
  const token = await page.evaluate(() => sessionStorage.getItem('apigw.token'));
  assert(/^ses_[0-9a-f]{48}$/.test(token), 'a session token is kept in sessionStorage');
  await expectHidden(page.locator('#nav a[data-page=tokens]'), 'Client tokens for an operator');
  await expectHidden(page.locator('#nav a[data-page=users]'), 'Users for an operator');
  await go(page, '#/keys');
  await page.locator('#keys-list tbody tr').first().waitFor();
  assert(await page.locator('#keys-import').isVisible(), 'an operator may import keys');
  assert(await page.locator('#keys-list input.row-check').count() > 0, 'an operator may select keys');
  await go(page, '#/upstreams');
  await page.locator('#upstreams-list tbody tr').first().waitFor();
  assert(await page.locator('#upstream-new').count() === 0, 'an operator may not create upstreams');
  await go(page, '#/rules');
  await page.locator('#rules-list tbody tr').first().waitFor();
  assert(await page.locator('#rule-new').isVisible(), 'an operator may write rules');
}, {allowStatus: [401]});

test('a viewer sees no write buttons nor admin pages, and a 403 is shown plainly', async (t) => {
  const users = await api('GET', '/users');
  if (!users.items.find((u) => u.username === 'vera')) {
    await api('POST', '/users', {username: 'vera', password: 'viewer-pass-1', role: 'viewer'});
  }
  await ensureKeys();
  const page = await newPage(t);
  await loginWithPassword(page, 'vera', 'viewer-pass-1');
  await expectText(page.locator('#who'), /vera\s*viewer/, 'who is logged in');
  await expectHidden(page.locator('#nav a[data-page=tokens]'), 'Client tokens for a viewer');
  await expectHidden(page.locator('#nav a[data-page=users]'), 'Users for a viewer');
  await go(page, '#/upstreams');
  await page.locator('#upstreams-list tbody tr').first().waitFor();
  assert(await page.locator('#upstream-new').count() === 0, 'no New upstream button');
  assert(await page.locator('#upstreams-list button', {hasText: /^(Edit|Delete)$/}).count() === 0, 'no Edit or Delete');
  await page.locator('#upstreams-list button', {hasText: 'View'}).first().click();
  assert(await page.locator('#upstream-form input[name=name]').isDisabled(), 'the upstream form is read-only');
  assert(await page.getByRole('button', {name: /Save|Create upstream/}).count() === 0, 'no Save button');
  await page.keyboard.press('Escape');
  await go(page, '#/keys');
  await page.locator('#keys-list tbody tr').first().waitFor();
  assert(await page.locator('#keys-import').count() === 0, 'no Import button');
  assert(await page.locator('#keys-list input[type=checkbox]').count() === 0, 'no selection checkboxes');
  assert(await page.locator('#keys-batch').count() === 0, 'no batch actions');
  assert(await page.locator('#keys-list button[data-act=test]').count() === 0, 'no Test button');
  assert(await page.locator('#keys-list button[data-act=history]').count() > 0, 'History is there');
  await go(page, '#/rules');
  await page.locator('#rules-list tbody tr').first().waitFor();
  assert(await page.locator('#rule-new').count() === 0, 'no New rule button');
  assert(await page.locator('#rules-list button', {hasText: /^(Edit|Delete|Disable|Enable)$/}).count() === 0, 'no rule write buttons');
  await page.locator('#rules-list button', {hasText: 'View'}).first().click();
  assert(await page.locator('#rule-json').evaluate((e) => e.readOnly), 'the rule editor is read-only');
  assert(await page.locator('#rule-save').count() === 0 && await page.locator('#dryrun').count() === 0, 'no save, no dry run');
  await shot(page, 'viewer-rules');
  // #/users by hand: the API's 403, shown plainly.
  await go(page, '#/users');
  await expectText(page.locator('#banner'), /Not allowed: this needs the admin role; you are viewer/, 'the 403 banner');
  await expectText(page.locator('#users-forbidden'), /needs the admin role/, 'the 403 on the page');
  await shot(page, 'viewer-forbidden');
  // A write forced from the console through the page's own API module.
  await go(page, '#/dashboard');
  await expectHidden(page.locator('#banner'), 'the banner after navigating');
  const status = await page.evaluate(async () => {
    const api = await import('/js/api.js');
    try {
      await api.post('/upstreams', {name: 'forced', base_url: 'http://127.0.0.1:9/'});
      return 'created';
    } catch (e) {
      return e.status;
    }
  });
  assert(status === 403, `the forced write got 403 (got ${status})`);
  await expectText(page.locator('#banner'), /Not allowed: this needs the admin role; you are viewer/, 'the forced 403 banner');
  const ups = await api('GET', '/upstreams');
  assert(!ups.items.some((u) => u.name === 'forced'), 'nothing was created');
}, {allowStatus: [403]});

test('logout ends the session on the server', async (t) => {
  const page = await newPage(t);
  if (!(await api('GET', '/users')).items.find((u) => u.username === 'olivia')) {
    await api('POST', '/users', {username: 'olivia', password: 'operator-pass-1', role: 'operator'});
  }
  await loginWithPassword(page, 'olivia', 'operator-pass-1');
  const token = await page.evaluate(() => sessionStorage.getItem('apigw.token'));
  assert((await apiCall('GET', '/api/admin/me', undefined, token)).status === 200, 'the session works before');
  await page.locator('#logout').click();
  await page.locator('#login-form').waitFor();
  assert(await page.evaluate(() => sessionStorage.getItem('apigw.token')) === null, 'the token is forgotten');
  const after = await apiCall('GET', '/api/admin/me', undefined, token);
  assert(after.status === 401, `the old token gets 401 (got ${after.status})`);
  await page.evaluate(() => { location.hash = '#/keys'; });
  await page.locator('#view[data-page=login] #login-form').waitFor();
  assert(await page.locator('#nav').isHidden(), 'no navigation when logged out');
  // A session that ends elsewhere sends the page back to the login.
  await loginWithPassword(page, 'olivia', 'operator-pass-1');
  const t2 = await page.evaluate(() => sessionStorage.getItem('apigw.token'));
  await apiCall('POST', '/api/admin/logout', undefined, t2);
  await page.evaluate(() => { location.hash = '#/keys'; });
  await page.locator('#view[data-page=login] #login-form').waitFor();
  await expectText(page.locator('.notice'), /session has ended/, 'the session-ended notice');
}, {allowStatus: [401]});

test('users: the admin creates a user and changes a role', async (t) => {
  const page = await newPage(t);
  await loginWithToken(page);
  await go(page, '#/users');
  await page.locator('#user-new').click();
  await page.locator('#user-form input[name=username]').fill('max');
  await page.locator('#user-form input[name=password]').fill('short');
  await page.locator('#user-form select[name=role]').selectOption('operator');
  await page.getByRole('button', {name: 'Create user'}).click();
  await expectText(page.locator('#user-form .field[data-field=password] .field-error'), /^length must be 8 to 256/, 'the password rule at its field');
  await page.locator('#user-form input[name=password]').fill('long-enough-pass');
  await page.getByRole('button', {name: 'Create user'}).click();
  await expectText(page.locator('#users-list tr[data-username=max]'), /max[\s\S]*operator/, 'the new user');
  await page.locator('#users-list tr[data-username=max] button', {hasText: 'Edit'}).click();
  await page.locator('#user-form select[name=role]').selectOption('viewer');
  await page.getByRole('button', {name: 'Save'}).click();
  await expectText(page.locator('#users-list tr[data-username=max]'), /viewer/, 'the new role');
  const u = (await api('GET', '/users')).items.find((x) => x.username === 'max');
  assert(u && u.role === 'viewer', 'the API has the new role');
  await shot(page, 'users');
}, {allowStatus: [400]});

test('phone size (390x844): menu, no sideways page scroll, tables scroll', async (t) => {
  await ensureKeys();
  const page = await newPage(t, PHONE);
  await loginWithToken(page);
  await page.getByRole('button', {name: 'Refresh'}).waitFor();
  assert(await page.locator('#menu-button').isVisible(), 'the menu button is shown');
  const navBox = await page.locator('#nav').boundingBox();
  assert(navBox.x + navBox.width <= 1, 'the navigation is off screen until opened');
  const noSideways = async (what) => {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(w <= PHONE.width, `${what}: the page is ${w}px wide`);
  };
  await sleep(300);
  await noSideways('dashboard');
  await shot(page, 'phone-dashboard');
  await page.locator('#menu-button').click();
  await waitFor(async () => (await page.locator('#nav').boundingBox()).x >= 0, 'the menu to open');
  await shot(page, 'phone-menu');
  await page.locator('#nav a[data-page=keys]').click();
  await page.locator('#keys-list tbody tr').first().waitFor();
  await waitFor(async () => {
    const b = await page.locator('#nav').boundingBox();
    return b.x + b.width <= 1;
  }, 'the menu to close');
  await noSideways('keys');
  // Issue 22: the keys table stacks its rows on a phone instead of scrolling.
  const display = await page.locator('#keys-list tbody tr').first().evaluate((tr) => getComputedStyle(tr).display);
  assert(display !== 'table-row', 'the keys rows stack on a phone');
  await shot(page, 'phone-keys');
  for (const r of ['#/logs', '#/rules', '#/upstreams', '#/tokens']) {
    await go(page, r);
    await page.locator('#view .table-wrap, #view .page-head').first().waitFor();
    await sleep(200);
    await noSideways(r);
  }
  await go(page, '#/rules');
  await page.locator('#rule-new').click();
  await page.locator('#dryrun-run').click();
  await page.locator('#dryrun-verdict').waitFor();
  await noSideways('rules with the editor');
  await shot(page, 'phone-rules');
});

test('tour: every page at 1280x800 and 390x844, for the docs', async (t) => {
  await ensureKeys();
  const pages = ['dashboard', 'upstreams', 'keys', 'rules', 'logs', 'tokens', 'users'];
  const titles = {dashboard: 'Dashboard', upstreams: 'Upstreams', keys: 'Keys', rules: 'Rules', logs: 'Logs',
    tokens: 'Client tokens', users: 'Users'};
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const page = await newPage(t, viewport);
    await loginWithToken(page);
    for (const name of pages) {
      await go(page, '#/' + name);
      await expectText(page.locator('#view h1'), new RegExp('^' + titles[name] + '$'), `the ${name} heading`);
      await page.locator('#view .table-wrap tbody tr').first().waitFor();
      if (name === 'dashboard') await page.locator('#chart-traffic canvas').waitFor();
      if (name === 'rules') {
        await page.locator('#rule-new').click();
        await page.locator('#rule-template').selectOption('quota-exhausted');
        await page.locator('#dryrun-run').click();
        await expectText(page.locator('#dryrun-verdict'), /Matched:\s*true/, 'the quota-exhausted sample matches');
        await page.locator(size === 'phone' ? '#dryrun' : '#rule-editor').evaluate((e) => e.scrollIntoView({block: 'start'}));
        await page.evaluate(() => window.scrollBy(0, -70));
      }
      await sleep(250);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(w <= viewport.width, `${size} ${name}: the page is ${w}px wide`);
      await shot(page, `${size}-${name}`);
    }
  }
});

// ---- the runner --------------------------------------------------------------
