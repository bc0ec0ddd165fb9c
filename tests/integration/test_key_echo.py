"""Pool keys that the upstream echoes never reach the client or a key's
history: the mock's /echo-key/ routes send the key they received back in a
response header, in a redirect's Location (a query-parameter upstream whose
redirect keeps the query), and in error bodies the gateway holds (as is,
JSON-escaped, percent-encoded, base64), and each must arrive masked."""

import base64
import json
import re
import urllib.parse

from mock_upstream import echo_key_reply, json_escaped_slash
from proxy_helpers import settle, setup, wait_key
from rules_helpers import create_rule, events, per_key, status_is, uniq


def _key(tag):
    """A key with '/' in it, which JSON encoders may escape."""
    return "lk/SLASH/SECRET-%s-%s" % (tag, uniq("k").replace("-", "")[-12:])


def _forms(value):
    """Every form of the key that must not be seen: as is, JSON-escaped,
    percent-encoded in either case, base64 (and pieces of 12 bytes)."""
    pct = urllib.parse.quote(value, safe="")
    forms = [value, json_escaped_slash(value), pct,
             re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), pct),
             base64.b64encode(value.encode()).decode()[:-4]]
    return forms + [value[:12], value[-12:]]


def _assert_clean(text, value, where):
    for f in _forms(value):
        assert f not in text, "%s carries the key as %r: %r" % (where, f, text)


def _utf8(header):
    """A header value as UTF-8 (http.client reads it as Latin-1)."""
    return None if header is None else header.encode("latin-1").decode("utf-8")


def _one(stack, tag, **fields):
    value = _key(tag)
    s = setup(stack, nkeys=1, key_fields={"value": value}, **fields)
    return s, s.keys[0]


def test_key_echoed_in_a_response_header_is_masked(stack):
    s, k = _one(stack, "hdr")
    r = stack.main.client.get(s.path("v1/echo-key/header"), token=s.token)
    assert r.status == 200, r
    assert stack.mock.requests[-1].header("Authorization") == "Bearer " + k["value"]
    echo = _utf8(r.header("X-Echo-Key"))
    assert echo == "got " + k["key_masked"], r.headers
    _assert_clean(json.dumps(r.headers), k["value"], "the response headers")


def test_key_in_a_redirect_location_is_masked(stack):
    s, k = _one(stack, "loc", auth_query_param="key")
    r = stack.main.client.get(s.path("v1/echo-key/redirect?a=1"), token=s.token)
    assert r.status == 302, r
    seen = stack.mock.requests[-1].path
    assert "key=" in seen, seen
    loc = _utf8(r.header("Location"))
    assert loc is not None and loc.startswith("http://127.0.0.1/next?"), r.headers
    assert "a=1" in loc and k["key_masked"] in urllib.parse.unquote(loc), loc
    _assert_clean(loc, k["value"], "Location")


def test_key_in_a_held_error_body_is_masked(stack):
    s, k = _one(stack, "err")
    r = stack.main.client.get(s.path("v1/echo-key/error"), token=s.token)
    assert r.status == 401, r
    assert r.json()["error"]["message"] == "Incorrect API key provided: " + k["key_masked"], r
    assert int(r.header("Content-Length") or len(r.body)) == len(r.body), r.headers
    _assert_clean(r.text, k["value"], "the error body")


def test_every_form_in_an_error_body_is_masked(stack):
    s, k = _one(stack, "forms")
    r = stack.main.client.get(s.path("v1/echo-key/error-forms"), token=s.token)
    assert r.status == 400, r
    lines = r.text.split("\n")
    assert len(lines) == 5, r.text
    assert lines[:4] == [k["key_masked"]] * 4, lines
    assert lines[4].startswith(k["key_masked"]), lines
    _assert_clean(r.text, k["value"], "the error body")


def test_json_escaped_key_in_a_banning_answer_stays_out_of_events(stack):
    # Two keys, since the upstream-wide guard lets no rule ban the only key
    # of an upstream; only the one with '/' is answered with the echo.
    value = _key("ban")
    s = setup(stack, nkeys=2, key_fields=[{"value": value}, {}])
    k = s.keys[0]
    name = uniq("ban-echo")
    create_rule(stack, name=name, upstream_id=s.up["id"], condition=status_is(401),
                actions=[{"type": "ban_key"}], stop=True)
    stack.mock.script = per_key({value: lambda req: echo_key_reply(req, "error-json")})
    settle()
    for _ in range(3):
        r = stack.main.client.get(s.path("v1/echo-key/any"), token=s.token)
        if r.status == 401:
            break
    assert r.status == 401, r
    wait_key(stack, k["id"], status="banned")
    ev = events(stack, k["id"])
    assert len(ev) == 1 and ev[0]["reason"] == name, ev
    assert k["key_masked"] in ev[0]["excerpt"], ev[0]["excerpt"]
    raw = stack.main.admin.get("/api/admin/keys/%d/events" % k["id"]).text
    _assert_clean(raw, value, "GET /api/admin/keys/{id}/events")
    _assert_clean(json.dumps(ev), value, "the events")
    _assert_clean(r.text, value, "the client's answer")


def test_saved_answer_of_retried_attempts_is_masked(stack):
    # Every key answers 401 with its echo and a rule retries it: once the
    # keys run out, the client gets the last answer that was retried away.
    values = [_key("saved-a"), _key("saved-b")]
    s = setup(stack, nkeys=2, key_fields=[{"value": v} for v in values], max_retries=3,
              retry_backoff_ms=10)
    create_rule(stack, name=uniq("retry-echo"), upstream_id=s.up["id"],
                condition=status_is(401), actions=[{"type": "retry"}], stop=True)
    settle()
    r = stack.main.client.get(s.path("v1/echo-key/error-json"), token=s.token)
    assert r.status == 401, r
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    seen = [q for q in stack.mock.requests if "/echo-key/" in q.path]
    assert len(seen) == 2, [q.path for q in seen]
    msg = r.json()["error"]["message"]
    assert msg.startswith("Incorrect API key provided: ") and "\u2026" in msg, msg
    assert int(r.header("Content-Length") or len(r.body)) == len(r.body), r.headers
    for v in values:
        _assert_clean(r.text, v, "the saved answer")
        _assert_clean(json.dumps(r.headers), v, "the saved answer's headers")


def test_error_body_larger_than_the_limit_is_masked_where_held(stack):
    # The first rule_body_limit bytes are held (and masked); the rest
    # streams on as it comes, so the masked answer has no Content-Length.
    s, k = _one(stack, "big")
    r = stack.main.client.get(s.path("v1/echo-key/error-big"), token=s.token)
    assert r.status == 401, r
    first, _, rest = r.body.partition(b"\n")
    assert first.decode() == "bad key " + k["key_masked"], first
    assert rest == b"x" * 100000 + b"\nend", len(rest)
    _assert_clean(r.text, k["value"], "the error body")
