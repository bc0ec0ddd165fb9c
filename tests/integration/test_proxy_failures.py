"""When things go wrong: upstream timeouts, refused connections, transport
errors retried on other keys, the upstream's own errors passed through, key
values kept out of every answer and log, and the database going away and
coming back under traffic."""

import threading
import time

import harness
from harness import wait_until
from mock_upstream import Reply, json_reply
from proxy_helpers import (assert_json_error, key_value, setup, wait_key, wait_log_row,
                           wait_log_rows)


def _closed_port_url():
    return "http://127.0.0.1:%d" % harness.st.free_port()


def test_upstream_timeout_gives_504(stack):
    s = setup(stack, timeout_ms=300, max_retries=0)
    stack.mock.script = lambda req: Reply(delay=1.5, body=b"late")
    t0 = time.time()
    r = stack.main.client.get(s.path("v1/slow"), token=s.token)
    took = time.time() - t0
    assert_json_error(r, 504, "upstream_timeout")
    assert took < 1.2, took
    assert r.header("X-Gateway-Attempts") == "1", r.headers
    assert len(stack.mock.requests) == 1
    row = wait_log_row(stack, r)
    assert row["status"] == 504 and row["attempts"] == 1 and row["error"], row
    assert row["key_id"] == s.keys[0]["id"], row


def test_timeout_is_retried_on_another_key(stack):
    s = setup(stack, nkeys=2, timeout_ms=300, max_retries=1, retry_backoff_ms=10)
    stack.mock.script = lambda req: Reply(delay=1.5, body=b"late")
    r = stack.main.client.get(s.path("v1/slow"), token=s.token)
    assert_json_error(r, 504, "upstream_timeout")
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    auths = [q.header("Authorization") for q in stack.mock.requests]
    assert len(auths) == 2 and len(set(auths)) == 2, auths


def test_connection_refused_gives_502_after_every_key(stack):
    s = setup(stack, nkeys=3, base_url=_closed_port_url(), max_retries=2,
              retry_backoff_ms=10)
    t0 = time.time()
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "upstream_error")
    assert time.time() - t0 < 5
    assert r.header("X-Gateway-Attempts") == "3", r.headers
    row = wait_log_row(stack, r)
    assert row["status"] == 502 and row["attempts"] == 3 and row["error"], row
    # A refused connection is the endpoint's fault (docs/API.md,
    # "Endpoints"): each key was used, none counts a failure.
    for k in s.keys:
        wait_key(stack, k["id"], total_requests=1, total_failures=0, used_today=1)


def _distinct(seq):
    out = []
    for x in seq:
        if x not in out:
            out.append(x)
    return out


def test_transport_error_retried_on_another_key(stack):
    s = setup(stack, nkeys=3, max_retries=2, retry_backoff_ms=10)
    tried = []
    lock = threading.Lock()

    # The first two keys tried fail at the transport level, the third answers.
    def script(req):
        with lock:
            key = req.header("Authorization")[len("Bearer "):]
            if key not in tried:
                tried.append(key)
            good = len(tried) == 3 and key == tried[2]
        return json_reply({"ok": "third"}) if good else Reply(close=True)

    stack.mock.script = script
    body = b'{"prompt": "same bytes every time \xc3\xa9"}'
    r = stack.main.client.post(s.path("v1/complete"), token=s.token, body=body,
                               headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    assert r.json() == {"ok": "third"}
    seen = list(stack.mock.requests)
    keys = [q.header("Authorization")[len("Bearer "):] for q in seen]
    assert len(keys) == 3 and sorted(keys) == sorted(s.key_values), keys
    assert r.header("X-Gateway-Attempts") == "3", r.headers
    assert all(q.body == body and q.method == "POST" for q in seen)
    assert all(q.path == "/v1/complete" for q in seen)
    good = s.key_by_value(keys[2])
    row = wait_log_row(stack, r)
    assert (row["status"], row["attempts"], row["key_id"]) == (200, 3, good["id"]), row
    for k in s.keys:
        wait_key(stack, k["id"], total_requests=1, used_today=1,
                 total_failures=0 if k["id"] == good["id"] else 1)


def test_each_attempt_sends_the_request_once(stack):
    """X-Gateway-Attempts is the number of times the upstream got the
    request, each time with another key: nothing is re-sent behind the
    gateway's back (e.g. by libcurl on a reused keep-alive connection)."""
    s = setup(stack, nkeys=3, max_retries=2, retry_backoff_ms=10)
    c = stack.main.client
    for _ in range(6):   # connections to the mock, kept alive by the workers
        assert c.get(s.path("warm"), token=s.token).status == 200
    stack.mock.reset(lambda req: Reply(close=True))
    r = c.post(s.path("v1/once"), token=s.token, body=b"do-not-repeat")
    assert_json_error(r, 502, "upstream_error")
    assert r.header("X-Gateway-Attempts") == "3", r.headers
    auths = [q.header("Authorization") for q in stack.mock.requests]
    assert len(auths) == 3 and len(set(auths)) == 3, \
        "3 attempts, but the upstream received %d requests: %r" % (len(auths), auths)


def test_transport_errors_until_retries_run_out(stack):
    s = setup(stack, nkeys=3, max_retries=1, retry_backoff_ms=10)
    stack.mock.script = lambda req: Reply(close=True)
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "upstream_error")
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    assert len(_distinct(q.header("Authorization") for q in stack.mock.requests)) == 2
    # A single key is never retried on itself.
    s1 = setup(stack, nkeys=1, max_retries=2, retry_backoff_ms=10)
    stack.mock.reset(lambda req: Reply(close=True))
    r = stack.main.client.get(s1.path("v1/x"), token=s1.token)
    assert_json_error(r, 502, "upstream_error")
    assert r.header("X-Gateway-Attempts") == "1", r.headers
    assert _distinct(q.header("Authorization") for q in stack.mock.requests) == \
        ["Bearer " + s1.keys[0]["value"]]


