"""Helpers for the test_script_*.py files (issue 17, upstream scripts).

The admin API's `script` field is built by another engineer at the same
time, so these tests set the column directly in SQL and move the pool
version, then wait pool_refresh_ms (200 in the test stack) for the proxy's
snapshot to take the script."""

import re
import time

from proxy_helpers import SETTLE_S


def set_script(stack, upstream_id, source):
    """Stores source (None: no script) as the upstream's script, straight in
    the database, and waits until the proxy's pool has it."""
    value = "NULL" if source is None else \
        "CONVERT(X'%s' USING utf8mb4)" % source.encode().hex()
    stack.sql("UPDATE upstreams SET script = %s WHERE id = %d;"
              " UPDATE pool_version SET version = version + 1" % (value, upstream_id))
    time.sleep(SETTLE_S)


def script_errors(gateway, upstream):
    """apigw_script_errors_total of the upstream in /metrics, by kind."""
    r = gateway.client.get("/metrics")
    assert r.status == 200, r
    out = {}
    for m in re.finditer(r'apigw_script_errors_total\{[^}]*upstream="([^"]*)",kind="([a-z]+)"\} '
                         r'(\d+)', r.text):
        if m.group(1) == upstream:
            out[m.group(2)] = int(m.group(3))
    return out
