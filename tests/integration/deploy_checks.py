"""The smoke suite of the proxy and the admin API that every deployment of
the test_deploy_*.py files goes through (deploy_helpers.py makes the
sites)."""

import http.client
import time

import harness
from admin_helpers import A, assert_error, key_value, ok, uniq
from deploy_helpers import SETTLE_S, Client
from harness import Resp
from mock_upstream import Reply, json_reply
from proxy_helpers import parallel, read_events, wait_log_row
from rules_helpers import quiet_mock


# ---------------------------------------------------------------- the smoke suite

def quietly(fn):
    """Runs a check with the mock's tracebacks silenced (a gateway that
    drops an upstream connection makes the mock print one)."""
    def run(stack, *args, **kw):
        with quiet_mock(stack):
            return fn(stack, *args, **kw)
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


class Fixture:
    """An upstream on the mock, one key and a client token, all made
    through the site's admin API."""

    def __init__(self, up, key, token):
        self.up = up
        self.key = key
        self.token = token

    def path(self, rest=""):
        return "/proxy/%s/%s" % (self.up["name"], rest)


def fixture(stack, site):
    if site.fixture is None:
        up = ok(site.admin.post(A + "/upstreams", json={
            "name": uniq("dep"), "base_url": stack.mock.url}), 201)
        value = key_value("d")
        key = ok(site.admin.post(A + "/keys", json={"upstream_id": up["id"],
                                                    "key_value": value}), 201)
        key["value"] = value
        tok = ok(site.admin.post(A + "/tokens", json={"name": uniq("dtok")}), 201)["token"]
        time.sleep(SETTLE_S)
        site.fixture = Fixture(up, key, tok)
    return site.fixture


def check_healthz(stack, site):
    r = site.client.get("/healthz")
    assert r.status == 200, (r, site.describe())
    assert r.json() == {"status": "ok", "db": "ok"}, r
    assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    assert r.header("X-Gateway-Request-Id"), r.headers


def check_admin_authorization(stack, site):
    """Authorization reaches the application: with it the admin API
    answers, without it (or with a wrong one) 401."""
    r = site.admin.get(A + "/upstreams")
    assert r.status == 200, ("the admin token did not reach the application", r,
                             site.describe())
    assert isinstance(r.json()["items"], list), r
    r = site.client.get(A + "/upstreams")
    assert_error(r, 401, "unauthorized")
    r = site.client.get(A + "/upstreams", token="not-the-admin-token")
    assert_error(r, 401, "unauthorized")
    # The admin page is served from the web folder.
    r = site.client.get("/")
    assert r.status == 200 and b"<html" in r.body.lower(), r
    # Never inside another site's frame (the example's own headers).
    assert r.header("X-Frame-Options") == "DENY", (r, site.describe())
    assert r.header("Content-Security-Policy") == "frame-ancestors 'none'", r


def check_metrics(stack, site):
    r = site.client.get("/metrics")
    assert r.status == 200, (r, site.describe())
    assert b"# TYPE" in r.body, r.body[:300]


def _never_leaked(stack, token):
    for q in list(stack.mock.requests):
        blob = "%s %r %r" % (q.path, q.headers, q.body)
        assert token not in blob, "the client token reached the upstream: %r" % (q.headers,)


