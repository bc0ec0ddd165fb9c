"""GET /api/admin/stats: percentiles against a known set of latencies
(nearest rank; exact under 100 ms, within 2% above), the per-minute rollups
against the raw request log (totals, by_status, by_upstream, by_key, the
series), the upstream_id filter, the range and bucket_s."""

import json
import os
import urllib.parse

import harness
from admin_helpers import A, assert_error, ok, uniq
from mock_upstream import Reply
from obs_helpers import (assert_percentile, raw_logs, rfc3339, rid, scrape, ts_ms, wait_quiet,
                         wait_rows)
from proxy_helpers import make_upstream, add_key, parallel, settle, setup
from rules_helpers import create_rule, status_is


def stats(stack, query=""):
    return ok(stack.main.admin.get(A + "/stats" + ("?" + query if query else "")))


def _delay_script(req):
    """/d/<ms>/... answers after <ms> milliseconds."""
    parts = req.path.split("?")[0].strip("/").split("/")
    ms = int(parts[1]) if len(parts) > 1 and parts[0] == "d" else 0
    return Reply(200, json.dumps({"ms": ms}), {"Content-Type": "application/json"},
                 delay=ms / 1000.0)


def _send_delays(stack, s, delays, workers=6):
    resp = parallel(lambda ms: stack.main.client.get(s.path("d/%d/x" % ms), token=s.token),
                    delays, workers=workers)
    assert all(r.status == 200 for r in resp), [r for r in resp if r.status != 200][:3]
    return wait_rows(stack, [rid(r) for r in resp])


def _in_range(body, rows):
    lo, hi = ts_ms(body["from"]), ts_ms(body["to"])
    return [r for r in rows if lo <= r["ts_ms"] < hi]


def _is_error(row):
    return row["status"] >= 400 or row["status"] < 100


def _counts(rows):
    return {"requests": len(rows), "errors": sum(1 for r in rows if _is_error(r)),
            "retries": sum(max(r["attempts"] - 1, 0) for r in rows)}


def _assert_counts(got, rows, what):
    want = _counts(rows)
    assert {k: got[k] for k in want} == want, "%s: %r, raw logs say %r" % (
        what, {k: got[k] for k in want}, want)
    avg = sum(r["latency_ms"] for r in rows) / len(rows) if rows else 0
    assert abs(got["avg_ms"] - avg) < 1e-6, (what, got["avg_ms"], avg)


def _assert_percentiles(got, rows, what):
    lat = [r["latency_ms"] for r in rows]
    for p in (50, 95, 99):
        assert_percentile(got["p%d_ms" % p], lat, p, what)


# ---------------------------------------------------------------- percentiles

def test_stats_percentiles_against_known_latencies(stack):
    mixed = setup(stack, nkeys=1, max_retries=0, settle=False)
    fast = setup(stack, nkeys=1, max_retries=0)
    stack.mock.script = _delay_script
    # 42 answers after 2 to 43 ms, 8 after 150 to 500 ms: the median is under
    # 100 ms (the gateway's own time included), p95 and p99 above.
    under = list(range(2, 44))
    over = [150, 180, 210, 250, 300, 350, 420, 500]
    rows_mixed = _send_delays(stack, mixed, under + over)
    # Every answer well under 100 ms: p50, p95 and p99 all exact.
    rows_fast = _send_delays(stack, fast, list(range(0, 32, 2)), workers=1)
    for s, rows, n in ((mixed, rows_mixed, 50), (fast, rows_fast, 16)):
        raw = raw_logs(stack, "upstream_id = %d" % s.up["id"])
        assert len(raw) == n and {r["request_id"] for r in raw} == set(rows)
        lat = sorted(r["latency_ms"] for r in raw)
        if s is mixed:
            assert lat[24] < 100 and lat[47] >= 100, lat   # ranks 25 (p50) and 48 (p95)
        else:
            assert lat[-1] < 100, lat
        body = stats(stack, "upstream_id=%d&bucket_s=60" % s.up["id"])
        t = body["totals"]
        _assert_counts(t, raw, "totals")
        _assert_percentiles(t, raw, "totals")
        assert [u["upstream_id"] for u in body["by_upstream"]] == [s.up["id"]], body
        _assert_percentiles(body["by_upstream"][0], raw, "by_upstream")
        _assert_counts(body["by_upstream"][0], raw, "by_upstream")
        # Every point of the series: its own median.
        for pt in body["series"]:
            t0 = ts_ms(pt["ts"])
            inside = [r for r in raw if t0 <= r["ts_ms"] < t0 + 60000]
            assert pt["requests"] == len(inside), (pt, len(inside))
            if inside:
                assert_percentile(pt["p50_ms"], [r["latency_ms"] for r in inside], 50, "series")
            else:
                assert pt["p50_ms"] == 0, pt
        # The same figures in the unfiltered answer.
        everything = stats(stack)
        mine = [u for u in everything["by_upstream"] if u["upstream_id"] == s.up["id"]]
        assert len(mine) == 1, everything["by_upstream"]
        _assert_percentiles(mine[0], raw, "unfiltered by_upstream")
        _assert_counts(mine[0], raw, "unfiltered by_upstream")


