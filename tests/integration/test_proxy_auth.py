"""The proxy's front door: where the client token may be, that it never
reaches the upstream, 401/403, token limits, key injection, Host and
hop-by-hop headers, unknown and disabled upstreams."""

import re
import urllib.parse

from harness import run_binary, wait_until
from mock_upstream import Reply
from proxy_helpers import (assert_json_error, ensure_minute_room, make_token, make_upstream,
                           patch_upstream, settle, setup, wait_log_row)


def _token_seen(stack, token):
    """Whether any part of any request the mock received holds the token."""
    for q in stack.mock.requests:
        if token in q.path or token.encode() in q.body:
            return True
        for k, v in q.headers:
            if token in k or token in v:
                return True
    return False


def test_token_in_each_place_is_accepted_and_stripped(stack):
    s = setup(stack)
    c = stack.main.client
    key = s.keys[0]["value"]
    cases = [
        ("bearer", "/v1/x?a=1", {"Authorization": "Bearer " + s.token}, "/v1/x?a=1",
         "authorization"),
        ("x-api-key", "/v1/x?a=1", {"X-Api-Key": s.token}, "/v1/x?a=1", "x-api-key"),
        ("x-goog-api-key", "/v1/x?a=1", {"X-Goog-Api-Key": s.token}, "/v1/x?a=1",
         "x-goog-api-key"),
        ("query", "/v1/x?a=1&key=%s&b=2" % s.token, {}, "/v1/x?a=1&b=2", None),
        ("query-first", "/v1/x?key=%s&b=2" % s.token, {}, "/v1/x?b=2", None),
        ("query-only", "/v1/x?key=%s" % s.token, {}, "/v1/x", None),
    ]
    for what, rest, headers, want_path, cred_header in cases:
        stack.mock.reset()
        r = c.get(s.path(rest.lstrip("/")), headers=headers)
        assert r.status == 200, (what, r)
        assert r.header("X-Gateway-Attempts") == "1", (what, r.headers)
        assert len(stack.mock.requests) == 1, what
        q = stack.mock.requests[0]
        assert q.path == want_path, (what, q.path)
        assert not _token_seen(stack, s.token), (what, q.headers, q.path)
        # The injected key is the only credential the upstream sees.
        assert q.header("Authorization") == "Bearer " + key, (what, q.headers)
        assert q.header_names().count("authorization") == 1, (what, q.headers)
        if cred_header and cred_header != "authorization":
            assert cred_header not in q.header_names(), (what, q.headers)


def test_public_upstream_needs_no_token(stack):
    s = setup(stack, token=False, public=True)
    r = stack.main.client.get(s.path("v1/models"))
    assert r.status == 200, r
    assert [q.path for q in stack.mock.requests] == ["/v1/models"]
    assert stack.mock.requests[0].header("Authorization") == "Bearer " + s.keys[0]["value"]
    # A non-public upstream next to it still wants one.
    s2 = setup(stack)
    r = stack.main.client.get(s2.path("v1/models"))
    assert_json_error(r, 401, "unauthorized")


def test_missing_unknown_expired_disabled_tokens_get_401(stack):
    s = setup(stack, settle=False)
    expired, _ = make_token(stack, expires_at="2020-01-02T03:04:05Z")
    disabled, _ = make_token(stack, enabled=False)
    settle()
    c = stack.main.client
    cases = [
        ("missing", {}, ""),
        ("unknown bearer", {"Authorization": "Bearer unknown-" + s.token[8:]}, ""),
        ("unknown x-api-key", {"X-Api-Key": "nope-" + s.token[5:]}, ""),
        ("unknown query", {}, "?key=nope-" + s.token[5:]),
        ("empty bearer", {"Authorization": "Bearer "}, ""),
        ("basic scheme", {"Authorization": "Basic " + s.token}, ""),
        ("expired", {"Authorization": "Bearer " + expired}, ""),
        ("expired query", {}, "?key=" + expired),
        ("disabled", {"X-Goog-Api-Key": disabled}, ""),
    ]
    for what, headers, query in cases:
        r = c.get(s.path("v1/x" + query), headers=headers)
        assert r.status == 401, (what, r)
        assert_json_error(r, 401, "unauthorized")
    assert stack.mock.requests == [], [q.path for q in stack.mock.requests]
    # The valid token works, and stops working once disabled.
    assert c.get(s.path("v1/x"), token=s.token).status == 200
    assert len(stack.mock.requests) == 1
    r = stack.main.admin.patch("/api/admin/tokens/%d" % s.token_obj["id"],
                               json={"enabled": False})
    assert r.status == 200, r
    wait_until(lambda: c.get(s.path("v1/x"), token=s.token).status == 401, timeout=3,
               what="the disabled token refused")
    n = len(stack.mock.requests)
    r = c.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 401, "unauthorized")
    assert len(stack.mock.requests) == n


