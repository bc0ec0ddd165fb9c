"""Token quotas (docs/USAGE.md): daily_token_quota on client tokens (429
rate_limited once the tokens used so far reach it; one request may
overshoot) and on keys (the key becomes exhausted, with a history row, and
the others serve); the counts are exact under concurrency, and the quota
reset clears them."""

import json

from admin_helpers import A, assert_error, ok
from cron_helpers import key_events, run_job, sql_int
from mock_upstream import Reply
from proxy_helpers import parallel, settle, setup, wait_key, wait_log_row
from rules_helpers import create_rule, status_is


def usage_answer(total):
    body = {"model": "gpt-q", "usage": {"prompt_tokens": total - 2, "completion_tokens": 2,
                                        "total_tokens": total}}
    return lambda req: Reply(200, json.dumps(body), {"Content-Type": "application/json"})


def call(stack, s):
    return stack.main.client.post(s.path("v1/chat/completions"), json={"model": "gpt-q"},
                                  token=s.token)


def tokens_today(stack, table, row_id):
    return sql_int(stack, "SELECT tokens_today FROM %s WHERE id = %d" % (table, row_id))


def test_token_quota_refuses_once_reached(stack):
    s = setup(stack, usage_format="openai", token_fields={"daily_token_quota": 30})
    assert s.token_obj["daily_token_quota"] == 30 and s.token_obj["tokens_today"] == 0
    stack.mock.script = usage_answer(12)
    # 0, 12 and 24 tokens used so far are under 30; 36 is not.  The counts a
    # process noted but did not write yet count too, so this holds however
    # fast the requests follow each other.
    for _ in range(3):
        r = call(stack, s)
        assert r.status == 200, r
    r = call(stack, s)
    msg = assert_error(r, 429, "rate_limited", "daily token quota")
    assert "30" in msg and "36" in msg, msg
    assert int(r.header("Retry-After")) > 0
    wait_log_row(stack, r)
    assert tokens_today(stack, "client_tokens", s.token_obj["id"]) == 36
    got = ok(stack.main.admin.get(A + "/tokens/%d" % s.token_obj["id"]))
    assert got["tokens_today"] == 36, got


def test_token_quota_under_concurrency_counts_exactly(stack):
    s = setup(stack, nkeys=3, usage_format="openai", token_fields={"daily_token_quota": 50})
    stack.mock.script = usage_answer(10)
    first = parallel(lambda _: call(stack, s), range(10), workers=10)
    served = [r for r in first if r.status == 200]
    assert all(r.status in (200, 429) for r in first), first
    for r in first:
        wait_log_row(stack, r)
    # Exact: every token of every answer counted, none twice.
    assert tokens_today(stack, "client_tokens", s.token_obj["id"]) == 10 * len(served)
    # Admission is "used so far < quota": at most the concurrent requests'
    # usage beyond the quota.
    assert 10 * len(served) - 50 < 10 * 10, len(served)
    later = parallel(lambda _: call(stack, s), range(10), workers=10)
    assert [r.status for r in later] == [429] * 10, later


def test_key_quota_exhausts_the_key(stack):
    s = setup(stack, nkeys=2, usage_format="openai", max_retries=0,
              key_fields=[{"daily_token_quota": 20, "weight": 1000}, {"weight": 1}],
              strategy="weighted")
    limited = s.keys[0]
    assert limited["daily_token_quota"] == 20
    stack.mock.script = usage_answer(12)
    seen = []
    for _ in range(2):
        r = call(stack, s)
        assert r.status == 200, r
        seen.append(wait_log_row(stack, r)["key_id"])
    assert seen.count(limited["id"]) >= 1, seen
    k = wait_key(stack, limited["id"], status="exhausted")
    assert k["tokens_today"] >= 20, k
    assert ("active", "exhausted", "daily token quota reached", "quota", "NULL") in \
        key_events(stack, limited["id"])
    # The other key serves from now on (once the pool has seen the change).
    settle()
    for _ in range(3):
        r = call(stack, s)
        assert r.status == 200 and wait_log_row(stack, r)["key_id"] == s.keys[1]["id"], r
    # The quota reset clears the count and brings the key back.
    run = run_job(stack, "apigw-quota-reset", "--force")
    assert run.rc == 0, run
    k = wait_key(stack, limited["id"], status="active")
    assert k["tokens_today"] == 0, k


def test_token_quota_field_checks(stack):
    r = stack.main.admin.post(A + "/tokens", json={"name": "tq-bad", "daily_token_quota": 0})
    assert_error(r, 400, "invalid_field", "daily_token_quota")


def test_key_quota_under_concurrency_counts_exactly(stack):
    s = setup(stack, nkeys=1, usage_format="openai", max_retries=0,
              key_fields={"daily_token_quota": 50})
    key = s.keys[0]
    stack.mock.script = usage_answer(10)
    first = parallel(lambda _: call(stack, s), range(10), workers=10)
    served = [r for r in first if r.status == 200]
    for r in first:
        wait_log_row(stack, r)
    # Every token of every answer counted once, and the key out of rotation.
    k = wait_key(stack, key["id"], status="exhausted")
    assert k["tokens_today"] == 10 * len(served), (k, len(served))
    assert len(served) >= 5, first
    settle()
    later = call(stack, s)
    assert later.status == 503, later


def test_a_retried_attempt_counts_to_its_key_only(stack):
    s = setup(stack, nkeys=2, usage_format="openai", settle=False)
    # The upstream's own rule, whatever global rules other tests left.
    create_rule(stack, upstream_id=s.up["id"], condition=status_is(500),
                actions=[{"type": "retry"}])
    settle()
    served = []

    def answer(req):
        served.append(req.header("Authorization"))
        if len(served) == 1:
            # The first attempt fails with usage in its body (the rule
            # retries it on the other key).
            return Reply(500, json.dumps({"error": {"message": "boom"}, "usage": {
                "prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}}),
                {"Content-Type": "application/json"})
        return usage_answer(12)(req)
    stack.mock.script = answer
    r = call(stack, s)
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "2", r
    assert wait_log_row(stack, r)["attempts"] == 2
    by_auth = {"Bearer " + k["value"]: k for k in s.keys}
    failed, ok_key = by_auth[served[0]], by_auth[served[1]]
    assert failed["id"] != ok_key["id"]
    # The retried answer's tokens count to its key; the client token is
    # charged only for the answer it got.
    wait_key(stack, failed["id"], tokens_today=9)
    wait_key(stack, ok_key["id"], tokens_today=12)
    assert tokens_today(stack, "client_tokens", s.token_obj["id"]) == 12
