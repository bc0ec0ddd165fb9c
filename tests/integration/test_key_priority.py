"""Key priority tiers (issue 19): a pick takes the highest tier with a
usable key and applies the strategy inside it; a retry tries the same tier
first, then lower ones; the import, the key API and the stats carry the
tier."""

from admin_helpers import A, assert_error, key_value, ok
from mock_upstream import Reply
from proxy_helpers import counts_by_key, settle, setup, wait_log_row
from obs_helpers import wait_quiet
from rules_helpers import create_rule, status_is


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def test_the_highest_tier_serves_and_the_strategy_applies_inside_it(stack):
    s = setup(stack, nkeys=3, key_fields=[{"priority": 10}, {"priority": 10}, {}])
    assert [k["priority"] for k in s.keys] == [10, 10, 0]
    stack.mock.reset(_ok)
    for _ in range(12):
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200, r
    seen = counts_by_key(stack, s)
    low = s.keys[2]["value"]
    assert seen[low] == 0, seen
    # Round robin inside the top tier: both of its keys, evenly.
    assert seen[s.keys[0]["value"]] == 6 and seen[s.keys[1]["value"]] == 6, seen


def test_a_retry_tries_the_same_tier_then_lower_ones(stack):
    s = setup(stack, nkeys=3, max_retries=2, settle=False,
              key_fields=[{"priority": 5}, {"priority": 5}, {"priority": -1}])
    create_rule(stack, upstream_id=s.up["id"], condition=status_is(500),
                actions=[{"type": "retry"}])
    settle()
    low = s.keys[2]["value"]
    stack.mock.reset(lambda req: _ok(req) if req.header("Authorization") == "Bearer " + low
                     else Reply(500, '{"error": "busy"}', {"Content-Type": "application/json"}))
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "3", r
    order = [q.header("Authorization")[len("Bearer "):] for q in stack.mock.requests]
    # Both keys of tier 5 first (in either order), then the key of tier -1.
    assert sorted(order[:2]) == sorted([s.keys[0]["value"], s.keys[1]["value"]]), order
    assert order[2] == low, order
    assert wait_log_row(stack, r)["key_id"] == s.keys[2]["id"]


def test_a_lower_tier_serves_when_the_top_tier_is_out(stack):
    s = setup(stack, nkeys=2, key_fields=[{"priority": 1}, {}])
    stack.mock.reset(_ok)
    ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"], json={"status": "disabled"}))
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200 and wait_log_row(stack, r)["key_id"] == s.keys[1]["id"], r


def test_import_keys_api_and_stats_carry_the_tier(stack):
    s = setup(stack, nkeys=0, settle=False)
    values = [key_value("tier") for _ in range(2)]
    res = ok(stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": s.up["id"], "keys": values, "priority": 7}))
    assert res["created"] == 2, res
    items = ok(stack.main.admin.get(A + "/keys?upstream_id=%d" % s.up["id"]))["items"]
    assert sorted(k["priority"] for k in items) == [7, 7], items
    k = ok(stack.main.admin.patch(A + "/keys/%d" % items[0]["id"], json={"priority": -3}))
    assert k["priority"] == -3
    assert_error(stack.main.admin.patch(A + "/keys/%d" % items[0]["id"],
                                        json={"priority": 10 ** 7}), 400, "invalid_field",
                 "priority")
    assert_error(stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": s.up["id"], "keys": [key_value("t")], "priority": "high"}),
        400, "invalid_field", "priority")
    settle()
    stack.mock.reset(_ok)
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200, r
    served = wait_log_row(stack, r)["key_id"]
    assert served == items[1]["id"], (served, items)   # tier 7 beats tier -3
    wait_quiet(stack)
    st = ok(stack.main.admin.get(A + "/stats?upstream_id=%d" % s.up["id"]))
    row = [b for b in st["by_key"] if b["key_id"] == served][0]
    assert row["priority"] == 7, row
