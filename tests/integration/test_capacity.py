"""Capacity: requests in flight are not bounded by a fixed set of worker
threads.  300 slow answers in flight, or 300 clients that never read
their answer, do not stop /healthz, the admin API or another upstream; the
per-process cap on proxied requests answers 503 overloaded at once, with a
log row and a counter.  Deadlines only detect a hang."""

import http.client
import re
import socket
import threading

import harness
from admin_helpers import A
from mock_upstream import Reply, json_reply
from proxy_helpers import assert_json_error, setup, wait_log_row

N = 300
HANG_S = 30  # generous: only a hang exceeds it


def _metric(gw, name):
    text = harness.Client(gw.port).get("/metrics", timeout=HANG_S).text
    m = re.search(r"^%s\{[^}]*\} (\d+)$" % name, text, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def _slow_requests(gw, s, n, path):
    """Starts n requests on their own threads; returns (threads, results)."""
    results = [None] * n

    def one(i):
        try:
            c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=HANG_S * 2)
            c.request("GET", s.path(path), headers={"Authorization": "Bearer " + s.token})
            r = c.getresponse()
            results[i] = (r.status, r.read())
            c.close()
        except OSError as e:
            results[i] = (None, repr(e))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def _others_still_served(stack, gw, fast):
    """/healthz, an admin GET and a request to another upstream answer."""
    h = harness.Client(gw.port).get("/healthz", timeout=HANG_S)
    assert h.status == 200, h
    a = harness.Client(gw.port, harness.ADMIN_TOKEN).get(A + "/upstreams", timeout=HANG_S)
    assert a.status == 200, a
    r = harness.Client(gw.port).get(fast.path("quick"), token=fast.token, timeout=HANG_S)
    assert r.status == 200 and r.json() == {"quick": True}, r


def test_300_slow_answers_do_not_stop_the_rest(stack):
    slow, fast = setup(stack), setup(stack)
    release = threading.Event()

    def script(req):
        if "/quick" in req.path:
            return json_reply({"quick": True})
        release.wait(HANG_S * 2)
        return json_reply({"slow": True})

    stack.mock.script = script
    threads, results = _slow_requests(stack.main, slow, N, "slow")
    try:
        # Every one of them reached the upstream: all are in flight at once.
        harness.wait_until(lambda: sum("/slow" in q.path for q in stack.mock.requests) == N,
                           timeout=HANG_S, what="%d slow requests at the upstream" % N)
        assert _metric(stack.main, "apigw_inflight_requests") >= N
        _others_still_served(stack, stack.main, fast)
    finally:
        release.set()
    for t in threads:
        t.join(HANG_S)
    assert all(r is not None and r[0] == 200 for r in results), [
        r for r in results if r is None or r[0] != 200][:3]


def _never_reading_client(port, path, token):
    """Sends a request and never reads the answer (with a small receive
    buffer, so that the answer backs up to the gateway soon)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                  % (path, token)).encode())
    return sock


def test_clients_that_never_read_are_dropped_and_free_their_threads(stack):
    g = stack.gateway("capacity-unread", {"client_send_timeout_ms": 1000})
    big, fast = setup(stack), setup(stack)
    blob = b"x" * (64 << 10)

    def script(req):
        if "/quick" in req.path:
            return json_reply({"quick": True})
        # A streamed answer (chunked, no length): nginx does not buffer it.
        return Reply(chunks=[(0, blob)] * 64, headers={"Content-Type": "application/x-ndjson"})

    stack.mock.script = script
    socks = []
    try:
        for _ in range(N):
            socks.append(_never_reading_client(g.port, big.path("big"), big.token))
        harness.wait_until(lambda: sum("/big" in q.path for q in stack.mock.requests) == N,
                           timeout=HANG_S, what="%d large answers under way" % N)
        _others_still_served(stack, g, fast)
        # client_send_timeout_ms frees every thread while the clients still
        # hold their connections open.
        harness.wait_until(lambda: _metric(g, "apigw_inflight_requests") == 0, timeout=HANG_S,
                           interval=0.5, what="the stalled answers to be dropped")
        _others_still_served(stack, g, fast)
    finally:
        for sk in socks:
            sk.close()


def test_inflight_cap_answers_503_overloaded_at_once(stack):
    g = stack.gateway("capacity-cap", {"max_inflight": 5})
    s = setup(stack)
    release = threading.Event()

    def script(req):
        release.wait(HANG_S * 2)
        return json_reply({"slow": True})

    stack.mock.script = script
    threads, results = _slow_requests(g, s, 5, "held")
    try:
        harness.wait_until(lambda: len(stack.mock.requests) == 5, timeout=HANG_S,
                           what="5 requests in flight")
        before = _metric(g, "apigw_overloaded_total")
        r = harness.Client(g.port).get(s.path("one-too-many"), token=s.token, timeout=HANG_S)
        assert_json_error(r, 503, "overloaded")
        assert r.header("Retry-After") == "1", r.headers
        assert "max_inflight" in r.json()["error"]["message"], r.json()
        assert len(stack.mock.requests) == 5  # it never reached the upstream
        assert _metric(g, "apigw_overloaded_total") == before + 1
        assert _metric(g, "apigw_inflight_requests") == 5
        assert harness.Client(g.port).get("/healthz", timeout=HANG_S).status == 200
        row = wait_log_row(stack, r)
        assert row["status"] == 503 and "max_inflight" in (row["error"] or ""), row
    finally:
        release.set()
    for t in threads:
        t.join(HANG_S)
    assert [x[0] for x in results] == [200] * 5, results
    assert _metric(g, "apigw_inflight_requests") == 0
