#!/bin/sh
# Installs the OpenAPI validator from the committed lockfile (npm ci) when
# it is missing or not the locked version; `make deps` and the integration
# test of the document run it.
cd "$(dirname "$0")" || exit 1
want=$(sed -n 's/.*"@seriousme\/openapi-schema-validator": *"\([^"]*\)".*/\1/p' package.json)
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    node_modules/@seriousme/openapi-schema-validator/package.json 2>/dev/null | head -n 1)
[ -n "$have" ] && [ "$have" = "$want" ] && exit 0
npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1 || { cat npm-ci.log; rm -f npm-ci.log; exit 1; }
rm -f npm-ci.log
