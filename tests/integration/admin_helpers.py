"""Helpers shared by the test_admin_*.py files: creating upstreams, keys,
users and sessions through the admin API, and checking error answers."""

import calendar
import itertools
import json
import re
import time

import harness

A = "/api/admin"
ELLIPSIS = "\u2026"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

_seq = itertools.count(1)


def uniq(prefix="x"):
    """A name unique within the test run (data is kept within a file)."""
    return "%s-%d-%d" % (prefix, int(time.time() * 1000) % 10**7, next(_seq))


def parse_time(s):
    assert isinstance(s, str) and RFC3339.fullmatch(s), "not an RFC 3339 UTC time: %r" % (s,)
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def assert_error(r, status, code, field=None):
    """The contract's error shape, with the message naming `field`."""
    assert r.status == status, "expected %d %s, got %r" % (status, code, r)
    ctype = (r.header("Content-Type") or "").lower().replace(" ", "")
    assert ctype == "application/json;charset=utf-8", (ctype, r)
    body = r.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, (code, body)
    msg = body["error"]["message"]
    assert isinstance(msg, str) and msg.strip(), body
    if field is not None:
        assert field in msg, "message does not name %r: %r" % (field, msg)
    return msg


def ok(r, status=200):
    assert r.status == status, "expected %d, got %r" % (status, r)
    if status == 204:
        assert r.body == b"", r
        return None
    ctype = (r.header("Content-Type") or "").lower().replace(" ", "")
    assert ctype == "application/json;charset=utf-8", (ctype, r)
    return r.json()


def create_upstream(stack, name=None, client=None, **fields):
    body = {"name": name or uniq("up"), "base_url": stack.mock.url}
    body.update(fields)
    r = (client or stack.main.admin).post(A + "/upstreams", json=body)
    return ok(r, 201)


def create_key(stack, upstream_id, value, client=None, **fields):
    body = {"upstream_id": upstream_id, "key_value": value}
    body.update(fields)
    r = (client or stack.main.admin).post(A + "/keys", json=body)
    return ok(r, 201)


def key_value(tag=""):
    """A realistic-looking, unique key value (48 characters)."""
    base = "sk-%s%d%06d" % (tag, int(time.time() * 1000) % 10**9, next(_seq))
    return (base + "Zq9XwV3mT7pL2kR8sN4bY6cJ1hG5dF0aQeUoIi")[:48]


def create_user(stack, role, password=None, username=None):
    username = username or uniq(role)
    password = password or "pw-" + uniq("secret")
    r = stack.main.admin.post(A + "/users", json={"username": username, "password": password,
                                                 "role": role})
    u = ok(r, 201)
    return u, username, password


def login(stack, username, password):
    r = stack.main.client.post(A + "/login", json={"username": username, "password": password})
    return ok(r, 200)["token"]


def session_client(stack, role):
    """A harness.Client logged in as a fresh user of the role."""
    u, name, pw = create_user(stack, role)
    c = harness.Client(stack.main.port, login(stack, name, pw))
    c.user = u
    c.username = name
    return c


def assert_masked(value, masked):
    """At most the first 4 and the last 4 characters, around an ellipsis."""
    assert isinstance(masked, str) and masked != value, (value, masked)
    assert masked.count(ELLIPSIS) == 1, masked
    head, tail = masked.split(ELLIPSIS)
    assert len(head) <= 4 and len(tail) <= 4, masked
    assert value.startswith(head) and value.endswith(tail), (value, masked)
    assert value not in masked


def sql_one(stack, statement):
    out = stack.sql(statement).strip()
    return out


def sql_int(stack, statement):
    return int(sql_one(stack, statement))


def jdump(o):
    return json.dumps(o, sort_keys=True)
