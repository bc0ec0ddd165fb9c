"""The shaping preview (issue 20): POST /api/admin/upstreams/{id}/shape/test
shows what the first attempt would send upstream, shaped by the saved
fields or by a draft of them, with the key shown as <key> (no key is picked
and its value never appears); a refusal shows as {refused}; bad input and a
bad draft are 400 naming the field, an unknown upstream 404."""

import json

import harness  # noqa: F401  (puts scripts/ on the path)
from admin_helpers import A, assert_error, ok, session_client
from mock_upstream import Reply
from proxy_helpers import patch_upstream, setup

RULES = [
    {"op": "set", "name": "X-A", "value": "a-{upstream}-{token}"},
    {"op": "remove", "name": "X-Remove"},
    {"op": "append", "name": "X-App", "value": "two"},
]
SAMPLE = {
    "method": "POST",
    "path": "/v1/chat/completions?x=1",
    "headers": {"Content-Type": "application/json", "X-Remove": "gone", "X-App": "one",
                "X-Forwarded-For": "10.1.2.3", "X-Keep": "k"},
    "body": {"model": "gpt-4", "messages": []},
}


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def _preview(stack, up_id, client=None, **body):
    sample = dict(SAMPLE)
    sample.update(body)
    return (client or stack.main.admin).post(A + "/upstreams/%d/shape/test" % up_id, json=sample)


def _shaped(stack):
    return setup(stack, header_rules=RULES, strip_forwarding_headers=True,
                 model_map={"gpt-4": "gpt-4o"},
                 body_set={"$.stream_options.include_usage": True})


def _values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def test_each_rule_shows_in_the_preview(stack):
    s = _shaped(stack)
    r = _preview(stack, s.up["id"], token="alice")
    assert s.key_values[0] not in r.body.decode(), "the key's value in the preview"
    got = ok(r)
    assert got["method"] == "POST"
    assert got["url"] == stack.mock.url + "/v1/chat/completions?x=1", got["url"]
    assert got["path"] == "/v1/chat/completions"
    h = got["headers"]
    assert h[0][0] == "Host" and h[-1] == ["Content-Length", str(len(got["body"]))], h
    assert _values(h, "X-A") == ["a-%s-alice" % s.name], h
    assert _values(h, "X-Remove") == [] and _values(h, "X-Forwarded-For") == [], h
    assert _values(h, "X-App") == ["one", "two"] and _values(h, "X-Keep") == ["k"], h
    assert _values(h, "Authorization") == ["Bearer <key>"], h
    body = json.loads(got["body"])
    assert body["model"] == "gpt-4o" and body["stream_options"] == {"include_usage": True}, body
    assert got["body_rewritten"] is True and got["content_length"] == len(got["body"])
    assert got["model_requested"] == "gpt-4" and got["model_sent"] == "gpt-4o", got
    for line in ("strip_forwarding_headers: removed X-Forwarded-For", "header_rules: set X-A",
                 "header_rules: remove X-Remove", "header_rules: append X-App",
                 "model_map: gpt-4 -> gpt-4o", "body_set: $.stream_options.include_usage"):
        assert line in got["applied"], (line, got["applied"])
    assert "refused" not in got


def test_the_preview_matches_what_the_proxy_sends(stack):
    stack.mock.reset(_ok)
    s = _shaped(stack)
    got = ok(_preview(stack, s.up["id"], token=s.token_obj["name"],
                      headers={"Content-Type": "application/json", "X-App": "one"}))
    r = stack.main.client.post(s.path("v1/chat/completions?x=1"), json=SAMPLE["body"],
                               headers={"X-App": "one"}, token=s.token)
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.body.decode() == got["body"]
    sent = [(k.lower(), v.replace(s.key_values[0], "<key>")) for k, v in q.headers]
    shown = [(k.lower(), v) for k, v in got["headers"]]
    assert sent == shown, (sent, shown)
    # The preview's {token} is the name given, as the proxy's is the token's.
    assert _values(got["headers"], "X-A") == ["a-%s-%s" % (s.name, s.token_obj["name"])]


def test_the_key_in_the_query_shows_as_key(stack):
    s = setup(stack, auth_query_param="key", header_rules=[
        {"op": "set", "name": "Authorization", "value": "none"}])
    r = _preview(stack, s.up["id"], path="/v1/models?key=client-token&a=b", method="GET",
                 body=None)
    assert s.key_values[0] not in r.body.decode()
    got = ok(r)
    assert got["url"] == stack.mock.url + "/v1/models?a=b&key=<key>", got["url"]
    assert _values(got["headers"], "Authorization") == ["none"], got["headers"]
    assert got["content_length"] is None and got["body"] == ""
    assert "header_rules: set Authorization" in got["applied"]


