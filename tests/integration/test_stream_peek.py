"""Judging the first event of a stream (issue 18, stream_peek): a 2xx
text/event-stream answer is held until its first event with data, until
`bytes` are held or `ms` have passed; the body rules and onResponse judge
what is held and may still retry on another key before the client sees a
byte.  Other answers go as before; the field is checked member by member."""

import socket
import time

from admin_helpers import A, assert_error, ok
from mock_upstream import Reply, json_reply
from proxy_helpers import (get_key, make_upstream, open_stream, patch_upstream, read_events,
                           setup, wait_key, wait_log_row)
from rules_helpers import create_rule, log_rules, rid, seen_keys, settle, status_is, uniq
from script_helpers import set_script

SSE = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
RETRY = {"type": "retry"}
ERROR_EVENT = 'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
GOOD = ["data: {\"i\": %d}\n\n" % i for i in range(3)] + ["data: [DONE]\n\n"]
# A rule for an in-band error in the first event (docs/RULES.md).
IN_BAND_ERROR = {"all": [status_is(200),
                         {"type": "header", "name": "content-type", "op": "contains",
                          "value": "text/event-stream"},
                         {"type": "body_regex", "pattern": "(?m)^data: ?\\{\\s*\"error\""}]}
# A stream that ended without any event: the peek ended with the answer.
EMPTY_STREAM = {"all": [{"type": "header", "name": "x-gateway-peek", "op": "eq", "value": "end"},
                        {"not": {"type": "body_regex", "pattern": "(?m)^data"}}]}


def _first_then(first, then):
    """A mock script: the first request gets first, every later one then."""
    n = [0]

    def script(req):
        n[0] += 1
        return first if n[0] == 1 else then
    return script


def _sse(events, pauses=None):
    pauses = pauses or [0] * len(events)
    return Reply(chunks=list(zip(pauses, events)), headers=SSE)


def _read_all(stack, s, path="v1/chat?stream=true"):
    """The whole streamed answer, read as it comes: (response, [(t, bytes)])."""
    conn, resp = open_stream(stack.main.port, s.path(path), token=s.token)
    try:
        parts = []
        while True:
            data = resp.read1(65536)
            if not data:
                break
            parts.append((time.time(), data))
        return resp, parts
    finally:
        conn.close()


def _body(parts):
    return b"".join(d for _, d in parts)


def test_in_band_error_event_is_retried_on_another_key(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5, auto_disable_max_pct=100,
              stream_peek={"bytes": 4096, "ms": 2000})
    name = uniq("in-band-error")
    create_rule(stack, name=name, upstream_id=s.up["id"], condition=IN_BAND_ERROR,
                actions=[{"type": "disable_key", "duration_s": 300}, RETRY])
    bad = _sse([": ping\n\n", ERROR_EVENT, "data: [DONE]\n\n"], [0, 0.05, 0.05])
    stack.mock.script = _first_then(bad, _sse(GOOD))
    settle()
    resp, parts = _read_all(stack, s)
    assert resp.status == 200, resp.status
    assert resp.getheader("X-Gateway-Attempts") == "2", resp.getheaders()
    assert resp.getheader("x-gateway-peek") is None, resp.getheaders()
    assert _body(parts) == "".join(GOOD).encode(), _body(parts)
    keys = seen_keys(stack)
    assert len(keys) == 2 and keys[0] != keys[1], keys
    first = s.key_by_value(keys[0])
    k = wait_key(stack, first["id"], status="disabled")
    assert k["status_reason"] == name, k
    assert get_key(stack, s.key_by_value(keys[1])["id"])["status"] == "active"
    row = wait_log_row(stack, _Resp(resp))
    assert (row["status"], row["attempts"]) == (200, 2), row
    assert log_rules(stack, row["request_id"])[0] == [name]


class _Resp:
    """An http.client response as wait_log_row wants it."""

    def __init__(self, resp):
        self.resp = resp

        self.headers = resp.getheaders()

    def header(self, name):
        return self.resp.getheader(name)


