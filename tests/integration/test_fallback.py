"""Fallback upstreams (issue 19): when no key of the upstream a request
names is usable, or every attempt failed before any byte went out, the
request goes to the first fallback the client may use, with that upstream's
keys and injection; depth 1; answers say which upstream served and the log
records both names."""

import threading
import time

import harness  # noqa: F401  (puts scripts/ on the path)
import apigw_stack as st  # noqa: E402
from admin_helpers import A, assert_error, ok
from mock_upstream import Reply
from proxy_helpers import (add_key, assert_json_error, make_token, make_upstream,
                           patch_upstream, settle, setup, wait_log_row)
from rules_helpers import create_rule, status_is


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def _disable_all(stack, s):
    for k in s.keys:
        ok(stack.main.admin.patch(A + "/keys/%d" % k["id"], json={"status": "disabled"}))


def _up_with_key(stack, **fields):
    up = make_upstream(stack, **fields)
    return up, add_key(stack, up["id"])


def _pair(stack, primary_fields=None, token_fields=None, nkeys=1):
    """A primary upstream with one key and a fallback with one key (header
    X-Key on the fallback, so the test sees whose key went out)."""
    fb = make_upstream(stack, auth_header="X-Key", auth_template="{key}")
    fb_key = add_key(stack, fb["id"])
    s = setup(stack, nkeys=nkeys, settle=False, token_fields=token_fields,
              fallback_upstreams=[fb["id"]], **(primary_fields or {}))
    assert s.up["fallback_upstreams"] == [fb["id"]]
    return s, fb, fb_key


def test_no_usable_key_goes_to_the_fallback(stack):
    stack.mock.reset(_ok)
    s, fb, fb_key = _pair(stack)
    _disable_all(stack, s)
    settle()
    r = stack.main.client.get(s.path("v1/chat"), token=s.token)
    assert r.status == 200, r
    assert r.header("X-Gateway-Upstream") == fb["name"], r.headers
    q = stack.mock.requests[-1]
    assert q.header("X-Key") == fb_key["value"] and q.header("Authorization") is None
    assert q.path == "/v1/chat", q.path
    row = wait_log_row(stack, r)
    assert row["upstream"] == fb["name"] and row["upstream_id"] == fb["id"], row
    assert row["fallback_from"] == s.name and row["key_id"] == fb_key["id"], row


def test_an_answer_without_fallback_names_its_own_upstream(stack):
    stack.mock.reset(_ok)
    s, fb, _ = _pair(stack)
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200 and r.header("X-Gateway-Upstream") == s.name, r.headers
    assert wait_log_row(stack, r)["fallback_from"] is None


def test_failed_attempts_go_to_the_fallback(stack):
    # The primary's host refuses connections: every attempt fails before
    # any byte (one attempt with each of its two keys), so the fallback
    # serves.
    stack.mock.reset(_ok)
    dead = "http://127.0.0.1:%d" % st.free_port()
    s, fb, fb_key = _pair(stack, primary_fields={"base_url": dead, "max_retries": 1,
                                                 "retry_backoff_ms": 0}, nkeys=2)
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200 and r.header("X-Gateway-Upstream") == fb["name"], r
    assert r.header("X-Gateway-Attempts") == "3", r.headers   # 2 on the primary, 1 on the fallback
    row = wait_log_row(stack, r)
    assert row["fallback_from"] == s.name and row["attempts"] == 3, row


def test_a_client_error_answer_is_not_retried_elsewhere(stack):
    stack.mock.reset(lambda req: Reply(400, '{"error": "bad request"}',
                                       {"Content-Type": "application/json"}))
    s, fb, _ = _pair(stack)
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 400 and r.header("X-Gateway-Upstream") == s.name, r
    assert len(stack.mock.requests) == 1


