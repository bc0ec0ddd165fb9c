"""POST /api/admin/keys/{id}/test: the upstream's probe sent with one key
(the same probe as apigw-recover).  Answers {"key_id", "key_masked", "ok",
"status", "latency_ms", "error"}, never shows the key, and changes nothing:
no counters, no status, no history, no request log, no pool reload."""

import time
import urllib.parse

from admin_helpers import A, assert_error, ok, session_client
from cron_helpers import pool_version, sql_int, table
from mock_upstream import Reply, json_reply
from proxy_helpers import add_key, make_upstream

PROBE = {"probe_method": "GET", "probe_path": "/models"}
FIELDS = {"key_id", "key_masked", "ok", "status", "latency_ms", "error"}


def _state(stack, key_id):
    """Everything a key test must leave as it was."""
    return (table(stack, "api_keys", "id = %d" % key_id),
            sql_int(stack, "SELECT COUNT(*) FROM key_events WHERE key_id = %d" % key_id),
            sql_int(stack, "SELECT COUNT(*) FROM request_logs"),
            sql_int(stack, "SELECT COUNT(*) FROM alerts"),
            pool_version(stack))


def _test(stack, key, client=None):
    """Runs the key test and checks what every answer has in common."""
    before = _state(stack, key["id"])
    r = (client or stack.main.admin).post(A + "/keys/%d/test" % key["id"])
    body = ok(r)
    assert set(body) == FIELDS, body
    assert body["key_id"] == key["id"], body
    assert body["key_masked"] == key["key_masked"], body
    assert isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0, body
    assert key["value"] not in r.text, r          # the key itself is never shown
    time.sleep(0.15)                              # a log row, if one were written, would land
    assert _state(stack, key["id"]) == before, "the key test changed something"
    return body


def test_a_passing_probe(stack):
    up = make_upstream(stack, base_url=stack.mock.url + "/v1", **PROBE)
    k = add_key(stack, up["id"])
    stack.mock.script = lambda req: Reply(200, b'{"data":[]}', {"Content-Type":
                                          "application/json"}, delay=0.3)
    body = _test(stack, k)
    assert (body["ok"], body["status"], body["error"]) == (True, 200, None), body
    assert 300 <= body["latency_ms"] < 2000, body
    seen = [(q.method, q.path, q.header("Authorization")) for q in stack.mock.requests]
    assert seen == [("GET", "/v1/models", "Bearer " + k["value"])], seen
    # An operator may test keys too.
    stack.mock.reset()
    op = session_client(stack, "operator")
    body = _test(stack, k, client=op)
    assert (body["ok"], body["status"], body["error"]) == (True, 200, None), body
    assert len(stack.mock.requests) == 1


def test_any_2xx_passes_also_for_a_head_probe(stack):
    up = make_upstream(stack, base_url=stack.mock.url, probe_method="HEAD", probe_path="/ping")
    k = add_key(stack, up["id"])
    for status in (200, 204):
        stack.mock.reset(lambda req, status=status: Reply(status, b""))
        body = _test(stack, k)
        assert (body["ok"], body["status"], body["error"]) == (True, status, None), body
        assert [(q.method, q.path) for q in stack.mock.requests] == [("HEAD", "/ping")]


def test_a_failing_probe_says_what_came_back(stack):
    up = make_upstream(stack, base_url=stack.mock.url, probe_method="POST",
                       probe_path="/v1/check", auth_header="x-api-key", auth_template="{key}")
    k = add_key(stack, up["id"])
    for status in (401, 429, 500):
        stack.mock.reset(lambda req, status=status: Reply(
            status, ('{"error":"bad key %s"}' % req.header("x-api-key")).encode(),
            {"Content-Type": "application/json"}))
        body = _test(stack, k)
        assert (body["ok"], body["status"], body["error"]) == (
            False, status, "the upstream answered %d" % status), body
        seen = [(q.method, q.path, q.header("x-api-key")) for q in stack.mock.requests]
        assert seen == [("POST", "/v1/check", k["value"])], seen
    # A redirect is an answer, not followed, and not a pass.
    stack.mock.reset(lambda req: Reply(302, b"", {"Location": stack.mock.url + "/elsewhere"}))
    body = _test(stack, k)
    assert (body["ok"], body["status"], body["error"]) == (
        False, 302, "the upstream answered 302"), body
    assert len(stack.mock.requests) == 1


