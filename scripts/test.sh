#!/bin/sh
# Runs every test suite and prints `N passed, N failed` as the last line.
# A suite that dies without reporting counts as one failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
PYTHON=${PYTHON:-python3}
total_pass=0
total_fail=0
logdir=$BUILD/test-logs
mkdir -p "$logdir"

run_suite() {
    name=$1
    shift
    echo "== $name"
    "$@" 2>&1 | tee "$logdir/$name.log"
    line=$(grep '^RESULT ' "$logdir/$name.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: no result line (the suite crashed)"
        total_fail=$((total_fail + 1))
        return
    fi
    p=$(echo "$line" | sed -n 's/.*passed=\([0-9]*\).*/\1/p')
    f=$(echo "$line" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}

if [ -n "${APIGW_SANITIZED:-}" ]; then
    # Third-party libraries keep some allocations until exit; ours must not.
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=66"
    export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi

# The tree's shape on the objects just built: no two files call each other.
layout_suite() {
    if python3 scripts/layout_check.py --objects "$BUILD/obj"; then
        echo "RESULT layout passed=1 failed=0"
    else
        echo "RESULT layout passed=0 failed=1"
    fi
}

run_suite unit "$BUILD/bin/unit-tests"
run_suite layout layout_suite
run_suite integration "$PYTHON" tests/integration/run.py
if [ -f tests/browser/run.mjs ]; then
    run_suite browser sh tests/browser/run.sh
fi

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
