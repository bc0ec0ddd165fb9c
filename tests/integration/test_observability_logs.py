"""GET /api/admin/logs: every filter (upstream, key, token, status as one
code or a class, from/to, q with % and _ taken literally) alone and
combined, the answers to bad parameters, newest first, the item fields (no
key value anywhere), limit and cursor paging, and a cursor that stays right
while new rows keep arriving."""

import json
import threading
import time
import urllib.parse

import harness
from admin_helpers import A, assert_error, ok, uniq
from mock_upstream import Reply
from obs_helpers import (assert_newest_first, logs, page_all, raw_logs, rfc3339, rid, ts_ms,
                         wait_rows)
from proxy_helpers import add_key, make_upstream, parallel, settle, setup
from rules_helpers import create_rule, status_is

ITEM_FIELDS = {"id", "request_id", "ts", "method", "upstream_id", "upstream", "path", "key_id",
               "token_id", "status", "latency_ms", "attempts", "req_bytes", "resp_bytes", "error",
               "rules", "messages", "model", "prompt_tokens", "completion_tokens", "cached_tokens",
               "total_tokens", "usage_source", "cost", "currency", "fallback_from", "affinity",
               "proxy", "endpoint", "model_requested"}


def _by_status_script(req):
    """The mock answers the status named by the first path segment: /s429/x -> 429."""
    seg = req.path.split("?")[0].strip("/").split("/")[0]
    status = int(seg[1:]) if seg.startswith("s") and seg[1:].isdigit() else 200
    body = json.dumps({"status": status, "path": req.path})
    return Reply(status, body, {"Content-Type": "application/json"})


def _closed_port_url():
    return "http://127.0.0.1:%d" % harness.st.free_port()


class Sent:
    """One request of the data set and what is known of it without the log."""

    def __init__(self, up, token_id, path, status, resp, method="GET", req_bytes=0):
        self.up = up
        self.token_id = token_id
        self.path = path
        self.status = status
        self.resp = resp
        self.method = method
        self.req_bytes = req_bytes
        self.rid = rid(resp)


class Dataset:
    pass


