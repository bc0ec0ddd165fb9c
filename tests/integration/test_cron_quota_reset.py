"""apigw-quota-reset: within quota_reset_hour in quota_reset_tz, once a day
(remembered in job_state), unless --force: used_today of every key and
client token to 0, exhausted keys back to active with a history row
(reason 'quota reset', actor 'cron').  The time zone is honoured: the
expected hour and day are computed with zoneinfo."""

import harness
from admin_helpers import A, ok
from cron_helpers import (assert_same, avoid_hour_edge, clean_slate, finish_job, key_events,
                          key_row, local_hour, next_reset, pool_version, prev_reset, rfc3339,
                          run_job, snapshot, sql_int, sql_rows, sql_val, start_job, utc_now,
                          write_conf, zone)
from proxy_helpers import (add_key, assert_json_error, make_token, make_upstream, settle,
                           setup, wait_key)

TABLES = ("api_keys", "client_tokens", "key_events", "job_state", "pool_version")


def _fleet(stack):
    """Keys in every state with usage, and two tokens (one used)."""
    clean_slate(stack)
    up = make_upstream(stack)
    k = {name: add_key(stack, up["id"])["id"]
         for name in ("active", "exhausted", "banned", "disabled", "unused")}
    stack.sql(
        "UPDATE api_keys SET used_today = 5 WHERE id = %(active)d;"
        " UPDATE api_keys SET status = 'exhausted', used_today = 10, status_reason ="
        " 'quota-exhausted', disabled_until = UTC_TIMESTAMP() + INTERVAL 5 HOUR WHERE id ="
        " %(exhausted)d;"
        " UPDATE api_keys SET status = 'banned', used_today = 3 WHERE id = %(banned)d;"
        " UPDATE api_keys SET status = 'disabled', used_today = 2, disabled_until ="
        " '2031-01-02 03:04:05' WHERE id = %(disabled)d;"
        " UPDATE pool_version SET version = version + 1" % k)
    _, t_used = make_token(stack)
    _, t_unused = make_token(stack)
    stack.sql("UPDATE client_tokens SET used_today = 7 WHERE id = %d" % t_used["id"])
    return k, t_used["id"], t_unused["id"]


def _tz_conf(stack, tz, hour):
    path, _ = write_conf(stack, quota_reset_tz=tz, quota_reset_hour=hour)
    return path


def _done_day(stack):
    rows = sql_rows(stack, "SELECT value FROM job_state WHERE name = 'quota_reset_day'")
    return rows[0][0] if rows else None


def test_within_the_reset_hour_in_asia_kolkata_it_resets_once(stack):
    tz = "Asia/Kolkata"                                    # UTC+5:30: hours start at :30 UTC
    k, t_used, t_unused = _fleet(stack)
    avoid_hour_edge(tz, margin_s=20)
    hour = local_hour(tz)
    assert hour != utc_now().hour                          # a job reading UTC would not act
    conf = _tz_conf(stack, tz, hour)
    day = prev_reset(tz, hour)[1].isoformat()
    nxt = rfc3339(next_reset(tz, hour))

    # --dry-run says what it would do and changes nothing.
    before = snapshot(stack, TABLES)
    r = run_job(stack, "apigw-quota-reset", "--dry-run", config=conf)
    assert r.line() == ("would reset used_today of 4 keys and 1 tokens and return 1 exhausted"
                        " keys to active (reset of %s)" % day), r
    assert_same(before, snapshot(stack, TABLES))

    v0 = pool_version(stack)
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == ("reset used_today of 4 keys and 1 tokens, returned 1 exhausted keys to"
                        " active (reset of %s)" % day), r
    assert pool_version(stack) > v0                        # the proxies reload their pools
    assert _done_day(stack) == day

    got = {name: key_row(stack, kid) for name, kid in k.items()}
    assert {n: (g["status"], g["used_today"]) for n, g in got.items()} == {
        "active": ("active", 0), "exhausted": ("active", 0), "banned": ("banned", 0),
        "disabled": ("disabled", 0), "unused": ("active", 0)}, got
    assert got["exhausted"]["disabled_until"] is None, got
    assert got["exhausted"]["status_reason"] == "quota reset", got
    assert got["disabled"]["disabled_until"] == "2031-01-02 03:04:05", got
    assert key_events(stack, k["exhausted"]) == [
        ("exhausted", "active", "quota reset", "cron", "NULL")]
    for name in ("active", "banned", "disabled", "unused"):
        assert key_events(stack, k[name]) == [], name
    ev = ok(stack.main.admin.get(A + "/keys/%d/events" % k["exhausted"]))
    assert [(e["from"], e["to"], e["reason"], e["actor"]) for e in ev["items"]] == [
        ("exhausted", "active", "quota reset", "cron")], ev
    assert sql_rows(stack, "SELECT id, used_today FROM client_tokens ORDER BY id") == [
        [str(t_used), "0"], [str(t_unused), "0"]]

    # A second run the same day: nothing to do, nothing changed.
    stack.sql("UPDATE api_keys SET used_today = 4 WHERE id = %d" % k["active"])
    stack.sql("UPDATE client_tokens SET used_today = 2 WHERE id = %d" % t_used)
    before = snapshot(stack, TABLES)
    for args in ([], ["--dry-run"]):
        r = run_job(stack, "apigw-quota-reset", *args, config=conf)
        assert r.line() == "nothing to do: the reset of %s is done (next at %s)" % (day, nxt), r
    assert_same(before, snapshot(stack, TABLES))

    # --force acts anyway.
    r = run_job(stack, "apigw-quota-reset", "--force", config=conf)
    assert r.line() == ("reset used_today of 1 keys and 1 tokens, returned 0 exhausted keys to"
                        " active (reset of %s)" % day), r
    assert key_row(stack, k["active"])["used_today"] == 0
    assert sql_int(stack, "SELECT used_today FROM client_tokens WHERE id = %d" % t_used) == 0
    assert key_events(stack, k["exhausted"]) == [
        ("exhausted", "active", "quota reset", "cron", "NULL")]


