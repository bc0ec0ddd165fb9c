"""Model allow-list, model map and body overrides (issue 20): a request
whose model no pattern of model_allow matches is refused before any
attempt; model_map sends the real model for an alias (JSON body and the
Gemini-style path segment); body_set sets fields in JSON bodies, with a
Content-Length that fits; other bodies pass unchanged; the log has the
model asked for and the model sent; bad fields are refused on save."""

import json

import harness  # noqa: F401  (puts scripts/ on the path)
from admin_helpers import A, assert_error
from mock_upstream import Reply
from proxy_helpers import assert_json_error, make_upstream, setup, wait_log_row


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def _post(stack, s, rest, body):
    return stack.main.client.post(s.path(rest), json=body, token=s.token)


def _sent(stack):
    """The last request the mock received, its body parsed by the length it
    was sent with."""
    q = stack.mock.requests[-1]
    assert int(q.header("Content-Length")) == len(q.body), (q.headers, q.body)
    return q, json.loads(q.body)


def test_a_model_not_allowed_is_refused_before_any_attempt(stack):
    stack.mock.reset(_ok)
    s = setup(stack, model_allow=["gpt-4o*", "claude-3-5-sonnet"])
    assert s.up["model_allow"] == ["gpt-4o*", "claude-3-5-sonnet"]
    seen = len(stack.mock.requests)
    r = _post(stack, s, "v1/chat/completions", {"model": "claude-3-opus", "messages": []})
    assert_json_error(r, 403, "model_not_allowed")
    msg = r.json()["error"]["message"]
    assert "claude-3-opus" in msg and s.name in msg, msg
    assert len(stack.mock.requests) == seen
    row = wait_log_row(stack, r)
    assert row["status"] == 403 and row["attempts"] == 0, row
    assert row["model_requested"] == "claude-3-opus", row
    # A Gemini-style path names the model too.
    r = stack.main.client.post(s.path("v1beta/models/gemini-pro:generateContent"),
                               json={"contents": []}, token=s.token)
    assert_json_error(r, 403, "model_not_allowed")
    assert len(stack.mock.requests) == seen
    # A request that names no model at all is refused (400).
    r = stack.main.client.post(s.path("v1/chat/completions"), body=b"hello",
                               headers={"Content-Type": "text/plain"}, token=s.token)
    assert_json_error(r, 400, "invalid_field")
    assert "names no model" in r.json()["error"]["message"], r.json()
    assert len(stack.mock.requests) == seen
    # The path's model is checked even when the body names an allowed one.
    r = stack.main.client.post(s.path("v1beta/models/gemini-pro:generateContent"),
                               json={"model": "gpt-4o"}, token=s.token)
    assert_json_error(r, 403, "model_not_allowed")
    assert "gemini-pro" in r.json()["error"]["message"]
    assert len(stack.mock.requests) == seen


def test_allowed_models_pass(stack):
    stack.mock.reset(_ok)
    s = setup(stack, model_allow=["gpt-4o*", "claude-3-5-sonnet"])
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    r = _post(stack, s, "v1/chat/completions", body)
    assert r.status == 200, r
    q, got = _sent(stack)
    assert got == body
    r = stack.main.client.post(s.path("v1beta/models/gpt-4o:generateContent"),
                               json={"contents": []}, token=s.token)
    assert r.status == 200, r
    row = wait_log_row(stack, r)
    assert row["model_requested"] == "gpt-4o", row
    # Without a body and a /models/ segment there is no model to check.
    r = stack.main.client.get(s.path("v1/models"), token=s.token)
    assert r.status == 200, r