def test_a_draft_replaces_the_saved_fields(stack):
    s = setup(stack, header_rules=[{"op": "set", "name": "X-Saved", "value": "1"}])
    draft = {"header_rules": [{"op": "set", "name": "X-Draft", "value": "{upstream}"}],
             "model_map": {"gpt-4": "gpt-4-turbo"}}
    got = ok(_preview(stack, s.up["id"], upstream=draft))
    assert _values(got["headers"], "X-Draft") == [s.name], got["headers"]
    assert _values(got["headers"], "X-Saved") == [], got["headers"]
    assert json.loads(got["body"])["model"] == "gpt-4-turbo"
    assert got["model_sent"] == "gpt-4-turbo"
    # Nothing was saved: without the draft the saved rules show.
    up = ok(stack.main.admin.get(A + "/upstreams/%d" % s.up["id"]))
    assert up["header_rules"] == [{"op": "set", "name": "X-Saved", "value": "1"}], up
    assert up["model_map"] is None
    got = ok(_preview(stack, s.up["id"]))
    assert _values(got["headers"], "X-Saved") == ["1"] and got["model_sent"] == "gpt-4"
    assert got["applied"] == ["header_rules: set X-Saved"], got["applied"]


def test_refusals_show_as_refused(stack):
    s = setup(stack, model_allow=["gpt-4o*"])
    got = ok(_preview(stack, s.up["id"]))
    assert set(got) >= {"refused"}, got
    assert got["refused"]["status"] == 403, got
    assert got["refused"]["error"]["code"] == "model_not_allowed"
    assert "gpt-4" in got["refused"]["error"]["message"]
    assert got["model_requested"] == "gpt-4"
    got = ok(_preview(stack, s.up["id"], headers={"Content-Type": "text/plain"}, body="hello"))
    assert got["refused"]["status"] == 400, got
    assert got["refused"]["error"]["code"] == "invalid_field"
    assert "names no model" in got["refused"]["error"]["message"]
    got = ok(_preview(stack, s.up["id"], body={"model": "gpt-4o-mini"}))
    assert "refused" not in got and got["model_sent"] == "gpt-4o-mini", got
    # A body that is not JSON is not rewritten, and the preview says so.
    patch_upstream(stack, s.up["id"], model_allow=None, body_set={"$.a": 1})
    got = ok(_preview(stack, s.up["id"], headers={"Content-Type": "text/plain"}, body="hi"))
    assert got["body"] == "hi" and got["body_rewritten"] is False
    assert any(n.startswith("body: not rewritten") for n in got["notes"]), got["notes"]


def test_bad_input_is_400_naming_the_field(stack):
    s = setup(stack)
    cases = [
        ({"method": None}, "method"),
        ({"method": "GE T"}, "method"),
        ({"path": "v1/x"}, "path"),
        ({"path": "/v1/../../etc"}, "path"),
        ({"headers": [["X-A"]]}, "headers[0]"),
        ({"headers": {"X A": "1"}}, "headers.X A"),
        ({"headers": {"X-A": 1}}, "headers.X-A"),
        ({"headers": {"X-A": "a\r\nX-B: 1"}}, "headers.X-A"),
        ({"headers": {"X-%d" % i: "v" for i in range(101)}}, "headers"),
        ({"token": 5}, "token"),
        ({"upstream": [1]}, "upstream"),
        ({"upstream": {"name": "x"}}, "name"),
        ({"nope": 1}, "nope"),
    ]
    for change, field in cases:
        body = dict(SAMPLE)
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        r = stack.main.admin.post(A + "/upstreams/%d/shape/test" % s.up["id"], json=body)
        assert_error(r, 400, "invalid_field", field)


def test_a_bad_draft_gets_the_message_of_a_save(stack):
    s = setup(stack)
    path = A + "/upstreams/%d" % s.up["id"]
    for draft in ({"header_rules": [{"op": "set", "name": "Authorization", "value": "x"}]},
                  {"header_rules": [{"op": "replace", "name": "X-A", "value": "1"}]},
                  {"model_map": "gpt-4"},
                  {"model_map": {"gpt-4": 5}},
                  {"model_allow": [""]},
                  {"body_set": {"model": 1}},
                  {"strip_forwarding_headers": "yes"}):
        saved = assert_error(stack.main.admin.patch(path, json=draft), 400, "invalid_field")
        shown = assert_error(_preview(stack, s.up["id"], upstream=draft), 400, "invalid_field")
        assert shown == saved, (draft, shown, saved)


def test_unknown_upstream_and_roles(stack):
    assert_error(_preview(stack, 99999999), 404, "not_found", "99999999")
    s = setup(stack)
    viewer = session_client(stack, "viewer")
    r = _preview(stack, s.up["id"], client=viewer)
    assert r.status == 403, r
    got = ok(_preview(stack, s.up["id"], client=session_client(stack, "operator")))
    assert _values(got["headers"], "Authorization") == ["Bearer <key>"]


def test_endpoints_and_repeated_headers(stack):
    s = setup(stack, base_url=stack.mock.url + "/on", endpoints=[{"url": stack.mock.url + "/off", "weight": 1, "enabled": False},
                                {"url": stack.mock.url + "/on", "weight": 1}])
    headers = [["X-Tag", "a"], ["x-tag", "b"], ["Content-Length", "999"],
               ["Content-Type", "text/plain"]]
    got = ok(_preview(stack, s.up["id"], headers=headers, body="plain"))
    # The first enabled endpoint; names joined as the web server joins them.
    assert got["url"] == stack.mock.url + "/on/v1/chat/completions?x=1", got["url"]
    assert _values(got["headers"], "X-Tag") == ["a, b"], got["headers"]
    assert _values(got["headers"], "Content-Length") == ["5"], got["headers"]
    assert _values(got["headers"], "Content-Type") == ["text/plain"], got["headers"]
    assert got["body"] == "plain" and got["applied"] == [] and got["model_requested"] is None
