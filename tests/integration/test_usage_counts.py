"""Counters and times that a user reads (issue 15): a client token without
limits is counted like a key without limits (used_today, last_used_at,
added by the log writer with its batch); a token with limits is counted by
its reservation, once.  A key resting until a time, on an upstream without
a probe, serves again as soon as that time has passed, with no job: its
first use marks it active in the database, with one history row."""

import time

import harness
from cron_helpers import key_events, key_row, set_keys, sql_rows
from proxy_helpers import setup

N = 7


def _token_counters(stack, token_id):
    rows = sql_rows(stack, "SELECT used_today, COALESCE(last_used_at, 'NULL')"
                           " FROM client_tokens WHERE id = %d" % token_id)
    assert len(rows) == 1, rows
    return int(rows[0][0]), rows[0][1]


def _wait_token_count(stack, token_id, want):
    last = {}

    def check():
        last["v"] = _token_counters(stack, token_id)
        return last["v"][0] >= want and last["v"][1] != "NULL"

    try:
        harness.wait_until(check, timeout=10, interval=0.1, what="the token's counters")
    except AssertionError:
        raise AssertionError("token %d: expected used_today %d and last_used_at set, got %r"
                             % (token_id, want, last.get("v")))
    time.sleep(0.5)  # a second flush must not add more
    return _token_counters(stack, token_id)


def _use_and_count(stack, s):
    for i in range(N):
        assert stack.main.client.get(s.path("v1/x"), token=s.token).status == 200, i
    used, last = _wait_token_count(stack, s.token_obj["id"], N)
    assert used == N
    assert last != "NULL"


def test_a_token_without_limits_is_counted(stack):
    _use_and_count(stack, setup(stack))


def test_a_token_with_limits_is_counted_once(stack):
    _use_and_count(stack, setup(stack, token_fields={"daily_quota": 1000}))


def _rest_key(stack, s, interval):
    """Disables the setup's only key until the database's now + interval;
    the proxy refuses while it rests.  Returns the key."""
    key = s.keys[0]
    set_keys(stack, [key["id"]], "status = 'disabled', status_reason = 'rule 1',"
                                 " disabled_until = UTC_TIMESTAMP() + INTERVAL %s" % interval)
    time.sleep(0.6)
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 503, r.body
    return key


def test_a_rested_key_serves_when_its_time_has_passed(stack):
    s = setup(stack)
    began = time.monotonic()
    key = _rest_key(stack, s, "2 SECOND")
    # No job runs: the key serves once its time is over.
    harness.wait_until(lambda: stack.main.client.get(s.path("v1/x"), token=s.token).status == 200,
                       timeout=8, interval=0.1, what="the rested key to serve")
    print("the key rested until +2 s (whole seconds) and served again at +%.2f s"
          % (time.monotonic() - began))
    assert key_row(stack, key["id"])["status"] == "active"
    for _ in range(3):
        assert stack.main.client.get(s.path("v1/x"), token=s.token).status == 200
    events = [e for e in key_events(stack, key["id"]) if e[1] == "active"]
    assert events == [("disabled", "active", "recovered: disabled_until passed", "proxy",
                       "NULL")], events
    row = key_row(stack, key["id"])
    assert row["status"] == "active" and row["disabled_until"] is None, row


def test_a_rested_key_on_a_probed_upstream_waits_for_the_job(stack):
    s = setup(stack, probe_method="GET", probe_path="/models")
    key = _rest_key(stack, s, "-1 SECOND")
    assert key_row(stack, key["id"])["status"] == "disabled"