def _dataset(stack):
    """Three upstreams and two client tokens, and ~25 requests spread over
    about four seconds, made once per file."""
    d = stack.__dict__.get("_obs_logs_dataset")
    if d is not None and stack.main.admin.get(A + "/upstreams/%d" % d.ua.up["id"]).status == 200:
        return d
    d = Dataset()
    d.ua = setup(stack, nkeys=2, max_retries=0, settle=False)
    d.ub = setup(stack, nkeys=1, max_retries=0, settle=False)
    d.t1, d.t1_obj = d.ua.token, d.ua.token_obj
    d.t2, d.t2_obj = d.ub.token, d.ub.token_obj
    # An upstream that cannot be reached, with its key in the query string.
    d.uc = make_upstream(stack, base_url=_closed_port_url(), auth_query_param="key",
                         max_retries=0, connect_timeout_ms=1000)
    d.uc_key = add_key(stack, d.uc["id"])
    d.rule_name = uniq("teapot-log")
    create_rule(stack, name=d.rule_name, upstream_id=d.ua.up["id"], condition=status_is(418),
                actions=[{"type": "log", "message": "teapot noted"}])
    settle()
    stack.mock.script = _by_status_script
    c = stack.main.client
    t1_id, t2_id = d.t1_obj["id"], d.t2_obj["id"]
    plan = [
        (d.ua.up, d.t1, t1_id, "s200/lit_x", 200),
        (d.ua.up, d.t1, t1_id, "s200/litAx", 200),
        (d.ua.up, d.t1, t1_id, "s200/pct%20x", 200),
        (d.ua.up, d.t1, t1_id, "s200/pctx", 200),
        (d.ua.up, d.t1, t1_id, "s429/a", 429),
        (d.ub.up, d.t2, t2_id, "s200/b1", 200),
        (d.ua.up, d.t1, t1_id, "s500/a", 500),
        (d.ua.up, d.t1, t1_id, "s404/a", 404),
        (d.ub.up, d.t2, t2_id, "s503/b", 503),
        (d.ua.up, d.t2, t2_id, "s200/t2", 200),
        (d.ub.up, d.t2, t2_id, "s429/b", 429),
        (d.ua.up, None, None, "s200/no-token", 401),
        (d.ub.up, d.t1, t1_id, "s200/b3", 200),
        (d.uc, d.t1, t1_id, "x/transport", 502),
        (d.ua.up, d.t1, t1_id, "s429/b", 429),
        (d.ub.up, d.t2, t2_id, "s200/b2", 200),
        (d.ua.up, d.t2, t2_id, "s503/t2", 503),
        (d.ub.up, d.t2, t2_id, "s503/b2", 503),
        (d.ua.up, d.t1, t1_id, "s200/lit_y", 200),
        (d.ub.up, d.t2, t2_id, "s200/b4", 200),
        (d.ua.up, d.t1, t1_id, "s200/z", 200),
        (d.ub.up, d.t2, t2_id, "s200/b5", 200),
    ]
    d.sent = []
    body = b"b" * 123
    # The POST that a rule with a log action fires on; then the plan, ~150 ms apart
    # (over three whole seconds, so that a test of whole-second bounds finds two
    # boundaries with no row on them even when a row falls on one).
    r = c.post("/proxy/%s/s418/tea" % d.ua.name, body=body, token=d.t1)
    assert r.status == 418, r
    d.teapot = Sent(d.ua.up, t1_id, "/proxy/%s/s418/tea" % d.ua.name, 418, r, "POST", 123)
    d.sent.append(d.teapot)
    for up, tok, tok_id, rest, status in plan:
        time.sleep(0.15)
        path = "/proxy/%s/%s" % (up["name"], rest)
        # The token sometimes as the key= query parameter (stripped, never logged).
        if tok is not None and rest.endswith("b2"):
            r = c.get(path + "?key=" + tok)
        else:
            r = c.get(path, token=tok)
        assert r.status == status, (path, r)
        d.sent.append(Sent(up, tok_id, path, status, r))
    d.rows = wait_rows(stack, [s.rid for s in d.sent])
    d.secrets = [k["value"] for k in d.ua.keys + d.ub.keys] + [d.uc_key["value"], d.t1, d.t2]
    stack.__dict__["_obs_logs_dataset"] = d
    return d


def _ids(items):
    return [i["id"] for i in items]


def _api(stack, query):
    """Every item for the query (one page of up to 1000), checked newest first."""
    body = logs(stack, query + "&limit=1000" if query else "limit=1000")
    assert body["next_cursor"] is None, body["next_cursor"]
    assert_newest_first(body["items"], query)
    return body["items"]


def _expect(stack, pred):
    """Ids of every request_logs row for which pred(row) holds, newest first."""
    return [row["id"] for row in raw_logs(stack) if pred(row)]


def _mine(d, items):
    """The request ids of the data set among items."""
    mine = {s.rid for s in d.sent}
    return {i["request_id"] for i in items if i["request_id"] in mine}


def _rids(d, pred):
    return {s.rid for s in d.sent if pred(s)}


# ---------------------------------------------------------------- items

