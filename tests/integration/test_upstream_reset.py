"""Each upstream's own daily reset (issue 20): quota_reset_hour and
quota_reset_tz on an upstream (null: the global setting).  Saving checks
them; apigw-quota-reset resets an upstream's keys at its own hour in its own
zone, and the others' at theirs; the rule action "until quota_reset" and the
503's Retry-After follow the upstream's reset.  Hours are chosen relative
to the current time so that every run sees the same thing."""

import datetime
import json

import harness  # noqa: F401  (puts scripts/ on the path)
from admin_helpers import A, assert_error, ok
from cron_helpers import (avoid_hour_edge, clean_slate, key_events, key_row, local_hour,
                          next_reset, prev_reset, rfc3339, run_job, sql_int, sql_rows, utc_now,
                          write_conf)
from mock_upstream import Reply
from proxy_helpers import (add_key, assert_json_error, get_key, make_token, make_upstream,
                           patch_upstream, settle, setup, wait_key)
from rules_helpers import create_rule, per_key, ts, uniq
from script_helpers import set_script

LA = "America/Los_Angeles"
RETRY = {"type": "retry"}


def test_saving_and_checking_the_reset_fields(stack):
    up = make_upstream(stack)
    assert up["quota_reset_hour"] is None and up["quota_reset_tz"] is None, up
    up = patch_upstream(stack, up["id"], quota_reset_hour=0, quota_reset_tz=LA)
    assert (up["quota_reset_hour"], up["quota_reset_tz"]) == (0, LA), up
    got = ok(stack.main.admin.get(A + "/upstreams/%d" % up["id"]))
    assert (got["quota_reset_hour"], got["quota_reset_tz"]) == (0, LA), got
    created = make_upstream(stack, quota_reset_hour=23, quota_reset_tz="Asia/Shanghai")
    assert (created["quota_reset_hour"], created["quota_reset_tz"]) == (23, "Asia/Shanghai")

    path = A + "/upstreams/%d" % up["id"]
    for body, field, says in (
            ({"quota_reset_hour": 24}, "quota_reset_hour", None),
            ({"quota_reset_hour": -1}, "quota_reset_hour", None),
            ({"quota_reset_hour": "0"}, "quota_reset_hour", None),
            ({"quota_reset_tz": "Mars/Olympus_Mons"}, "quota_reset_tz", "Mars/Olympus_Mons"),
            ({"quota_reset_tz": "../../etc/passwd"}, "quota_reset_tz", "IANA"),
            ({"quota_reset_tz": "/etc/localtime"}, "quota_reset_tz", "IANA"),
            ({"quota_reset_tz": "America"}, "quota_reset_tz", "unknown time zone America"),
            ({"quota_reset_tz": ""}, "quota_reset_tz", None),
            ({"quota_reset_tz": "x" * 65}, "quota_reset_tz", None)):
        r = stack.main.admin.patch(path, json=body)
        msg = assert_error(r, 400, "invalid_field", field)
        if says is not None:
            assert says in msg, (body, msg)
    got = ok(stack.main.admin.get(path))
    assert (got["quota_reset_hour"], got["quota_reset_tz"]) == (0, LA), got
    up = patch_upstream(stack, up["id"], quota_reset_hour=None, quota_reset_tz=None)
    assert up["quota_reset_hour"] is None and up["quota_reset_tz"] is None, up


def _keys(stack, up_id):
    """An active key with usage and an exhausted one, on upstream up_id."""
    used = add_key(stack, up_id)["id"]
    out = add_key(stack, up_id)["id"]
    stack.sql("UPDATE api_keys SET used_today = 5, tokens_today = 50 WHERE id = %d;"
              " UPDATE api_keys SET status = 'exhausted', used_today = 9, status_reason ="
              " 'quota-exhausted', disabled_until = UTC_TIMESTAMP() + INTERVAL 5 HOUR"
              " WHERE id = %d; UPDATE pool_version SET version = version + 1" % (used, out))
    return used, out


def _untouched(stack, used, out):
    assert (key_row(stack, used)["status"], key_row(stack, used)["used_today"]) == ("active", 5)
    assert (key_row(stack, out)["status"], key_row(stack, out)["used_today"]) == ("exhausted", 9)


def _reset(stack, used, out):
    assert (key_row(stack, used)["status"], key_row(stack, used)["used_today"]) == ("active", 0)
    row = key_row(stack, out)
    assert (row["status"], row["used_today"], row["disabled_until"]) == ("active", 0, None), row
    assert key_events(stack, out) == [("exhausted", "active", "quota reset", "cron", "NULL")]