def test_outside_the_reset_hour_there_is_nothing_to_do_unless_forced(stack):
    tz = "Asia/Kolkata"
    k, t_used, _ = _fleet(stack)
    avoid_hour_edge(tz, margin_s=20)
    now_local = local_hour(tz)
    # The current UTC hour (where a job that ignored the zone would act),
    # and the hours just after and long after the current local one.
    for hour in (utc_now().hour, (now_local + 1) % 24, (now_local + 12) % 24):
        assert hour != now_local
        conf = _tz_conf(stack, tz, hour)
        before = snapshot(stack, TABLES)
        for args in ([], ["--dry-run"]):
            r = run_job(stack, "apigw-quota-reset", *args, config=conf)
            assert r.line() == ("nothing to do: outside the reset hour (%02d:00 %s; next at %s)"
                                % (hour, tz, rfc3339(next_reset(tz, hour)))), r
        assert_same(before, snapshot(stack, TABLES))

    # --force resets now; the day recorded is the one of the latest reset
    # time, so that the hourly run does not reset again before the next one.
    hour = (now_local + 12) % 24
    conf = _tz_conf(stack, tz, hour)
    day = prev_reset(tz, hour)[1].isoformat()
    r = run_job(stack, "apigw-quota-reset", "--dry-run", "--force", config=conf)
    assert r.line() == ("would reset used_today of 4 keys and 1 tokens and return 1 exhausted"
                        " keys to active (reset of %s)" % day), r
    assert _done_day(stack) is None
    r = run_job(stack, "apigw-quota-reset", "--force", config=conf)
    assert r.line() == ("reset used_today of 4 keys and 1 tokens, returned 1 exhausted keys to"
                        " active (reset of %s)" % day), r
    assert _done_day(stack) == day
    assert sql_int(stack, "SELECT SUM(used_today) FROM api_keys") == 0
    assert sql_int(stack, "SELECT SUM(used_today) FROM client_tokens") == 0
    assert key_row(stack, k["exhausted"])["status"] == "active"
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == "nothing to do: the reset of %s is done (next at %s)" % (
        day, rfc3339(next_reset(tz, hour))), r


def test_pacific_chatham_reset_hour_and_day(stack):
    tz = "Pacific/Chatham"                                 # UTC+12:45 / +13:45
    k, t_used, _ = _fleet(stack)
    avoid_hour_edge(tz, margin_s=20)
    hour = local_hour(tz)
    assert hour != utc_now().hour
    # The hour before the current local one is over: nothing to do.
    before_hour = (hour - 1) % 24
    conf = _tz_conf(stack, tz, before_hour)
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == ("nothing to do: outside the reset hour (%02d:00 %s; next at %s)"
                        % (before_hour, tz, rfc3339(next_reset(tz, before_hour)))), r
    assert _done_day(stack) is None
    # Within the hour: it acts, for the local date in Chatham.
    conf = _tz_conf(stack, tz, hour)
    day = prev_reset(tz, hour)[1].isoformat()
    assert day == utc_now().astimezone(zone(tz)).date().isoformat()
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == ("reset used_today of 4 keys and 1 tokens, returned 1 exhausted keys to"
                        " active (reset of %s)" % day), r
    assert _done_day(stack) == day
    assert key_events(stack, k["exhausted"]) == [
        ("exhausted", "active", "quota reset", "cron", "NULL")]
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == "nothing to do: the reset of %s is done (next at %s)" % (
        day, rfc3339(next_reset(tz, hour))), r


