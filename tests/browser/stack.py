#!/usr/bin/env python3
"""Starts the test stack for the browser tests (a private MariaDB, the
application, nginx serving web/, a mock upstream) through the integration
harness, prints one JSON line with what the tests need, then waits: when its
standard input closes (the test runner ended, however it ended) it stops
everything and exits."""

import json
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from mock_upstream import json_reply  # noqa: E402

STATUS_RE = re.compile(r"/status/(\d{3})(?:/|$|\?)")
SLEEP_RE = re.compile(r"/sleep/(\d{1,4})(?:/|$|\?)")


def script(req):
    """The mock upstream's answers: /status/NNN answers NNN, /sleep/MS
    waits MS milliseconds first, a path with /usage/ answers 200 with a
    usage object, anything else answers 200."""
    m = SLEEP_RE.search(req.path)
    if m:
        time.sleep(int(m.group(1)) / 1000.0)
    m = STATUS_RE.search(req.path)
    if m:
        code = int(m.group(1))
        if code >= 400:
            return json_reply({"error": {"code": "mock_%d" % code,
                                         "message": "the mock answered %d" % code}}, status=code)
        return json_reply({"ok": True, "status": code}, status=code)
    if "/usage/" in req.path:
        # An answer that reports its usage (OpenAI format), for the tokens
        # shown in the logs and on the dashboard.
        return json_reply({"model": "gpt-browser", "usage": {
            "prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 3}}})
    return json_reply({"ok": True, "path": req.path, "method": req.method})


def main():
    stack = harness.Stack()
    try:
        stack.start()
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": "the stack did not start: %s" % e}), flush=True)
        stack.stop(keep=True)
        return 1

    def stop(*_):
        stack.stop()
        os._exit(0)

    stack.mock.reset(script)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({
        "port": stack.main.port,
        "base_url": "http://127.0.0.1:%d" % stack.main.port,
        "admin_token": harness.ADMIN_TOKEN,
        "mock_url": stack.mock.url,
        "dir": stack.dir,
        "config": stack.main.config_path,
    }), flush=True)
    try:
        sys.stdin.read()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
