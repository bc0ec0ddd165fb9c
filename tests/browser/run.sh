#!/bin/sh
# Runs the browser tests of the admin page.  Installs playwright-core from
# the committed lockfile when it is missing (npm ci: no browser is
# downloaded; the tests use Debian's /usr/bin/chromium).  The last line is
# `RESULT browser passed=N failed=M`.
cd "$(dirname "$0")" || exit 1
fail() {
    echo "$1"
    echo "RESULT browser passed=0 failed=1"
    exit 1
}
command -v node >/dev/null 2>&1 || fail "browser tests: node is missing (make deps installs it)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "browser tests: ${CHROMIUM:-/usr/bin/chromium} is missing (make deps installs chromium)"
want=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' package.json)
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' node_modules/playwright-core/package.json 2>/dev/null | head -n 1)
if [ -z "$have" ] || [ "$have" != "$want" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1 ||
        { cat npm-ci.log; rm -f npm-ci.log; fail "browser tests: npm ci failed"; }
    rm -f npm-ci.log
fi
exec node run.mjs "$@"
