"""A stalled database fails fast: MariaDB frozen with SIGSTOP (it keeps its
sockets open and answers nothing) must not hang /healthz, the proxy or the
admin API, and traffic that needs no database keeps flowing from the pool
cache.  Every freeze ends with SIGCONT in a finally block, and each test
waits until the stack answers normally again, so later modules find it as
it was.

The deadlines below only detect a hang (before the breaker, these requests
waited 20-30 s or never came back); they are not timings of the design."""

import contextlib
import os
import re
import signal
import threading
import time

from admin_helpers import A, assert_error, ok
from harness import wait_until
from proxy_helpers import assert_json_error, setup

DEADLINE_S = 5.0         # a request slower than this while frozen counts as hung
RECOVERY_S = 15.0        # everything answers normally again within this after SIGCONT
LIMITED_CLIENTS = 70     # concurrent requests of a token with limits (the stack has 48 workers)
FLOOD_S = 6.0            # how long they are kept in flight


@contextlib.contextmanager
def frozen_database(stack):
    """Stops MariaDB with SIGSTOP for the body; always resumes it."""
    pid = stack.db.process.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def timed(fn, *args, **kw):
    t0 = time.time()
    r = fn(*args, **kw)
    return r, time.time() - t0


def wait_recovered(stack):
    c = stack.main.client
    wait_until(lambda: c.get("/healthz", timeout=10).status == 200, timeout=RECOVERY_S,
               what="/healthz to answer 200 after SIGCONT")
    wait_until(lambda: stack.main.admin.get(A + "/upstreams", timeout=10).status == 200,
               timeout=RECOVERY_S, what="the admin API after SIGCONT")


def metric(text, name):
    m = re.search(r"^%s\{[^}]*\} (\d+)$" % re.escape(name), text, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def test_healthz_answers_503_while_frozen(stack):
    c = stack.main.client
    assert c.get("/healthz").json() == {"status": "ok", "db": "ok"}
    try:
        with frozen_database(stack):
            r, took = timed(c.get, "/healthz", timeout=30)
            if r.status == 200:
                # Checks are shared: one that began before the freeze (and
                # finished) may answer a request that came just after it.
                r, took = timed(c.get, "/healthz", timeout=30)
            assert took < DEADLINE_S, "/healthz took %.1f s with the database frozen" % took
            assert r.status == 503, r
            assert r.json() == {"status": "degraded", "db": "timeout"}, r
            # The process's own calls (the pool refresher, this scrape) time
            # out too and open the breaker; /healthz then answers from it.
            wait_until(lambda: metric(c.get("/metrics", timeout=30).text,
                                      "apigw_db_breaker_open") == 1,
                       timeout=15, what="the breaker to open")
            r, took = timed(c.get, "/healthz", timeout=30)
            assert took < DEADLINE_S and r.status == 503, (took, r)
            assert r.json() == {"status": "degraded", "db": "timeout"}, r
    finally:
        wait_recovered(stack)
    assert c.get("/healthz").json() == {"status": "ok", "db": "ok"}
    m = c.get("/metrics").text
    assert metric(m, "apigw_db_breaker_open") == 0
    assert metric(m, "apigw_db_fast_failures_total") > 0


def test_requests_needing_the_database_fail_fast(stack):
    limited = setup(stack, token_fields={"rpm_limit": 1000000})
    free = setup(stack)
    c = stack.main.client
    assert c.get(limited.path("v1/a"), token=limited.token).status == 200
    assert c.get(free.path("v1/a"), token=free.token).status == 200
    try:
        with frozen_database(stack):
            for i in range(4):
                r, took = timed(c.get, limited.path("v1/b"), token=limited.token, timeout=60)
                assert took < DEADLINE_S, "limited request %d took %.1f s" % (i, took)
                assert r.status in (429, 503), r
                if r.status == 503:
                    assert_json_error(r, 503, "no_available_key")
            r, took = timed(stack.main.admin.get, A + "/keys", timeout=60)
            assert took < DEADLINE_S, "the admin API took %.1f s" % took
            assert_error(r, 503, "db_unavailable")
            r, took = timed(stack.main.admin.post, A + "/upstreams", timeout=60,
                            json={"name": "stalled", "base_url": stack.mock.url})
            assert took < DEADLINE_S, "an admin write took %.1f s" % took
            assert_error(r, 503, "db_unavailable")
            # No database needed: served from the pool cache.
            r, took = timed(c.get, free.path("v1/c"), token=free.token, timeout=60)
            assert took < DEADLINE_S and r.status == 200, (took, r)
    finally:
        wait_recovered(stack)
    wait_until(lambda: c.get(limited.path("v1/d"), token=limited.token).status == 200,
               timeout=RECOVERY_S, what="the limited token to be served again")
    ok(stack.main.admin.get(A + "/keys"))


def test_limited_flood_does_not_stop_unlimited_traffic(stack):
    limited = setup(stack, token_fields={"daily_quota": 10**9})
    free = setup(stack)
    c = stack.main.client
    assert c.get(limited.path("v1/a"), token=limited.token).status == 200
    stop = threading.Event()
    lock = threading.Lock()
    flood = []

    def limited_client():
        while not stop.is_set():
            t0 = time.time()
            try:
                r = c.get(limited.path("v1/flood"), token=limited.token, timeout=60)
                item = (time.time() - t0, r.status, r.error_code())
            except Exception as e:  # noqa: B902 - a hang or a reset is a failure
                item = (time.time() - t0, None, repr(e))
            with lock:
                flood.append(item)

    served = []
    threads = [threading.Thread(target=limited_client, daemon=True)
               for _ in range(LIMITED_CLIENTS)]
    try:
        with frozen_database(stack):
            for t in threads:
                t.start()
            until = time.time() + FLOOD_S
            while time.time() < until:
                r, took = timed(c.get, free.path("v1/free"), token=free.token, timeout=60)
                assert r.status == 200, r
                assert took < DEADLINE_S, \
                    "an unlimited request took %.1f s behind %d limited ones" % (
                        took, LIMITED_CLIENTS)
                served.append(took)
                time.sleep(0.1)
            stop.set()
            for t in threads:
                t.join(60)
    finally:
        stop.set()
        wait_recovered(stack)
    assert len(served) >= 10, served
    with lock:
        results = list(flood)
    assert len(results) >= LIMITED_CLIENTS, len(results)
    bad = [x for x in results if x[1] not in (429, 503)
           or (x[1] == 503 and x[2] != "no_available_key")]
    assert not bad, bad[:5]
    wait_until(lambda: c.get(limited.path("v1/e"), token=limited.token).status == 200,
               timeout=RECOVERY_S, what="the limited token to be served again")


def test_a_token_quota_that_cannot_be_read_fails_fast(stack):
    """A client token with a daily_token_quota needs its tokens_today read
    for every request: with the database frozen it gets 503 at once."""
    s = setup(stack, usage_format="openai", token_fields={"daily_token_quota": 1000000})
    c = stack.main.client
    assert c.get(s.path("v1/a"), token=s.token).status == 200
    try:
        with frozen_database(stack):
            r, took = timed(c.get, s.path("v1/b"), token=s.token, timeout=60)
            assert took < DEADLINE_S, "the request took %.1f s" % took
            assert_json_error(r, 503, "no_available_key")
            assert "cannot be checked" in r.json()["error"]["message"], r
            assert r.header("Retry-After") == "1", r.headers
    finally:
        wait_recovered(stack)
    wait_until(lambda: c.get(s.path("v1/c"), token=s.token).status == 200,
               timeout=RECOVERY_S, what="the token to be served again")
