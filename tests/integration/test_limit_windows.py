"""Limit windows (issue 20, docs/API.md "Limit windows"): `limits` on keys
and client tokens, each a minute, hour or day window of requests and/or
answer tokens, optionally for some models only.  A key whose window is
full is skipped (the next key serves); a token whose window is full gets
429 rate_limited with Retry-After its window's end.  Counts are exact
across two gateway processes.  Hour and day windows are tested by seeding
their counters; only the minute window runs in real time, and only when
enough of the database's minute is left."""

import json
import time

from admin_helpers import A, assert_error, ok, parse_time
from cron_helpers import run_job, sql_int
from mock_upstream import Reply
from proxy_helpers import (counts_by_key, ensure_minute_room, parallel, settle, setup,
                           wait_log_row)


def _answer(tokens=None, model="gpt-l"):
    body = {"model": model}
    if tokens is not None:
        body["usage"] = {"prompt_tokens": tokens - 1, "completion_tokens": 1,
                         "total_tokens": tokens}
    return lambda req: Reply(200, json.dumps(body), {"Content-Type": "application/json"})


def _call(stack, s, model="gpt-l", gw=None):
    body = {"model": model} if model is not None else {"x": 1}
    return (gw or stack.main).client.post(s.path("v1/chat/completions"), json=body,
                                          token=s.token)


def _counters(stack, kind, owner_id):
    """{slot: (window_start, requests, tokens)} of the newest window of each
    slot (every version: a test's owner has one list at a time)."""
    out = {}
    rows = stack.sql("SELECT slot, window_start, requests, tokens FROM limit_counters"
                     " WHERE owner_kind = %d AND owner_id = %d ORDER BY slot, window_start"
                     % (kind, owner_id)).split("\n")
    for line in rows:
        if line.strip():
            slot, start, req, tok = (int(x) for x in line.split("\t"))
            out[slot] = (start, req, tok)
    return out


def _seed(stack, kind, owner_id, slot, requests=None, tokens=None):
    sets = []
    if requests is not None:
        sets.append("requests = %d" % requests)
    if tokens is not None:
        sets.append("tokens = %d" % tokens)
    stack.sql("UPDATE limit_counters SET %s WHERE owner_kind = %d AND owner_id = %d AND slot = %d"
              % (", ".join(sets), kind, owner_id, slot))


def _db_now(stack):
    return sql_int(stack, "SELECT UNIX_TIMESTAMP()")


def test_limits_are_checked_on_save_and_cleared_by_null(stack):
    s = setup(stack, nkeys=1, settle=False)
    up = s.up["id"]
    bad = [
        ([{"window": "week", "requests": 1}], "limits[0].window"),
        ([{"window": "minute"}], "limits[0].requests"),
        ([{"window": "hour", "requests": 1}, {"window": "day", "tokens": 0}], "limits[1].tokens"),
        ([{"window": "day", "requests": 1, "model": ""}], "limits[0].model"),
        ([{"window": "day", "requests": 1, "per": 2}], "limits[0].per"),
        ([{"window": "day", "requests": 1}] * 9, "at most 8"),
        ({"window": "day"}, "limits"),
    ]
    for limits, field in bad:
        assert_error(stack.main.admin.post(A + "/keys", json={
            "upstream_id": up, "key_value": "sk-lim-bad-value-1", "limits": limits}),
            400, "invalid_field", field)
        assert_error(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"],
                                            json={"limits": limits}), 400, "invalid_field", field)
        assert_error(stack.main.admin.post(A + "/tokens", json={"name": "t-bad", "limits": limits}),
                     400, "invalid_field", field)
        assert_error(stack.main.admin.patch(A + "/tokens/%d" % s.token_obj["id"],
                                            json={"limits": limits}), 400, "invalid_field", field)
    good = [{"window": "minute", "requests": 5},
            {"window": "day", "tokens": 1000, "model": "gpt-4*"}]
    k = ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"], json={"limits": good}))
    assert k["limits"] == good, k
    t = ok(stack.main.admin.patch(A + "/tokens/%d" % s.token_obj["id"], json={"limits": good}))
    assert t["limits"] == good, t
    got = ok(stack.main.admin.get(A + "/keys/%d" % s.keys[0]["id"]))
    assert [(u["window"], u["model"], u["requests_used"], u["tokens_used"])
            for u in got["limits_usage"]] == [("minute", None, 0, 0), ("day", "gpt-4*", 0, 0)]
    for kind in ("keys", "tokens"):
        ident = s.keys[0]["id"] if kind == "keys" else s.token_obj["id"]
        cleared = ok(stack.main.admin.patch(A + "/%s/%d" % (kind, ident), json={"limits": None}))
        assert cleared["limits"] is None, cleared
        got = ok(stack.main.admin.get(A + "/%s/%d" % (kind, ident)))
        assert "limits_usage" not in got, got
    assert ok(stack.main.admin.get(A + "/keys/%d" % s.keys[0]["id"]))["limits"] is None


