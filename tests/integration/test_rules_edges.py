"""Rules at work in the proxy, the edges: transport-error leaves, threshold
windows that start over or expire, disabled rules, Retry-After values that
are zero, past or too far, the last key's answer, error bodies past the
rules' body limit, long rule names, the default webhook, the guard and
cool-downs under parallel load from two processes, and excerpts that never
hold the key.  The main cases are in test_rules_proxy.py."""

import json
import time

import harness
from harness import wait_until
from mock_upstream import Reply, json_reply
from proxy_helpers import (assert_json_error, get_key, parallel, setup, wait_key)
from rules_helpers import (alerts, count, create_rule, events, extra_gateway, hook_requests,
                           http_date, log_rules, per_key, quiet_mock, rid, seen_keys, settle,
                           status_is, ts, uniq, BAN, RETRY, until_key_seen, req_time,
                           closed_port_url)


def test_transport_error_connect_leaf(stack):
    s = setup(stack, nkeys=1, max_retries=0, base_url=closed_port_url())
    key = s.keys[0]
    conn = create_rule(stack, name=uniq("no-connect"), upstream_id=s.up["id"],
                       condition={"type": "transport_error", "value": "connect"},
                       actions=[{"type": "alert", "message": "cannot connect"},
                                {"type": "log", "message": "connect failed"}])
    create_rule(stack, name=uniq("timeouts"), upstream_id=s.up["id"],
                condition={"type": "transport_error", "value": "timeout"},
                actions=[{"type": "log", "message": "timed out"}])
    create_rule(stack, name=uniq("any-status"), upstream_id=s.up["id"],
                condition={"type": "status", "op": "gte", "value": 0},
                actions=[{"type": "log", "message": "status"}])
    settle()
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "upstream_error")
    assert key["value"] not in r.text
    assert log_rules(stack, rid(r)) == ([conn["name"]], ["connect failed"])
    a = alerts(stack, "rule_id = %d" % conn["id"])
    assert [(x["message"], x["key_id"], x["upstream_id"]) for x in a] == \
        [("cannot connect", key["id"], s.up["id"])], a
    assert get_key(stack, key["id"])["status"] == "active"


