"""onRequest (issue 17): what a script sees of the client's request, each
change it may make (method, path, query, headers, body, json), what it may
not (the key's header, Host), the path guard, and answering the client
itself.  The script is set in SQL (script_helpers.py): the admin API's
`script` field is another engineer's part."""

import json

from mock_upstream import json_reply
from proxy_helpers import assert_json_error, setup, wait_log_row
from script_helpers import set_script

SEEN = r"""
function onRequest(req, ctx) {
  req.headers['x-seen'] = JSON.stringify({
    method: req.method, path: req.path, query: req.query, json: req.json,
    body: req.body, truncated: req.body_truncated,
    has_auth: 'authorization' in req.headers, has_host: 'host' in req.headers,
    token: ctx.token, upstream: ctx.upstream, rid: ctx.request_id,
    now: typeof ctx.now_ms});
}
"""


def test_req_shows_the_request_without_the_client_token(stack):
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], SEEN)
    r = stack.main.client.post(s.path("v1/chat?a=1&a=2&b=x%20y"), token=s.token,
                               json={"model": "m1"}, headers={"X-Client": "c"})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    seen = json.loads(q.header("X-Seen"))
    assert seen["method"] == "POST" and seen["path"] == "/v1/chat", seen
    assert seen["query"] == {"a": ["1", "2"], "b": ["x y"]}, seen
    assert seen["json"] == {"model": "m1"} and seen["truncated"] is False, seen
    assert json.loads(seen["body"]) == {"model": "m1"}, seen
    assert seen["has_auth"] is False and seen["has_host"] is False, seen
    assert seen["token"] == s.token_obj["name"] and seen["upstream"] == s.name, seen
    assert seen["rid"] == r.header("X-Gateway-Request-Id") and seen["now"] == "number", seen
    assert s.token not in q.header("X-Seen")
    # The key still goes in its header, as without a script.
    assert q.header("Authorization") == "Bearer " + s.keys[0]["value"]


CHANGE = r"""
function onRequest(req, ctx) {
  req.method = 'PUT';
  req.path = '/v2/renamed';
  req.query.added = ['1', 'two words'];
  delete req.query.drop;
  req.headers['x-added'] = 'yes';
  delete req.headers['x-drop'];
  req.headers['authorization'] = 'Bearer stolen';
  req.headers['host'] = 'evil.example';
  req.headers['connection'] = 'close, x-added';
  req.json.model = 'mapped-' + req.json.model;
}
"""


def test_every_req_change_reaches_the_upstream(stack):
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], CHANGE)
    r = stack.main.client.post(s.path("v1/chat?keep=k&drop=d"), token=s.token,
                               json={"model": "m1", "n": 2},
                               headers={"X-Drop": "1", "X-Keep": "2"})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.method == "PUT", q.method
    path, _, query = q.path.partition("?")
    assert path == "/v2/renamed", q.path
    assert sorted(query.split("&")) == ["added=1", "added=two%20words", "keep=k"], q.path
    assert q.header("X-Added") == "yes" and q.header("X-Keep") == "2", q.headers
    assert q.header("X-Drop") is None, q.headers
    # The key's injection header and Host cannot be set; nor hop-by-hop ones.
    assert q.header("Authorization") == "Bearer " + s.keys[0]["value"], q.headers
    assert q.header("Host") != "evil.example", q.headers
    assert q.header("Connection") in (None, "keep-alive"), q.headers
    body = json.loads(q.body)
    assert body == {"model": "mapped-m1", "n": 2}, q.body
    assert int(q.header("Content-Length")) == len(q.body), q.headers


def test_a_changed_body_string_replaces_the_body(stack):
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onRequest(req) { req.body = 'plain ' + req.body; }")
    r = stack.main.client.post(s.path("v1/x"), token=s.token, body=b"text",
                               headers={"Content-Type": "text/plain"})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.body == b"plain text", q.body
    assert q.header("Content-Type") == "text/plain", q.headers


def test_a_changed_path_still_goes_through_the_path_guard(stack):
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onRequest(req) { req.path = '/a/../../etc/passwd'; }")
    before = len(stack.mock.requests)
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 400, "invalid_path")
    assert len(stack.mock.requests) == before


def test_the_script_answers_itself(stack):
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], r"""
function onRequest(req, ctx) {
  if (req.path.indexOf('/blocked') === 0)
    return {status: 403, headers: {'x-why': 'blocked'}, body: {error: 'no ' + req.path}};
}""")
    before = len(stack.mock.requests)
    r = stack.main.client.get(s.path("blocked/x"), token=s.token)
    assert r.status == 403 and r.header("X-Why") == "blocked", r
    assert r.json() == {"error": "no /blocked/x"}, r
    assert len(stack.mock.requests) == before
    row = wait_log_row(stack, r)
    assert row["error"] == "script_answer" and row["status"] == 403, row
    # Other paths go on.
    stack.mock.script = lambda req: json_reply({"ok": True})
    assert stack.main.client.get(s.path("open/x"), token=s.token).status == 200
    # A status that cannot end a request is a malformed answer: with
    # script_fail open the request goes on to the upstream.
    set_script(stack, s.up["id"], "function onRequest() { return {status: 101}; }")
    before = len(stack.mock.requests)
    r = stack.main.client.get(s.path("open/y"), token=s.token)
    assert r.status == 200 and len(stack.mock.requests) == before + 1, r


def test_a_binary_body_the_script_does_not_touch_goes_unchanged(stack):
    # Bytes that are not UTF-8 are null to the script (the engine would read
    # them as other characters); a script that only sets a header must not
    # rewrite them.  A text body cut at the limit is cut on a character.
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onRequest(req) { req.headers['x-body'] ="
                                  " String(req.body === null); }")
    raw = b"\xff\xfe\xc0\xafbin\x00ary\x80"
    r = stack.main.client.post(s.path("v1/bin"), token=s.token, body=raw,
                               headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.body == raw and q.header("X-Body") == "true", (q.body, q.headers)
    text = "h\u00e9llo".encode()
    r = stack.main.client.post(s.path("v1/bin"), token=s.token, body=text,
                               headers={"Content-Type": "text/plain"})
    q = stack.mock.requests[-1]
    assert q.body == text and q.header("X-Body") == "false", (q.body, q.headers)