@quietly
def check_proxy_get_and_post(stack, site):
    """A proxied GET (token in Authorization) and POST (token in X-Api-Key,
    a binary body): the upstream sees the key, the body byte for byte, and
    never the client token; each request has its log row."""
    fx = fixture(stack, site)
    stack.mock.reset(lambda req: json_reply({"path": req.path, "method": req.method,
                                             "len": len(req.body)}))
    r = site.client.get(fx.path("v1/models?limit=2&x=%2F"), token=fx.token)
    assert r.status == 200, (r, site.describe())
    assert r.json() == {"path": "/v1/models?limit=2&x=%2F", "method": "GET", "len": 0}, r
    assert r.header("X-Gateway-Attempts") == "1", r.headers
    rid_get = r.header("X-Gateway-Request-Id")
    body = bytes(range(256)) * 64 + b"\x00\r\n\r\nend"
    r2 = site.client.post(fx.path("v1/upload"), token="", body=body,
                          headers={"X-Api-Key": fx.token,
                                   "Content-Type": "application/octet-stream"})
    assert r2.status == 200, (r2, site.describe())
    assert r2.json() == {"path": "/v1/upload", "method": "POST", "len": len(body)}, r2
    seen = list(stack.mock.requests)
    assert [q.method for q in seen] == ["GET", "POST"], seen
    for q in seen:
        assert q.header("Authorization") == "Bearer " + fx.key["value"], q.headers
        assert q.header("X-Api-Key") is None, q.headers
    assert seen[1].body == body
    assert seen[1].header("Content-Type") == "application/octet-stream"
    _never_leaked(stack, fx.token)
    # Each request has its log row, with the key and the token.
    row = wait_log_row(stack, r)
    assert row["request_id"] == rid_get
    assert (row["status"], row["upstream_id"], row["key_id"], row["method"]) == \
        (200, fx.up["id"], fx.key["id"], "GET"), row
    row = wait_log_row(stack, r2)
    assert (row["status"], row["method"], row["req_bytes"]) == (200, "POST", len(body)), row
    # Without a token: the contract's 401.
    r = site.client.get(fx.path("v1/models"))
    assert_error(r, 401, "unauthorized")


@quietly
def check_sse_streams(stack, site, n=5, pause=0.4, tolerance=0.35):
    """Server-Sent Events, 5 events 400 ms apart: each reaches the client
    within `tolerance` of being sent, long before the stream ends."""
    fx = fixture(stack, site)
    events = ['data: {"i": %d, "text": "token %d"}\n\n' % (i, i) for i in range(n)]
    stack.mock.reset(lambda req: Reply(
        chunks=[(0 if i == 0 else pause, e) for i, e in enumerate(events)],
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}))
    c = Client(site.port, fx.token, https=site.https)
    conn, resp = c.open_stream(fx.path("v1/chat/completions?stream=true"))
    try:
        assert resp.status == 200, (resp.status, resp.read()[:300], site.describe())
        assert (resp.getheader("Content-Type") or "").startswith("text/event-stream"), \
            resp.getheaders()
        got = read_events(resp, n)
        rest = resp.read()
    finally:
        conn.close()
    assert [e for _, e in got] == [e.encode() for e in events], got
    assert rest == b"", rest
    sent = list(stack.mock.sent_chunks)
    assert [d for _, d in sent] == [e.encode() for e in events], sent
    lags = [round(a - t, 3) for (a, _), (t, _) in zip(got, sent)]
    assert all(lag < tolerance for lag in lags), \
        "%s buffers the stream: event lags (s) %r" % (site.name, lags)
    # The first event arrived about 1.2 s before the last one was sent.
    assert sent[-1][0] - got[0][0] > (n - 1) * pause - tolerance - 0.1, (got, sent)
    _never_leaked(stack, fx.token)
    return lags


def check_invalid_path(stack, site):
    """A path that leaves the upstream's base gets the JSON 400, and nothing
    goes upstream."""
    fx = fixture(stack, site)
    stack.mock.reset()
    for rest in ("%2e%2e/admin", "v1/%2E%2E/%2e%2e/x", "a/%252e%252e/b"):
        r = site.client.get(fx.path(rest), token=fx.token)
        assert r.status == 400, (rest, r, site.describe())
        assert r.error_code() == "invalid_path", (rest, r)
        assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    assert stack.mock.requests == [], [q.path for q in stack.mock.requests]


def check_quota_exact(stack, site, concurrency=20, quota=5):
    """A key with daily_quota 5 under 20 concurrent requests: exactly 5
    succeed, the rest get 503 no_available_key."""
    up = ok(site.admin.post(A + "/upstreams", json={
        "name": uniq("depq"), "base_url": stack.mock.url}), 201)
    value = key_value("q")
    key = ok(site.admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": value,
                                                "daily_quota": quota}), 201)
    tok = ok(site.admin.post(A + "/tokens", json={"name": uniq("dtq")}), 201)["token"]
    time.sleep(SETTLE_S)
    stack.mock.reset()
    path = "/proxy/%s/v1/x" % up["name"]

    def one(i):
        r = site.client.get(path, token=tok, timeout=60)
        return r.status, r.error_code(), r.header("X-Gateway-Request-Id")

    res = parallel(one, range(concurrency), workers=concurrency)
    statuses = [x[0] for x in res]
    assert statuses.count(200) == quota and statuses.count(503) == concurrency - quota, \
        ({s: statuses.count(s) for s in set(statuses)}, res, site.describe())
    assert {x[1] for x in res if x[0] == 503} == {"no_available_key"}, res
    assert len(stack.mock.requests) == quota
    harness.wait_until(lambda: ok(site.admin.get(A + "/keys/%d" % key["id"]))["used_today"]
                       == quota, timeout=10, what="used_today == %d" % quota)