def test_without_stream_peek_the_error_event_goes_out(stack):
    # The same stream and rule without the field: the rule can only act
    # after the answer went out (shows the test above tests the peek).
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5, auto_disable_max_pct=100)
    create_rule(stack, name=uniq("in-band-error"), upstream_id=s.up["id"],
                condition=IN_BAND_ERROR, actions=[RETRY])
    stack.mock.script = _first_then(_sse([ERROR_EVENT]), _sse(GOOD))
    settle()
    resp, parts = _read_all(stack, s)
    assert resp.getheader("X-Gateway-Attempts") == "1"
    assert _body(parts) == ERROR_EVENT.encode()


def test_empty_stream_is_retried(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5,
              stream_peek={"bytes": 0, "ms": 3000})
    create_rule(stack, name=uniq("empty-stream"), upstream_id=s.up["id"],
                condition=EMPTY_STREAM, actions=[RETRY])
    stack.mock.script = _first_then(_sse([": keep-alive\n\n"]), _sse(GOOD))
    settle()
    resp, parts = _read_all(stack, s)
    assert resp.status == 200
    assert resp.getheader("X-Gateway-Attempts") == "2", resp.getheaders()
    assert _body(parts) == "".join(GOOD).encode()
    # With no bytes at all.
    stack.mock.script = _first_then(_sse([]), _sse(GOOD))
    resp, parts = _read_all(stack, s)
    assert resp.getheader("X-Gateway-Attempts") == "2", resp.getheaders()
    assert _body(parts) == "".join(GOOD).encode()
    # An answer to HEAD has no events: it is not peeked, so not taken for
    # an empty stream.
    stack.mock.script = lambda req: Reply(200, b"", SSE)
    r = stack.main.client.request("HEAD", s.path("v1/chat"), token=s.token)
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r


def test_bytes_limit_ends_the_peek(stack):
    s = setup(stack, nkeys=1, stream_peek={"bytes": 10, "ms": 0})
    set_script(stack, s.up["id"], r"""
function onResponse(res) {
  return {log: 'peek ' + res.headers['x-gateway-peek'] + ' ' + res.body.length + ' ' + res.body};
}""")
    long_line = "data: " + "x" * 100 + "\n"
    events = [long_line, "\n", "data: b\n\n"]
    stack.mock.script = lambda req: _sse(events, [0, 0.6, 0.1])
    resp, parts = _read_all(stack, s)
    assert resp.status == 200 and resp.getheader("X-Gateway-Attempts") == "1"
    assert _body(parts) == "".join(events).encode()
    sent = list(stack.mock.sent_chunks)
    # The held ten bytes (and the rest of that read) went out before the
    # event's blank line was sent: the peek did not wait for the event.
    early = b"".join(d for t, d in parts if t < sent[1][0])
    assert early == long_line.encode(), (early, parts, sent)
    _, messages = log_rules(stack, rid(_Resp(resp)))
    assert messages == ["peek bytes 10 data: xxxx"], messages


def test_ms_limit_sends_what_is_held_and_judges_it(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5,
              stream_peek={"bytes": 4096, "ms": 300})
    # The empty-stream rule must not take a slow stream for an empty one.
    create_rule(stack, name=uniq("empty-stream"), upstream_id=s.up["id"],
                condition=EMPTY_STREAM, actions=[RETRY])
    set_script(stack, s.up["id"], r"""
function onResponse(res) {
  return {log: 'peek ' + res.headers['x-gateway-peek'] + ' ' + res.body.replace(/\n/g, '|')};
}""")
    events = [": ping\n\n", "data: late\n\n", "data: 2\n\n"]
    stack.mock.script = lambda req: _sse(events, [0, 1.5, 0.2])
    resp, parts = _read_all(stack, s)
    assert resp.status == 200 and resp.getheader("X-Gateway-Attempts") == "1"
    assert _body(parts) == "".join(events).encode(), _body(parts)
    sent = list(stack.mock.sent_chunks)
    # The comment came out at the deadline, well before the late event.
    assert parts[0][1] == b": ping\n\n", parts
    assert parts[0][0] < sent[1][0] - 0.6, (parts[0][0], sent[1][0])
    assert len(seen_keys(stack)) == 1
    _, messages = log_rules(stack, rid(_Resp(resp)))
    assert messages == ["peek ms : ping||"], messages