def test_upstream_errors_pass_through_unchanged(stack):
    s = setup(stack, nkeys=2)
    cases = [
        (400, b'{"error": {"message": "bad model", "type": "invalid_request_error"}}',
         {"Content-Type": "application/json", "X-Upstream-Req": "u-1"}),
        (429, b'{"error": "slow down"}', {"Content-Type": "application/json",
                                           "Retry-After": "17"}),
        (503, b"upstream overloaded", {"Content-Type": "text/plain"}),
        (404, b"", {"X-Empty": "yes"}),
    ]
    for status, body, headers in cases:
        stack.mock.reset(lambda req, st=status, b=body, h=headers: Reply(st, b, h))
        r = stack.main.client.get(s.path("v1/x"), token=s.token)
        assert r.status == status, (status, r)
        assert r.body == body, (status, r.body)
        for k, v in headers.items():
            assert r.header(k) == v, (status, k, r.headers)
        assert r.header("X-Gateway-Attempts") == "1", r.headers
        assert len(stack.mock.requests) == 1, status


def test_key_values_never_in_answers_or_logs(stack):
    prefix = "sk-LEAKCHECK-"
    values = []

    def vals(n):
        out = [{"value": prefix + key_value("z")[3:]} for _ in range(n)]
        values.extend(v["value"] for v in out)
        return out

    plain = setup(stack, nkeys=2, key_fields=vals(2), max_retries=1, retry_backoff_ms=10,
                  settle=False)
    q_closed = setup(stack, nkeys=2, key_fields=vals(2), auth_query_param="key",
                     base_url=_closed_port_url(), max_retries=1, retry_backoff_ms=10,
                     settle=False)
    q_mock = setup(stack, nkeys=1, key_fields=vals(1), auth_query_param="key",
                   timeout_ms=300, max_retries=0, settle=False)
    tpl = setup(stack, nkeys=1, key_fields=vals(1), auth_header="X-Key",
                auth_template="K {key} K", base_url=_closed_port_url(), max_retries=0)
    c = stack.main.client
    answers = []
    stack.mock.script = lambda req: Reply(close=True)
    answers.append(c.get(plain.path("v1/x"), token=plain.token))
    answers.append(c.get(q_closed.path("v1/x?a=1"), token=q_closed.token))
    answers.append(c.get(q_mock.path("v1/x?a=1"), token=q_mock.token))
    answers.append(c.get(tpl.path("v1/x"), token=tpl.token))
    stack.mock.script = lambda req: Reply(delay=1.0)
    answers.append(c.get(q_mock.path("v1/slow"), token=q_mock.token))
    stack.mock.script = lambda req: Reply(chunks=[(0, "a"), (0.05, "b")])
    answers.append(c.get(plain.path("v1/ok"), token=plain.token))
    answers.append(c.get(plain.path("v1/ok")))
    answers.append(c.get(plain.path("%2e%2e/x"), token=plain.token))
    assert [a.status for a in answers] == [502, 502, 502, 502, 504, 200, 401, 400], answers
    for a in answers:
        blob = a.body + b"".join((k + ": " + v + "\n").encode() for k, v in a.headers)
        for v in values:
            assert v.encode() not in blob, (v, a, a.headers)
        assert prefix.encode() not in blob, (a, a.headers)
    wait_log_rows(stack, [a.header("X-Gateway-Request-Id") for a in answers])
    time.sleep(0.3)
    log = stack.main.log()
    db_text = stack.sql("SELECT CONCAT_WS('|', path, IFNULL(error, ''), IFNULL(messages, ''))"
                        " FROM request_logs")
    for v in values:
        assert v not in log, "a key value is in the application log"
        assert v not in db_text, "a key value is in request_logs"
    assert prefix not in log and prefix not in db_text