def test_token_not_allowed_for_upstream_gets_403(stack):
    s = setup(stack, settle=False)
    other = make_upstream(stack)
    narrow, _ = make_token(stack, upstreams=[other["id"]])
    both, _ = make_token(stack, upstreams=[other["id"], s.up["id"]])
    settle()
    c = stack.main.client
    for placement in ({"Authorization": "Bearer " + narrow}, {"X-Api-Key": narrow}):
        r = c.get(s.path("v1/x"), headers=placement)
        assert_json_error(r, 403, "forbidden")
    r = c.get(s.path("v1/x?key=" + narrow))
    assert_json_error(r, 403, "forbidden")
    assert stack.mock.requests == []
    r = c.get(s.path("v1/x"), token=both)
    assert r.status == 200, r
    assert len(stack.mock.requests) == 1


def test_token_rpm_limit_gives_429_with_retry_after(stack):
    s = setup(stack, token_fields={"rpm_limit": 3})
    ensure_minute_room(stack)
    c = stack.main.client
    for i in range(3):
        r = c.get(s.path("v1/x"), token=s.token)
        assert r.status == 200, (i, r)
    r = c.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 429, "rate_limited")
    ra = r.header("Retry-After")
    assert ra is not None and re.fullmatch(r"\d+", ra), r.headers
    assert 1 <= int(ra) <= 60, ra
    assert len(stack.mock.requests) == 3
    # Another token is not affected.
    other, _ = make_token(stack)
    settle()
    assert c.get(s.path("v1/x"), token=other).status == 200


def test_token_daily_quota_gives_429(stack):
    s = setup(stack, token_fields={"daily_quota": 2})
    c = stack.main.client
    for i in range(2):
        assert c.get(s.path("v1/x"), token=s.token).status == 200, i
    for _ in range(2):
        r = c.get(s.path("v1/x"), token=s.token)
        assert_json_error(r, 429, "rate_limited")
        ra = r.header("Retry-After")
        # The wait until the reset, clamped to an hour.
        assert ra is not None and re.fullmatch(r"\d+", ra) and 1 <= int(ra) <= 3600, r.headers
    assert len(stack.mock.requests) == 2


def test_key_injected_with_auth_header_and_template(stack):
    s = setup(stack, auth_header="x-goog-api-key", auth_template="{key}")
    key = s.keys[0]["value"]
    # The client also sends a header of the injection's name: it must not pass.
    r = stack.main.client.get(s.path("v1beta/models"), token=s.token,
                              headers={"X-Goog-Api-Key": "client-chosen-value"})
    assert r.status == 200, r
    q = stack.mock.requests[0]
    assert q.header("x-goog-api-key") == key, q.headers
    assert q.header_names().count("x-goog-api-key") == 1, q.headers
    assert "authorization" not in q.header_names(), q.headers
    # Any template: every {key} replaced.
    s2 = setup(stack, auth_header="X-Custom-Auth", auth_template="Token k={key};again={key}")
    stack.mock.reset()
    r = stack.main.client.get(s2.path("x"), token=s2.token)
    assert r.status == 200, r
    k2 = s2.keys[0]["value"]
    assert stack.mock.requests[0].header("X-Custom-Auth") == "Token k=%s;again=%s" % (k2, k2)
    assert "authorization" not in stack.mock.requests[0].header_names()