def test_the_quota_reset_follows_each_upstreams_own_hour(stack):
    tz = "Asia/Kolkata"                                    # UTC+5:30: not the UTC hours
    clean_slate(stack)
    avoid_hour_edge(tz, margin_s=30)
    avoid_hour_edge("UTC", margin_s=30)
    hour = local_hour(tz)
    now_up = make_upstream(stack, quota_reset_hour=hour, quota_reset_tz=tz)
    later_up = make_upstream(stack, quota_reset_hour=(hour + 6) % 24, quota_reset_tz=tz)
    # The global reset is half a day away: its upstream and the tokens wait.
    global_hour = (utc_now().hour + 12) % 24
    conf, _ = write_conf(stack, quota_reset_tz="UTC", quota_reset_hour=global_hour)
    global_up = make_upstream(stack)
    now_keys, later_keys, global_keys = (_keys(stack, u["id"])
                                         for u in (now_up, later_up, global_up))
    _, tok = make_token(stack)
    stack.sql("UPDATE client_tokens SET used_today = 7 WHERE id = %d" % tok["id"])
    last, day = prev_reset(tz, hour)
    nothing = "nothing to do: outside the reset hour (%02d:00 UTC; next at %s)" % (
        global_hour, rfc3339(next_reset("UTC", global_hour)))

    r = run_job(stack, "apigw-quota-reset", "--dry-run", config=conf)
    assert r.rc == 0, r
    assert r.out.splitlines() == [
        "upstream %s: would reset used_today of 2 keys and return 1 exhausted keys to active"
        " (reset of %s, %02d:00 %s)" % (now_up["name"], day.isoformat(), hour, tz), nothing], r
    _untouched(stack, *now_keys)

    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.rc == 0, r
    assert r.out.splitlines() == [
        "upstream %s: reset used_today of 2 keys, returned 1 exhausted keys to active"
        " (reset of %s, %02d:00 %s)" % (now_up["name"], day.isoformat(), hour, tz), nothing], r
    _reset(stack, *now_keys)
    _untouched(stack, *later_keys)
    _untouched(stack, *global_keys)
    assert sql_int(stack, "SELECT used_today FROM client_tokens WHERE id = %d" % tok["id"]) == 7
    assert sql_rows(stack, "SELECT value FROM job_state WHERE name = 'quota_reset_up:%d'"
                    % now_up["id"]) == [[rfc3339(last)]]
    assert sql_int(stack, "SELECT tokens_today FROM api_keys WHERE id = %d" % now_keys[0]) == 0

    # Once per reset: the next run has nothing to do.
    stack.sql("UPDATE api_keys SET used_today = 3 WHERE id = %d" % now_keys[0])
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.out.splitlines() == [nothing], r
    assert key_row(stack, now_keys[0])["used_today"] == 3

    # --force resets every upstream and the tokens now (and forgets what a
    # deleted upstream left in job_state).
    stack.sql("INSERT INTO job_state (name, value, updated_at)"
              " VALUES ('quota_reset_up:999999', 'x', UTC_TIMESTAMP())")
    r = run_job(stack, "apigw-quota-reset", "--force", config=conf)
    assert sql_rows(stack, "SELECT name FROM job_state WHERE name LIKE 'quota%up:999999'") == []
    lines = r.out.splitlines()
    assert len(lines) == 3, r
    assert lines[0].startswith("upstream %s: reset used_today of 1 keys," % now_up["name"]), r
    assert lines[1].startswith("upstream %s: reset used_today of 2 keys, returned 1 exhausted"
                               % later_up["name"]), r
    assert lines[2].startswith("reset used_today of 2 keys and 1 tokens, returned 1 exhausted"), r
    for keys in (later_keys, global_keys):
        _reset(stack, *keys)
    assert sql_int(stack, "SELECT SUM(used_today) FROM api_keys") == 0


def test_the_global_reset_leaves_upstreams_with_their_own_alone(stack):
    clean_slate(stack)
    avoid_hour_edge("UTC", margin_s=30)
    hour = utc_now().hour
    conf, _ = write_conf(stack, quota_reset_tz="UTC", quota_reset_hour=hour)
    own = make_upstream(stack, quota_reset_tz=LA)         # the global hour, in Los Angeles
    plain = make_upstream(stack)
    own_keys, plain_keys = _keys(stack, own["id"]), _keys(stack, plain["id"])
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.out.splitlines() == [
        "reset used_today of 2 keys and 0 tokens, returned 1 exhausted keys to active"
        " (reset of %s)" % utc_now().date().isoformat()], r
    _reset(stack, *plain_keys)
    _untouched(stack, *own_keys)


def _quota_body():
    return ('{"error": {"message": "You exceeded your current quota",'
            ' "type": "insufficient_quota", "code": "insufficient_quota"}}')


