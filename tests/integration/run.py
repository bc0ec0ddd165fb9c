#!/usr/bin/env python3
"""Runs the integration tests: every test_* function of every test_*.py
here, against one stack started for the run.  Arguments filter tests by
substring.  The last line is `RESULT integration passed=N failed=M`."""

import importlib
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

TEST_TIMEOUT_S = 240


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout("the test ran longer than %d s" % TEST_TIMEOUT_S)


def collect(filters):
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        mod = importlib.import_module(fn[:-3])
        for name, obj in vars(mod).items():
            if name.startswith("test_") and callable(obj):
                full = "%s.%s" % (fn[:-3], name)
                if not filters or any(f in full for f in filters):
                    tests.append((fn[:-3], full, obj))
    return tests


def main():
    filters = sys.argv[1:]
    tests = collect(filters)
    passed = failed = 0
    stack = harness.Stack()
    signal.signal(signal.SIGALRM, on_alarm)
    try:
        stack.start()
    except Exception:
        traceback.print_exc()
        print("RESULT integration passed=0 failed=%d" % max(1, len(tests)))
        stack.stop(keep=True)
        return 1
    current_module = None
    failures = []
    for module, full, fn in tests:
        if module != current_module:
            stack.reset_data()
            stack.mock.reset()
            current_module = module
        t0 = time.time()
        signal.alarm(TEST_TIMEOUT_S)
        try:
            fn(stack)
            signal.alarm(0)
            passed += 1
            print("ok    %-60s %6.2fs" % (full, time.time() - t0), flush=True)
        except BaseException as e:  # noqa: B902 - a test may raise anything
            signal.alarm(0)
            if isinstance(e, KeyboardInterrupt):
                raise
            failed += 1
            failures.append(full)
            print("FAIL  %-60s %6.2fs" % (full, time.time() - t0), flush=True)
            traceback.print_exc(limit=6)
            sys.stdout.flush()
        finally:
            stack.mock.reset()
    keep = failed > 0 and os.environ.get("APIGW_KEEP_ON_FAILURE")
    stack.stop(keep=bool(keep))
    if failures:
        print("failed: " + ", ".join(failures))
    print("RESULT integration passed=%d failed=%d" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
