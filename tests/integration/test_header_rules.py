"""Header shaping (issue 20): an upstream's header_rules (set, remove and
append, with placeholders) and strip_forwarding_headers change what reaches
the upstream, the same on every attempt; rules that would touch the key's
header, Host, Content-Length or a hop-by-hop header are refused on save,
and the key is always injected as the upstream says."""

from admin_helpers import A, assert_error, create_upstream, ok
from mock_upstream import Reply
from proxy_helpers import add_key, patch_upstream, settle, setup
from rules_helpers import create_rule, status_is

FORWARDING = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "Forwarded": "for=203.0.113.7",
    "X-Real-IP": "203.0.113.7",
    "Via": "1.1 edge",
    "CF-Connecting-IP": "203.0.113.7",
    "True-Client-IP": "203.0.113.7",
}


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def _values(req, name):
    return [v for k, v in req.headers if k.lower() == name.lower()]


def test_set_remove_and_append_reach_the_upstream_with_placeholders(stack):
    s = setup(stack, header_rules=[
        {"op": "set", "name": "X-Team", "value": "alpha"},
        {"op": "remove", "name": "X-Debug"},
        {"op": "append", "name": "X-Tags", "value": "{upstream}/{token}"},
        {"op": "set", "name": "X-Req", "value": "id={request_id}"},
        {"op": "append", "name": "X-Gone", "value": "1"},
        {"op": "remove", "name": "x-gone"},
    ])
    assert s.up["header_rules"][1] == {"op": "remove", "name": "X-Debug"}, s.up
    assert s.up["strip_forwarding_headers"] is False, s.up
    stack.mock.reset(_ok)
    r = stack.main.client.get(s.path("x"), token=s.token, headers={
        "X-Team": "client", "X-Debug": "1", "X-Tags": "client", "X-Other": "kept"})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert _values(q, "X-Team") == ["alpha"], q.headers
    assert _values(q, "X-Debug") == [], q.headers
    assert _values(q, "X-Tags") == ["client", "%s/%s" % (s.name, s.token_obj["name"])], q.headers
    assert _values(q, "X-Req") == ["id=" + r.header("X-Gateway-Request-Id")], q.headers
    assert _values(q, "X-Gone") == [], q.headers
    assert q.header("X-Other") == "kept", q.headers
    # The key is injected as ever, whatever the rules did.
    assert _values(q, "Authorization") == ["Bearer " + s.keys[0]["value"]], q.headers


def test_every_attempt_sends_the_same_shaped_headers(stack):
    s = setup(stack, nkeys=2, max_retries=1, settle=False, strip_forwarding_headers=True,
              header_rules=[{"op": "set", "name": "X-Team", "value": "alpha"}])
    create_rule(stack, upstream_id=s.up["id"], condition=status_is(500),
                actions=[{"type": "retry"}])
    settle()
    first = []

    def script(req):
        if not first:
            first.append(req)
            return Reply(500, '{"error": "busy"}', {"Content-Type": "application/json"})
        return _ok(req)

    stack.mock.reset(script)
    r = stack.main.client.get(s.path("x"), token=s.token, headers=FORWARDING)
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "2", r
    seen = stack.mock.requests[-2:]
    for q in seen:
        assert _values(q, "X-Team") == ["alpha"], q.headers
        assert not any(q.header(n) for n in FORWARDING), q.headers
    keys = sorted(q.header("Authorization") for q in seen)
    assert keys == sorted("Bearer " + v for v in s.key_values), keys


def test_strip_forwarding_headers_removes_the_client_address(stack):
    s = setup(stack)
    stack.mock.reset(_ok)
    sent = dict(FORWARDING, **{"X-Forwarded-Host": "client.example", "X-Kept": "1"})
    r = stack.main.client.get(s.path("x"), token=s.token, headers=sent)
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    # Without the flag they pass as the client sent them.
    for name, value in sent.items():
        assert q.header(name) == value, (name, q.headers)
    up = patch_upstream(stack, s.up["id"], strip_forwarding_headers=True)
    assert up["strip_forwarding_headers"] is True
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token, headers=sent)
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    for name in sent:
        if name != "X-Kept":
            assert q.header(name) is None, (name, q.headers)
    assert q.header("X-Kept") == "1", q.headers


def test_a_public_upstream_has_no_token_name(stack):
    s = setup(stack, token=False, public=True, header_rules=[
        {"op": "set", "name": "X-Who", "value": "t={token}"},
        {"op": "set", "name": "X-Empty", "value": "{token}"}])
    stack.mock.reset(_ok)
    r = stack.main.client.get(s.path("x"))
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.header("X-Who") == "t=", q.headers
    assert q.header("X-Empty") is None, q.headers