def test_model_map_rewrites_the_body_and_the_path(stack):
    stack.mock.reset(_ok)
    s = setup(stack, model_allow=["fast", "flash"],
              model_map={"fast": "gpt-4o-mini", "flash": "gemini-2.0-flash"})
    r = _post(stack, s, "v1/chat/completions", {"model": "fast", "messages": [], "n": 1})
    assert r.status == 200, r
    q, got = _sent(stack)
    assert got == {"model": "gpt-4o-mini", "messages": [], "n": 1}, got
    row = wait_log_row(stack, r)
    assert row["model_requested"] == "fast" and row["model"] == "gpt-4o-mini", row
    r = stack.main.client.post(s.path("v1beta/models/flash:generateContent?alt=sse"),
                               json={"contents": []}, token=s.token)
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.path == "/v1beta/models/gemini-2.0-flash:generateContent?alt=sse", q.path
    row = wait_log_row(stack, r)
    assert row["model_requested"] == "flash" and row["model"] == "gemini-2.0-flash", row
    # A model the map does not name goes as it is (allow-list permitting).
    s2 = setup(stack, model_map={"fast": "gpt-4o-mini"})
    r = _post(stack, s2, "v1/chat", {"model": "gpt-4o"})
    assert r.status == 200 and _sent(stack)[1] == {"model": "gpt-4o"}


def test_body_set_adds_nested_fields(stack):
    stack.mock.reset(_ok)
    s = setup(stack, body_set={"$.stream_options.include_usage": True, "$.temperature": 0,
                               "$['metadata']['via']": "gateway"})
    r = _post(stack, s, "v1/chat/completions",
              {"model": "m", "stream_options": {"x": 1}, "temperature": 0.9})
    assert r.status == 200, r
    _, got = _sent(stack)
    assert got == {"model": "m", "stream_options": {"x": 1, "include_usage": True},
                   "temperature": 0, "metadata": {"via": "gateway"}}, got
    row = wait_log_row(stack, r)
    # Neither model_allow nor model_map: the model is not looked for.
    assert row["model_requested"] is None, row


def test_other_bodies_pass_unchanged(stack):
    stack.mock.reset(_ok)
    s = setup(stack, model_map={"fast": "gpt-4o-mini"},
              body_set={"$.stream_options.include_usage": True})
    raw = b'{"model": "fast", "keep":   "spacing"}'
    r = stack.main.client.post(s.path("v1/x"), body=raw,
                               headers={"Content-Type": "text/plain"}, token=s.token)
    assert r.status == 200, r
    assert stack.mock.requests[-1].body == raw
    # A JSON array is JSON, but has no members to set.
    r = stack.main.client.post(s.path("v1/x"), body=b"[1, 2]",
                               headers={"Content-Type": "application/json"}, token=s.token)
    assert r.status == 200 and stack.mock.requests[-1].body == b"[1, 2]"
    # A GET without a body stays without one.
    r = stack.main.client.get(s.path("v1/models"), token=s.token)
    assert r.status == 200 and stack.mock.requests[-1].body == b""


def test_bad_fields_are_refused_on_save(stack):
    def refused(field, want, **fields):
        body = {"name": "shape-bad", "base_url": stack.mock.url}
        body.update(fields)
        r = stack.main.admin.post(A + "/upstreams", json=body)
        assert_error(r, 400, "invalid_field", field)
        assert want in r.json()["error"]["message"], r.json()

    refused("model_allow", "must be", model_allow="gpt-4o")
    refused("model_allow[1]", "pattern", model_allow=["ok", ""])
    refused("model_allow", "at most 64", model_allow=["m%d" % i for i in range(65)])
    refused("model_map", "alias", model_map={"fast": 5})
    refused("model_map", "must be an object", model_map=["a"])
    refused("body_set", "only a chain of member names", body_set={"$.messages[0].role": "x"})
    refused("body_set", "only a chain of member names", body_set={"$": {}})
    refused("body_set", "body_set", body_set={"no-dollar": 1})
    # What is refused on create is refused on update too; null clears.
    up = make_upstream(stack, model_map={"a": "b"})
    r = stack.main.admin.patch(A + "/upstreams/%d" % up["id"],
                               json={"body_set": {"$.a[1]": 1}})
    assert_error(r, 400, "invalid_field", "body_set")
    r = stack.main.admin.patch(A + "/upstreams/%d" % up["id"], json={"model_map": None})
    assert r.status == 200 and r.json()["model_map"] is None, r