def test_a_fallback_the_token_may_not_use_is_skipped(stack):
    stack.mock.reset(_ok)
    fb, _ = _up_with_key(stack)
    up, k = _up_with_key(stack, fallback_upstreams=[fb["id"]])
    token, _ = make_token(stack, upstreams=[up["id"]])
    ok(stack.main.admin.patch(A + "/keys/%d" % k["id"], json={"status": "disabled"}))
    settle()
    r = stack.main.client.get("/proxy/%s/x" % up["name"], token=token)
    assert_json_error(r, 503, "no_available_key")
    assert len(stack.mock.requests) == 0
    # Allowed on both, the same request is served by the fallback.
    token2, _ = make_token(stack, upstreams=[up["id"], fb["id"]])
    settle()
    r = stack.main.client.get("/proxy/%s/x" % up["name"], token=token2)
    assert r.status == 200 and r.header("X-Gateway-Upstream") == fb["name"], r


def test_fallbacks_go_one_level_deep_and_in_order(stack):
    stack.mock.reset(_ok)
    c, _ = _up_with_key(stack)
    b, bk = _up_with_key(stack, fallback_upstreams=[c["id"]])
    a, ak = _up_with_key(stack, fallback_upstreams=[b["id"]])
    # A cycle is harmless: b's own fallbacks are never followed from a.
    patch_upstream(stack, c["id"], fallback_upstreams=[a["id"]])
    for k in (ak, bk):
        ok(stack.main.admin.patch(A + "/keys/%d" % k["id"], json={"status": "disabled"}))
    token, _ = make_token(stack)
    settle()
    r = stack.main.client.get("/proxy/%s/x" % a["name"], token=token)
    assert_json_error(r, 503, "no_available_key")
    assert len(stack.mock.requests) == 0
    # With c listed second on a, a request to a ends on c.
    patch_upstream(stack, a["id"], fallback_upstreams=[b["id"], c["id"]])
    settle()
    r = stack.main.client.get("/proxy/%s/x" % a["name"], token=token)
    assert r.status == 200 and r.header("X-Gateway-Upstream") == c["name"], r
    assert wait_log_row(stack, r)["fallback_from"] == a["name"]


def test_fallback_upstreams_are_checked(stack):
    s = setup(stack, nkeys=0, token=False, settle=False)
    other = make_upstream(stack)
    path = A + "/upstreams/%d" % s.up["id"]
    for bad, why in (([s.up["id"]], "own fallback"), ([999999], "does not exist"),
                     ([other["id"], other["id"]], "twice"), ("x", "fallback_upstreams"),
                     (list(range(1, 11)), "fallback_upstreams")):
        r = stack.main.admin.patch(path, json={"fallback_upstreams": bad})
        assert_error(r, 400, "invalid_field", "fallback_upstreams")
        assert why in r.json()["error"]["message"], r.json()
    assert patch_upstream(stack, s.up["id"], fallback_upstreams=[other["id"]])[
        "fallback_upstreams"] == [other["id"]]
    assert patch_upstream(stack, s.up["id"], fallback_upstreams=[])["fallback_upstreams"] == []


def test_a_fallback_keeps_to_its_own_keys_when_the_pool_changes(stack):
    # The named upstream's one key answers 500 slowly (a rule retries it);
    # meanwhile the pool changes.  The fallback has no usable key, looks
    # for a newer snapshot, and must find itself there again: the named
    # upstream's key never goes to the fallback's host.
    def slow_500(req):
        time.sleep(1.0)
        return Reply(500, '{"error": "busy"}', {"Content-Type": "application/json"})

    stack.mock.reset(slow_500)
    fb = make_upstream(stack, base_url=stack.mock.url + "/fallback-host")
    fk = add_key(stack, fb["id"])
    s = setup(stack, nkeys=1, settle=False, max_retries=0, fallback_upstreams=[fb["id"]])
    create_rule(stack, upstream_id=s.up["id"], condition=status_is(500),
                actions=[{"type": "retry"}])
    ok(stack.main.admin.patch(A + "/keys/%d" % fk["id"], json={"status": "disabled"}))
    settle()
    out = {}
    th = threading.Thread(target=lambda: out.update(r=stack.main.client.get(s.path("x"),
                                                                          token=s.token)))
    th.start()
    time.sleep(0.4)
    make_token(stack)              # moves the pool version while the attempt runs
    th.join(10)
    r = out["r"]
    assert r.status == 500 and r.header("X-Gateway-Upstream") == s.name, r
    assert [q.path for q in stack.mock.requests] == ["/x"], [q.path for q in stack.mock.requests]