def test_ms_limit_with_nothing_held(stack):
    s = setup(stack, nkeys=1, stream_peek={"bytes": 0, "ms": 200})
    set_script(stack, s.up["id"], r"""
function onResponse(res) {
  return {log: 'peek ' + res.headers['x-gateway-peek'] + ' ' + res.body.length};
}""")
    events = ["data: slow\n\n", "data: 2\n\n"]
    stack.mock.script = lambda req: _sse(events, [1.0, 0.3])
    conn, resp = open_stream(stack.main.port, s.path("v1/chat"), token=s.token)
    try:
        assert resp.status == 200
        got = read_events(resp, 2)
        assert resp.read() == b""
    finally:
        conn.close()
    assert [e for _, e in got] == [e.encode() for e in events]
    # Judged at the deadline on nothing; the late event then flows at once.
    sent = list(stack.mock.sent_chunks)
    lags = [round(a - t, 4) for (a, _), (t, _) in zip(got, sent)]
    assert all(lag < 0.2 for lag in lags), "event lags (s): %r" % lags
    _, messages = log_rules(stack, rid(_Resp(resp)))
    assert messages == ["peek ms 0"], messages


def test_later_events_are_not_delayed(stack):
    s = setup(stack, nkeys=1, stream_peek={"bytes": 4096, "ms": 5000})
    events = [": ping\n\n"] + ["data: {\"i\": %d}\n\n" % i for i in range(5)]
    pauses = [0, 0.1, 0.3, 0.3, 0.4, 0.3]
    stack.mock.script = lambda req: _sse(events, pauses)
    conn, resp = open_stream(stack.main.port, s.path("v1/chat"), token=s.token)
    try:
        assert resp.status == 200
        got = read_events(resp, len(events))
        assert resp.read() == b""
    finally:
        conn.close()
    sent = list(stack.mock.sent_chunks)
    assert [e for _, e in got] == [e.encode() for e in events], got
    # The comment is held with the first event and goes out with it.
    assert got[0][0] >= sent[1][0], (got[0][0], sent[1][0])
    lags = [round(a - t, 4) for (a, _), (t, _) in zip(got[1:], sent[1:])]
    assert all(lag < 0.2 for lag in lags), "event lags (s): %r" % lags
    # The pauses are kept after the peek.
    assert got[4][0] - got[3][0] > 0.3, got


def test_non_sse_2xx_and_4xx_are_unaffected(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5,
              stream_peek={"bytes": 4096, "ms": 5000})
    create_rule(stack, name=uniq("in-band-error"), upstream_id=s.up["id"],
                condition={"any": [IN_BAND_ERROR,
                                   {"all": [status_is(200),
                                            {"type": "body_contains", "value": "error"}]}]},
                actions=[RETRY])
    name = uniq("peek-seen")
    create_rule(stack, name=name, upstream_id=s.up["id"],
                condition={"all": [{"type": "header", "name": "x-gateway-peek", "op": "exists"},
                                   {"type": "body_regex", "pattern": "."}]},
                actions=[{"type": "log", "message": "peeked"}])
    settle()
    # ndjson streams as before: the first line is not held for the next.
    lines = ['{"error": 1}\n', '{"n": 2}\n']
    stack.mock.script = lambda req: Reply(chunks=[(0, lines[0]), (0.6, lines[1])],
                                          headers={"Content-Type": "application/x-ndjson"})
    resp, parts = _read_all(stack, s)
    assert resp.getheader("X-Gateway-Attempts") == "1"
    assert _body(parts) == "".join(lines).encode()
    assert parts[0][0] < list(stack.mock.sent_chunks)[1][0]
    # A JSON 200 with "error" in it: the body rule acts after it went out.
    stack.mock.script = lambda req: json_reply({"error": "in json"})
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r
    # A 400 event stream is held and judged as an error answer, not peeked.
    stack.mock.script = lambda req: Reply(400, ERROR_EVENT, SSE)
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 400 and r.body == ERROR_EVENT.encode(), r
    assert r.header("X-Gateway-Attempts") == "1", r
    assert name not in (log_rules(stack, rid(r))[0] or [])