def test_log_items_fields_and_no_key_values(stack):
    d = _dataset(stack)
    r = stack.main.admin.get(A + "/logs?limit=1000")
    body = ok(r)
    text = r.text
    for secret in d.secrets:
        assert secret not in text, "a key or token value appears in the logs answer"
    items = {i["request_id"]: i for i in body["items"]}
    assert _mine(d, body["items"]) == {s.rid for s in d.sent}
    raw = {row["request_id"]: row for row in raw_logs(stack)}
    for it in body["items"]:
        assert set(it) == ITEM_FIELDS, sorted(it)
        assert isinstance(it["rules"], list) and isinstance(it["messages"], list), it
        assert all(isinstance(x, str) for x in it["rules"] + it["messages"]), it
        row = raw[it["request_id"]]
        assert ts_ms(it["ts"]) == row["ts_ms"], (it["ts"], row)
        for f in ("id", "method", "path", "status", "latency_ms", "attempts"):
            assert it[f] == row[f], (f, it, row)
        for f in ("upstream_id", "key_id", "token_id"):
            assert it[f] == (row[f] or None), (f, it, row)
        for f in ("id", "status", "latency_ms", "attempts", "req_bytes", "resp_bytes"):
            assert isinstance(it[f], int) and not isinstance(it[f], bool), (f, it)
    ua_keys = {k["id"] for k in d.ua.keys}
    for s in d.sent:
        it = items[s.rid]
        assert (it["method"], it["path"], it["status"], it["token_id"]) == \
            (s.method, s.path, s.status, s.token_id), (it, s.path)
        assert (it["upstream_id"], it["upstream"]) == (s.up["id"], s.up["name"]), it
        assert it["req_bytes"] == s.req_bytes, it
        if s.status != 401:
            assert it["attempts"] == 1, it
        if s.status in (200, 404, 418, 429, 500, 503) and s.up["id"] != d.uc["id"]:
            assert it["resp_bytes"] == len(s.resp.body), (it, len(s.resp.body))
            assert it["error"] is None, it
        if s is not d.teapot:
            assert it["rules"] == [] and it["messages"] == [], it
    tea = items[d.teapot.rid]
    assert tea["rules"] == [d.rule_name] and tea["messages"] == ["teapot noted"], tea
    assert tea["key_id"] in ua_keys and tea["upstream"] == d.ua.name, tea
    assert tea["ts"].endswith("Z"), tea
    # The transport error is logged with its error, the key masked out.
    err = [items[s.rid] for s in d.sent if s.status == 502]
    assert len(err) == 1 and err[0]["key_id"] == d.uc_key["id"], err
    assert isinstance(err[0]["error"], str) and err[0]["error"], err
    # No credential, no key: both null.
    nt = [items[s.rid] for s in d.sent if s.status == 401]
    assert len(nt) == 1 and nt[0]["token_id"] is None and nt[0]["key_id"] is None, nt


# ---------------------------------------------------------------- filters

