#!/bin/sh
# Fetches Duktape (the JavaScript engine of upstream scripts) from Debian's
# source package and prepares it for the core library, in
# build/third_party/duktape/ (never committed).
#
# Debian's binary duktape-dev is built without the execution-timeout hook,
# so the gateway compiles the amalgamated duktape.c itself.  Duktape's own
# tools/configure.py needs Python 2, which Debian 12 lacks; instead the
# two lines of the shipped duk_config.h that turn the hook off
# (`#undef DUK_USE_INTERRUPT_COUNTER`, `#undef DUK_USE_EXEC_TIMEOUT_CHECK`)
# are rewritten to turn it on, and the script checks that both were found.
# The regular-expression matcher never runs that hook (a pattern that
# backtracks could run for seconds): one line of duktape.c, its step-limit
# check, also asks the hook every 65,536 steps.  Array methods loop over
# `length` natively, without the hook, even over holes ([].concat(new
# Array(1e9)), Array.prototype.join.call({length: 4e9}, ''), and
# JSON.stringify of such an array): three more edits make them refuse a length above 4,194,304 (a dense array that long
# needs 32 MiB, twice the default memory limit) with a RangeError.
# JSON.stringify's fast path (off in the shipped header) is turned on: it
# serialises plain values without the general path's per-value property
# lookups, and leaves anything else (getters, toJSON, sparse arrays) to it;
# one more edit also leaves it an array whose length passes its dense part,
# which the general path's length check above then refuses.
#
# Idempotent and offline once fetched: when the prepared copy exists it
# does nothing.  Without a deb-src entry in APT's sources it adds one for
# the mirror the machine already uses (as root, or through sudo).
set -eu

cd "$(dirname "$0")/.."
TOP=build/third_party
OUT=$TOP/duktape
# Raised whenever the edits below change, so that an old copy is redone.
EDITS=6
[ -f "$OUT/duktape.c" ] && [ -f "$OUT/duk_config.h" ] && [ -f "$OUT/duktape.h" ] &&
    [ "$(cat "$OUT/edits" 2>/dev/null)" = "$EDITS" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# Adds a deb-src entry for the Debian mirror and release already in use.
add_deb_src()
{
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
              /etc/apt/sources.list.d/*.sources 2>/dev/null |
          grep -E '^(URIs:|deb )' | grep -v security |
          grep -o -E 'https?://[^ ]*/debian/?' | head -n 1)
    [ -n "$uri" ] || uri=http://deb.debian.org/debian
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    echo "duktape: adding a deb-src entry for $uri $codename"
    {
        printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n' "$uri" "$codename"
        [ -f "$keyring" ] && printf 'Signed-By: %s\n' "$keyring"
    } | $SUDO tee /etc/apt/sources.list.d/apigw-deb-src.sources >/dev/null
    $SUDO apt-get update -q
}

mkdir -p "$TOP/src"
if ls -d "$TOP"/src/duktape-*/src >/dev/null 2>&1; then
    : # Fetched before: work offline.
elif ! apt-get source --print-uris duktape >/dev/null 2>&1; then
    add_deb_src
fi
if ! ls -d "$TOP"/src/duktape-*/src >/dev/null 2>&1; then
    # apt-get source needs dpkg-source (dpkg-dev, part of build-essential).
    (cd "$TOP/src" && apt-get source -q duktape)
fi
srcdir=$(ls -d "$TOP"/src/duktape-*/src | head -n 1)

rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
cp "$srcdir/duktape.h" "$OUT.tmp/"
awk '
/^DUK_LOCAL duk_uint32_t duk__push_this_obj_len_u32\(duk_hthread \*thr\) \{$/ { inlen = 1 }
{ print }
inlen && /^\tlen = duk_to_uint32\(thr, -1\);$/ {
    print "\tif (len > 4194304UL) { DUK_ERROR_RANGE(thr, \"array longer than scripts may use\"); } /* apigw */"
    inlen = 0
}
/^\tarr_len = \(duk_uarridx_t\) duk_get_length\(thr, idx_arr\);$/ {
    print "\tif (arr_len > 4194304UL) { DUK_ERROR_RANGE(thr, \"array longer than scripts may use\"); } /* apigw */"
}
/^\t\ttmp_len = duk_get_length\(thr, i\);$/ {
    print "\t\tif (tmp_len > 4194304UL) { goto fail_wrap; } /* apigw */"
}' "$srcdir/duktape.c" |
sed -e 's|^\t\tif (re_ctx->steps_count >= re_ctx->steps_limit) {$|\t\tif (re_ctx->steps_count >= re_ctx->steps_limit \|\| ((re_ctx->steps_count \& 0xffffU) == 0 \&\& DUK_USE_EXEC_TIMEOUT_CHECK(re_ctx->thr->heap->heap_udata))) { /* apigw */|' \
    -e 's|^\t\t\tarr_len = (duk_uint_fast32_t) ((duk_harray \*) obj)->length;$|&\n\t\t\tif (arr_len > (duk_uint_fast32_t) DUK_HOBJECT_GET_ASIZE(obj)) { goto abort_fastpath; } /* apigw */|' \
    >"$OUT.tmp/duktape.c"
sed -e 's|^#undef DUK_USE_INTERRUPT_COUNTER$|#define DUK_USE_INTERRUPT_COUNTER|' \
    -e 's|^#undef DUK_USE_JSON_STRINGIFY_FASTPATH$|#define DUK_USE_JSON_STRINGIFY_FASTPATH|' \
    -e 's|^#undef DUK_USE_EXEC_TIMEOUT_CHECK$|#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) apigw_script_timed_out(udata)\nextern duk_bool_t apigw_script_timed_out(void *udata);|' \
    "$srcdir/duk_config.h" >"$OUT.tmp/duk_config.h"
if ! grep -q '^#define DUK_USE_INTERRUPT_COUNTER$' "$OUT.tmp/duk_config.h" ||
   ! grep -q '^#define DUK_USE_EXEC_TIMEOUT_CHECK(udata)' "$OUT.tmp/duk_config.h"; then
    echo "duktape: duk_config.h of $srcdir lacks the expected #undef lines" >&2
    exit 1
fi
if [ "$(grep -c '/\* apigw \*/$' "$OUT.tmp/duktape.c")" != 5 ]; then
    echo "duktape: duktape.c of $srcdir lacks a line that the edits expect" >&2
    exit 1
fi
echo "$EDITS" >"$OUT.tmp/edits"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "duktape: $(basename "$(dirname "$srcdir")") ready in $OUT"
