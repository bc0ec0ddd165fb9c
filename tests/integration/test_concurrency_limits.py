"""max_concurrent on client tokens and upstreams: the request over the
limit gets 429 concurrency_limited at once (Retry-After, a log row, the
counter in /metrics); the count goes back down however a request ends
(answer complete, client gone); it survives a pool reload; null lifts it;
the admin API validates it."""

import contextlib
import socket
import threading

from harness import wait_until
from mock_upstream import Reply
from obs_helpers import scrape
from proxy_helpers import (A, assert_error, assert_json_error, ok, open_stream, parallel,
                           settle, setup, uniq, wait_log_row, wait_log_rows)

HANG_S = 30  # only detects a hang


class Gate:
    """A mock script that holds every request to /held until opened, and
    streams /stream slowly (an event every 0.2 s for about 20 s)."""

    def __init__(self, stack):
        self.stack = stack
        self.open = threading.Event()

    def __call__(self, req):
        if req.path.startswith("/stream"):
            return Reply(200, headers={"Content-Type": "text/event-stream"},
                         chunks=[(0.2 if i else 0, "data: %d\n\n" % i) for i in range(100)])
        if req.path.startswith("/held"):
            self.open.wait(HANG_S)
        return Reply(200, body=b'{"ok":true}', headers={"Content-Type": "application/json"})

    def held(self):
        return sum(1 for q in list(self.stack.mock.requests) if q.path.startswith("/held"))


def _start(stack, gate):
    stack.mock.reset(gate)


def _refusals(stack, scope):
    return sum(v for _, v in scrape(stack).series("apigw_concurrency_limited_total", scope=scope))


def _get(stack, s, rest, token=None):
    return stack.main.client.get(s.path(rest), token=token or s.token, timeout=HANG_S + 30)


def _burst(stack, s, n, token=None):
    """n held requests at once; opens the gate once every request is either
    at the mock or answered.  Returns the answers in order."""
    gate = stack.mock.script
    gate.open.clear()
    done = []

    def one(i):
        r = _get(stack, s, "held/%d" % i, token)
        done.append(r)
        return r

    def opener():
        wait_until(lambda: gate.held() + sum(1 for r in done if r.status != 200) >= n,
                   timeout=HANG_S, what="%d requests at the mock or refused" % n)
        gate.open.set()

    t = threading.Thread(target=opener)
    t.start()
    try:
        return parallel(one, range(n), workers=n)
    finally:
        gate.open.set()
        t.join()


def _one_refused(stack, s, answers, scope, before, words, row_field, row_id):
    """Exactly one of answers is 429 concurrency_limited with Retry-After,
    a message holding words, its log row and the counter; then the count
    is back down: two at once are served again."""
    refused = [r for r in answers if r.status == 429]
    assert len(refused) == 1 and len(answers) - 1 == sum(r.status == 200 for r in answers), \
        answers
    r = refused[0]
    assert_json_error(r, 429, "concurrency_limited")
    msg = r.json()["error"]["message"]
    assert all(w in msg for w in words + ["max_concurrent"]), msg
    assert r.header("Retry-After") == "1", r.headers
    assert stack.mock.script.held() == len(answers) - 1, "the refused request went upstream"
    row = wait_log_row(stack, r)
    assert row["status"] == 429 and row[row_field] == row_id, row
    assert "max_concurrent" in (row["error"] or ""), row
    assert _refusals(stack, scope) == before + 1
    stack.mock.reset(stack.mock.script)
    assert [x.status for x in _burst(stack, s, 2)] == [200, 200]


@contextlib.contextmanager
def _one_held(stack, s):
    """Holds one request of s at the mock for the time of the block."""
    gate = stack.mock.script
    gate.open.clear()
    first = []
    t = threading.Thread(target=lambda: first.append(_get(stack, s, "held/1")))
    t.start()
    try:
        wait_until(lambda: gate.held() == 1, timeout=HANG_S, what="the first request held")
        yield
    finally:
        gate.open.set()
        t.join()
    assert first[0].status == 200, first


def test_token_max_concurrent(stack):
    _start(stack, Gate(stack))
    s = setup(stack, token_fields={"max_concurrent": 2})
    assert s.token_obj["max_concurrent"] == 2, s.token_obj
    before = _refusals(stack, "token")
    _one_refused(stack, s, _burst(stack, s, 3), "token", before, ["token", "2"], "token_id",
                 s.token_obj["id"])