def test_log_filters_alone_and_combined(stack):
    d = _dataset(stack)
    ua, ub, uc = d.ua.up["id"], d.ub.up["id"], d.uc["id"]
    t1, t2 = d.t1_obj["id"], d.t2_obj["id"]
    ka1, ka2 = d.ua.keys[0]["id"], d.ua.keys[1]["id"]
    kb = d.ub.keys[0]["id"]
    cls = lambda st: st // 100  # noqa: E731
    cases = [
        ("upstream_id=%d" % ua, lambda r: r["upstream_id"] == ua,
         lambda s: s.up["id"] == ua),
        ("upstream_id=%d" % ub, lambda r: r["upstream_id"] == ub,
         lambda s: s.up["id"] == ub),
        ("upstream_id=%d" % uc, lambda r: r["upstream_id"] == uc,
         lambda s: s.up["id"] == uc),
        ("key_id=%d" % ka1, lambda r: r["key_id"] == ka1, None),
        ("key_id=%d" % ka2, lambda r: r["key_id"] == ka2, None),
        ("key_id=%d" % kb, lambda r: r["key_id"] == kb,
         lambda s: s.up["id"] == ub),
        ("token_id=%d" % t1, lambda r: r["token_id"] == t1, lambda s: s.token_id == t1),
        ("token_id=%d" % t2, lambda r: r["token_id"] == t2, lambda s: s.token_id == t2),
        ("status=429", lambda r: r["status"] == 429, lambda s: s.status == 429),
        ("status=200", lambda r: r["status"] == 200, lambda s: s.status == 200),
        ("status=418", lambda r: r["status"] == 418, lambda s: s.status == 418),
        ("status=401", lambda r: r["status"] == 401, lambda s: s.status == 401),
        ("status=5xx", lambda r: cls(r["status"]) == 5, lambda s: cls(s.status) == 5),
        ("status=4xx", lambda r: cls(r["status"]) == 4, lambda s: cls(s.status) == 4),
        ("status=4XX", lambda r: cls(r["status"]) == 4, lambda s: cls(s.status) == 4),
        ("status=2xx", lambda r: cls(r["status"]) == 2, lambda s: cls(s.status) == 2),
        ("status=3xx", lambda r: cls(r["status"]) == 3, lambda s: False),
        ("status=502", lambda r: r["status"] == 502, lambda s: s.status == 502),
        # Combinations.
        ("upstream_id=%d&status=429" % ua, lambda r: r["upstream_id"] == ua and r["status"] == 429,
         lambda s: s.up["id"] == ua and s.status == 429),
        ("upstream_id=%d&status=5xx" % ub,
         lambda r: r["upstream_id"] == ub and cls(r["status"]) == 5,
         lambda s: s.up["id"] == ub and cls(s.status) == 5),
        ("upstream_id=%d&token_id=%d" % (ua, t2),
         lambda r: r["upstream_id"] == ua and r["token_id"] == t2,
         lambda s: s.up["id"] == ua and s.token_id == t2),
        ("token_id=%d&status=2xx" % t1, lambda r: r["token_id"] == t1 and cls(r["status"]) == 2,
         lambda s: s.token_id == t1 and cls(s.status) == 2),
        ("key_id=%d&status=4xx" % ka1, lambda r: r["key_id"] == ka1 and cls(r["status"]) == 4,
         None),
        ("upstream_id=%d&key_id=%d" % (ub, ka1), lambda r: False, lambda s: False),
        ("upstream_id=%d&token_id=%d&status=503&q=b2" % (ub, t2),
         lambda r: (r["upstream_id"] == ub and r["token_id"] == t2 and r["status"] == 503
                    and "b2" in r["path"]),
         lambda s: s.up["id"] == ub and s.token_id == t2 and s.status == 503 and "b2" in s.path),
        ("upstream_id=%d&q=s200" % ua, lambda r: r["upstream_id"] == ua and "s200" in r["path"],
         lambda s: s.up["id"] == ua and "s200" in s.path),
    ]
    for query, raw_pred, sent_pred in cases:
        items = _api(stack, query)
        want = _expect(stack, raw_pred)
        assert _ids(items) == want, "%s: got ids %r, expected %r" % (query, _ids(items), want)
        if sent_pred is not None:
            assert _mine(d, items) == _rids(d, sent_pred), (query, [
                (i["path"], i["status"]) for i in items])
    # The keys of an upstream split its rows between them (the 401 had none).
    a1, a2 = _api(stack, "key_id=%d" % ka1), _api(stack, "key_id=%d" % ka2)
    assert a1 and a2, "round robin used both keys"
    assert _mine(d, a1) | _mine(d, a2) == _rids(d, lambda s: s.up["id"] == ua and s.status != 401)
    assert not _mine(d, a1) & _mine(d, a2)
    # Nothing matches: an empty page, no cursor.
    assert logs(stack, "upstream_id=999999") == {"items": [], "next_cursor": None}
    assert logs(stack, "token_id=%d&status=401" % t1) == {"items": [], "next_cursor": None}