def test_the_day_of_the_reset_is_the_local_date_in_the_zone(stack):
    # A zone whose date now differs from the UTC date: UTC-11 in the UTC
    # morning (still yesterday there), UTC+14 in the UTC afternoon (already
    # tomorrow there).
    tz = "Pacific/Pago_Pago" if utc_now().hour < 11 else "Pacific/Kiritimati"
    k, _, _ = _fleet(stack)
    avoid_hour_edge(tz, margin_s=20)
    hour = local_hour(tz)
    local_day = utc_now().astimezone(zone(tz)).date()
    assert local_day != utc_now().date(), (tz, local_day)
    conf = _tz_conf(stack, tz, hour)
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == ("reset used_today of 4 keys and 1 tokens, returned 1 exhausted keys to"
                        " active (reset of %s)" % local_day.isoformat()), r
    assert _done_day(stack) == local_day.isoformat()
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == "nothing to do: the reset of %s is done (next at %s)" % (
        local_day.isoformat(), rfc3339(next_reset(tz, hour))), r


def test_after_the_reset_keys_and_tokens_at_their_quota_serve_again(stack):
    clean_slate(stack)
    kq = setup(stack, nkeys=1, key_fields={"daily_quota": 2}, settle=False)
    tq = setup(stack, nkeys=1, token_fields={"daily_quota": 2}, settle=False)
    ex = setup(stack, nkeys=1, settle=False)
    stack.sql("UPDATE api_keys SET status = 'exhausted', status_reason = 'quota-exhausted',"
              " disabled_until = UTC_TIMESTAMP() + INTERVAL 3 HOUR WHERE id = %d;"
              " UPDATE pool_version SET version = version + 1" % ex.keys[0]["id"])
    settle()
    c = stack.main.client
    for s in (kq, tq):
        for i in range(2):
            r = c.get(s.path("v1/x"), token=s.token)
            assert r.status == 200, (i, r)
    assert_json_error(c.get(kq.path("v1/x"), token=kq.token), 503, "no_available_key")
    assert_json_error(c.get(tq.path("v1/x"), token=tq.token), 429, "rate_limited")
    assert_json_error(c.get(ex.path("v1/x"), token=ex.token), 503, "no_available_key")

    # Usage of keys without a quota is written in batches: let it land.
    wait_key(stack, tq.keys[0]["id"], used_today=2)
    wait_key(stack, kq.keys[0]["id"], used_today=2)
    # Every token that got past its checks is counted: tq's by its lease,
    # the other two (without limits) by the log writer.
    harness.wait_until(lambda: sql_int(stack, "SELECT COUNT(*) FROM client_tokens"
                                              " WHERE used_today <> 0") == 3,
                       timeout=10, what="three tokens counted")
    tz = "UTC"
    avoid_hour_edge(tz)
    conf = _tz_conf(stack, tz, local_hour(tz))
    r = run_job(stack, "apigw-quota-reset", config=conf)
    assert r.line() == ("reset used_today of 2 keys and 3 tokens, returned 1 exhausted keys to"
                        " active (reset of %s)" % utc_now().date().isoformat()), r
    settle()
    for s in (kq, tq, ex):
        r = c.get(s.path("v1/x"), token=s.token)
        assert r.status == 200, (s.name, r)
    assert key_row(stack, ex.keys[0]["id"])["status"] == "active"


def test_two_copies_at_once_reset_once(stack):
    clean_slate(stack)
    up = make_upstream(stack)
    n = 5000
    res = ok(stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": up["id"], "keys": ["sk-twocopies-%06d-abcdefghijklmnop" % i
                                          for i in range(n)]}))
    assert res["created"] == n, res
    stack.sql("UPDATE api_keys SET status = 'exhausted', used_today = 9;"
              " UPDATE pool_version SET version = version + 1")
    tz = "UTC"
    avoid_hour_edge(tz, margin_s=30)
    hour = local_hour(tz)
    conf = _tz_conf(stack, tz, hour)
    day = utc_now().date().isoformat()
    procs = [start_job(stack, "apigw-quota-reset", config=conf) for _ in range(2)]
    runs = [finish_job(p) for p in procs]
    acted = [r for r in runs if r.out.startswith("reset used_today")]
    assert len(acted) == 1, runs
    assert acted[0].line() == ("reset used_today of %d keys and 0 tokens, returned %d exhausted"
                               " keys to active (reset of %s)" % (n, n, day)), runs
    other = [r for r in runs if r is not acted[0]][0]
    # The other copy either found the lock taken (quiet) or came after the
    # first and found the day's reset done.
    if other.out:
        assert other.line() == "nothing to do: the reset of %s is done (next at %s)" % (
            day, rfc3339(next_reset(tz, hour))), other
    else:
        other.quiet()
    assert sql_int(stack, "SELECT COUNT(*) FROM key_events") == n
    assert sql_val(stack, "SELECT CONCAT(status, ' ', SUM(used_today), ' ', COUNT(*))"
                          " FROM api_keys GROUP BY status") == "active 0 %d" % n