def test_import_takes_limits_for_every_key(stack):
    s = setup(stack, nkeys=0, settle=False)
    limits = [{"window": "hour", "requests": 7}]
    assert_error(stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": s.up["id"], "keys": ["sk-lim-import-000001"],
        "limits": [{"window": "hour"}]}), 400, "invalid_field", "limits[0].requests")
    res = ok(stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": s.up["id"], "keys": ["sk-lim-import-000001", "sk-lim-import-000002"],
        "limits": limits}))
    assert res["created"] == 2, res
    items = ok(stack.main.admin.get(A + "/keys?upstream_id=%d" % s.up["id"]))["items"]
    assert [k["limits"] for k in items] == [limits, limits], items


def test_a_key_full_in_its_minute_is_skipped_and_others_serve(stack):
    s = setup(stack, nkeys=2, key_fields=[{"limits": [{"window": "minute", "requests": 3}]}, {}])
    stack.mock.reset(_answer())
    ensure_minute_room(stack, need_s=8)
    for _ in range(10):
        assert _call(stack, s).status == 200
    seen = counts_by_key(stack, s)
    assert seen[s.keys[0]["value"]] == 3 and seen[s.keys[1]["value"]] == 7, seen
    got = ok(stack.main.admin.get(A + "/keys/%d" % s.keys[0]["id"]))
    (use,) = got["limits_usage"]
    assert use["window"] == "minute" and use["requests_used"] == 3, use
    left = parse_time(use["resets_at"]) - _db_now(stack)
    assert 0 < left <= 60, use
    # Its status does not change.
    assert got["status"] == "active", got


def _third_in_a_minute(stack, s):
    """Two requests served in one minute of the database, then a third."""
    stack.mock.reset(_answer())
    ensure_minute_room(stack, need_s=8)
    assert [_call(stack, s).status for _ in range(2)] == [200, 200]
    return _call(stack, s)


def test_no_key_left_answers_503_with_the_windows_end(stack):
    s = setup(stack, nkeys=1, key_fields={"limits": [{"window": "minute", "requests": 2}]})
    r = _third_in_a_minute(stack, s)
    assert_error(r, 503, "no_available_key")
    assert 1 <= int(r.header("Retry-After")) <= 60, r.headers
    assert len(stack.mock.requests) == 2


def test_hour_and_day_windows_seeded(stack):
    limits = [{"window": "hour", "requests": 5}, {"window": "day", "requests": 100}]
    s = setup(stack, nkeys=1, key_fields={"limits": limits})
    kid = s.keys[0]["id"]
    stack.mock.reset(_answer())
    assert _call(stack, s).status == 200
    c = _counters(stack, 1, kid)
    now = _db_now(stack)
    assert c[0][0] == now - now % 3600 and c[0][1] == 1, c
    # The day follows the reset schedule: quota_reset_hour 0 in UTC here.
    assert c[1][0] == now - now % 86400 and c[1][1] == 1, c
    _seed(stack, 1, kid, 0, requests=5)
    r = _call(stack, s)
    assert_error(r, 503, "no_available_key")
    assert 1 <= int(r.header("Retry-After")) <= 3600
    # Nothing was counted for the refused request.
    assert _counters(stack, 1, kid)[1][1] == 1
    _seed(stack, 1, kid, 0, requests=0)
    _seed(stack, 1, kid, 1, requests=100)
    # The key was set aside until the hour's end in this process.
    settle_key_aside(stack, s)
    r = _call(stack, s)
    assert_error(r, 503, "no_available_key")
    # A window that is over does not count: a full hour before this one.
    _seed(stack, 1, kid, 1, requests=1)
    stack.sql("UPDATE limit_counters SET window_start = window_start - 3600, requests = 5"
              " WHERE owner_kind = 1 AND owner_id = %d AND slot = 0" % kid)
    settle_key_aside(stack, s)
    assert _call(stack, s).status == 200
    got = ok(stack.main.admin.get(A + "/keys/%d" % kid))
    assert [u["requests_used"] for u in got["limits_usage"]] == [1, 2], got
    day_end = parse_time(got["limits_usage"][1]["resets_at"])
    assert day_end == now - now % 86400 + 86400, got


