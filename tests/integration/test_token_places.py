"""Client tokens in the places that used to slip past stripping: a ?key=
beyond the copies checked, a %-encoded parameter name, values padded with
blanks, tabs or a trailing comma, and a tab after "Bearer".  The mock
upstream must never see the token; a request with more copies of a
credential than the gateway checks is refused."""

import os

from proxy_helpers import assert_json_error, setup


def _forwarded(q):
    """Every header and the path of one request the mock received."""
    return " ".join("%s: %s" % h for h in q.headers) + " " + q.path


def _setup(stack):
    # The key goes in a header of its own, so that the client's
    # Authorization would pass on unless it is stripped.
    return setup(stack, nkeys=1, auth_header="X-Upstream-Key", auth_template="{key}")


def _get(stack, s, rest, headers):
    stack.mock.reset()
    return stack.main.client.get(s.path(rest), headers=headers)


def test_padded_and_encoded_copies_never_reach_the_upstream(stack):
    s = _setup(stack)
    t = s.token
    bearer = {"Authorization": "Bearer " + t}
    # (what, rest of the path, headers, the path the upstream must get)
    cases = [
        ("encoded name", "v1/x?%6bey=" + t + "&keep=1", bearer, "/v1/x?keep=1"),
        ("encoded name, upper case", "v1/x?ke%79=" + t, bearer, "/v1/x"),
        ("value led by %20", "v1/x?keep=1&key=%20" + t, bearer, "/v1/x?keep=1"),
        ("value led by +", "v1/x?key=+" + t + "%20%2C", bearer, "/v1/x"),
        ("every copy named key goes", "v1/x?key=foreign&keep=1&%6Bey=" + t, bearer,
         "/v1/x?keep=1"),
        ("x-api-key with tabs", "v1/x", dict(bearer, **{"X-Api-Key": " \t" + t + "\t"}), "/v1/x"),
        ("x-api-key with a comma", "v1/x", dict(bearer, **{"X-Api-Key": t + ","}), "/v1/x"),
        ("x-goog-api-key as a list", "v1/x",
         dict(bearer, **{"X-Goog-Api-Key": "foreign, " + t}), "/v1/x"),
        ("bearer and a tab", "v1/x", {"X-Api-Key": t, "Authorization": "Bearer\t" + t},
         "/v1/x"),
        ("bearer, tabs and a comma", "v1/x",
         {"X-Goog-Api-Key": t, "Authorization": "bearer \t" + t + " ,"}, "/v1/x"),
    ]
    # Every case is tried; the failure lists all that went wrong.
    bad = []
    for what, rest, headers, want in cases:
        r = _get(stack, s, rest, headers)
        if r.status != 200 or len(stack.mock.requests) != 1:
            bad.append((what, r))
        elif t in _forwarded(stack.mock.requests[0]):
            bad.append((what, "token forwarded"))
        elif stack.mock.requests[0].path != want:
            bad.append((what, stack.mock.requests[0].path))
    assert bad == [], bad


def test_a_trimmed_copy_is_the_token(stack):
    """A token with blanks or a trailing comma around it still authenticates."""
    s = _setup(stack)
    bad = []
    for what, rest, headers in [
        ("x-api-key with a comma", "v1/x", {"X-Api-Key": s.token + ","}),
        ("x-api-key with tabs", "v1/x", {"X-Api-Key": "\t" + s.token + "\t"}),
        ("bearer and a tab", "v1/x", {"Authorization": "Bearer\t" + s.token}),
        ("?key= led by %20", "v1/x?key=%20" + s.token, {}),
        ("?%6bey=", "v1/x?%6bey=" + s.token, {}),
    ]:
        r = _get(stack, s, rest, headers)
        if r.status != 200:
            bad.append((what, r))
        elif s.token in _forwarded(stack.mock.requests[0]):
            bad.append((what, "token forwarded"))
    assert bad == [], bad


def test_more_copies_than_checked_are_refused(stack):
    s = _setup(stack)
    t = s.token
    bearer = {"Authorization": "Bearer " + t}
    # 64 copies are all checked: the token in the last goes.
    rest = "v1/x?" + "&".join(["key=foreign%d" % i for i in range(63)] + ["key=" + t, "keep=1"])
    r = _get(stack, s, rest, bearer)
    assert r.status == 200, r
    q = stack.mock.requests[0]
    assert t not in _forwarded(q) and q.path == "/v1/x?keep=1", q.path
    # The 65th copy is never looked at: the request is refused instead.
    for name in ("key", "%6bey"):
        rest = "v1/x?" + "&".join(["%s=foreign%d" % (name, i) for i in range(64)] + ["key=" + t])
        r = _get(stack, s, rest, bearer)
        assert_json_error(r, 400, "invalid_request")
        assert "key" in r.json()["error"]["message"], r.json()
        assert t not in r.text
        assert stack.mock.requests == [], name
    # The same for a header that lists more values than are checked.
    value = ", ".join(["foreign%d" % i for i in range(64)] + [t])
    r = _get(stack, s, "v1/x", dict(bearer, **{"X-Api-Key": value}))
    assert_json_error(r, 400, "invalid_request")
    assert "X-Api-Key" in r.json()["error"]["message"], r.json()
    assert t not in r.text
    assert stack.mock.requests == []


def test_nginx_error_log_does_not_carry_a_query_token(stack):
    """nginx writes the request line into its error-log lines; the shipped
    configuration keeps lines of requests that may carry ?key= out."""
    s = _setup(stack)
    log = os.path.join(stack.main.nginx.prefix, "error.log")
    # A body over client_max_body_size is an error-level line of nginx's own.
    r = stack.main.client.post(s.path("v1/x?key=" + s.token), body=b"",
                               declared_length=1 << 30)
    assert r.status == 413, r
    with open(log, "rb") as f:
        text = f.read()
    assert s.token.encode() not in text, "the client token is in nginx's error log"
