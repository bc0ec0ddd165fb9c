"""A client that leaves mid-stream aborts the upstream transfer; SIGTERM
lets a proxied request in flight finish."""

import http.client
import signal
import socket
import threading
import time

import harness
from mock_upstream import Reply
from proxy_helpers import setup, wait_log_row


def test_client_disconnect_aborts_upstream_transfer(stack):
    s = setup(stack, nkeys=1)
    stack.mock.script = lambda req: Reply(
        headers={"Content-Type": "text/event-stream"},
        chunks=[(0.1, "data: %d\n\n" % i) for i in range(60)])
    sock = socket.create_connection(("127.0.0.1", stack.main.port))
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                  % (s.path("events"), s.token)).encode())
    got = b""
    while b"data: 1" not in got:
        got += sock.recv(4096)
    sock.close()
    t_closed = time.time()
    # The gateway notices within its client check interval and drops the
    # upstream connection; the mock's next writes fail and it stops.
    time.sleep(2.5)
    with stack.mock.lock:
        sent = [t for t, _ in stack.mock.sent_chunks]
    assert len(sent) < 30, "the upstream kept streaming: %d chunks" % len(sent)
    assert max(sent) - t_closed < 2.0, "still streaming %.2fs after the client left" % (
        max(sent) - t_closed)
    rows = harness.wait_until(
        lambda: stack.sql("SELECT status, error FROM request_logs WHERE path LIKE '%%/events'"),
        what="the log row of the aborted stream")
    status, error = rows.strip().split("\t", 1)
    assert status == "499", rows
    assert "client closed" in error


def test_sigterm_lets_a_request_in_flight_finish(stack):
    g = stack.gateway("drain-proxy")
    s = setup(stack, nkeys=1)
    stack.mock.script = lambda req: Reply(body=b'{"slow": true}', delay=1.5,
                                          headers={"Content-Type": "application/json"})
    out = {}

    def call():
        out["r"] = harness.Client(g.port).get(s.path("slow"), token=s.token, timeout=30)

    t = threading.Thread(target=call)
    t.start()
    harness.wait_until(lambda: len(stack.mock.requests) == 1, what="the request upstream")
    g.app.process.proc.send_signal(signal.SIGTERM)
    t.join(20)
    assert out["r"].status == 200, out["r"]
    assert out["r"].json() == {"slow": True}
    assert g.app.process.proc.wait(15) == 0, g.log()
    g.nginx.stop()
    # The request's log row was written before the process ended.
    row = stack.sql("SELECT status FROM request_logs WHERE request_id = '%s'"
                    % out["r"].header("X-Gateway-Request-Id"))
    assert row.strip() == "200", row


def test_unlimited_keys_serve_from_the_cache_while_the_database_is_down(stack):
    s = setup(stack, nkeys=2)
    limited = setup(stack, nkeys=1, key_fields={"daily_quota": 1000})
    c = stack.main.client
    assert c.get(s.path("warm"), token=s.token).status == 200
    ids = []
    stack.db.stop()
    try:
        for _ in range(6):
            r = c.get(s.path("during"), token=s.token, timeout=10)
            assert r.status == 200, r
            ids.append(r.header("X-Gateway-Request-Id"))
        # A key with a quota cannot be reserved exactly: refused, not hung.
        r = c.get(limited.path("during"), token=limited.token, timeout=10)
        assert r.status == 503 and r.error_code() == "no_available_key", r
        assert "database" in r.json()["error"]["message"]
        ids.append(r.header("X-Gateway-Request-Id"))
    finally:
        stack.db.start()
    # Spooled rows and in-memory counters reach the database on their own.
    harness.wait_until(lambda: stack.sql(
        "SELECT COUNT(*) FROM request_logs WHERE request_id IN (%s)"
        % ",".join("'%s'" % i for i in ids)).strip() == str(len(ids)), timeout=20,
        what="every row of the outage")
    total = harness.wait_until(lambda: (lambda v: v if v == "7" else None)(stack.sql(
        "SELECT SUM(total_requests) FROM api_keys WHERE upstream_id = %d" % s.up["id"]).strip()),
        timeout=20, what="the counters of the outage")
    assert total == "7"


def test_a_stream_may_outlive_timeout_ms_but_not_fall_silent(stack):
    s = setup(stack, nkeys=1, timeout_ms=600)
    # Ten events 200 ms apart: 2 s in all, never 600 ms of silence.
    stack.mock.script = lambda req: Reply(
        headers={"Content-Type": "text/event-stream"},
        chunks=[(0.2, "data: %d\n\n" % i) for i in range(10)])
    r = stack.main.client.get(s.path("long"), token=s.token)
    assert r.status == 200
    assert r.body.count(b"data: ") == 10, r.body
    # An answer that starts, then says nothing for longer than timeout_ms.
    stack.mock.script = lambda req: Reply(
        headers={"Content-Type": "text/event-stream"},
        chunks=[(0, "data: first\n\n"), (2.0, "data: too late\n\n")])
    t0 = time.time()
    r = stack.main.client.get(s.path("silent"), token=s.token)
    assert time.time() - t0 < 1.8
    assert b"first" in r.body and b"too late" not in r.body
    row = wait_log_row(stack, r)
    assert "nothing came within 600 ms" in (row["error"] or ""), row
    # Before any answer, timeout_ms bounds the wait: 504.
    stack.mock.script = lambda req: Reply(body=b"{}", delay=2.0)
    t0 = time.time()
    r = stack.main.client.get(s.path("never"), token=s.token)
    assert r.status == 504 and r.error_code() == "upstream_timeout", r
    assert time.time() - t0 < 1.9 * 3, "three attempts of at most 600 ms each, plus back-off"


def test_a_process_started_without_its_database_answers_and_does_not_crash(stack):
    g = stack.gateway("no-db-yet", overrides={"db_socket": "/nonexistent/apigw-db.sock",
                                             "workers": 4})
    try:
        c = g.client
        r = c.get("/healthz")
        assert r.status == 503 and r.json()["db"] == "down", r
        token_places = [{"token": "agw_" + "0" * 48},
                        {"headers": {"X-Api-Key": "abc", "x-api-key": "def"}},
                        {}]
        for name in ("openai", "Bad_Name", "a" * 80):
            for where in token_places:
                for query in ("", "?key=a&key=b"):
                    r = c.get("/proxy/%s/v1/x%s" % (name, query), **where)
                    assert r.status in (401, 503), (name, where, query, r)
                    assert r.error_code() in ("unauthorized", "no_available_key"), r
        r = c.get("/proxy/openai/v1/x", token="agw_" + "0" * 48)
        assert (r.status, r.error_code()) == (503, "no_available_key"), r
        assert "not loaded yet" in r.json()["error"]["message"], r
        # Every worker is still there.
        for _ in range(12):
            assert c.get("/healthz").status == 503
        assert g.app.process.alive()
    finally:
        g.stop()