def test_a_keys_day_follows_its_upstreams_own_reset(stack):
    """A key's day window runs from one reset of its upstream to the next
    (midnight in Asia/Kolkata, UTC+05:30 all year), not the global one;
    the client token's day stays the global (UTC midnight here)."""
    limits = [{"window": "day", "requests": 100}]
    s = setup(stack, nkeys=1, key_fields={"limits": limits}, token_fields={"limits": limits},
              quota_reset_hour=0, quota_reset_tz="Asia/Kolkata")
    kid = s.keys[0]["id"]
    stack.mock.reset(_answer())
    assert _call(stack, s).status == 200
    now = _db_now(stack)
    off = 5 * 3600 + 1800
    day = (now + off) - (now + off) % 86400 - off
    assert _counters(stack, 1, kid)[0][0] == day
    got = ok(stack.main.admin.get(A + "/keys/%d" % kid))
    assert parse_time(got["limits_usage"][0]["resets_at"]) == day + 86400, got
    assert _counters(stack, 2, s.token_obj["id"])[0][0] == now - now % 86400


def settle_key_aside(stack, s):
    """A key set aside until its window's end comes back with a new pool
    snapshot: touch it so that the snapshot is rebuilt."""
    stack.sql("UPDATE pool_version SET version = version + 1")
    settle()


def test_an_edited_list_counts_afresh(stack):
    s = setup(stack, nkeys=1, key_fields={"limits": [{"window": "hour", "requests": 1}]})
    stack.mock.reset(_answer())
    assert _call(stack, s).status == 200
    assert _call(stack, s).status == 503
    ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"],
                              json={"limits": [{"window": "hour", "requests": 2}]}))
    settle()
    assert [_call(stack, s).status for _ in range(3)] == [200, 200, 503]


def _hammer_two(stack, s, n, name):
    """n requests at once, half through the main gateway and half through
    a second one."""
    second = stack.gateway(name)
    try:
        gws = [stack.main, second]
        return parallel(lambda i: _call(stack, s, gw=gws[i % 2]), range(n), workers=n)
    finally:
        second.stop()


def test_a_keys_window_is_exact_across_two_processes(stack):
    s = setup(stack, nkeys=2, key_fields=[{"limits": [{"window": "hour", "requests": 10}]}, {}])
    stack.mock.reset(_answer())
    res = _hammer_two(stack, s, 40, "lw-key")
    assert all(r.status == 200 for r in res), [r for r in res if r.status != 200][:3]
    seen = counts_by_key(stack, s)
    assert seen[s.keys[0]["value"]] == 10 and seen[s.keys[1]["value"]] == 30, seen
    assert _counters(stack, 1, s.keys[0]["id"])[0][1] == 10


def test_a_tokens_window_is_exact_across_two_processes(stack):
    s = setup(stack, nkeys=2, token_fields={"limits": [{"window": "hour", "requests": 25}]})
    stack.mock.reset(_answer())
    res = _hammer_two(stack, s, 40, "lw-tok")
    served = sum(1 for r in res if r.status == 200)
    assert served == 25, "served %d under a window of 25" % served
    assert {(r.status, r.error_code()) for r in res if r.status != 200} == {(429, "rate_limited")}
    assert len(stack.mock.requests) == 25


def test_the_token_and_the_key_are_reserved_together(stack):
    s = setup(stack, nkeys=1, key_fields={"limits": [{"window": "hour", "requests": 1}]},
              token_fields={"limits": [{"window": "hour", "requests": 5}]})
    stack.mock.reset(_answer())
    tid = s.token_obj["id"]
    assert _call(stack, s).status == 200
    # The key is full: the token's unit taken with it is rolled back.
    assert_error(_call(stack, s), 503, "no_available_key")
    assert _counters(stack, 2, tid)[0][1] == 1
    # No usable key at all: nothing is reserved for the token either.
    ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"], json={"status": "disabled"}))
    settle()
    assert_error(_call(stack, s), 503, "no_available_key")
    assert _counters(stack, 2, tid)[0][1] == 1
    got = ok(stack.main.admin.get(A + "/tokens/%d" % tid))
    assert got["limits_usage"][0]["requests_used"] == 1, got


