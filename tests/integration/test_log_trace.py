"""Trace a failure (issue 22): the attempts of a request retried over two
keys are recorded (request_attempts) with their key, status, masked
excerpt and the rules that fired; the logs' key filter finds the request by
the key of its first, failed attempt; GET /api/admin/logs/{request_id}
gives the row, the names of its key, token and upstream, its query string
without the client token, and the attempts as a timeline; 404 for an
unknown id."""

import json
import threading

import harness
from admin_helpers import A, assert_error, ok
from mock_upstream import Reply, json_reply, received_key
from obs_helpers import logs, rid
from proxy_helpers import settle, setup, wait_log_row
from rules_helpers import create_rule, status_is


def _first_key_fails(tried, lock):
    """The first key the mock sees answers 429 with a body that names it;
    any other key answers 200."""

    def script(req):
        key = received_key(req)
        with lock:
            if not tried:
                tried.append(key)
            first = key == tried[0]
        if first:
            body = json.dumps({"error": {"message": "rate limited: key %s" % key}})
            return Reply(429, body, {"Content-Type": "application/json"})
        return json_reply({"ok": True})

    return script


def _retried_request(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10, settle=False)
    create_rule(stack, name="trace-retry-%d" % s.up["id"], upstream_id=s.up["id"],
                condition=status_is(429), actions=[{"type": "retry"}])
    settle()
    tried, lock = [], threading.Lock()
    stack.mock.script = _first_key_fails(tried, lock)
    # The client token travels in ?key=, next to a parameter of the client.
    r = stack.main.client.get(s.path("v1/models?key=%s&foo=bar" % s.token))
    assert r.status == 200, r
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    failed = s.key_by_value(tried[0])
    good = [k for k in s.keys if k["id"] != failed["id"]][0]
    row = wait_log_row(stack, r)
    assert row["key_id"] == good["id"], row
    return s, r, failed, good


def test_retried_request_has_its_attempts_and_detail(stack):
    s, r, failed, good = _retried_request(stack)
    seen = list(stack.mock.requests)
    assert all("key=" + s.token not in q.path and "foo=bar" in q.path for q in seen), \
        [q.path for q in seen]
    d = ok(stack.main.admin.get(A + "/logs/" + rid(r)), 200)
    assert d["request_id"] == rid(r) and d["status"] == 200 and d["attempts"] == 2, d
    assert d["query"] == "?foo=bar", d["query"]
    assert d["key_id"] == good["id"] and d["key_masked"] == good["key_masked"], d
    assert d["token_name"] == s.token_obj["name"], d
    assert d["upstream_name"] == s.name, d
    tl = d["timeline"]
    assert [a["seq"] for a in tl] == [1, 2], tl
    assert [a["attempt"] for a in tl] == [1, 2], tl
    assert [a["key_id"] for a in tl] == [failed["id"], good["id"]], tl
    assert [a["status"] for a in tl] == [429, 200], tl
    assert tl[0]["key_masked"] == failed["key_masked"], tl
    assert "rate limited" in tl[0]["excerpt"] and failed["key_masked"] in tl[0]["excerpt"], tl
    assert tl[0]["rules"] == ["trace-retry-%d" % s.up["id"]], tl
    assert tl[1]["rules"] == [], tl
    assert "429" in (tl[0]["error"] or ""), tl
    assert tl[1]["excerpt"] is None and tl[1]["error"] is None, tl
    assert all(isinstance(a["latency_ms"], int) and a["latency_ms"] >= 0 for a in tl), tl
    text = json.dumps(d)
    for k in s.keys:
        assert k["value"] not in text
    assert s.token not in text


def test_key_filter_finds_the_request_by_a_failed_attempts_key(stack):
    _, r, failed, good = _retried_request(stack)
    by_failed = [i["request_id"] for i in logs(stack, "key_id=%d" % failed["id"])["items"]]
    assert rid(r) in by_failed, by_failed
    by_good = [i["request_id"] for i in logs(stack, "key_id=%d" % good["id"])["items"]]
    assert rid(r) in by_good, by_good


def test_single_successful_attempt_has_no_attempt_rows(stack):
    s = setup(stack, nkeys=1)
    stack.mock.script = lambda req: json_reply({"ok": True})
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200, r
    wait_log_row(stack, r)
    d = ok(stack.main.admin.get(A + "/logs/" + rid(r)), 200)
    assert d["timeline"] == [] and d["attempts"] == 1 and d["query"] is None, d
    assert stack.sql("SELECT COUNT(*) FROM request_attempts WHERE request_id = '%s'"
                     % rid(r)).strip() == "0"


def test_unknown_request_id_is_404(stack):
    settle()
    for unknown in ("0" * 24, "0123456789abcdef", "zz"):
        assert_error(stack.main.admin.get(A + "/logs/" + unknown), 404, "not_found")


def test_alert_names_the_request_that_raised_it(stack):
    s = setup(stack, nkeys=1, max_retries=0, settle=False)
    create_rule(stack, name="trace-alert-%d" % s.up["id"], upstream_id=s.up["id"],
                condition=status_is(418), actions=[{"type": "alert", "message": "teapot"}])
    settle()
    stack.mock.script = lambda req: Reply(418, "{}", {"Content-Type": "application/json"})
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 418, r

    def found():
        items = ok(stack.main.admin.get(A + "/alerts?upstream_id=%d" % s.up["id"]))["items"]
        return items if items else None

    items = harness.wait_until(found, timeout=10, interval=0.1, what="the alert")
    assert items[0]["request_id"] == rid(r), items


def test_attempts_survive_the_spool_while_the_database_is_down(stack):
    """The attempts travel with their row: written to the spool while the
    database is away, and replayed with it."""
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10, settle=False)
    create_rule(stack, name="trace-spool-%d" % s.up["id"], upstream_id=s.up["id"],
                condition=status_is(429), actions=[{"type": "retry"}])
    settle()
    tried, lock = [], threading.Lock()
    stack.mock.script = _first_key_fails(tried, lock)
    c = stack.main.client
    assert c.get(s.path("v1/warm"), token=s.token).status in (200, 429)
    with lock:
        tried.clear()
    stack.db.stop()
    try:
        r = c.get(s.path("v1/down?key=%s&x=1" % s.token), timeout=15)
    finally:
        stack.db.start()
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "2", r
    harness.wait_until(lambda: c.get("/healthz").status == 200, timeout=15, what="healthz")
    wait_log_row(stack, r)
    d = ok(stack.main.admin.get(A + "/logs/" + rid(r)), 200)
    assert [a["status"] for a in d["timeline"]] == [429, 200], d["timeline"]
    assert d["query"] == "?x=1", d
