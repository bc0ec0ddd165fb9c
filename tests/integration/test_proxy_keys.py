"""Key choice: the three strategies, daily quotas under concurrency (one
and two application processes), per-key rpm limits, exact counters, no key
left, and the request log rows."""

import time

from proxy_helpers import (A, assert_json_error, counts_by_key, ensure_minute_room, ok, parallel,
                           settle, setup, wait_key, wait_log_rows)


def test_round_robin_each_of_3_keys_serves_exactly_10_of_30(stack):
    s = setup(stack, nkeys=3)
    c = stack.main.client
    for i in range(30):
        r = c.get(s.path("v1/x"), token=s.token)
        assert r.status == 200, (i, r)
    counts = counts_by_key(stack, s)
    assert sorted(counts.values()) == [10, 10, 10], counts
    # The rotation itself: three consecutive requests use three keys.
    seq = [q.header("Authorization") for q in stack.mock.requests]
    for i in range(0, 28):
        assert len(set(seq[i:i + 3])) == 3, seq


def test_key_counters_are_exact(stack):
    s = setup(stack, nkeys=3)
    c = stack.main.client
    for i in range(30):
        assert c.get(s.path("v1/x"), token=s.token).status == 200
    counts = counts_by_key(stack, s)
    assert sorted(counts.values()) == [10, 10, 10], counts
    for k in s.keys:
        got = wait_key(stack, k["id"], used_today=10, total_requests=10, total_failures=0)
        assert got["last_used_at"] is not None, got
    # And they stay exact: nothing counted twice.
    time.sleep(0.5)
    for k in s.keys:
        wait_key(stack, k["id"], timeout=0.1, used_today=10, total_requests=10,
                 total_failures=0)


def test_random_uses_every_key(stack):
    s = setup(stack, nkeys=3, strategy="random")
    c = stack.main.client
    for i in range(60):
        assert c.get(s.path("v1/x"), token=s.token).status == 200, i
    counts = counts_by_key(stack, s)
    assert sum(counts.values()) == 60
    assert all(n > 0 for n in counts.values()), counts
    for k in s.keys:
        wait_key(stack, k["id"], used_today=counts[k["value"]],
                 total_requests=counts[k["value"]])


def test_weighted_is_proportional_to_weight_times_remaining_quota(stack):
    # k0: weight 2, no quota           -> 2 * 1000          = 2000  (25 %)
    # k1: weight 1, 10000 - 8000 used  -> 1 * 2000          = 2000  (25 %)
    # k2: weight 4, quota 1000         -> 4 * 1000          = 4000  (50 %)
    # (weight only would give 29/14/57 %; quota instead of remaining 12/62/25 %;
    # no-quota keys as weight × 1 would give 0/33/67 %.)
    s = setup(stack, nkeys=3, strategy="weighted", settle=False,
              key_fields=[{"weight": 2}, {"weight": 1, "daily_quota": 10000},
                          {"weight": 4, "daily_quota": 1000}])
    stack.sql("UPDATE api_keys SET used_today = 8000 WHERE id = %d;"
              " UPDATE pool_version SET version = version + 1" % s.keys[1]["id"])
    settle()
    n = 400
    res = parallel(lambda i: stack.main.client.get(s.path("v1/x"), token=s.token).status,
                   range(n), workers=8)
    assert res == [200] * n, res
    counts = counts_by_key(stack, s)
    got = [counts[v] for v in s.key_values]
    expected = [n * 0.25, n * 0.25, n * 0.5]
    for g, e in zip(got, expected):
        assert abs(g - e) <= 32, "counts %r, expected about %r" % (got, expected)


def _quota_race(stack, gateways):
    s = setup(stack, nkeys=2, key_fields={"daily_quota": 15})
    clients = [g.client for g in gateways]

    def one(i):
        r = clients[i % len(clients)].get(s.path("v1/x"), token=s.token, timeout=60)
        return r.status, r.error_code(), r.header("X-Gateway-Request-Id")

    res = parallel(one, range(80), workers=80)
    statuses = sorted(x[0] for x in res)
    assert statuses.count(200) == 30 and statuses.count(503) == 50, \
        "expected 30 × 200 and 50 × 503, got %r" % {st: statuses.count(st) for st in set(statuses)}
    assert {x[1] for x in res if x[0] == 503} == {"no_available_key"}, res
    assert len(stack.mock.requests) == 30
    counts = counts_by_key(stack, s)
    assert sorted(counts.values()) == [15, 15], counts
    for k in s.keys:
        wait_key(stack, k["id"], used_today=15, total_requests=15)
    # Every request, answered by either process, has its log row.
    rows = wait_log_rows(stack, [x[2] for x in res])
    assert sorted(r["status"] for r in rows.values()) == statuses