def test_log_q_takes_percent_and_underscore_literally(stack):
    d = _dataset(stack)
    ua = d.ua.up["id"]

    def q(text, extra="upstream_id=%d" % ua):
        items = _api(stack, "%s&q=%s" % (extra, urllib.parse.quote(text, safe="")))
        return sorted(i["path"].rsplit("/", 1)[-1] for i in items)

    # "_" is one character, not any character: litAx does not match lit_x.
    assert q("lit_x") == ["lit_x"], q("lit_x")
    assert q("_") == ["lit_x", "lit_y"], q("_")
    assert q("it_") == ["lit_x", "lit_y"]
    # "%" is a percent sign, not any run of characters.
    assert q("%") == ["pct%20x"], q("%")
    assert q("pct%") == ["pct%20x"], q("pct%")
    assert q("%20") == ["pct%20x"]
    assert q("t%x") == [], q("t%x")
    assert q("l%x") == []
    # Substrings anywhere in the path, the /proxy/name/ part included.
    assert q("litA") == ["litAx"]
    assert len(q("/proxy/%s/" % d.ua.name)) == len(_rids(d, lambda s: s.up["id"] == ua))
    assert q("no-such-path-anywhere") == []
    # A backslash is a backslash (the proxy refuses such a path, and logs it).
    r = stack.main.client.get("/proxy/%s/back\\slash_%%41" % d.ua.name, token=d.t1)
    assert r.status == 400, r
    wait_rows(stack, [rid(r)])
    items = _api(stack, "q=" + urllib.parse.quote("k\\s", safe=""))
    assert [i["request_id"] for i in items] == [rid(r)], items
    assert items[0]["path"] == "/proxy/%s/back\\slash_%%41" % d.ua.name, items[0]
    # Over every upstream: exactly the rows whose raw path holds the text.
    for text in ("%", "_", "s5", "b2", "\\", "h_%", "\\s"):
        items = _api(stack, "q=" + urllib.parse.quote(text, safe=""))
        assert _ids(items) == _expect(stack, lambda r: text in r["path"]), text