def check_rule_bans_and_retries(stack, site):
    """A rule (status 401 -> ban_key + retry): the bad key is banned with a
    key_events row and the request is answered by the other key."""
    up = ok(site.admin.post(A + "/upstreams", json={
        "name": uniq("depr"), "base_url": stack.mock.url, "max_retries": 1,
        "retry_backoff_ms": 10, "strategy": "random"}), 201)
    keys = []
    for tag in ("bad", "good"):
        value = key_value(tag[0])
        k = ok(site.admin.post(A + "/keys", json={"upstream_id": up["id"],
                                                  "key_value": value}), 201)
        k["value"] = value
        keys.append(k)
    bad, good = keys
    tok = ok(site.admin.post(A + "/tokens", json={"name": uniq("dtr")}), 201)["token"]
    name = uniq("dep-ban-401")
    rule = ok(site.admin.post(A + "/rules", json={
        "name": name, "upstream_id": up["id"],
        "condition": {"type": "status", "op": "eq", "value": 401},
        "actions": [{"type": "ban_key"}, {"type": "retry"}], "stop": True}), 201)

    def script(req):
        if req.header("Authorization") == "Bearer " + bad["value"]:
            return json_reply({"error": {"message": "Incorrect API key"}}, 401)
        return json_reply({"ok": True})

    stack.mock.reset(script)
    time.sleep(SETTLE_S)
    path = "/proxy/%s/v1/chat" % up["name"]
    hit = None
    for _ in range(30):
        before = len(stack.mock.requests)
        r = site.client.get(path, token=tok)
        assert r.status == 200 and r.json() == {"ok": True}, (r, site.describe())
        mine = [q.header("Authorization") for q in list(stack.mock.requests)[before:]]
        if "Bearer " + bad["value"] in mine:
            hit = r
            assert mine == ["Bearer " + bad["value"], "Bearer " + good["value"]], mine
            assert r.header("X-Gateway-Attempts") == "2", r.headers
            break
    assert hit is not None, "the bad key was never tried"
    k = ok(site.admin.get(A + "/keys/%d" % bad["id"]))
    assert k["status"] == "banned" and k["status_reason"] == name, k
    ev = ok(site.admin.get(A + "/keys/%d/events" % bad["id"]))["items"]
    assert len(ev) == 1, ev
    assert (ev[0]["from"], ev[0]["to"], ev[0]["rule_id"], ev[0]["request_id"]) == \
        ("active", "banned", rule["id"], hit.header("X-Gateway-Request-Id")), ev
    assert ok(site.admin.get(A + "/keys/%d" % good["id"]))["status"] == "active"
    # The banned key is not used again.
    before = len(stack.mock.requests)
    for _ in range(3):
        r = site.client.get(path, token=tok)
        assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r
    assert {q.header("Authorization") for q in list(stack.mock.requests)[before:]} == \
        {"Bearer " + good["value"]}
    stack.sql("DELETE FROM rules WHERE id = %d; UPDATE pool_version SET version = version + 1"
              % rule["id"])


@quietly
def check_repeated_requests(stack, site, n=30, delay=0.2):
    """n proxied requests one after the other, each answered after `delay`:
    every one succeeds (none is taken for a client that left)."""
    fx = fixture(stack, site)
    stack.mock.reset(lambda req: Reply(200, b'{"ok":true}', {"Content-Type": "application/json"},
                                       delay=delay))
    got = []
    for i in range(n):
        r = site.client.get(fx.path("v1/r/%d" % i), token=fx.token)
        got.append((r.status, r.body[:100], r.header("X-Gateway-Request-Id")))
    bad = [g for g in got if g[0] != 200]
    assert not bad, "%d of %d requests failed through %s: %r" % (len(bad), n, site.name, bad[:5])
    assert len(stack.mock.requests) == n


