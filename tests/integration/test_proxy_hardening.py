"""What a client may learn and pass on: no upstream names without a token,
no gateway token ever forwarded, no static file through /proxy/.., and
nginx's own refusals in the contract's JSON."""

import harness
from proxy_helpers import assert_json_error, setup, wait_log_row


def test_unknown_upstream_is_not_revealed_without_a_token(stack):
    s = setup(stack, nkeys=1)
    c = stack.main.client
    # Without a token, an existing and a missing upstream look the same.
    assert_json_error(c.get(s.path("v1/x")), 401, "unauthorized")
    assert_json_error(c.get("/proxy/no-such-upstream/v1/x"), 401, "unauthorized")
    assert_json_error(c.get("/proxy/Bad_Name/v1/x"), 401, "unauthorized")
    # With one, the missing upstream is named, without the rest of the path.
    r = c.get("/proxy/no-such-upstream/v1/secret-part", token=s.token)
    assert_json_error(r, 404, "unknown_upstream")
    assert "secret-part" not in r.text
    for path in ("/proxy/", "/proxy//v1/x"):
        r = c.get(path, token=s.token)
        assert_json_error(r, 404, "unknown_upstream")
        assert "names no upstream" in r.json()["error"]["message"], (path, r)
    # The log row of the 401 still says which upstream was asked for.
    row = wait_log_row(stack, c.get(s.path("v1/y")))
    assert row["upstream_id"] == s.up["id"] and row["status"] == 401, row


def test_every_place_holding_a_gateway_token_is_stripped(stack):
    s = setup(stack, nkeys=1, auth_header="X-Upstream-Key", auth_template="{key}")
    other = harness.Client(stack.main.port).post(
        "/api/admin/tokens", json={"name": "second"}, token=harness.ADMIN_TOKEN).json()["token"]
    harness.wait_until(lambda: stack.main.client.get(s.path("w"), token=other).status == 200,
                       what="the second token")
    stack.mock.reset()
    r = stack.main.client.get(s.path("v1/x?key=%s&keep=1" % other), token=s.token,
                              headers={"X-Api-Key": other, "X-Goog-Api-Key": "not-a-token"})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    forwarded = " ".join("%s: %s" % h for h in q.headers) + " " + q.path
    assert s.token not in forwarded and other not in forwarded, forwarded
    # What is not a gateway token passes through untouched.
    assert q.header("X-Goog-Api-Key") == "not-a-token"
    assert q.path == "/v1/x?keep=1", q.path
    assert q.header("X-Upstream-Key") == s.keys[0]["value"]


def test_public_upstream_never_receives_a_gateway_token(stack):
    s = setup(stack, nkeys=1, public=True)
    stack.mock.reset()
    r = stack.main.client.get(s.path("v1/pub"), headers={"X-Api-Key": s.token})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert q.header("X-Api-Key") is None
    # A public upstream needs no token at all.
    assert stack.main.client.get(s.path("v1/pub")).status == 200


def test_static_files_are_not_reachable_through_proxy_dot_dot(stack):
    c = stack.main.client
    for path in ("/proxy/x/../../index.html", "/proxy/x/%2e%2e/%2e%2e/index.html",
                 "/api/../index.html"):
        r = c.get(path)
        assert r.status in (400, 404) and r.error_code() in ("invalid_path", "not_found"), (path, r)
        assert b"<html" not in r.body.lower(), (path, r)


def test_nginx_refusals_are_json(stack):
    c = stack.main.client
    r = c.get("/proxy/x/" + "a" * 9000)
    assert_json_error(r, 400, "invalid_path")
    r = c.get("/proxy/x/a%00b")
    assert_json_error(r, 400, "invalid_path")


def test_a_repeated_credential_goes_when_any_copy_is_a_token(stack):
    s = setup(stack, nkeys=1, auth_header="X-Upstream-Key", auth_template="{key}")
    stack.mock.reset()
    # The first copies are foreign values; the token hides in the second.
    r = stack.main.client.get(s.path("v1/x?key=foreign&keep=1&key=%s" % s.token), token=s.token,
                              headers={"X-Api-Key": "not-a-token", "x-api-key": s.token})
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    forwarded = " ".join("%s: %s" % h for h in q.headers) + " " + q.path
    assert s.token not in forwarded, forwarded
    assert q.path == "/v1/x?keep=1", q.path
    assert q.header("X-Api-Key") is None, forwarded