# ---------------------------------------------------------------- rollups

def _closed_port_url():
    return "http://127.0.0.1:%d" % harness.st.free_port()


def _mixed_traffic(stack):
    """Retries, every status class the gateway sees, transport errors, no
    token, an unknown upstream.  Returns the setups."""
    r1 = setup(stack, nkeys=2, max_retries=2, retry_backoff_ms=5, settle=False)
    r2 = setup(stack, nkeys=1, max_retries=0, settle=False)
    r3 = make_upstream(stack, base_url=_closed_port_url(), max_retries=1, retry_backoff_ms=5)
    r3_keys = [add_key(stack, r3["id"]), add_key(stack, r3["id"])]
    create_rule(stack, name=uniq("retry-500"), upstream_id=r1.up["id"],
                condition=status_is(500), actions=[{"type": "retry"}])
    bad = "Bearer " + r1.keys[0]["value"]

    def script(req):
        path = req.path.split("?")[0]
        if "/allfail" in path:
            return Reply(500, "down")
        if req.header("Authorization") == bad:
            return Reply(500, "this key fails")
        seg = path.strip("/").split("/")[0]
        status = int(seg[1:]) if seg.startswith("s") and seg[1:].isdigit() else 200
        return Reply(status, json.dumps({"status": status}), {"Content-Type": "application/json"})

    stack.mock.script = script
    settle()
    c = stack.main.client
    plan = ([(r1.path("s200/%d" % i), r1.token) for i in range(12)] +
            [(r1.path("allfail/%d" % i), r1.token) for i in range(2)] +
            [(r2.path("s%d/%d" % (st, i)), r2.token)
             for i, st in enumerate([200] * 5 + [201, 404, 404, 429, 429, 429, 503, 503])] +
            [(r2.path("s200/none"), None)] * 2 +
            [("/proxy/%s/x" % uniq("nosuch"), r2.token)] * 2 +
            [("/proxy/%s/t/%d" % (r3["name"], i), r1.token) for i in range(3)])
    resp = parallel(lambda p: c.get(p[0], token=p[1]), plan, workers=6)
    wait_rows(stack, [rid(r) for r in resp])
    wait_quiet(stack)
    return r1, r2, r3, r3_keys, resp


