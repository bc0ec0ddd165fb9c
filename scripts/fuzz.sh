#!/bin/sh
# Builds every libFuzzer harness in tests/fuzz/ with clang and runs each for
# FUZZ_SECONDS (default 60).  Exits non-zero on the first finding; crash
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
FLAGS="-g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -Ifcgi-app \
 $(pkg-config --cflags json-c libpcre2-8 libcrypto) $(mariadb_config --cflags)"
LIBS="$(pkg-config --libs json-c libpcre2-8 libcrypto libcurl) $(mariadb_config --libs) -lcrypt -lpthread -lm"
core=$(ls fcgi-app/core/*.c fcgi-app/core/rule/*.c)
for h in tests/fuzz/fuzz_*.c; do
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
