"""The path guard: every way of leaving the upstream's base path or host,
and control characters, gives 400 invalid_path with nothing sent upstream;
ordinary paths pass through unchanged."""

from proxy_helpers import assert_json_error, setup, wait_log_row

BAD_PATHS = [
    # .. segments, raw and encoded
    ("raw ..", "../x"),
    ("raw .. deeper", "a/../../x"),
    ("raw .. at end", "a/.."),
    ("%2e%2e", "%2e%2e/x"),
    ("%2E%2E upper", "%2E%2E/x"),
    (".%2e mixed", ".%2e/x"),
    ("%2e. mixed", "v1/%2e./x"),
    ("%252e%252e double-encoded", "%252e%252e/x"),
    ("a%2f..%2fb", "a%2f..%2fb"),
    ("a%2F..%2Fb upper", "v1/a%2F..%2F..%2Fb"),
    ("%2f%2e%2e%2f", "v1%2f%2e%2e%2fadmin"),
    ("%252f..%252f double", "a%252f..%252fb"),
    ("..%5c backslash", "..%5cx"),
    # the host
    ("//host", "/evil.com/x"),
    ("%2f-encoded //host", "%2fevil.com/x"),
    ("%2f%2f-encoded //host", "%2f%2fevil.com/x"),
    ("@host", "@evil.com/x"),
    ("user@host", "user:pw@evil.com/x"),
    ("%40host", "%40evil.com/x"),
    ("absolute http URL", "http://evil.com/"),
    ("absolute https URL", "https://evil.com/x"),
    ("absolute URL, encoded slashes", "http:%2f%2fevil.com/"),
    ("absolute URL, encoded colon", "http%3a//evil.com/"),
    # control characters
    ("%0d%0a in path", "v1/a%0d%0aX-Injected:%201"),
    ("%0a in path", "v1/a%0ab"),
    ("%09 in path", "v1/a%09b"),
    ("%7f in path", "v1/a%7fb"),
    ("%0d%0a in query", "v1/x?q=a%0d%0aX-Injected:%201"),
    ("%00 in query", "v1/x?q=a%00b"),
    ("%0a in query name", "v1/x?a%0ab=1"),
]

GOOD_PATHS = [
    ("plain", "v1/models", "/v1/models"),
    ("query kept verbatim", "v1/x?a=1&b=%2F&c=%20", "/v1/x?a=1&b=%2F&c=%20"),
    ("encoded space", "v1/a%20b", "/v1/a%20b"),
    ("dots inside a name", "files/a..b/..c/d..", "/files/a..b/..c/d.."),
    ("a colon later on", "v1/models/gemini:generateContent",
     "/v1/models/gemini:generateContent"),
    ("@ after the first segment", "v1/users/me@example.com", "/v1/users/me@example.com"),
    ("unicode", "v1/%C3%A9t%C3%A9", "/v1/%C3%A9t%C3%A9"),
    ("empty", "", "/"),
]


def test_every_path_guard_case_gives_400_and_sends_nothing(stack):
    s = setup(stack)
    c = stack.main.client
    wrong = []
    for what, rest in BAD_PATHS:
        stack.mock.reset()
        r = c.get(s.path(rest), token=s.token)
        if r.status != 400 or r.error_code() != "invalid_path" or stack.mock.requests:
            wrong.append((what, "/proxy/%s/%s" % (s.name, rest), r.status, r.body[:160],
                          [q.path for q in stack.mock.requests]))
            continue
        assert_json_error(r, 400, "invalid_path")
    assert not wrong, "path guard cases not refused:\n" + "\n".join(map(repr, wrong))


def test_nul_in_path_gives_json_invalid_path(stack):
    """%00 in the path: the issue asks for 400 invalid_path (the contract's
    JSON error) with nothing sent upstream, whichever part of the gateway
    refuses it."""
    s = setup(stack)
    for rest in ("v1/a%00b", "%00/x"):
        r = stack.main.client.get(s.path(rest), token=s.token)
        assert stack.mock.requests == []
        assert r.status == 400, r
        assert (r.header("Content-Type") or "").startswith("application/json"), (rest, r)
        assert r.error_code() == "invalid_path", (rest, r)


def test_path_guard_applies_to_every_method_and_before_auth(stack):
    s = setup(stack)
    c = stack.main.client
    for m in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"):
        r = c.request(m, s.path("%2e%2e/admin"), token=s.token, body=b"x")
        assert r.status == 400, (m, r)
        if m != "HEAD":
            assert r.error_code() == "invalid_path", (m, r)
    # Refused without a token too: nothing about the upstream is needed.
    r = c.get(s.path("a%2f..%2f..%2fb"))
    assert_json_error(r, 400, "invalid_path")
    assert stack.mock.requests == []


def test_path_guard_refusal_is_logged(stack):
    s = setup(stack)
    r = stack.main.client.get(s.path("%252e%252e/x"), token=s.token)
    assert_json_error(r, 400, "invalid_path")
    row = wait_log_row(stack, r)
    assert row["status"] == 400 and row["key_id"] is None and row["attempts"] == 0, row


def test_ordinary_paths_pass_unchanged(stack):
    s = setup(stack)
    c = stack.main.client
    wrong = []
    for what, rest, want in GOOD_PATHS:
        stack.mock.reset()
        r = c.get(s.path(rest), token=s.token)
        got = [q.path for q in stack.mock.requests]
        if r.status != 200 or got != [want]:
            wrong.append((what, rest, r.status, r.body[:160], got))
    assert not wrong, "ordinary paths refused or changed:\n" + "\n".join(map(repr, wrong))