def test_database_restart_under_traffic(stack):
    # Keys with a daily quota: reserving one needs the database (the quota
    # is never exceeded, whatever the number of processes).
    s = setup(stack, nkeys=2, key_fields={"daily_quota": 1000000})
    c = stack.main.client
    results = []
    lock = threading.Lock()
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            t0 = time.time()
            try:
                r = c.get(s.path("v1/x"), token=s.token, timeout=30)
                item = (t0, time.time() - t0, r)
            except Exception as e:  # noqa: B902 - a hang or a dropped connection is a failure
                item = (t0, time.time() - t0, e)
            with lock:
                results.append(item)
            time.sleep(0.02)

    threads = [threading.Thread(target=traffic, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        stack.db.stop()
        t_down = time.time()
        time.sleep(2.5)
        t_up = time.time()
    finally:
        stack.db.start()

    def recovered():
        with lock:
            return [x for x in results if x[0] > t_up and not isinstance(x[2], Exception)
                    and x[2].status == 200]

    try:
        wait_until(lambda: len(recovered()) >= 5, timeout=30, what="proxying to recover")
        time.sleep(2.0)   # traffic goes on for a while after the recovery
    finally:
        stop.set()
        for t in threads:
            t.join(40)
    errors = [x for x in results if isinstance(x[2], Exception)]
    assert not errors, errors[:3]
    slow = [(round(x[1], 2), x[2]) for x in results if x[1] > 10]
    assert not slow, "requests hung while the database was away: %r" % slow[:3]
    statuses = {}
    for _, _, r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
        assert r.status in (200, 503), r
        if r.status == 503:
            assert_json_error(r, 503, "no_available_key")
    down = [r for t0, _, r in results if t_down + 0.2 < t0 < t_up - 0.2]
    assert down and all(r.status == 503 for r in down), \
        "while the database was down: %r" % sorted({r.status for r in down})
    assert statuses.get(200, 0) > 0 and statuses.get(503, 0) > 0, statuses
    assert stack.main.app.process.alive(), stack.main.log()[-2000:]
    wait_until(lambda: c.get("/healthz").status == 200, timeout=15, what="healthz")
    # Every request has its row: those answered while the database was away
    # were spooled and replayed.
    ids = [r.header("X-Gateway-Request-Id") for _, _, r in results]
    assert len(set(ids)) == len(ids)
    rows = wait_log_rows(stack, ids, timeout=30)
    for _, _, r in results:
        assert rows[r.header("X-Gateway-Request-Id")]["status"] == r.status


def test_spooled_rows_replayed_without_further_traffic(stack):
    """Rows spooled while the database was down reach request_logs once it
    is back by themselves, not only when later requests come."""
    s = setup(stack, key_fields={"daily_quota": 1000000})
    c = stack.main.client
    answers = [c.get(s.path("v1/before"), token=s.token) for _ in range(2)]
    stack.db.stop()
    try:
        for _ in range(4):
            answers.append(c.get(s.path("v1/down"), token=s.token, timeout=15))
    finally:
        stack.db.start()
    assert [a.status for a in answers] == [200, 200, 503, 503, 503, 503], answers
    wait_until(lambda: c.get("/healthz").status == 200, timeout=15, what="healthz")
    # No proxied request from here on.
    rows = wait_log_rows(stack, [a.header("X-Gateway-Request-Id") for a in answers],
                         timeout=15)
    assert sorted(r["status"] for r in rows.values()) == [200, 200, 503, 503, 503, 503]