def test_log_time_range_whole_seconds(stack):
    d = _dataset(stack)
    rows = sorted(raw_logs(stack), key=lambda r: (r["ts_ms"], r["id"]))
    mine = sorted((d.rows[s.rid] for s in d.sent), key=lambda r: r["ts_ms"])
    # Second boundaries inside the data set with rows on both sides, not
    # equal to any row's time.
    first, last = mine[0]["ts_ms"], mine[-1]["ts_ms"]
    bounds = [b for b in range(first // 1000 + 1, last // 1000 + 1)
              if all(r["ts_ms"] != b * 1000 for r in rows)]
    assert len(bounds) >= 2, (first, last)
    lo, hi = bounds[0] * 1000, bounds[-1] * 1000

    def check(query, pred):
        items = _api(stack, query)
        want = [r["id"] for r in sorted(rows, key=lambda r: (r["ts_ms"], r["id"]), reverse=True)
                if pred(r["ts_ms"])]
        assert _ids(items) == want, (query, _ids(items), want)
        return items

    got = check("from=" + rfc3339(lo), lambda t: t >= lo)
    assert 0 < len(got) < len(rows)
    got = check("to=" + rfc3339(hi), lambda t: t < hi)
    assert 0 < len(got) < len(rows)
    got = check("from=%s&to=%s" % (rfc3339(lo), rfc3339(hi)), lambda t: lo <= t < hi)
    assert got or lo == hi
    # The same instant with an offset.
    plus1 = time.strftime("%Y-%m-%dT%H:%M:%S+01:00", time.gmtime(lo // 1000 + 3600))
    check("from=" + urllib.parse.quote(plus1, safe=""), lambda t: t >= lo)
    # Combined with other filters.
    ua = d.ua.up["id"]
    items = _api(stack, "upstream_id=%d&status=2xx&from=%s" % (ua, rfc3339(lo)))
    assert _ids(items) == [r["id"] for r in raw_logs(stack) if r["upstream_id"] == ua and
                           r["status"] // 100 == 2 and r["ts_ms"] >= lo]
    # Nothing after the last row or before the first.
    assert logs(stack, "from=" + rfc3339(rows[-1]["ts_ms"] + 2000)) == \
        {"items": [], "next_cursor": None}
    assert logs(stack, "to=" + rfc3339(rows[0]["ts_ms"] - 1000)) == \
        {"items": [], "next_cursor": None}
    # The epoch and times before it are times like any other.
    check("from=1970-01-01T00:00:00Z", lambda t: True)
    check("from=1969-12-31T23:59:59Z&to=" + rfc3339(hi), lambda t: t < hi)
    assert logs(stack, "to=1969-12-31T23:59:59Z") == {"items": [], "next_cursor": None}


def test_log_time_range_keeps_milliseconds(stack):
    """from/to are RFC 3339 times; a fraction of a second is part of the
    time (the items' own ts carry milliseconds), not to be dropped."""
    d = _dataset(stack)
    rows = sorted(raw_logs(stack), key=lambda r: (r["ts_ms"], r["id"]))
    # Two consecutive rows in the same second, a few ms apart: the bound
    # falls between them.
    pair = None
    for a, b in zip(rows, rows[1:]):
        if a["ts_ms"] // 1000 == b["ts_ms"] // 1000 and b["ts_ms"] - a["ts_ms"] >= 4 \
                and a["ts_ms"] % 1000 > 0:
            pair = (a, b)
    assert pair, "the data set has rows ~110 ms apart"
    a, b = pair
    mid = (a["ts_ms"] + b["ts_ms"]) // 2
    items = _api(stack, "from=" + rfc3339(mid, frac=True))
    want = [r["id"] for r in reversed(rows) if r["ts_ms"] >= mid]
    assert _ids(items) == want, "from=%s: got %d rows, expected %d (row %d at %s included?)" % (
        rfc3339(mid, frac=True), len(items), len(want), a["id"], rfc3339(a["ts_ms"], True))
    items = _api(stack, "to=" + rfc3339(mid, frac=True))
    want = [r["id"] for r in reversed(rows) if r["ts_ms"] < mid]
    assert _ids(items) == want, "to=%s: got %d rows, expected %d" % (
        rfc3339(mid, frac=True), len(items), len(want))


# ---------------------------------------------------------------- validation

def test_log_parameter_errors(stack):
    adm = stack.main.admin
    bad = [
        ("status=abc", "status"), ("status=6xx", "status"), ("status=42", "status"),
        ("status=4xxx", "status"), ("status=600", "status"), ("status=0xx", "status"),
        ("status=x5x", "status"), ("status=5x", "status"), ("status=099", "status"),
        ("from=yesterday", "from"), ("from=2026-13-01T00:00:00Z", "from"),
        ("to=2026-11-29", "to"), ("to=2026-11-29T25:00:00Z", "to"),
        ("from=1764000000", "from"),
        ("cursor=not-a-cursor", "cursor"), ("cursor=12", "cursor"), ("cursor=12.", "cursor"),
        ("cursor=.12", "cursor"), ("cursor=12.0", "cursor"), ("cursor=1.2.3", "cursor"),
        ("cursor=zz.1", "cursor"), ("cursor=-5.3", "cursor"),
        ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("upstream_id=abc", "upstream_id"), ("key_id=0", "key_id"), ("token_id=-1", "token_id"),
    ]
    for query, field in bad:
        r = adm.get(A + "/logs?" + query)
        assert_error(r, 400, "invalid_field", field)
    # The edges that are fine.
    ok(adm.get(A + "/logs?limit=1"))
    ok(adm.get(A + "/logs?limit=1000"))
    ok(adm.get(A + "/logs?status=5XX&from=2020-01-01T00:00:00Z&to=2099-01-01T00:00:00.5Z"))
    # Viewers may read the log; nobody without a credential.
    r = stack.main.client.get(A + "/logs")
    assert_error(r, 401, "unauthorized")


# ---------------------------------------------------------------- paging

def test_log_limit_and_cursor_pages(stack):
    s = setup(stack, nkeys=2, max_retries=0)
    stack.mock.script = _by_status_script
    resp = parallel(lambda i: stack.main.client.get(s.path("s200/page-%d" % i), token=s.token),
                    range(55), workers=8)
    assert all(r.status == 200 for r in resp)
    wait_rows(stack, [rid(r) for r in resp])
    up = "upstream_id=%d" % s.up["id"]
    want = _expect(stack, lambda r: r["upstream_id"] == s.up["id"])
    assert len(want) == 55
    # The default limit is 50.
    first = logs(stack, up)
    assert _ids(first["items"]) == want[:50] and isinstance(first["next_cursor"], str)
    second = logs(stack, up + "&cursor=" + urllib.parse.quote(first["next_cursor"]))
    assert _ids(second["items"]) == want[50:] and second["next_cursor"] is None, second
    # Exactly the rows left: no cursor; one fewer: a cursor to a last page of one.
    assert logs(stack, up + "&limit=55")["next_cursor"] is None
    p = logs(stack, up + "&limit=54")
    assert len(p["items"]) == 54 and p["next_cursor"]
    p2 = logs(stack, up + "&limit=54&cursor=" + p["next_cursor"])
    assert _ids(p2["items"]) == want[54:] and p2["next_cursor"] is None, p2
    # Small pages, all the way.
    for limit in (1, 7, 11):
        pages = page_all(stack, up, limit)
        for pg in pages:
            assert_newest_first(pg, "a page")
        assert [i for pg in pages for i in _ids(pg)] == want, limit
        assert len(pages) == -(-55 // limit)
    # A cursor also holds with another filter set than the one it came from
    # (it is a position in the newest-first order).
    p = logs(stack, up + "&limit=10")
    rest = logs(stack, up + "&status=2xx&limit=1000&cursor=" + p["next_cursor"])
    assert _ids(rest["items"]) == want[10:]


def test_log_cursor_stays_right_while_rows_arrive(stack):
    s = setup(stack, nkeys=2, max_retries=0)
    stack.mock.script = _by_status_script
    resp = parallel(lambda i: stack.main.client.get(s.path("s200/before-%d" % i),
                                                    token=s.token), range(80), workers=8)
    wait_rows(stack, [rid(r) for r in resp])
    stop = threading.Event()
    sent_during = []
    errors = []

    def traffic(tag):
        n = 0
        while not stop.is_set():
            try:
                r = stack.main.client.get(s.path("s%d/during-%s-%d" % (
                    (200, 429, 500)[n % 3], tag, n)), token=s.token)
                sent_during.append(rid(r))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
            n += 1
            time.sleep(0.005)

    threads = [threading.Thread(target=traffic, args=(t,), daemon=True) for t in "ab"]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        for query, limit in (("upstream_id=%d" % s.up["id"], 5), ("", 13)):
            mine = "upstream_id = %d" % s.up["id"]
            snapshot = raw_logs(stack, mine if query else "1 = 1")
            n_before = len(raw_logs(stack, mine))
            pages = []
            cursor = None
            while True:
                q = "%slimit=%d" % (query + "&" if query else "", limit)
                if cursor:
                    q += "&cursor=" + urllib.parse.quote(cursor, safe="")
                body = logs(stack, q)
                pages.append(body["items"])
                cursor = body["next_cursor"]
                if cursor is None:
                    break
                assert len(body["items"]) == limit, body
                time.sleep(0.03)
                assert len(pages) < 500
            got = [i for pg in pages for i in pg]
            for pg in pages:
                assert_newest_first(pg, "a page")
            assert_newest_first(got, "the pages one after another")
            ids = [i["id"] for i in got]
            assert len(ids) == len(set(ids)), "a row on two pages"
            missing = {r["id"] for r in snapshot} - set(ids)
            assert not missing, "%d rows that existed when paging started were skipped: %r" % (
                len(missing), sorted(missing)[:10])
            after = len(raw_logs(stack, mine))
            assert after > n_before + 5, "no rows arrived while paging (%d -> %d)" % (
                n_before, after)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors, errors[:3]
    assert sent_during, "the traffic threads sent nothing"
    wait_rows(stack, sent_during)