def test_daily_quota_race_one_process(stack):
    _quota_race(stack, [stack.main])


def test_daily_quota_race_two_processes(stack):
    second = stack.gateway("second-quota")
    try:
        _quota_race(stack, [stack.main, second])
    finally:
        second.stop()


def test_key_at_rpm_limit_is_skipped(stack):
    s = setup(stack, nkeys=2, key_fields=[{"rpm_limit": 2}, {}])
    ensure_minute_room(stack)
    c = stack.main.client
    for i in range(8):
        r = c.get(s.path("v1/x"), token=s.token)
        assert r.status == 200, (i, r)
        assert r.header("X-Gateway-Attempts") == "1", r.headers
    counts = counts_by_key(stack, s)
    assert counts == {s.keys[0]["value"]: 2, s.keys[1]["value"]: 6}, counts


def test_single_key_rpm_limit_6th_request_gets_503(stack):
    s = setup(stack, key_fields={"rpm_limit": 5})
    ensure_minute_room(stack)
    c = stack.main.client
    for i in range(5):
        r = c.get(s.path("v1/x"), token=s.token)
        assert r.status == 200, (i, r)
    r = c.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 503, "no_available_key")
    assert len(stack.mock.requests) == 5
    wait_key(stack, s.keys[0]["id"], used_today=5, total_requests=5)


def test_all_keys_disabled_gives_no_available_key(stack):
    s = setup(stack, nkeys=2)
    c = stack.main.client
    assert c.get(s.path("v1/x"), token=s.token).status == 200
    r = stack.main.admin.post(A + "/keys/batch", json={"ids": [k["id"] for k in s.keys],
                                                      "action": "disable"})
    assert ok(r)["affected"] == 2
    settle()
    stack.mock.reset()
    r = c.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 503, "no_available_key")
    assert stack.mock.requests == []
    # An upstream with no key at all: the same.
    s2 = setup(stack, nkeys=0)
    r = c.get(s2.path("v1/x"), token=s2.token)
    assert_json_error(r, 503, "no_available_key")
    assert stack.mock.requests == []


def test_every_request_has_its_log_row(stack):
    s = setup(stack, nkeys=2)
    c = stack.main.client
    sent = []   # (response, method, request body bytes)
    for i in range(6):
        body = b"x" * (i + 1)
        r = c.post(s.path("v1/items/%d" % i), token=s.token, body=body)
        assert r.status == 200, r
        sent.append((r, "POST", len(body)))
    r = c.get(s.path("v1/x"))
    assert r.status == 401
    sent.append((r, "GET", 0))
    r = c.get(s.path("%2e%2e/x"), token=s.token)
    assert r.status == 400
    sent.append((r, "GET", 0))
    r = c.delete("/proxy/no-such-up-here/x", token=s.token)
    assert r.status == 404
    sent.append((r, "DELETE", 0))
    ids = [x[0].header("X-Gateway-Request-Id") for x in sent]
    assert len(set(ids)) == len(ids)
    rows = wait_log_rows(stack, ids)
    by_path = {q.path: q for q in stack.mock.requests}
    for (resp, method, nbytes), rid in zip(sent, ids):
        row = rows[rid]
        assert row["status"] == resp.status, (row, resp)
        assert row["method"] == method, row
        assert row["req_bytes"] == nbytes, row
        if resp.status == 200:
            assert row["upstream_id"] == s.up["id"] and row["upstream"] == s.name, row
            assert row["token_id"] == s.token_obj["id"], row
            assert row["attempts"] == 1, row
            assert row["resp_bytes"] == len(resp.body), (row, len(resp.body))
            assert row["error"] is None, row
            mock_path = row["path"][row["path"].index("/v1/"):]
            q = by_path[mock_path]
            assert s.key_by_value(q.header("Authorization")[7:])["id"] == row["key_id"], row
        else:
            assert row["key_id"] is None and row["attempts"] == 0, row
    assert rows[ids[6]]["upstream_id"] == s.up["id"] and rows[ids[6]]["token_id"] is None
    assert rows[ids[8]]["upstream_id"] is None