def test_threshold_firing_starts_a_new_count(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    name = uniq("every-second")
    create_rule(stack, name=name, upstream_id=s.up["id"], threshold=2, window_s=60,
                condition=status_is(418), actions=[{"type": "log", "message": "2nd"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea")})
    settle()
    fired = []
    for _ in range(5):
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 418, r
        fired.append(log_rules(stack, rid(r))[0] == [name])
    assert fired == [False, True, False, True, False], fired


def test_threshold_window_expires(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    name = uniq("two-in-two-seconds")
    create_rule(stack, name=name, upstream_id=s.up["id"], threshold=2, window_s=2,
                condition=status_is(418), actions=[{"type": "log", "message": "two"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea")})
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert log_rules(stack, rid(r))[0] is None
    time.sleep(3.2)    # the window of the first match is over
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert log_rules(stack, rid(r))[0] is None, "a match of an expired window was counted"
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert log_rules(stack, rid(r))[0] == [name]


def test_disabled_rule_does_not_run(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    rule = create_rule(stack, name=uniq("off"), upstream_id=s.up["id"], enabled=False,
                       condition=status_is(418), actions=[{"type": "log", "message": "on"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea")})
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert log_rules(stack, rid(r)) == (None, None)
    assert stack.main.admin.patch("/api/admin/rules/%d" % rule["id"],
                                  json={"enabled": True}).status == 200
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert log_rules(stack, rid(r)) == ([rule["name"]], ["on"])
    assert stack.main.admin.delete("/api/admin/rules/%d" % rule["id"]).status == 204
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert log_rules(stack, rid(r)) == (None, None)


def test_retry_after_zero_or_past_does_not_disable_for_good(stack):
    """Retry-After: 0 (or a date already past) says the key may be used
    again now: it must not leave the key disabled with no end."""
    s = setup(stack, nkeys=3, max_retries=2, retry_backoff_ms=10, auto_disable_max_pct=100)
    k_zero, k_past, k_ok = s.keys
    create_rule(stack, name=uniq("ra-zero"), upstream_id=s.up["id"], condition=status_is(429),
                actions=[{"type": "disable_key", "until": "retry_after", "duration_s": 45},
                         RETRY])
    stack.mock.script = per_key({
        k_zero["value"]: Reply(429, "{}", {"Retry-After": "0"}),
        k_past["value"]: lambda req: Reply(429, "{}", {"Retry-After": http_date(req.time - 600)}),
    })
    settle()
    for _ in range(4):
        assert stack.main.client.get(s.path("x"), token=s.token).status == 200
        if {k_zero["value"], k_past["value"]} <= set(seen_keys(stack)):
            break
    reqs = list(stack.mock.requests)
    problems = []
    for k in (k_zero, k_past):
        t = req_time(reqs, k["value"])
        got = get_key(stack, k["id"])
        if got["status"] == "disabled" and (got["disabled_until"] is None or
                                            ts(got["disabled_until"]) > t + 48):
            problems.append("%s: status %s, disabled_until %s" % (
                "Retry-After: 0" if k is k_zero else "Retry-After: <past date>",
                got["status"], got["disabled_until"]))
    assert not problems, problems


def test_retry_after_is_capped_at_seven_days(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    bad, good = s.keys
    create_rule(stack, name=uniq("ra-huge"), upstream_id=s.up["id"], condition=status_is(429),
                actions=[{"type": "disable_key", "until": "retry_after"}, RETRY])
    stack.mock.script = per_key({bad["value"]: Reply(429, "{}", {"Retry-After": "99999999"})})
    settle()
    r, mine = until_key_seen(stack, s, bad["value"])
    t = req_time(mine, bad["value"])
    k = wait_key(stack, bad["id"], status="disabled")
    assert t + 7 * 86400 - 3 <= ts(k["disabled_until"]) <= t + 7 * 86400 + 3, k


def test_only_one_key_left_gives_its_answer(stack):
    s = setup(stack, nkeys=1, max_retries=2, retry_backoff_ms=10)
    create_rule(stack, name=uniq("retry-only"), upstream_id=s.up["id"],
                condition=status_is(429), actions=[RETRY])
    stack.mock.script = lambda req: Reply(429, "busy", {"Retry-After": "3"})
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert (r.status, r.body, r.header("Retry-After")) == (429, b"busy", "3"), r
    assert r.header("X-Gateway-Attempts") == "1", r.headers
    assert len(stack.mock.requests) == 1


def test_2xx_retried_at_headers_when_every_attempt_is_retried_away(stack):
    """The recipe "ok-but-overloaded" of docs/RULES.md: a 200 retried when
    its headers arrive.  When every key answers so, the client gets the
    last upstream answer unchanged, not a gateway error."""
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    create_rule(stack, name=uniq("ok-but-overloaded"), upstream_id=s.up["id"], priority=5,
                condition={"all": [status_is(200),
                                   {"type": "header", "name": "x-overloaded", "op": "exists"}]},
                actions=[RETRY])
    stack.mock.script = lambda req: Reply(200, '{"busy":true}',
                                          {"Content-Type": "application/json",
                                           "X-Overloaded": "1"})
    settle()
    r = stack.main.client.get(s.path("v1/chat"), token=s.token)
    assert len(stack.mock.requests) == 2, len(stack.mock.requests)
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    assert (r.status, r.body) == (200, b'{"busy":true}'), r


def test_error_body_past_rule_body_limit_retried_away(stack):
    """A 4xx whose body is larger than rule_body_limit (64 KiB) is judged on
    what is held; when every attempt is retried away the client still gets
    the last upstream answer, not a gateway error."""
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    create_rule(stack, name=uniq("big-429"), upstream_id=s.up["id"],
                condition={"all": [status_is(429),
                                   {"type": "body_contains", "value": "slow down"}]},
                actions=[RETRY])
    big = b'{"error":"slow down","pad":"' + b"p" * (100 << 10) + b'"}'
    stack.mock.script = lambda req: Reply(429, big, {"Content-Type": "application/json"})
    settle()
    with quiet_mock(stack):
        r = stack.main.client.get(s.path("v1/chat"), token=s.token)
    assert len(stack.mock.requests) == 2, len(stack.mock.requests)
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    assert r.status == 429 and r.error_code() is None, r


def test_big_error_body_judged_on_its_first_bytes(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    bad, good = s.keys
    name = uniq("big-401")
    create_rule(stack, name=name, upstream_id=s.up["id"],
                condition={"all": [status_is(401),
                                   {"type": "body_contains", "value": "invalid_api_key"}]},
                actions=[BAN, RETRY])
    big = b'{"code":"invalid_api_key","pad":"' + b"p" * (200 << 10) + b'"}'
    stack.mock.script = per_key({bad["value"]: Reply(401, big)})
    settle()
    with quiet_mock(stack):
        r, mine = until_key_seen(stack, s, bad["value"])
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "2", r
    wait_key(stack, bad["id"], status="banned")
    ev = events(stack, bad["id"])
    assert len(ev) == 1 and ev[0]["excerpt"] == big[:512].decode(), ev


def test_big_error_body_is_judged_once_on_its_first_bytes_only(stack):
    """An error answer larger than rule_body_limit that no rule retries goes
    to the client whole; its rules never run again on the later bytes."""
    s = setup(stack, nkeys=1, max_retries=0)
    early, late = uniq("early"), uniq("late")
    for name in (early, late):
        create_rule(stack, name=name, upstream_id=s.up["id"],
                    condition={"all": [status_is(400),
                                       {"type": "body_contains", "value": "needle-" + name}]},
                    actions=[{"type": "log", "message": name}])
    big = (b'{"first":"needle-' + early.encode() + b'","pad":"' + b"p" * (100 << 10) +
           b'","later":"needle-' + late.encode() + b'"}')
    stack.mock.script = lambda req: Reply(400, big, {"Content-Type": "application/json"})
    settle()
    r = stack.main.client.get(s.path("v1/chat"), token=s.token)
    assert (r.status, r.body) == (400, big), r.status
    rules, msgs = log_rules(stack, rid(r))
    assert rules == [early] and msgs == [early], (rules, msgs)


def test_long_rule_names_keep_request_log_json_valid(stack):
    """request_logs.rules is a JSON array of the fired rules' names (up to
    128 characters each): many long names must not leave broken JSON."""
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    names = []
    for i in range(9):
        n = ("rule-%d-" % i) + "n" * 120
        names.append(create_rule(stack, name=n, upstream_id=s.up["id"], priority=i,
                                 condition=status_is(418),
                                 actions=[{"type": "log", "message": "m%d" % i}])["name"])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea")})
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 418
    harness.wait_until(lambda: stack.sql("SELECT COUNT(*) FROM request_logs WHERE request_id"
                                         " = '%s'" % rid(r)).strip() == "1", timeout=10)
    raw = stack.sql("SELECT rules FROM request_logs WHERE request_id = '%s'" % rid(r)).strip()
    try:
        got = json.loads(raw)
    except ValueError:
        raise AssertionError("request_logs.rules is not JSON (%d characters): ...%s"
                             % (len(raw), raw[-60:]))
    assert isinstance(got, list) and got and all(x in names for x in got), got
    assert got == names[:len(got)], got


def test_default_webhook_url_gets_every_alert(stack):
    g = extra_gateway(stack, "rules-hooks",
                      overrides={"webhook_url": stack.mock.url + "/default-hook"})
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    plain = create_rule(stack, name=uniq("alert-default"), upstream_id=s.up["id"], priority=1,
                        condition=status_is(418), actions=[{"type": "alert", "message": "one"}])
    both = create_rule(stack, name=uniq("alert-both"), upstream_id=s.up["id"], priority=2,
                       condition=status_is(418),
                       actions=[{"type": "alert", "message": "two",
                                 "webhook": stack.mock.url + "/own-hook"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea")},
                                hooks={"/default-hook": json_reply({}),
                                       "/own-hook": json_reply({})})
    settle()
    r = g.client.get(s.path("x"), token=s.token)
    assert r.status == 418, r
    wait_until(lambda: len(alerts(stack, "upstream_id = %d AND delivered IS NOT NULL"
                                  % s.up["id"])) == 2, timeout=10, what="2 deliveries")
    a = {x["rule_id"]: x for x in alerts(stack, "upstream_id = %d" % s.up["id"])}
    assert a[plain["id"]]["delivered"] == 1 and a[both["id"]]["delivered"] == 1, a
    default = [json.loads(q.body)["message"] for q in hook_requests(stack, "/default-hook")]
    own = [json.loads(q.body)["message"] for q in hook_requests(stack, "/own-hook")]
    assert sorted(default) == ["one", "two"] and own == ["two"], (default, own)


def test_guard_holds_under_parallel_load_from_two_processes(stack):
    second = extra_gateway(stack, "rules-second")
    s = setup(stack, nkeys=10, max_retries=2, retry_backoff_ms=5, auto_disable_max_pct=50)
    rule = create_rule(stack, name=uniq("ban-all-par"), upstream_id=s.up["id"],
                       condition=status_is(401), actions=[BAN, RETRY], stop=True)
    stack.mock.script = lambda req: Reply(401, '{"error":"provider says no"}')
    settle()
    gws = [stack.main, second]

    def one(i):
        return gws[i % 2].client.get(s.path("v1/x"), token=s.token)

    rs = parallel(one, range(40), workers=40)
    bad = [r for r in rs if r.status != 401 or r.body != b'{"error":"provider says no"}']
    assert not bad, bad[:3]
    statuses = [get_key(stack, k["id"])["status"] for k in s.keys]
    assert 1 <= statuses.count("banned") <= 5, statuses
    n = count(stack, "SELECT COUNT(*) FROM key_events WHERE rule_id = %d" % rule["id"])
    assert n == statuses.count("banned"), (n, statuses)
    a = alerts(stack, "upstream_id = %d AND message LIKE '%%upstream-wide failure suspected%%'"
               % s.up["id"])
    assert len(a) == 1, a


def test_cooldown_fires_once_under_parallel_matches(stack):
    second = extra_gateway(stack, "rules-second")
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    name = uniq("cool-par")
    create_rule(stack, name=name, upstream_id=s.up["id"], cooldown_s=60,
                condition=status_is(418), actions=[{"type": "log", "message": "once"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea", delay=0.05)})
    settle()
    gws = [stack.main, second]
    rs = parallel(lambda i: gws[i % 2].client.get(s.path("x"), token=s.token), range(20),
                  workers=20)
    assert all(r.status == 418 for r in rs), rs
    fired = [log_rules(stack, rid(r))[0] for r in rs]
    assert fired.count([name]) == 1 and fired.count(None) == 19, fired


def test_threshold_counts_every_parallel_match(stack):
    """40 matches of a threshold-4 rule on one key, at once from two
    processes: the rule fires exactly 10 times (every match counts once,
    and firing starts a new count)."""
    second = extra_gateway(stack, "rules-second")
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    name = uniq("four-par")
    create_rule(stack, name=name, upstream_id=s.up["id"], threshold=4, window_s=60,
                condition=status_is(418), actions=[{"type": "log", "message": "4"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea", delay=0.05)})
    settle()
    gws = [stack.main, second]
    rs = parallel(lambda i: gws[i % 2].client.get(s.path("x"), token=s.token), range(40),
                  workers=40)
    assert all(r.status == 418 for r in rs), rs
    fired = [log_rules(stack, rid(r))[0] for r in rs]
    assert fired.count([name]) == 10, "40 matches, threshold 4: fired %d times, not 10" % (
        fired.count([name]))


def test_excerpt_never_holds_part_of_the_key(stack):
    """The excerpt is the first 512 bytes: a key that straddles byte 512
    must not leave its first characters in the history."""
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    bad, good = s.keys
    create_rule(stack, name=uniq("ban-straddle"), upstream_id=s.up["id"],
                condition=status_is(401), actions=[BAN, RETRY])
    body = ('{"pad":"%s","key":"%s"}' % ("p" * 470, bad["value"]))
    start = body.index(bad["value"])
    assert start < 512 < start + len(bad["value"]), start
    stack.mock.script = per_key({bad["value"]: Reply(401, body)})
    settle()
    until_key_seen(stack, s, bad["value"])
    wait_key(stack, bad["id"], status="banned")
    ex = events(stack, bad["id"])[0]["excerpt"]
    assert ex.startswith('{"pad":"ppp'), ex
    leaked = bad["value"][:512 - start]
    assert leaked not in ex, "the excerpt ends with %r: the first %d characters of the key" % (
        ex[-len(leaked):], len(leaked))


def test_transport_error_timeout_leaf(stack):
    s = setup(stack, nkeys=1, max_retries=0, timeout_ms=300)
    key = s.keys[0]
    tmo = create_rule(stack, name=uniq("timeouts"), upstream_id=s.up["id"],
                      condition={"type": "transport_error", "value": "timeout"},
                      actions=[{"type": "log", "message": "timed out"}])
    create_rule(stack, name=uniq("connects"), upstream_id=s.up["id"],
                condition={"type": "transport_error", "value": "connect"},
                actions=[{"type": "log", "message": "connect"}])
    stack.mock.script = per_key({key["value"]: Reply(200, "late", delay=1.2)})
    settle()
    r = stack.main.client.get(s.path("v1/slow"), token=s.token)
    assert_json_error(r, 504, "upstream_timeout")
    assert log_rules(stack, rid(r)) == ([tmo["name"]], ["timed out"])


def test_transport_error_disables_key_with_masked_excerpt(stack):
    # The connection drops after the request was sent: a refused connection
    # would be the endpoint's fault, which never reaches the key
    # (test_endpoints.py).
    s = setup(stack, nkeys=1, max_retries=0, auth_query_param="key", auto_disable_max_pct=100)
    stack.mock.reset(lambda req: Reply(close=True))
    key = s.keys[0]
    name = uniq("dead-host")
    create_rule(stack, name=name, upstream_id=s.up["id"],
                condition={"type": "transport_error", "value": "any"},
                actions=[{"type": "disable_key", "duration_s": 120}])
    settle()
    t = time.time()
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "upstream_error")
    k = wait_key(stack, key["id"], status="disabled")
    assert t + 117 <= ts(k["disabled_until"]) <= t + 123, k
    ev = events(stack, key["id"])
    assert len(ev) == 1 and ev[0]["reason"] == name and ev[0]["request_id"] == rid(r), ev
    assert ev[0]["excerpt"] and key["value"] not in ev[0]["excerpt"], ev