def test_key_injected_as_query_param(stack):
    s = setup(stack, auth_query_param="key")
    key = s.keys[0]["value"]
    c = stack.main.client
    # The client's own ?key= is its token: replaced by the upstream key.
    r = c.get(s.path("v1/models?a=1&key=%s&b=x%%20y" % s.token))
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    path, _, query = q.path.partition("?")
    assert path == "/v1/models", q.path
    assert sorted(urllib.parse.parse_qsl(query)) == [("a", "1"), ("b", "x y"), ("key", key)], \
        q.path
    assert "authorization" not in q.header_names(), q.headers
    assert not _token_seen(stack, s.token)
    # A bearer client cannot smuggle a ?key= of its own past the injection.
    r = c.get(s.path("v1/models?key=spoofed-by-client"), token=s.token)
    assert r.status == 200, r
    q = stack.mock.requests[-1]
    assert urllib.parse.parse_qsl(q.path.partition("?")[2]) == [("key", key)], q.path
    assert "authorization" not in q.header_names(), q.headers


def test_host_is_the_upstreams_and_base_path_kept(stack):
    s = setup(stack, base_url=stack.mock.url + "/base/v1/")
    r = stack.main.client.post(s.path("chat/completions?stream=false"), token=s.token,
                               json={"m": 1}, headers={"X-Request-Tag": "abc"})
    assert r.status == 200, r
    q = stack.mock.requests[0]
    assert q.method == "POST"
    assert q.path == "/base/v1/chat/completions?stream=false", q.path
    assert q.header("Host") == "127.0.0.1:%d" % stack.mock.port, q.headers
    assert q.header_names().count("host") == 1
    assert q.header("X-Request-Tag") == "abc"
    assert q.header("Content-Type") == "application/json"
    assert q.body == b'{"m": 1}'


def test_hop_by_hop_request_headers_removed(stack):
    s = setup(stack)
    hop = {"Connection": "keep-alive, X-Hop-Named", "Keep-Alive": "timeout=5, max=100",
           "TE": "trailers", "Upgrade": "websocket", "Proxy-Authorization": "Basic Zm9vOmJhcg==",
           "Proxy-Connection": "keep-alive", "X-Hop-Named": "by-connection",
           "X-End-To-End": "kept"}
    r = stack.main.client.get(s.path("v1/x"), token=s.token, headers=hop)
    assert r.status == 200, r
    names = stack.mock.requests[0].header_names()
    for h in ("connection", "keep-alive", "te", "upgrade", "proxy-authorization",
              "proxy-connection", "x-hop-named"):
        assert h not in names, (h, stack.mock.requests[0].headers)
    assert stack.mock.requests[0].header("X-End-To-End") == "kept"


def test_hop_by_hop_response_headers_removed_through_nginx(stack):
    s = setup(stack)
    stack.mock.script = lambda req: Reply(
        chunks=[(0, "part-1;"), (0, "part-2")],
        headers={"Content-Type": "text/plain", "Keep-Alive": "timeout=77, max=7",
                 "Connection": "keep-alive", "X-Up-End": "kept"})
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200, r
    assert r.body == b"part-1;part-2"
    assert r.header("X-Up-End") == "kept"
    for k, v in r.headers:
        assert "timeout=77" not in v and k.lower() != "keep-alive", (k, v)
    te = [v for k, v in r.headers if k.lower() == "transfer-encoding"]
    assert te in ([], ["chunked"]), r.headers
    conn = [v.lower() for k, v in r.headers if k.lower() == "connection"]
    assert set(conn) <= {"keep-alive", "close"} and len(conn) <= 1, r.headers