def _check_against_raw(stack, body, rows, what):
    t = body["totals"]
    _assert_counts(t, rows, what + " totals")
    if rows:
        _assert_percentiles(t, rows, what + " totals")
    want_status = {}
    for r in rows:
        k = "%dxx" % (r["status"] // 100)
        want_status[k] = want_status.get(k, 0) + 1
    assert body["by_status"] == want_status, (what, body["by_status"], want_status)
    # By upstream (0: no upstream).
    groups = {}
    for r in rows:
        groups.setdefault(r["upstream_id"], []).append(r)
    got = {u["upstream_id"]: u for u in body["by_upstream"]}
    assert set(got) == set(groups), (what, sorted(got), sorted(groups))
    for up, rs in groups.items():
        _assert_counts(got[up], rs, "%s upstream %d" % (what, up))
        _assert_percentiles(got[up], rs, "%s upstream %d" % (what, up))
    reqs = [u["requests"] for u in body["by_upstream"]]
    assert reqs == sorted(reqs, reverse=True), reqs
    # By key (rows without a key are in no key's figures).
    keys = {}
    for r in rows:
        if r["key_id"]:
            keys.setdefault(r["key_id"], []).append(r)
    got = {k["key_id"]: k for k in body["by_key"]}
    assert set(got) == set(keys), (what, sorted(got), sorted(keys))
    for k, rs in keys.items():
        _assert_counts(got[k], rs, "%s key %d" % (what, k))
        assert got[k]["upstream_id"] == rs[0]["upstream_id"], got[k]
    # The series adds up, point by point.
    step = body["bucket_s"]
    series = body["series"]
    assert sum(p["requests"] for p in series) == t["requests"], (what, series)
    assert sum(p["errors"] for p in series) == t["errors"], what
    for p in series:
        t0 = ts_ms(p["ts"])
        inside = [r for r in rows if t0 <= r["ts_ms"] < t0 + step * 1000]
        assert (p["requests"], p["errors"]) == (len(inside), _counts(inside)["errors"]), (p, what)


def test_stats_rollups_match_the_raw_log(stack):
    r1, r2, r3, r3_keys, resp = _mixed_traffic(stack)
    all_rows = raw_logs(stack)
    body = stats(stack)
    assert set(body) >= {"totals", "by_status", "by_upstream", "by_key", "series", "bucket_s",
                         "from", "to"}, body.keys()
    assert set(body["totals"]) == {"requests", "errors", "retries", "avg_ms", "p50_ms",
                                   "p95_ms", "p99_ms", "prompt_tokens", "completion_tokens",
                                   "cached_tokens", "total_tokens", "cost"}, body["totals"]
    rows = _in_range(body, all_rows)
    assert len(rows) == len(all_rows), "the default range (last 24 h) holds every row"
    _check_against_raw(stack, body, rows, "default range")
    # What is known from the traffic alone.
    up = {u["upstream_id"]: u for u in body["by_upstream"]}
    assert up[r2.up["id"]]["requests"] == 15 and up[r2.up["id"]]["errors"] == 9, up[r2.up["id"]]
    assert up[r1.up["id"]]["requests"] == 14 and up[r1.up["id"]]["errors"] == 2
    r1_auth = {"Bearer " + k["value"] for k in r1.keys}
    r1_attempts = sum(1 for q in list(stack.mock.requests) if q.header("Authorization") in r1_auth)
    assert up[r1.up["id"]]["retries"] == r1_attempts - 14 >= 2, (up[r1.up["id"]], r1_attempts)
    assert up[r3["id"]]["requests"] == 3 and up[r3["id"]]["errors"] == 3
    assert up[r3["id"]]["retries"] == 3 and up[r3["id"]]["upstream"] == r3["name"]
    assert up[0]["requests"] == 2 and up[0]["upstream"] is None, up[0]
    keys = {k["key_id"]: k for k in body["by_key"]}
    logged = {r["key_id"] for r in rows}
    for k in r1.keys + r2.keys + r3_keys:
        if k["id"] not in logged:   # a row names the last key tried
            assert k["id"] not in keys
            continue
        assert keys[k["id"]]["key_masked"] == k["key_masked"], keys[k["id"]]
        assert keys[k["id"]]["status"] == "active" and k["value"] not in json.dumps(body)
    # The same with the range given explicitly, in whole minutes.
    again = stats(stack, "from=%s&to=%s" % (body["from"], body["to"]))
    assert again["totals"] == body["totals"] and again["by_status"] == body["by_status"]
    # Each upstream on its own.
    for u in list(up) + [999999]:
        if u == 0:
            continue
        b = stats(stack, "upstream_id=%d" % u)
        mine = [r for r in rows if r["upstream_id"] == u]
        _check_against_raw(stack, b, mine, "upstream %d" % u)
    empty = stats(stack, "upstream_id=999999")
    assert empty["totals"]["requests"] == 0 and empty["by_upstream"] == [] and \
        empty["by_key"] == [] and empty["by_status"] == {}, empty
    assert all(p["requests"] == 0 and p["p50_ms"] == 0 for p in empty["series"])
    assert (empty["totals"]["p50_ms"], empty["totals"]["avg_ms"]) == (0, 0), empty["totals"]


def test_stats_range_and_bucket_s(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    stack.mock.script = _delay_script
    rows = _send_delays(stack, s, [1, 2, 3, 4, 5])
    wait_quiet(stack)
    minute = min(r["ts_ms"] for r in rows.values()) // 60000 * 60
    adm = stack.main.admin
    for q, field in [("bucket_s=30", "bucket_s"), ("bucket_s=90", "bucket_s"),
                     ("bucket_s=0", "bucket_s"), ("bucket_s=-60", "bucket_s"),
                     ("bucket_s=abc", "bucket_s"), ("bucket_s=60.0", "bucket_s"),
                     ("bucket_s=1", "bucket_s"),
                     ("from=yesterday", "from"), ("to=2026-02-30T99:00:00Z", "to"),
                     ("from=%s&to=%s" % (rfc3339(minute * 1000 + 120000),
                                         rfc3339(minute * 1000)), "to"),
                     ("upstream_id=abc", "upstream_id"), ("upstream_id=0", "upstream_id")]:
        assert_error(adm.get(A + "/stats?" + q), 400, "invalid_field", field)
    # Whole minutes: from rounds down, to up.
    frm, to = minute - 300, minute + 300
    for step in (60, 120, 300, 3600):
        b = stats(stack, "from=%s&to=%s&bucket_s=%d" % (
            rfc3339(frm * 1000 + 30000), rfc3339(to * 1000 + 1000), step))
        assert (b["from"], b["to"], b["bucket_s"]) == (rfc3339(frm * 1000),
                                                      rfc3339(to * 1000 + 60000), step), b
        assert all(set(p) == {"ts", "requests", "errors", "p50_ms", "prompt_tokens",
                              "completion_tokens", "cached_tokens", "total_tokens"}
                   for p in b["series"])
        pts = [ts_ms(p["ts"]) // 1000 for p in b["series"]]
        first = frm // step * step
        assert pts == list(range(first, to + 60, step)), (step, pts)
        assert sum(p["requests"] for p in b["series"]) == b["totals"]["requests"]
    # A minute's worth: exactly the rows of that minute.
    b = stats(stack, "from=%s&to=%s&bucket_s=60" % (rfc3339(minute * 1000),
                                                    rfc3339(minute * 1000 + 60000)))
    inside = [r for r in raw_logs(stack) if minute * 1000 <= r["ts_ms"] < minute * 1000 + 60000]
    assert b["totals"]["requests"] == len(inside) > 0, (b["totals"], len(inside))
    assert [p["ts"] for p in b["series"]] == [rfc3339(minute * 1000)]
    _check_against_raw(stack, b, inside, "one minute")
    # An hourly point over part of an hour counts only the range's requests,
    # its percentile included.
    b = stats(stack, "from=%s&to=%s&bucket_s=3600" % (rfc3339(minute * 1000),
                                                      rfc3339(minute * 1000 + 60000)))
    assert len(b["series"]) == 1 and b["series"][0]["requests"] == len(inside), b["series"]
    assert b["series"][0]["p50_ms"] == b["totals"]["p50_ms"] > 0, (b["series"], b["totals"])
    b = stats(stack, "from=%s&to=%s&bucket_s=3600" % (rfc3339(minute * 1000 + 60000),
                                                      rfc3339(minute * 1000 + 120000)))
    assert b["series"][0]["requests"] == 0 and b["series"][0]["p50_ms"] == 0, b["series"]
    # A range with nothing in it: zeros, every point there.
    b = stats(stack, "from=2020-01-01T00:00:00Z&to=2020-01-01T01:00:00Z")
    assert b["totals"] == {"requests": 0, "errors": 0, "retries": 0, "avg_ms": 0, "p50_ms": 0,
                           "p95_ms": 0, "p99_ms": 0, "prompt_tokens": 0, "completion_tokens": 0,
                           "cached_tokens": 0, "total_tokens": 0, "cost": {}}, b["totals"]
    assert (b["by_status"], b["by_upstream"], b["by_key"], b["by_model"], b["by_token"]) == (
        {}, [], [], [], []), b
    assert b["bucket_s"] % 60 == 0 and b["bucket_s"] >= 60, b["bucket_s"]
    assert len(b["series"]) == 3600 // b["bucket_s"], len(b["series"])
    assert all(p["requests"] == 0 and p["errors"] == 0 for p in b["series"])
    # A range too long for its bucket: a wider bucket, a bounded series.
    b = stats(stack, "from=2000-01-01T00:00:00Z&bucket_s=60")
    assert b["bucket_s"] > 60 and b["bucket_s"] % 60 == 0 and len(b["series"]) <= 2001, \
        (b["bucket_s"], len(b["series"]))
    assert sum(p["requests"] for p in b["series"]) == b["totals"]["requests"]
    # The epoch is a time like any other, not "from not given" (which would
    # mean the day before `to`, here a day that has not come yet).
    later = rfc3339(minute * 1000 + 2 * 86400 * 1000)
    b = stats(stack, "from=1970-01-01T00:00:00Z&to=" + later)
    assert b["from"] == "1970-01-01T00:00:00Z", b["from"]
    assert b["totals"]["requests"] == stats(stack, "from=2000-01-01T00:00:00Z&to=" + later)[
        "totals"]["requests"] > 0, b["totals"]
    # Offsets in from/to are the same instants.
    q = urllib.parse.quote(rfc3339(minute * 1000).replace("Z", "+00:00"), safe="")
    assert stats(stack, "from=" + q)["from"] == rfc3339(minute * 1000)


# ---------------------------------------------------------------- replays

def _spool_line(row, upstream, request_id=None, ts=None):
    """A spool line (core/spool.c entry_json) for a request_logs row."""
    return json.dumps({
        "request_id": request_id or row["request_id"], "ts_ms": ts or row["ts_ms"],
        "method": row["method"], "upstream_id": row["upstream_id"], "upstream": upstream,
        "path": row["path"], "key_id": row["key_id"], "token_id": row["token_id"],
        "status": row["status"], "latency_ms": row["latency_ms"], "attempts": row["attempts"],
        "req_bytes": 0, "resp_bytes": 0, "error": None, "rules": None, "messages": None})


def test_stats_rollups_do_not_count_a_replayed_row_twice(stack):
    """A replay file can hold rows that are already in request_logs: a replay
    stopped by a database error after some of its batches went in is
    replayed again from the start (the file stays), and processes sharing a
    spool folder replay every reqlog.replay.* file they find.  request_id
    keeps the row single (INSERT IGNORE); the rollups must stay single too,
    or stats and /metrics no longer agree with the log."""
    s = setup(stack, nkeys=1, max_retries=0)
    stack.mock.script = _delay_script
    rows = _send_delays(stack, s, [1, 1, 1, 1])
    wait_quiet(stack)
    have = sorted(rows.values(), key=lambda r: r["id"])
    g = stack.gateway(uniq("obs-replay"), start=False)
    spool = os.path.join(g.dir, "spool")       # the gateway's spool_dir (harness.Gateway)
    os.makedirs(spool, exist_ok=True)
    now_ms = max(r["ts_ms"] for r in have) + 5
    fresh = ["obsreplay%08d" % (i + int(now_ms) % 10**7) for i in range(2)]
    with open(os.path.join(spool, "reqlog.replay.4242.1"), "w") as f:
        for r in have[:2]:                    # already written before the replay stopped
            f.write(_spool_line(r, s.name) + "\n")
        for i, x in enumerate(fresh):         # never written
            f.write(_spool_line(have[0], s.name, request_id=x, ts=now_ms + i) + "\n")
    g.start()
    try:
        wait_rows(stack, fresh)
        harness.wait_until(lambda: not os.listdir(spool), timeout=10,
                           what="the replay file to be replayed and removed")
        raw = raw_logs(stack, "upstream_id = %d" % s.up["id"])
        assert len(raw) == 6, len(raw)       # 4 + 2 new; the 2 old ones not doubled
        body = stats(stack, "upstream_id=%d" % s.up["id"])
        assert body["totals"]["requests"] == 6, (
            "stats count %d requests for %d request_logs rows" % (
                body["totals"]["requests"], len(raw)))
        _check_against_raw(stack, body, _in_range(body, raw), "after replay")
        m = scrape(stack)
        got = sum(v for lb, v in m.series("apigw_requests_total", upstream_id=s.up["id"]))
        assert got == 6, "apigw_requests_total says %d for %d rows" % (got, len(raw))
    finally:
        g.stop()
