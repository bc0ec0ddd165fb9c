"""Helpers shared by the test_proxy_*.py files: an upstream with keys and a
client token made through the admin API, proxied requests, request_logs
rows and the key counters."""

import concurrent.futures
import http.client
import time

import harness
from admin_helpers import A, assert_error, key_value, ok, uniq  # noqa: F401

SETTLE_S = 0.6   # pool_refresh_ms is 200 in the test stack: a change is seen by then


class Setup:
    """An upstream, its keys (dicts from the admin API plus "value") and,
    unless the upstream is public, a client token."""

    def __init__(self, upstream, keys, token, token_obj):
        self.up = upstream
        self.name = upstream["name"]
        self.keys = keys
        self.token = token
        self.token_obj = token_obj

    @property
    def key_values(self):
        return [k["value"] for k in self.keys]

    def key_by_value(self, value):
        for k in self.keys:
            if k["value"] == value:
                return k
        raise AssertionError("no key of this setup has the value %r" % value)

    def path(self, rest=""):
        return "/proxy/%s/%s" % (self.name, rest)


def settle():
    """Lets the proxy's pool snapshot catch up with admin changes."""
    time.sleep(SETTLE_S)


def make_upstream(stack, base_url=None, **fields):
    body = {"name": uniq("up"), "base_url": base_url or stack.mock.url}
    body.update(fields)
    return ok(stack.main.admin.post(A + "/upstreams", json=body), 201)


def add_key(stack, upstream_id, value=None, **fields):
    value = value or key_value("p")
    body = {"upstream_id": upstream_id, "key_value": value}
    body.update(fields)
    k = ok(stack.main.admin.post(A + "/keys", json=body), 201)
    k["value"] = value
    return k


def make_token(stack, **fields):
    body = {"name": uniq("tok")}
    body.update(fields)
    t = ok(stack.main.admin.post(A + "/tokens", json=body), 201)
    return t["token"], t


def setup(stack, nkeys=1, key_fields=None, token_fields=None, token=True, settle=True,
          base_url=None, **upstream_fields):
    """key_fields: one dict for every key, or a list of dicts (one per key)."""
    up = make_upstream(stack, base_url=base_url, **upstream_fields)
    keys = []
    for i in range(nkeys):
        kf = key_fields[i] if isinstance(key_fields, list) else (key_fields or {})
        keys.append(add_key(stack, up["id"], **kf))
    tok, tobj = (None, None)
    if token:
        tok, tobj = make_token(stack, **(token_fields or {}))
    if settle:
        time.sleep(SETTLE_S)
    return Setup(up, keys, tok, tobj)


def patch_upstream(stack, upstream_id, **fields):
    return ok(stack.main.admin.patch(A + "/upstreams/%d" % upstream_id, json=fields))


def get_key(stack, key_id):
    return ok(stack.main.admin.get(A + "/keys/%d" % key_id))


def wait_key(stack, key_id, timeout=5, **expected):
    """Polls the key until the fields have the expected values (usage may be
    counted in memory and written in batches); returns the key."""
    last = {}

    def check():
        last.update(get_key(stack, key_id))
        return all(last.get(k) == v for k, v in expected.items())

    try:
        harness.wait_until(check, timeout=timeout, interval=0.1, what="key counters")
    except AssertionError:
        raise AssertionError("key %d: expected %r, got %r" % (
            key_id, expected, {k: last.get(k) for k in expected}))
    return dict(last)


def auth_values(stack):
    """The Authorization header of every request the mock received."""
    return [q.header("Authorization") for q in stack.mock.requests]


def counts_by_key(stack, s, header="Authorization", template="Bearer {key}"):
    """How many requests the mock saw with each key of the setup."""
    by_header = {template.replace("{key}", v): v for v in s.key_values}
    out = {v: 0 for v in s.key_values}
    for q in list(stack.mock.requests):
        got = q.header(header)
        assert got in by_header, "the mock saw %s: %r, which is none of the keys" % (header, got)
        out[by_header[got]] += 1
    return out


def parallel(fn, args, workers=80):
    """Runs fn(arg) for every arg at once; returns the results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(fn, args))


def assert_json_error(r, status, code):
    """The contract's error shape from the gateway itself."""
    assert_error(r, status, code)
    assert r.header("X-Gateway-Request-Id"), r.headers


# ---------------------------------------------------------------- request_logs

LOG_COLS = ["request_id", "method", "upstream_id", "upstream", "path", "key_id", "token_id",
            "status", "attempts", "req_bytes", "resp_bytes", "error", "fallback_from",
            "model", "model_requested"]
_INT_COLS = {"upstream_id", "key_id", "token_id", "status", "attempts", "req_bytes",
             "resp_bytes"}


def _parse_row(line):
    vals = line.split("\t")
    row = {}
    for c, v in zip(LOG_COLS, vals):
        if v == "NULL":
            row[c] = None
        elif c in _INT_COLS:
            row[c] = int(v)
        else:
            row[c] = v
    return row


def log_rows(stack, request_ids):
    """request_id -> row for those of the ids that are in request_logs."""
    out = {}
    ids = list(request_ids)
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        if not part:
            continue
        q = ("SELECT %s FROM request_logs WHERE request_id IN (%s)"
             % (", ".join(LOG_COLS), ", ".join("'%s'" % x for x in part)))
        for line in stack.sql(q).splitlines():
            if line.strip():
                row = _parse_row(line)
                out[row["request_id"]] = row
    return out


def wait_log_rows(stack, request_ids, timeout=10):
    """Waits until every request id has its row; returns them all."""
    ids = set(request_ids)
    got = {}

    def check():
        got.update(log_rows(stack, ids - set(got)))
        return len(got) == len(ids)

    try:
        harness.wait_until(check, timeout=timeout, interval=0.1,
                           what="%d request_logs rows" % len(ids))
    except AssertionError:
        missing = sorted(ids - set(got))
        raise AssertionError("%d of %d request_logs rows missing, e.g. %r"
                             % (len(missing), len(ids), missing[:5]))
    return got


def wait_log_row(stack, r):
    rid = r.header("X-Gateway-Request-Id")
    assert rid, r.headers
    return wait_log_rows(stack, [rid])[rid]


# ---------------------------------------------------------------- time

def db_second_of_minute(stack):
    return int(stack.sql("SELECT UNIX_TIMESTAMP() MOD 60").strip())


def ensure_minute_room(stack, need_s=12):
    """Per-minute limits use the database's minute: start a burst only when
    at least need_s seconds of the current minute are left."""
    s = db_second_of_minute(stack)
    if 60 - s < need_s:
        time.sleep(60 - s + 0.3)


# ---------------------------------------------------------------- streaming

def open_stream(port, path, token=None, headers=None, timeout=30):
    """Starts a GET and returns (connection, response) unread, for reading
    incrementally."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    if token:
        conn.putheader("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    return conn, conn.getresponse()


def read_events(resp, n, sep=b"\n\n"):
    """Reads a response as it comes: [(arrival time, event)]."""
    buf = b""
    out = []
    while len(out) < n:
        data = resp.read1(65536)
        now = time.time()
        if not data:
            break
        buf += data
        while sep in buf:
            ev, buf = buf.split(sep, 1)
            out.append((now, ev + sep))
    return out
