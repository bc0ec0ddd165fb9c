#!/bin/sh
# Builds every libFuzzer harness in tests/fuzz/ with clang and runs each for
# FUZZ_SECONDS (default 60), or only FUZZ_ONLY (a harness name such as
# fuzz_script).  Exits non-zero on the first finding; crash
# inputs are left in build/fuzz/.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    apt-get install -y -q clang libclang-rt-dev >/dev/null 2>&1 || \
        apt-get install -y -q clang libclang-rt-14-dev
fi
out=build/fuzz
mkdir -p "$out"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
FLAGS="-g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer $SAN -D_GNU_SOURCE -Ifcgi-app \
 -isystem build/third_party/duktape $(pkg-config --cflags json-c libpcre2-8 libcrypto) $(mariadb_config --cflags)"
LIBS="$(pkg-config --libs json-c libpcre2-8 libcrypto libcurl) $(mariadb_config --libs) -lcrypt -lpthread -lm"
# Duktape (the engine of upstream scripts, in the core library) once, with
# coverage for the harnesses, without our warnings (not our code) and
# without clang's pointer-overflow check (its null + 0 is harmless).
scripts/duktape.sh
duk=$out/duktape.o
if [ ! -f "$duk" ] || [ build/third_party/duktape/duktape.c -nt "$duk" ]; then
    echo "== duktape.o"
    # shellcheck disable=SC2086
    clang -std=c99 -g -O1 -w -fsanitize=fuzzer-no-link $SAN -fno-sanitize=pointer-overflow \
        -Ibuild/third_party/duktape \
        -c build/third_party/duktape/duktape.c -o "$duk"
fi
core="$(ls fcgi-app/core/*.c fcgi-app/core/rule/*.c) $duk"
# FUZZ_ONLY=fuzz_script runs one harness.
for h in tests/fuzz/${FUZZ_ONLY:-fuzz_*}.c; do
    name=$(basename "$h" .c)
    echo "== $name (${SECONDS_EACH}s)"
    extra=$(sed -n 's/.*fuzz-sources: *\(.*\)\*\/.*/\1/p; s/.*fuzz-sources: *\(.*\)$/\1/p' "$h" | head -n 1)
    # shellcheck disable=SC2086
    clang $FLAGS -o "$out/$name" "$h" $core $extra $LIBS
    mkdir -p "$out/$name.corpus"
    seeds="tests/fuzz/seeds/$name"
    [ -d "$seeds" ] || seeds=""
    (cd "$out" && ./"$name" -max_total_time="$SECONDS_EACH" -max_len=4096 \
        -artifact_prefix="$name-" "$name.corpus" ${seeds:+"../../$seeds"})
done
echo "fuzz: no findings"