def test_exhausted_by_a_rule_until_the_upstreams_own_reset(stack):
    # One key: let the rule take it out (the guard would stop it at 50 %).
    s = setup(stack, nkeys=1, settle=False, quota_reset_hour=0, quota_reset_tz=LA,
              auto_disable_max_pct=100)
    name = uniq("quota")
    create_rule(stack, name=name, upstream_id=s.up["id"], stop=True,
                condition={"all": [{"type": "status", "op": "in", "value": [429]}]},
                actions=[{"type": "disable_key", "until": "quota_reset"}, RETRY])
    stack.mock.reset(per_key({s.keys[0]["value"]: Reply(429, _quota_body())}))
    settle()
    before = utc_now()
    r = stack.main.client.get(s.path("v1/chat"), token=s.token)
    after = utc_now()
    assert r.status in (429, 503), r
    k = wait_key(stack, s.keys[0]["id"], status="exhausted")
    # Midnight in Los Angeles, not the gateway's 00:00 UTC.
    want = {ts(rfc3339(next_reset(LA, 0, t))) for t in (before, after)}
    assert ts(k["disabled_until"]) in want, (k, want)
    assert ts(k["disabled_until"]) % 86400 in (7 * 3600, 8 * 3600), k


def test_retry_after_of_an_exhausted_key_is_its_upstreams_reset(stack):
    tz = "Asia/Kolkata"
    avoid_hour_edge(tz, margin_s=30)
    hour = (local_hour(tz) + 1) % 24                       # within the hour, at :30 UTC
    s = setup(stack, nkeys=1, settle=False, quota_reset_hour=hour, quota_reset_tz=tz)
    ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"], json={"status": "exhausted"}))
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert_json_error(r, 503, "no_available_key")
    ra = int(r.header("Retry-After"))
    want = int((next_reset(tz, hour) - utc_now()).total_seconds())
    assert want < 3600, want
    assert want - 3 <= ra <= want + 3, (ra, want)

    # At its daily quota the key comes back at the same reset.
    q = setup(stack, nkeys=1, settle=False, quota_reset_hour=hour, quota_reset_tz=tz,
              key_fields={"daily_quota": 1})
    stack.mock.reset()
    assert stack.main.client.get(q.path("x"), token=q.token).status == 200
    r = stack.main.client.get(q.path("x"), token=q.token)
    assert_json_error(r, 503, "no_available_key")
    want = int((next_reset(tz, hour) - utc_now()).total_seconds())
    assert want - 3 <= int(r.header("Retry-After")) <= want + 3, (r.header("Retry-After"), want)
    # An upstream without its own reset keeps the global one (00:00 UTC here).
    g = setup(stack, nkeys=1, settle=False)
    ok(stack.main.admin.patch(A + "/keys/%d" % g.keys[0]["id"], json={"status": "exhausted"}))
    settle()
    r = stack.main.client.get(g.path("x"), token=g.token)
    now = datetime.datetime.now(datetime.timezone.utc)
    midnight = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    want = min(3600, int((midnight - now).total_seconds()))
    assert want - 3 <= int(r.header("Retry-After")) <= want + 3


def test_a_key_over_its_token_quota_rests_until_its_upstreams_reset(stack):
    s = setup(stack, nkeys=1, settle=False, usage_format="openai", quota_reset_hour=0,
              quota_reset_tz=LA, key_fields={"daily_token_quota": 10})
    body = {"model": "m", "usage": {"prompt_tokens": 10, "completion_tokens": 2,
                                    "total_tokens": 12}}
    stack.mock.reset(lambda req: Reply(200, json.dumps(body),
                                       {"Content-Type": "application/json"}))
    settle()
    before = utc_now()
    r = stack.main.client.post(s.path("v1/chat/completions"), json={"model": "m"},
                               token=s.token)
    assert r.status == 200, r
    k = wait_key(stack, s.keys[0]["id"], status="exhausted")
    after = utc_now()
    want = {ts(rfc3339(next_reset(LA, 0, t))) for t in (before, after)}
    assert ts(k["disabled_until"]) in want, (k, want)


def test_a_scripts_exhaust_key_rests_until_the_upstreams_reset(stack):
    s = setup(stack, nkeys=1, settle=False, max_retries=0, auto_disable_max_pct=100,
              quota_reset_hour=0, quota_reset_tz=LA)
    set_script(stack, s.up["id"], r"""
function onResponse(res) {
  if (res.status === 429) return {action: 'exhaust_key', reason: 'out for today'};
}""")
    stack.mock.reset(lambda req: Reply(429, "slow down"))
    before = utc_now()
    # Until the key was acted on (the pool may take the script a moment).
    for _ in range(20):
        stack.main.client.get(s.path("v1/x"), token=s.token)
        if get_key(stack, s.keys[0]["id"])["status"] == "exhausted":
            break
        settle()
    k = wait_key(stack, s.keys[0]["id"], status="exhausted")
    after = utc_now()
    want = {ts(rfc3339(next_reset(LA, 0, t))) for t in (before, after)}
    assert ts(k["disabled_until"]) in want, (k, want)