def _cgi(stack, path, token, method="GET"):
    env = {"APIGW_CONFIG": stack.main.config_path, "GATEWAY_INTERFACE": "CGI/1.1",
           "REQUEST_METHOD": method, "REQUEST_URI": path,
           "QUERY_STRING": path.partition("?")[2], "HTTP_AUTHORIZATION": "Bearer " + token}
    out = run_binary("apigw-fcgi", env=env, timeout=30)
    assert out.returncode == 0, out
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    return [line.decode() for line in head.split(b"\r\n")], body


def test_hop_by_hop_response_headers_removed_by_the_application(stack):
    """nginx drops some hop-by-hop headers on its own; the application's own
    output (CGI mode) shows whether the gateway removes them."""
    s = setup(stack)
    stack.mock.script = lambda req: Reply(
        chunks=[(0, "abc"), (0, "def")],
        headers={"Content-Type": "text/plain", "Keep-Alive": "timeout=77",
                 "Connection": "keep-alive", "Upgrade": "h2c", "Trailer": "X-T",
                 "Proxy-Authenticate": "Basic", "X-Up-End": "kept"})
    head, body = _cgi(stack, s.path("v1/x"), s.token)
    assert head[0].startswith("Status: 200"), head
    names = [h.split(":", 1)[0].strip().lower() for h in head[1:]]
    for h in ("transfer-encoding", "connection", "keep-alive", "upgrade", "trailer",
              "proxy-authenticate"):
        assert h not in names, (h, head)
    assert "x-up-end" in names, head
    assert body == b"abcdef", body


def test_unknown_upstream_gives_404(stack):
    s = setup(stack)
    c = stack.main.client
    for path in ("/proxy/no-such-upstream/v1/x", "/proxy/no-such-upstream",
                 "/proxy/No_Such/x"):
        r = c.get(path, token=s.token)
        assert_json_error(r, 404, "unknown_upstream")
    assert stack.mock.requests == []


def test_disabled_upstream_gives_503(stack):
    s = setup(stack)
    c = stack.main.client
    assert c.get(s.path("v1/x"), token=s.token).status == 200
    patch_upstream(stack, s.up["id"], enabled=False)
    wait_until(lambda: c.get(s.path("v1/x"), token=s.token).status == 503, timeout=3,
               what="upstream_disabled")
    stack.mock.reset()
    r = c.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 503, "upstream_disabled")
    assert stack.mock.requests == []
    patch_upstream(stack, s.up["id"], enabled=True)
    wait_until(lambda: c.get(s.path("v1/x"), token=s.token).status == 200, timeout=3,
               what="re-enabled upstream")


def test_client_token_never_in_request_logs(stack):
    s = setup(stack)
    r = stack.main.client.get(s.path("v1/logged?key=%s&z=1" % s.token))
    assert r.status == 200, r
    row = wait_log_row(stack, r)
    assert row["status"] == 200 and row["token_id"] == s.token_obj["id"], row
    assert s.token not in stack.sql("SELECT CONCAT_WS('|', path, IFNULL(error, ''))"
                                    " FROM request_logs")
    assert s.token not in stack.main.log()


def test_headers_named_by_upstream_connection_header_removed(stack):
    """RFC 9110 7.6.1: the headers a Connection header names are hop-by-hop
    too (the request side already drops them); the upstream's must not
    reach the client either."""
    s = setup(stack)
    stack.mock.script = lambda req: Reply(
        body=b"ok", headers={"Content-Type": "text/plain", "Connection": "X-Up-Hop, X-Other-Hop",
                             "X-Up-Hop": "hop-value", "X-Other-Hop": "other", "X-Up-End": "kept"})
    head, body = _cgi(stack, s.path("v1/x"), s.token)
    assert head[0].startswith("Status: 200"), head
    names = [h.split(":", 1)[0].strip().lower() for h in head[1:]]
    assert "x-up-end" in names and body == b"ok", (head, body)
    assert "x-up-hop" not in names and "x-other-hop" not in names, head
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200 and r.header("X-Up-End") == "kept", r
    assert r.header("X-Up-Hop") is None and r.header("X-Other-Hop") is None, r.headers