@quietly
def check_concurrent_streams(stack, site, n=16, pause=0.15, events=4, deadline=15):
    """n SSE streams at once (more than the application has threads): every
    one completes intact, none waits for a thread that never frees."""
    fx = fixture(stack, site)
    evs = ['data: {"i": %d}\n\n' % i for i in range(events)]
    stack.mock.reset(lambda req: Reply(
        chunks=[(pause, e) for e in evs],
        headers={"Content-Type": "text/event-stream"}))
    body = "".join(evs).encode()

    def one(i):
        t0 = time.time()
        try:
            r = site.client.get(fx.path("v1/chat?n=%d" % i), token=fx.token, timeout=deadline)
            return r.status, r.body == body, round(time.time() - t0, 2), r.body[:100]
        except OSError as e:
            return "no answer (%s)" % e.__class__.__name__, False, round(time.time() - t0, 2), b""

    for _round in range(2):
        res = parallel(one, range(n), workers=n)
        bad = [x for x in res if x[0] != 200 or not x[1]]
        assert not bad, "%d of %d concurrent streams failed through %s: %r" % (
            len(bad), n, site.name, bad[:6])


@quietly
def check_chunked_post(stack, site):
    """A request body sent with Transfer-Encoding: chunked (no
    Content-Length, as streaming SDKs send it) reaches the upstream byte
    for byte."""
    fx = fixture(stack, site)
    stack.mock.reset(lambda req: json_reply({"len": len(req.body)}))
    parts = [b'{"model": "m", ', b'"input": "' + b"x" * 5000 + b'"', b"}"]
    body = b"".join(parts)
    conn = site.client.connection(30)
    try:
        conn.putrequest("POST", fx.path("v1/chunked"), skip_accept_encoding=True, skip_host=True)
        conn.putheader("Host", "localhost")
        conn.putheader("Authorization", "Bearer " + fx.token)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for p in parts:
            conn.send(b"%x\r\n%s\r\n" % (len(p), p))
        conn.send(b"0\r\n\r\n")
        r = conn.getresponse()
        try:
            data = r.read()
        except http.client.IncompleteRead as e:
            data = b"(cut off) " + e.partial
        got = Resp(r.status, r.getheaders(), data)
    finally:
        conn.close()
    seen = [(q.method, len(q.body)) for q in stack.mock.requests]
    assert got.status == 200 and seen == [("POST", len(body))], \
        "chunked body through %s: answer %r, upstream saw %r" % (site.name, got, seen)
    assert stack.mock.requests[0].body == body
    assert got.json() == {"len": len(body)}, got


def post_oversized(client, path, token, size, send=True, timeout=30):
    """A POST declaring `size` bytes; with send, the body follows (the
    server may answer and close before it has all of it)."""
    conn = client.connection(timeout)
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True, skip_host=True)
        conn.putheader("Host", "localhost")
        conn.putheader("Authorization", "Bearer " + token)
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        if send:
            block = b"\0" * (1 << 20)
            try:
                for _ in range(size >> 20):
                    conn.send(block)
            except OSError:
                pass
        r = conn.getresponse()
        return Resp(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def check_oversized_body(stack, site, size=40 << 20, declared_only=True):
    """A body over the limits (40 MiB): the contract's JSON 413 and nothing
    sent upstream, whether the body is sent or only declared (a client
    waiting before it sends)."""
    fx = fixture(stack, site)
    stack.mock.reset()
    for send in ((True, False) if declared_only else (True,)):
        t0 = time.time()
        r = post_oversized(site.client, fx.path("v1/upload"), fx.token, size, send=send)
        what = "%d bytes %s" % (size, "sent" if send else "declared")
        assert r.status == 413, (what, r, site.describe())
        assert_error(r, 413, "body_too_large")
        assert time.time() - t0 < 10, (what, time.time() - t0)
    assert stack.mock.requests == [], [(q.method, len(q.body)) for q in stack.mock.requests]
