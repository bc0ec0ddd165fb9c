"""Bodies both ways: a 5 MiB binary request, a 20 MiB response byte for
byte, Server-Sent Events and chunked bodies streamed as they come,
redirects passed back, every method."""

import hashlib
import json
import os

from mock_upstream import Reply, json_reply
from proxy_helpers import open_stream, read_events, setup, wait_log_row

MiB = 1 << 20


def _sha(b):
    return hashlib.sha256(b).hexdigest()


def test_5mib_binary_request_body_arrives_byte_for_byte(stack):
    s = setup(stack)
    body = os.urandom(5 * MiB) + b"\x00\r\n\xff"
    stack.mock.script = lambda req: json_reply({"sha": _sha(req.body), "len": len(req.body)})
    r = stack.main.client.post(s.path("v1/upload"), token=s.token, body=body,
                               headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200, r
    assert r.json() == {"sha": _sha(body), "len": len(body)}
    q = stack.mock.requests[0]
    assert q.method == "POST" and q.body == body
    assert q.header("Content-Type") == "application/octet-stream"
    row = wait_log_row(stack, r)
    assert row["req_bytes"] == len(body), row


def test_20mib_response_arrives_byte_for_byte(stack):
    s = setup(stack)
    big = os.urandom(20 * MiB)
    stack.mock.script = lambda req: Reply(body=big, headers={
        "Content-Type": "application/octet-stream"})
    r = stack.main.client.get(s.path("v1/download"), token=s.token, timeout=120)
    assert r.status == 200, r.status
    assert len(r.body) == len(big) and _sha(r.body) == _sha(big)
    assert r.header("Content-Type") == "application/octet-stream"
    row = wait_log_row(stack, r)
    assert row["resp_bytes"] == len(big), row


def test_20mib_chunked_response_arrives_byte_for_byte(stack):
    s = setup(stack)
    parts = [os.urandom(MiB) for _ in range(20)]
    stack.mock.script = lambda req: Reply(chunks=[(0, p) for p in parts], headers={
        "Content-Type": "application/octet-stream"})
    r = stack.main.client.get(s.path("v1/download"), token=s.token, timeout=120)
    assert r.status == 200, r.status
    whole = b"".join(parts)
    assert len(r.body) == len(whole) and _sha(r.body) == _sha(whole)


def _check_timing(stack, got, events, tolerance=0.05):
    sent = list(stack.mock.sent_chunks)
    assert [e for _, e in got] == [e.encode() for e in events], got
    assert [d for _, d in sent] == [e.encode() for e in events], sent
    lags = [round(a - t, 4) for (a, _), (t, _) in zip(got, sent)]
    assert all(lag < tolerance for lag in lags), "event lags (s): %r" % lags
    return lags


def test_sse_events_arrive_as_sent(stack):
    s = setup(stack)
    events = ["data: {\"i\": %d}\n\n" % i for i in range(6)]
    pauses = [0, 0.25, 0.25, 0.4, 0.1, 0.3]
    stack.mock.script = lambda req: Reply(
        chunks=list(zip(pauses, events)),
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    conn, resp = open_stream(stack.main.port, s.path("v1/chat/completions?stream=true"),
                             token=s.token)
    try:
        assert resp.status == 200
        assert resp.getheader("Content-Type") == "text/event-stream"
        assert resp.getheader("X-Gateway-Attempts") == "1"
        got = read_events(resp, len(events))
        assert resp.read() == b""
    finally:
        conn.close()
    _check_timing(stack, got, events)
    # The pauses are kept, not squashed into one delivery at the end.
    assert got[3][0] - got[2][0] > 0.3, got


def test_chunked_body_streams_as_sent(stack):
    s = setup(stack)
    lines = ['{"n": %d}\n' % i for i in range(5)]
    stack.mock.script = lambda req: Reply(
        chunks=[(0 if i == 0 else 0.25, ln) for i, ln in enumerate(lines)],
        headers={"Content-Type": "application/x-ndjson"})
    conn, resp = open_stream(stack.main.port, s.path("v1/stream"), token=s.token)
    try:
        assert resp.status == 200
        got = read_events(resp, len(lines), sep=b"\n")
    finally:
        conn.close()
    _check_timing(stack, got, lines)


def test_redirects_are_passed_back_not_followed(stack):
    s = setup(stack)
    target = stack.mock.url + "/elsewhere?x=1"

    def script(req):
        if req.path.startswith("/elsewhere"):
            return json_reply({"followed": True})
        code = 307 if req.method == "POST" else 302
        return Reply(code, b"moved", {"Location": target, "Content-Type": "text/plain"})

    stack.mock.script = script
    r = stack.main.client.get(s.path("v1/old"), token=s.token)
    assert r.status == 302, r
    assert r.header("Location") == target
    assert r.body == b"moved"
    assert r.header("X-Gateway-Attempts") == "1"
    r = stack.main.client.post(s.path("v1/old"), token=s.token, json={"a": 1})
    assert r.status == 307, r
    assert r.header("Location") == target
    assert [q.path for q in stack.mock.requests] == ["/v1/old", "/v1/old"]


def test_every_method_and_body_pass_through(stack):
    s = setup(stack)

    def script(req):
        return json_reply({"method": req.method, "body": req.body.decode("latin-1")},
                          headers={"X-Seen-Method": req.method})

    stack.mock.script = script
    c = stack.main.client
    for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        body = None if m == "GET" else ("body of %s" % m).encode()
        r = c.request(m, s.path("v1/res/1"), token=s.token, body=body)
        assert r.status == 200, (m, r)
        assert json.loads(r.body) == {"method": m, "body": (body or b"").decode()}, (m, r)
        q = stack.mock.requests[-1]
        assert q.method == m and q.body == (body or b""), (m, q.method, q.body)
    r = c.request("HEAD", s.path("v1/res/1"), token=s.token)
    assert r.status == 200 and r.body == b""
    assert r.header("X-Seen-Method") == "HEAD"
    assert stack.mock.requests[-1].method == "HEAD"
