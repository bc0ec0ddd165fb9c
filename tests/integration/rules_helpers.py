"""Helpers shared by the test_rules_*.py files: rules made through the admin
API, a mock upstream that answers per key, and the tables that rules write
(key_events, alerts, rule_hits, request_logs.rules / .messages)."""

import calendar
import email.utils
import json
import os
import time

import harness
from admin_helpers import A, ok, uniq
from mock_upstream import Reply, json_reply
from proxy_helpers import settle

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RULES_SQL = os.path.join(HERE, "..", "..", "sql", "002_default_rules.sql")


# ---------------------------------------------------------------- rules

def rule_body(name=None, **fields):
    body = {"name": name or uniq("rule")}
    body.update(fields)
    return body


def create_rule(stack, client=None, **fields):
    """POST /api/admin/rules; the created rule (201)."""
    r = (client or stack.main.admin).post(A + "/rules", json=rule_body(**fields))
    return ok(r, 201)


def status_is(code):
    return {"type": "status", "op": "eq", "value": code}


def delete_all_rules(stack):
    """Rules are global: a test that made some removes them (and every
    gateway's pool sees that)."""
    stack.sql("DELETE FROM rules; UPDATE pool_version SET version = version + 1")


def insert_default_rules(stack):
    with open(DEFAULT_RULES_SQL) as f:
        stack.sql(f.read())


def extra_gateway(stack, name, overrides=None):
    """A second gateway process on the same database, started once per run
    and kept (the stack stops it at the end)."""
    cache = stack.__dict__.setdefault("_rules_gateways", {})
    if name not in cache:
        cache[name] = stack.gateway(name, overrides=overrides)
    return cache[name]


# ---------------------------------------------------------------- mock

def bearer_key(req):
    a = req.header("Authorization") or ""
    return a[len("Bearer "):] if a.startswith("Bearer ") else None


def per_key(answers, default=None, hooks=None):
    """A mock script that answers by the key in the Authorization header:
    answers maps a key value to a Reply (or a function of the request);
    hooks maps a path to a Reply for webhook deliveries."""
    def script(req):
        path = req.path.split("?")[0]
        if hooks and path in hooks:
            h = hooks[path]
            return h(req) if callable(h) else h
        a = answers.get(bearer_key(req))
        if a is None:
            a = default if default is not None else json_reply({"ok": True, "path": req.path})
        return a(req) if callable(a) else a
    return script


class quiet_mock:
    """Silences the mock's tracebacks for connections the gateway cuts on
    purpose (an answer dropped after rule_body_limit bytes)."""

    def __init__(self, stack):
        self.httpd = stack.mock.httpd

    def __enter__(self):
        self.httpd.handle_error = lambda request, client_address: None
        return self

    def __exit__(self, *exc):
        del self.httpd.handle_error
        return False


def seen_keys(stack, path_prefix="/"):
    """Key values the mock saw, in order (webhook POSTs excluded)."""
    return [bearer_key(q) for q in list(stack.mock.requests)
            if q.path.startswith(path_prefix) and bearer_key(q) is not None]


def hook_requests(stack, path):
    return [q for q in list(stack.mock.requests) if q.path.split("?")[0] == path]


# ---------------------------------------------------------------- tables

def _rows(stack, q, cols, ints=()):
    out = []
    for line in stack.sql(q).splitlines():
        if not line.strip():
            continue
        vals = line.split("\t")
        row = {}
        for c, v in zip(cols, vals):
            if v == "NULL":
                row[c] = None
            elif c in ints:
                row[c] = int(v)
            else:
                row[c] = v
        out.append(row)
    return out


ALERT_COLS = ["id", "rule_id", "key_id", "upstream_id", "message", "webhook", "delivered",
              "delivery_error"]


def alerts(stack, where="1=1"):
    return _rows(stack, "SELECT %s FROM alerts WHERE %s ORDER BY id" % (", ".join(ALERT_COLS),
                                                                         where),
                 ALERT_COLS, {"id", "rule_id", "key_id", "upstream_id", "delivered"})


def rule_hits_count(stack, rule_id=None):
    q = "SELECT COUNT(*) FROM rule_hits"
    if rule_id is not None:
        q += " WHERE rule_id = %d" % rule_id
    return int(stack.sql(q).strip())


def count(stack, q):
    return int(stack.sql(q).strip())


def events(stack, key_id):
    """GET /api/admin/keys/{id}/events: the items, newest first."""
    return ok(stack.main.admin.get(A + "/keys/%d/events?limit=1000" % key_id))["items"]


def log_rules(stack, request_id, timeout=10):
    """(rules, messages) of the request's log row, decoded from JSON (None
    when NULL); waits for the row."""
    got = {}

    def check():
        rows = _rows(stack, "SELECT rules, messages FROM request_logs WHERE request_id = '%s'"
                     % request_id, ["rules", "messages"])
        if rows:
            got.update(rows[0])
            return True
        return False

    harness.wait_until(check, timeout=timeout, interval=0.1,
                       what="request_logs row %s" % request_id)
    dec = lambda v: None if v is None else json.loads(v)  # noqa: E731
    return dec(got["rules"]), dec(got["messages"])


def rid(r):
    x = r.header("X-Gateway-Request-Id")
    assert x, r.headers
    return x


# ---------------------------------------------------------------- time

def now():
    return time.time()


def ts(s):
    """An RFC 3339 UTC time as Unix seconds (None stays None)."""
    if s is None:
        return None
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def next_utc_midnight(t):
    return (int(t) // 86400 + 1) * 86400


__all__ = ["A", "Reply", "json_reply", "settle", "uniq", "ok"]


# ---------------------------------------------------------------- keys seen by the mock

BAN = {"type": "ban_key"}
RETRY = {"type": "retry"}


def until_key_seen(stack, s, value, path="v1/chat", tries=None, expect_status=200):
    """Sends requests until the mock has seen the key; returns the response
    of the request that used it (and the mock's requests for it)."""
    tries = tries or len(s.keys) + 1
    for _ in range(tries):
        before = len(stack.mock.requests)
        r = stack.main.client.get(s.path(path), token=s.token)
        assert r.status == expect_status, r
        mine = list(stack.mock.requests)[before:]
        if "Bearer " + value in [q.header("Authorization") for q in mine]:
            return r, mine
    raise AssertionError("the key was never tried in %d requests" % tries)


def req_time(reqs, value):
    for q in reqs:
        if q.header("Authorization") == "Bearer " + value:
            return q.time
    raise AssertionError("no request with that key")


def closed_port_url():
    return "http://127.0.0.1:%d" % harness.st.free_port()