def test_refusals_on_save_name_the_entry(stack):
    up = create_upstream(stack)
    path = A + "/upstreams/%d" % up["id"]
    cases = [
        ([{"op": "set", "name": "X-A", "value": "1"}, {"op": "set", "name": "Host", "value": "h"}],
         "header_rules[1].name: Host cannot be changed"),
        ([{"op": "remove", "name": "authorization"}],
         "header_rules[0].name: authorization carries the key"),
        ([{"op": "set", "name": "Connection", "value": "close"}],
         "header_rules[0].name: Connection cannot be changed"),
        ([{"op": "append", "name": "Transfer-Encoding", "value": "chunked"}],
         "header_rules[0].name: Transfer-Encoding cannot be changed"),
        ([{"op": "set", "name": "Content-Length", "value": "3"}],
         "header_rules[0].name: Content-Length cannot be changed"),
        ([{"op": "replace", "name": "X-A", "value": "1"}],
         "header_rules[0].op: must be set, remove or append"),
        ([{"op": "remove", "name": "X-A", "value": "1"}],
         "header_rules[0].value: not allowed with remove"),
        ([{"op": "set", "name": "X-A"}], "header_rules[0].value: required"),
        ([{"op": "set", "name": "X-A", "value": "a\r\nX-Injected: 1"}],
         "header_rules[0].value: must not contain control characters"),
        ([{"op": "set", "name": "X A", "value": "1"}], "header_rules[0].name: must be an HTTP"),
        ([{"op": "remove", "name": "X-%d" % i} for i in range(33)], "header_rules: at most 32"),
        ({"op": "set"}, "header_rules"),
    ]
    for rules, want in cases:
        msg = assert_error(stack.main.admin.patch(path, json={"header_rules": rules}), 400,
                           "invalid_field", "header_rules")
        assert want in msg, (rules, msg)
        msg = assert_error(stack.main.admin.post(A + "/upstreams", json={
            "name": up["name"] + "c", "base_url": stack.mock.url, "header_rules": rules}),
            400, "invalid_field", "header_rules")
        assert want in msg, (rules, msg)
    assert ok(stack.main.admin.get(path))["header_rules"] == []


def test_the_key_header_is_checked_on_every_write(stack):
    up = create_upstream(stack, header_rules=[{"op": "set", "name": "X-Api-Key", "value": "v"}])
    path = A + "/upstreams/%d" % up["id"]
    # Moving the key into the header a rule sets is refused like the rule.
    msg = assert_error(stack.main.admin.patch(path, json={"auth_header": "x-api-key"}), 400,
                       "invalid_field", "header_rules[0].name")
    assert "carries the key" in msg, msg
    # With the key in the query, the auth header is a header like others.
    ok(stack.main.admin.patch(path, json={"auth_query_param": "key", "header_rules": [
        {"op": "set", "name": "Authorization", "value": "Basic abc"}]}))
    msg = assert_error(stack.main.admin.patch(path, json={"auth_query_param": None}), 400,
                       "invalid_field", "header_rules[0].name")
    assert "Authorization carries the key" in msg, msg


def test_the_key_goes_as_the_upstream_says_beside_the_rules(stack):
    s = setup(stack, auth_query_param="key", header_rules=[
        {"op": "set", "name": "Authorization", "value": "Basic abc"},
        {"op": "set", "name": "Accept", "value": "text/plain"}])
    stack.mock.reset(_ok)
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.header("Authorization") == "Basic abc", q.headers
    assert q.header("Accept") == "text/plain", q.headers
    assert q.path.endswith("key=" + s.keys[0]["value"]), q.path


def test_the_key_probe_carries_the_rule_headers(stack):
    up = create_upstream(stack, probe_method="GET", probe_path="/models", header_rules=[
        {"op": "set", "name": "Anthropic-Version", "value": "2023-06-01"},
        {"op": "append", "name": "X-From", "value": "{upstream}"},
        {"op": "remove", "name": "X-Debug"}])
    k = add_key(stack, up["id"])
    stack.mock.reset(_ok)
    body = ok(stack.main.admin.post(A + "/keys/%d/test" % k["id"]))
    assert body["ok"] is True, body
    q = stack.mock.requests[-1]
    assert q.header("Anthropic-Version") == "2023-06-01", q.headers
    assert q.header("X-From") == up["name"], q.headers
    assert q.header("Authorization") == "Bearer " + k["value"], q.headers