def test_transport_errors_and_timeouts(stack):
    # Nothing listens on port 1: a connection error, no status.
    for fields in ({}, {"auth_query_param": "key"}):
        up = make_upstream(stack, base_url="http://127.0.0.1:1/v1", **dict(PROBE, **fields))
        k = add_key(stack, up["id"])
        body = _test(stack, k)
        assert (body["ok"], body["status"]) == (False, 0), body
        assert isinstance(body["error"], str) and body["error"], body
        assert k["value"] not in body["error"], body
    # An upstream slower than timeout_ms.
    up = make_upstream(stack, base_url=stack.mock.url, timeout_ms=500, **PROBE)
    k = add_key(stack, up["id"])
    stack.mock.script = lambda req: Reply(close=True, delay=2.0)
    body = _test(stack, k)
    assert (body["ok"], body["status"]) == (False, 0), body
    assert "timed out" in body["error"].lower(), body
    assert 450 <= body["latency_ms"] < 1900, body


def test_a_query_parameter_key(stack):
    up = make_upstream(stack, base_url=stack.mock.url + "/v1beta", auth_query_param="key",
                       probe_method="GET", probe_path="/models?pageSize=1")
    k = add_key(stack, up["id"], value="AIzaSy-query-%d-abcdefghij" % int(time.time() * 1000))
    stack.mock.script = lambda req: json_reply({"models": []})
    body = _test(stack, k)
    assert (body["ok"], body["status"], body["error"]) == (True, 200, None), body
    seen = [(q.path, q.header("Authorization")) for q in stack.mock.requests]
    assert seen == [("/v1beta/models?pageSize=1&key=" + k["value"], None)], seen
    # A key with characters that mean something in a URL arrives intact.
    odd = add_key(stack, up["id"], value="sk+a/b=c&d%%e?f#g;%d" % int(time.time() * 1000))
    stack.mock.reset(lambda req: json_reply({"models": []}))
    body = _test(stack, odd)
    assert (body["ok"], body["status"]) == (True, 200), body
    path = stack.mock.requests[0].path
    parts = urllib.parse.urlsplit(path)
    assert parts.path == "/v1beta/models", path
    assert urllib.parse.parse_qs(parts.query) == {"pageSize": ["1"], "key": [odd["value"]]}, path


def test_disabled_and_banned_keys_are_tested_without_changing_them(stack):
    up = make_upstream(stack, base_url=stack.mock.url, **PROBE)
    ks = [add_key(stack, up["id"]) for _ in range(3)]
    stack.sql("UPDATE api_keys SET status = 'disabled', probe_failures = 3, disabled_until ="
              " UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE id = %d;"
              " UPDATE api_keys SET status = 'banned' WHERE id = %d;"
              " UPDATE api_keys SET status = 'exhausted', used_today = 100 WHERE id = %d"
              % (ks[0]["id"], ks[1]["id"], ks[2]["id"]))
    for k in ks:
        body = _test(stack, k)
        assert (body["ok"], body["status"]) == (True, 200), body
    assert [sql_int(stack, "SELECT probe_failures FROM api_keys WHERE id = %d" % k["id"])
            for k in ks] == [3, 0, 0]


def test_refusals(stack):
    plain = make_upstream(stack)                          # no probe
    k = add_key(stack, plain["id"])
    half = make_upstream(stack, probe_method="GET")       # half a probe is no probe
    hk = add_key(stack, half["id"])
    probed = make_upstream(stack, base_url=stack.mock.url, **PROBE)
    pk = add_key(stack, probed["id"])
    viewer = session_client(stack, "viewer")
    before = [_state(stack, x["id"]) for x in (k, hk, pk)]
    for key in (k, hk):
        r = stack.main.admin.post(A + "/keys/%d/test" % key["id"])
        assert_error(r, 400, "invalid_field", "probe_path")
        assert key["value"] not in r.text
    assert_error(stack.main.admin.post(A + "/keys/987654321/test"), 404, "not_found")
    assert_error(viewer.post(A + "/keys/%d/test" % pk["id"]), 403, "forbidden")
    assert_error(stack.main.client.post(A + "/keys/%d/test" % pk["id"]), 401, "unauthorized")
    assert stack.mock.requests == []                      # no probe was sent for any of them
    assert [_state(stack, x["id"]) for x in (k, hk, pk)] == before
