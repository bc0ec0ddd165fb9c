// Browser tests of the admin page (web/): Debian's Chromium, headless,
// driven by playwright-core, against a stack of its own (stack.py: private
// MariaDB, the application, nginx serving web/, a mock upstream).
//
// Every test fails on a console error, an uncaught page error, a
// Content-Security-Policy violation or a request to another origin.  HTTP
// error answers that a test provokes on purpose (a 400 from a validation, a
// 403 for a viewer) are allowed per test, by status.
//
// Screenshots go to build/screenshots/ (1280x800 and 390x844).  With
// UPDATE_DOCS_SCREENSHOTS=1 the main ones are copied to docs/screenshots/.
//
// Arguments filter tests by substring.  The last line is
// `RESULT browser passed=N failed=M`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

import {ROOT, SHOTS, DOC_SHOTS, CHROMIUM, startStack, stopStack, assert, sleep, waitFor, expectText, env, api,
  proxied, browser, newPage, shot, loginWithToken, go, tests, test, runTest, setEnv, setBrowser, PHONE}
  from './harness.mjs';
// The steps, in the order they run (later ones use what earlier ones made).
import './steps_upstreams.mjs';
import './steps_keys.mjs';
import './steps_pages.mjs';
import './steps_roles.mjs';


// Steps kept in files of their own, given the helpers here.
(await import('./model_blocks.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, sleep, env: () => env});
(await import('./validation_jobs.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, env: () => env});
(await import('./i18n_theme.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, sleep, env: () => env});
(await import('./api_docs.mjs')).register({test, assert, waitFor, expectText, newPage, loginWithToken, go,
  shot, PHONE});
(await import('./keys_page.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, env: () => env});
(await import('./log_trace.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, sleep, env: () => env});
(await import('./rules_builder.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, env: () => env, root: ROOT, phone: {width: 390, height: 844}, proxied});
// Last: its first test empties the stack's upstreams and tokens.
(await import('./first_run.mjs')).register({test, api, assert, waitFor, expectText, newPage,
  loginWithToken, go, shot, proxied, env: () => env});

function copyDocShots() {
  const main = {'desktop-dashboard': 'dashboard', 'desktop-keys': 'keys', 'desktop-rules': 'rules-dry-run',
    'desktop-logs': 'logs', 'phone-dashboard': 'phone-dashboard', 'phone-keys': 'phone-keys'};
  fs.mkdirSync(DOC_SHOTS, {recursive: true});
  for (const [from, to] of Object.entries(main)) {
    const src = path.join(SHOTS, from + '.png');
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(DOC_SHOTS, to + '.png'));
  }
  console.log(`screenshots copied to ${path.relative(ROOT, DOC_SHOTS)}/`);
}

async function main() {
  const filters = process.argv.slice(2);
  const selected = tests.filter((tc) => !filters.length || filters.some((f) => tc.name.includes(f)));
  let stack;
  try {
    stack = await startStack();
  } catch (e) {
    console.log('the stack did not start: ' + e.message);
    console.log(`RESULT browser passed=0 failed=${Math.max(1, selected.length)}`);
    return 1;
  }
  setEnv(stack.info);
  const cleanup = () => { try { stack.child.stdin.end(); } catch { /* ignore */ } };
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  process.on('SIGTERM', () => { cleanup(); process.exit(143); });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'apigw-chromium-'));
  let passed = 0;
  let failed = 0;
  try {
    setBrowser(await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-quic', '--disable-sync', '--disable-dev-shm-usage',
        `--disk-cache-dir=${path.join(profile, 'cache')}`],
      env: {...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile},
    }));
    for (const tc of selected) {
      const started = Date.now();
      const err = await runTest(tc);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (err === null) {
        passed++;
        console.log(`PASS ${tc.name} (${secs} s)`);
      } else {
        failed++;
        console.log(`FAIL ${tc.name} (${secs} s)\n    ${err}`);
      }
    }
  } catch (e) {
    console.log('the browser did not start: ' + (e.stack || e));
    failed += Math.max(1, selected.length - passed - failed);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopStack(stack.child);
    fs.rmSync(profile, {recursive: true, force: true});
  }
  if (process.env.UPDATE_DOCS_SCREENSHOTS === '1' && failed === 0) copyDocShots();
  console.log(`screenshots: ${path.relative(ROOT, SHOTS)}/`);
  console.log(`RESULT browser passed=${passed} failed=${failed}`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.log(e.stack || String(e));
  console.log('RESULT browser passed=0 failed=1');
  process.exit(1);
});