def test_peeked_bytes_are_masked(stack):
    s = setup(stack, nkeys=1, stream_peek={"bytes": 4096, "ms": 2000})
    value = s.keys[0]["value"]
    stack.mock.script = lambda req: _sse(["data: key %s\n\n" % value, "data: ok\n\n"])
    resp, parts = _read_all(stack, s)
    body = _body(parts)
    assert resp.status == 200
    assert value.encode() not in body, body
    assert body.endswith(b"data: ok\n\n"), body


def test_client_leaving_during_the_peek(stack):
    s = setup(stack, nkeys=1, stream_peek={"bytes": 4096, "ms": 10000})
    stack.mock.script = lambda req: _sse([": ping\n\n", "data: late\n\n"], [0, 3.0])
    conn = socket.create_connection(("127.0.0.1", stack.main.port), timeout=5)
    conn.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                  % (s.path("v1/chat"), s.token)).encode())
    time.sleep(0.4)
    conn.close()
    # The gateway goes on serving.
    stack.mock.script = lambda req: _sse(GOOD)
    resp, parts = _read_all(stack, s)
    assert resp.status == 200 and _body(parts) == "".join(GOOD).encode()


def test_onresponse_sees_the_peeked_event(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5,
              stream_peek={"bytes": 4096, "ms": 2000})
    set_script(stack, s.up["id"], r"""
function onResponse(res) {
  if (res.body.indexOf('error') >= 0) return {action: 'retry'};
}""")
    stack.mock.script = _first_then(_sse([ERROR_EVENT, "data: [DONE]\n\n"], [0, 0.05]),
                                    _sse(GOOD))
    resp, parts = _read_all(stack, s)
    assert resp.status == 200
    assert resp.getheader("X-Gateway-Attempts") == "2", resp.getheaders()
    assert _body(parts) == "".join(GOOD).encode()
    row = wait_log_row(stack, _Resp(resp))
    assert row["attempts"] == 2, row


# ---------------------------------------------------------------- the field

def test_stream_peek_field_is_checked(stack):
    up = make_upstream(stack)
    assert up["stream_peek"] is None, up
    bad = [("x", "stream_peek"), ([1, 2], "stream_peek"), (True, "stream_peek"),
           ({"bytes": 65537, "ms": 0}, "stream_peek.bytes"),
           ({"bytes": -1, "ms": 0}, "stream_peek.bytes"),
           ({"bytes": 1.5, "ms": 0}, "stream_peek.bytes"),
           ({"bytes": "10", "ms": 0}, "stream_peek.bytes"),
           ({"bytes": 10, "ms": 10001}, "stream_peek.ms"),
           ({"bytes": 10, "ms": None}, "stream_peek.ms"),
           ({"bytes": 10}, "stream_peek.ms"),
           ({"ms": 10}, "stream_peek.bytes"),
           ({"bytes": 1, "ms": 1, "lines": 2}, "stream_peek.lines")]
    for value, field in bad:
        r = stack.main.admin.patch(A + "/upstreams/%d" % up["id"], json={"stream_peek": value})
        assert_error(r, 400, "invalid_field", field)
        r = stack.main.admin.post(A + "/upstreams", json={
            "name": uniq("up"), "base_url": stack.mock.url, "stream_peek": value})
        assert_error(r, 400, "invalid_field", field)
    got = patch_upstream(stack, up["id"], stream_peek={"bytes": 65536, "ms": 10000})
    assert got["stream_peek"] == {"bytes": 65536, "ms": 10000}, got
    assert ok(stack.main.admin.get(A + "/upstreams/%d" % up["id"]))["stream_peek"] == \
        {"bytes": 65536, "ms": 10000}
    got = patch_upstream(stack, up["id"], stream_peek={"bytes": 0, "ms": 0})
    assert got["stream_peek"] == {"bytes": 0, "ms": 0}, got
    got = patch_upstream(stack, up["id"], stream_peek=None)
    assert got["stream_peek"] is None, got
    up2 = make_upstream(stack, stream_peek={"ms": 250, "bytes": 0})
    assert up2["stream_peek"] == {"ms": 250, "bytes": 0}, up2