def test_model_patterns_choose_the_limits_that_apply(stack):
    s = setup(stack, nkeys=1,
              key_fields={"limits": [{"window": "hour", "requests": 1, "model": "gpt-4*"}]},
              token_fields={"limits": [{"window": "hour", "requests": 2, "model": "claude-*"}]})
    stack.mock.reset(_answer())
    assert _call(stack, s, "gpt-4o").status == 200
    # The key is full for gpt-4* only: other models, and a request with no
    # model, still use it.
    assert_error(_call(stack, s, "gpt-4o-mini"), 503, "no_available_key")
    assert _call(stack, s, "gpt-3.5").status == 200
    assert _call(stack, s, None).status == 200
    assert [_call(stack, s, "claude-3").status for _ in range(2)] == [200, 200]
    r = _call(stack, s, "claude-3")
    msg = assert_error(r, 429, "rate_limited", "2 requests per hour")
    assert "claude-*" in msg, msg
    assert 1 <= int(r.header("Retry-After")) <= 3600
    assert _call(stack, s, "gpt-3.5").status == 200


def test_model_map_the_model_sent_is_the_one_limited(stack):
    s = setup(stack, nkeys=1, model_map={"fast": "gpt-4o-mini"},
              token_fields={"limits": [{"window": "hour", "requests": 1, "model": "gpt-4o*"}]})
    stack.mock.reset(_answer())
    assert _call(stack, s, "fast").status == 200
    assert_error(_call(stack, s, "fast"), 429, "rate_limited")
    assert_error(_call(stack, s, "gpt-4o-mini"), 429, "rate_limited")


def test_token_windows_count_the_tokens_of_answers(stack):
    s = setup(stack, nkeys=1, usage_format="openai",
              token_fields={"limits": [{"window": "hour", "tokens": 30}]})
    stack.mock.reset(_answer(tokens=12))
    # 0, 12 and 24 tokens counted are under 30; 36 is not.  Tokens noted
    # but not yet written count too, however fast requests follow.
    for _ in range(3):
        assert _call(stack, s).status == 200
    r = _call(stack, s)
    msg = assert_error(r, 429, "rate_limited", "30 tokens per hour")
    assert 1 <= int(r.header("Retry-After")) <= 3600
    wait_log_row(stack, r)
    tid = s.token_obj["id"]

    def usage():
        got = ok(stack.main.admin.get(A + "/tokens/%d" % tid))["limits_usage"][0]
        return got if got["tokens_used"] == 36 else None
    deadline = time.time() + 5
    got = usage()
    while got is None and time.time() < deadline:
        time.sleep(0.1)
        got = usage()
    assert got is not None and got["requests_used"] == 3, got
    assert msg


def test_a_key_token_window_moves_requests_to_other_keys(stack):
    s = setup(stack, nkeys=2, usage_format="openai",
              key_fields=[{"limits": [{"window": "day", "tokens": 20}], "priority": 1}, {}])
    stack.mock.reset(_answer(tokens=12))
    for _ in range(5):
        assert _call(stack, s).status == 200
    seen = counts_by_key(stack, s)
    # The preferred key serves until its 20 tokens are used (0 and 12 are
    # under 20; 24 is not), then the other key does.
    assert seen[s.keys[0]["value"]] == 2 and seen[s.keys[1]["value"]] == 3, seen


def test_a_token_over_its_minute_gets_429(stack):
    s = setup(stack, nkeys=1, token_fields={"limits": [{"window": "minute", "requests": 2}]})
    r = _third_in_a_minute(stack, s)
    msg = assert_error(r, 429, "rate_limited", "2 requests per minute")
    assert "limits[0]" in msg, msg
    assert 1 <= int(r.header("Retry-After")) <= 60
    assert len(stack.mock.requests) == 2


def test_keys_and_tokens_without_limits_write_no_counters(stack):
    s = setup(stack, nkeys=1)
    stack.mock.reset(_answer())
    for _ in range(3):
        assert _call(stack, s).status == 200
    assert sql_int(stack, "SELECT COUNT(*) FROM limit_counters WHERE (owner_kind = 1 AND"
                   " owner_id = %d) OR (owner_kind = 2 AND owner_id = %d)"
                   % (s.keys[0]["id"], s.token_obj["id"])) == 0


def test_log_cleanup_deletes_ended_windows(stack):
    now = _db_now(stack)
    stack.sql("INSERT INTO limit_counters (owner_kind, owner_id, version, slot, window_start,"
              " requests, tokens) VALUES (1, 999999, 1, 0, %d, 5, 0), (1, 999999, 1, 0, %d, 5, 0)"
              % (now - 3 * 86400, now - now % 3600))
    r = run_job(stack, "apigw-log-cleanup")
    assert r.rc == 0, r
    assert "1 ended limit window counters" in r.out, r.out
    assert sql_int(stack, "SELECT COUNT(*) FROM limit_counters WHERE owner_id = 999999") == 1