def test_token_count_survives_a_pool_reload(stack):
    _start(stack, Gate(stack))
    s = setup(stack, token_fields={"max_concurrent": 1})
    with _one_held(stack, s):
        # Any change moves the pool version: a new snapshot is loaded.
        ok(stack.main.admin.patch(A + "/tokens/%d" % s.token_obj["id"],
                                  json={"name": uniq("renamed")}))
        settle()
        assert_json_error(_get(stack, s, "plain"), 429, "concurrency_limited")
    assert _get(stack, s, "plain").status == 200


def test_client_gone_gives_the_slot_back(stack):
    _start(stack, Gate(stack))
    s = setup(stack, token_fields={"max_concurrent": 2})
    ids = []
    for _ in range(2):
        conn, resp = open_stream(stack.main.port, s.path("stream"), token=s.token,
                                 timeout=HANG_S)
        assert resp.status == 200, resp.status
        ids.append(resp.getheader("X-Gateway-Request-Id"))
        assert resp.read1(65536).startswith(b"data: 0"), "no first event"
        conn.sock.shutdown(socket.SHUT_RDWR)
        resp.close()
        conn.close()
    # The rows are written once the gateway has noticed and let go.
    rows = wait_log_rows(stack, ids, timeout=HANG_S)
    assert sorted(r["status"] for r in rows.values()) == [499, 499], rows
    assert [r.status for r in _burst(stack, s, 2)] == [200, 200]


def test_upstream_max_concurrent(stack):
    _start(stack, Gate(stack))
    s = setup(stack, max_concurrent=2)
    assert s.up["max_concurrent"] == 2, s.up
    before = _refusals(stack, "upstream")
    _one_refused(stack, s, _burst(stack, s, 3), "upstream", before, ["upstream", s.name, "2"],
                 "upstream_id", s.up["id"])


def test_upstream_limit_counts_every_token(stack):
    _start(stack, Gate(stack))
    s = setup(stack, max_concurrent=1)
    other = ok(stack.main.admin.post(A + "/tokens", json={"name": uniq("tok")}), 201)["token"]
    settle()
    with _one_held(stack, s):
        r = _get(stack, s, "plain", token=other)
        assert_json_error(r, 429, "concurrency_limited")
        assert "upstream" in r.json()["error"]["message"], r


def test_null_lifts_the_limit(stack):
    gate = Gate(stack)
    _start(stack, gate)
    s = setup(stack, max_concurrent=1, token_fields={"max_concurrent": 1})
    t = ok(stack.main.admin.put(A + "/tokens/%d" % s.token_obj["id"],
                                json={"max_concurrent": None}))
    assert t["max_concurrent"] is None, t
    u = ok(stack.main.admin.put(A + "/upstreams/%d" % s.up["id"], json={"max_concurrent": None}))
    assert u["max_concurrent"] is None, u
    settle()
    assert [r.status for r in _burst(stack, s, 3)] == [200, 200, 200]
    assert gate.held() == 3


def test_validation(stack):
    admin = stack.main.admin
    t = ok(admin.post(A + "/tokens", json={"name": uniq("tok")}), 201)
    assert t["max_concurrent"] is None, t
    u = ok(admin.post(A + "/upstreams", json={"name": uniq("up"), "base_url": stack.mock.url}),
           201)
    assert u["max_concurrent"] is None, u
    for bad in (0, -1, 100001, "3", 1.5, True):
        assert_error(admin.post(A + "/tokens", json={"name": uniq("tok"), "max_concurrent": bad}),
                     400, "invalid_field", "max_concurrent")
        assert_error(admin.post(A + "/upstreams", json={"name": uniq("up"),
                                                        "base_url": stack.mock.url,
                                                        "max_concurrent": bad}),
                     400, "invalid_field", "max_concurrent")
        assert_error(admin.patch(A + "/tokens/%d" % t["id"], json={"max_concurrent": bad}),
                     400, "invalid_field", "max_concurrent")
        assert_error(admin.put(A + "/upstreams/%d" % u["id"], json={"max_concurrent": bad}),
                     400, "invalid_field", "max_concurrent")
    msg = assert_error(admin.put(A + "/tokens/%d" % t["id"], json={"max_concurrent": 0}),
                       400, "invalid_field", "max_concurrent")
    assert "1" in msg and "100000" in msg, msg
    for good in (1, 100000):
        t = ok(admin.put(A + "/tokens/%d" % t["id"], json={"max_concurrent": good}))
        assert t["max_concurrent"] == good, t
        assert ok(admin.get(A + "/tokens/%d" % t["id"]))["max_concurrent"] == good
        u = ok(admin.patch(A + "/upstreams/%d" % u["id"], json={"max_concurrent": good}))
        assert u["max_concurrent"] == good, u
        listed = ok(admin.get(A + "/upstreams"))["items"]
        assert [x["max_concurrent"] for x in listed if x["id"] == u["id"]] == [good]
