"""Rules at work in the proxy: a mock upstream that fails per key (the
answer depends on the Authorization header), and what the rules then do to
keys (ban, cool-down, exhausted), to retries, to the request log, to alerts
and their webhooks; thresholds shared by two gateway processes, cool-downs,
priorities and stop, and the upstream-wide guard.  The edges are in
test_rules_edges.py."""

import json
import time

from harness import wait_until
from mock_upstream import Reply, json_reply
from proxy_helpers import (get_key, setup, wait_key, wait_log_row)
from rules_helpers import (alerts, count, create_rule, events, extra_gateway, hook_requests,
                           http_date, log_rules, next_utc_midnight, per_key, rid, seen_keys,
                           settle, status_is, ts, uniq, BAN, RETRY, until_key_seen, req_time)


# ---------------------------------------------------------------- key actions

def test_ban_and_retry_on_401(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    bad, good = s.keys
    name = uniq("ban-401")
    rule = create_rule(stack, name=name, upstream_id=s.up["id"], condition=status_is(401),
                       actions=[BAN, RETRY], stop=True)
    body401 = ('{"error":{"message":"Incorrect API key provided: %s. You can find your API '
               'key at https://example.test/account/api-keys.","type":"invalid_request_error",'
               '"code":"invalid_api_key"},"padding":"%s"}' % (bad["value"], "x" * 900))
    stack.mock.script = per_key({bad["value"]: Reply(401, body401,
                                                     {"Content-Type": "application/json"})})
    settle()
    r, mine = until_key_seen(stack, s, bad["value"])
    assert r.status == 200 and r.json()["ok"] is True, r
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    assert [q.header("Authorization") for q in mine] == \
        ["Bearer " + bad["value"], "Bearer " + good["value"]], [q.header("Authorization")
                                                                for q in mine]
    k = wait_key(stack, bad["id"], status="banned")
    assert k["status_reason"] == name and k["disabled_until"] is None, k
    assert get_key(stack, good["id"])["status"] == "active"
    ev = events(stack, bad["id"])
    assert len(ev) == 1, ev
    e = ev[0]
    assert (e["from"], e["to"], e["reason"], e["rule_id"], e["request_id"]) == \
        ("active", "banned", name, rule["id"], rid(r)), e
    full = body401.replace(bad["value"], bad["key_masked"])
    assert bad["value"] not in e["excerpt"], e["excerpt"]
    assert bad["key_masked"] in e["excerpt"], e["excerpt"]
    assert full.startswith(e["excerpt"]), (e["excerpt"], full)
    n = len(e["excerpt"].encode())
    assert 512 - len(bad["value"]) + len(bad["key_masked"].encode()) <= n <= 512, n
    assert events(stack, good["id"]) == []
    rules, msgs = log_rules(stack, rid(r))
    assert rules == [name] and msgs is None, (rules, msgs)
    row = wait_log_row(stack, r)
    assert (row["status"], row["attempts"], row["key_id"]) == (200, 2, good["id"]), row
    # The banned key is not used again.
    before = len(stack.mock.requests)
    for _ in range(4):
        r = stack.main.client.get(s.path("v1/chat"), token=s.token)
        assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r
    assert set(seen_keys(stack)[before:]) == {good["value"]}


def test_cool_down_on_429_for_as_long_as_the_answer_says(stack):
    s = setup(stack, nkeys=5, max_retries=4, retry_backoff_ms=10, auto_disable_max_pct=100)
    k_secs, k_date, k_none, k_reset, k_ok = s.keys
    name = uniq("rate-limited")
    create_rule(stack, name=name, upstream_id=s.up["id"], condition=status_is(429), stop=True,
                actions=[{"type": "disable_key", "until": "retry_after", "duration_s": 45},
                         RETRY])
    body = '{"error":{"message":"Rate limit reached","type":"requests"}}'
    def dated(req):
        return Reply(429, body, {"Retry-After": http_date(int(req.time) + 300)})

    stack.mock.script = per_key({
        k_secs["value"]: Reply(429, body, {"Retry-After": "120"}),
        k_date["value"]: dated,
        k_none["value"]: Reply(429, body),
        k_reset["value"]: Reply(429, body, {"x-ratelimit-reset-requests": "6m0s"}),
    })
    settle()
    bad = [k_secs, k_date, k_none, k_reset]
    for _ in range(6):
        r = stack.main.client.get(s.path("v1/chat"), token=s.token)
        assert r.status == 200, r
        if all(v in seen_keys(stack) for v in (k["value"] for k in bad)):
            break
    reqs = list(stack.mock.requests)
    expect = {k_secs["id"]: req_time(reqs, k_secs["value"]) + 120,
              k_date["id"]: req_time(reqs, k_date["value"]) + 300,
              k_none["id"]: req_time(reqs, k_none["value"]) + 45,
              k_reset["id"]: req_time(reqs, k_reset["value"]) + 360}
    problems = []
    for k in bad:
        got = wait_key(stack, k["id"], status="disabled")
        until = ts(got["disabled_until"])
        if until is None or not (expect[k["id"]] - 3 <= until <= expect[k["id"]] + 3):
            problems.append("key %s: disabled_until %s, expected about %s (+%ds)" % (
                k["name"] if k.get("name") else k["id"], got["disabled_until"],
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expect[k["id"]])),
                expect[k["id"]] - req_time(reqs, k["value"])))
        assert got["status_reason"] == name, got
    assert not problems, problems
    assert get_key(stack, k_ok["id"])["status"] == "active"


def test_exhausted_on_insufficient_quota_until_the_next_reset(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    bad, good = s.keys
    name = uniq("quota")
    create_rule(stack, name=name, upstream_id=s.up["id"], stop=True,
                condition={"all": [{"type": "status", "op": "in", "value": [400, 429]},
                                   {"type": "json_path", "path": "$.error.code", "op": "eq",
                                    "value": "insufficient_quota"}]},
                actions=[{"type": "disable_key", "until": "quota_reset"}, RETRY])
    body = json.dumps({"error": {"message": "You exceeded your current quota",
                                 "type": "insufficient_quota", "code": "insufficient_quota"}})
    stack.mock.script = per_key({bad["value"]: Reply(429, body, {"Retry-After": "20"})})
    settle()
    r, mine = until_key_seen(stack, s, bad["value"])
    assert r.header("X-Gateway-Attempts") == "2", r.headers
    t = req_time(mine, bad["value"])
    k = wait_key(stack, bad["id"], status="exhausted")
    assert ts(k["disabled_until"]) == next_utc_midnight(t), (k, next_utc_midnight(t))
    assert k["status_reason"] == name, k
    ev = events(stack, bad["id"])
    assert [(e["from"], e["to"], e["reason"]) for e in ev] == [("active", "exhausted", name)], ev
    assert ev[0]["excerpt"] == body, ev


def test_threshold_is_counted_across_two_processes(stack):
    s = setup(stack, nkeys=1, max_retries=0, auto_disable_max_pct=100)
    key = s.keys[0]
    name = uniq("fourth-strike")
    rule = create_rule(stack, name=name, upstream_id=s.up["id"], threshold=4, window_s=60,
                       condition={"type": "status", "op": "range", "value": [500, 599]},
                       actions=[BAN])
    stack.mock.script = per_key({key["value"]: Reply(500, '{"error":"boom"}')})
    second = extra_gateway(stack, "rules-second")
    settle()
    gws = [stack.main, second, stack.main, second]
    for i, g in enumerate(gws, 1):
        r = g.client.get(s.path("v1/x"), token=s.token)
        assert r.status == 500 and r.body == b'{"error":"boom"}', (i, r)
        rules, _ = log_rules(stack, rid(r))
        status = get_key(stack, key["id"])["status"]
        if i < 4:
            assert status == "active", "the rule fired on match %d of 4" % i
            assert rules is None, (i, rules)
        else:
            assert status == "banned", "the rule did not fire on the 4th match"
            assert rules == [name], rules
    ev = events(stack, key["id"])
    assert len(ev) == 1 and ev[0]["rule_id"] == rule["id"], ev
    assert ev[0]["request_id"] == rid(r), ev
    assert count(stack, "SELECT hits FROM rule_hits WHERE rule_id = %d" % rule["id"]) == 0


def test_cooldown_fires_once(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    name = uniq("cool")
    rule = create_rule(stack, name=name, upstream_id=s.up["id"], cooldown_s=30,
                       condition=status_is(418),
                       actions=[{"type": "log", "message": "teapot"},
                                {"type": "alert", "message": "teapot alert"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "short and stout")})
    settle()
    got = []
    for _ in range(3):
        r = stack.main.client.get(s.path("v1/tea"), token=s.token)
        assert r.status == 418 and r.body == b"short and stout", r
        got.append(log_rules(stack, rid(r)))
    assert got == [([name], ["teapot"]), (None, None), (None, None)], got
    a = alerts(stack, "rule_id = %d" % rule["id"])
    assert [(x["message"], x["key_id"]) for x in a] == [("teapot alert", key["id"])], a


def test_priority_order_and_stop(stack):
    s = setup(stack, nkeys=1, max_retries=0, auto_disable_max_pct=100)
    other = setup(stack, nkeys=1, token=False, settle=False)
    key = s.keys[0]
    up = s.up["id"]
    cond = status_is(418)
    # Created in the opposite order of their priorities.
    late = create_rule(stack, name=uniq("p30"), upstream_id=up, priority=30, condition=cond,
                       actions=[{"type": "log", "message": "p30"}])
    early = create_rule(stack, name=uniq("p10"), upstream_id=up, priority=10, condition=cond,
                        actions=[{"type": "log", "message": "p10"}])
    banner = create_rule(stack, name=uniq("p40-ban"), upstream_id=up, priority=40,
                         condition=cond, actions=[BAN])
    # A global rule mixes in by priority; another upstream's rule does not.
    glob = create_rule(stack, name=uniq("g15"), priority=15,
                       condition={"all": [cond, {"type": "header", "name": "x-prio-test",
                                                 "op": "exists"}]},
                       actions=[{"type": "log", "message": "g15"}])
    create_rule(stack, name=uniq("other5"), upstream_id=other.up["id"], priority=5,
                condition=cond, actions=[{"type": "log", "message": "other"}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea", {"X-Prio-Test": "1"})})
    try:
        settle()
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 418, r
        rules, msgs = log_rules(stack, rid(r))
        assert rules == [early["name"], glob["name"], late["name"], banner["name"]], rules
        assert msgs == ["p10", "g15", "p30"], msgs
        wait_key(stack, key["id"], status="banned")
        ok_key = stack.main.admin.patch("/api/admin/keys/%d" % key["id"],
                                        json={"status": "active"})
        assert ok_key.status == 200, ok_key
        # A stopping rule between them: nothing after it runs, the ban included.
        stopper = create_rule(stack, name=uniq("p20-stop"), upstream_id=up, priority=20,
                              condition=cond, stop=True,
                              actions=[{"type": "log", "message": "p20"}])
        settle()
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 418, r
        rules, msgs = log_rules(stack, rid(r))
        assert rules == [early["name"], glob["name"], stopper["name"]], rules
        assert msgs == ["p10", "g15", "p20"], msgs
        assert get_key(stack, key["id"])["status"] == "active"
        # A stopping rule that matches but has not fired (threshold) stops nothing.
        r = stack.main.admin.patch("/api/admin/rules/%d" % stopper["id"], json={"threshold": 5})
        assert r.status == 200, r
        settle()
        r = stack.main.client.get(s.path("x"), token=s.token)
        rules, _ = log_rules(stack, rid(r))
        assert rules == [early["name"], glob["name"], late["name"], banner["name"]], rules
    finally:
        stack.main.admin.delete("/api/admin/rules/%d" % glob["id"])


def test_upstream_wide_guard_when_every_key_fails(stack):
    s = setup(stack, nkeys=10, max_retries=2, retry_backoff_ms=5, auto_disable_max_pct=50)
    name = uniq("ban-all")
    rule = create_rule(stack, name=name, upstream_id=s.up["id"], condition=status_is(401),
                       actions=[BAN, RETRY], stop=True)
    stack.mock.script = lambda req: Reply(401, '{"error":"provider says no"}',
                                          {"Content-Type": "application/json"})
    settle()
    for i in range(10):
        r = stack.main.client.get(s.path("v1/x"), token=s.token)
        assert r.status == 401 and r.body == b'{"error":"provider says no"}', (i, r)
        assert r.header("X-Gateway-Attempts") == "3", (i, r.headers)
    statuses = [get_key(stack, k["id"])["status"] for k in s.keys]
    assert statuses.count("banned") == 5 and statuses.count("active") == 5, statuses
    assert count(stack, "SELECT COUNT(*) FROM key_events WHERE rule_id = %d" % rule["id"]) == 5
    a = alerts(stack, "upstream_id = %d AND message LIKE '%%upstream-wide failure suspected%%'"
               % s.up["id"])
    assert len(a) == 1, a
    assert ("upstream-wide failure suspected on %s" % s.name) in a[0]["message"], a
    assert a[0]["upstream_id"] == s.up["id"], a
    # Requests still get an answer, and still no more keys go.
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 401 and r.header("X-Gateway-Attempts") == "3", r
    statuses = [get_key(stack, k["id"])["status"] for k in s.keys]
    assert statuses.count("banned") == 5, statuses
    assert len(alerts(stack, "upstream_id = %d AND message LIKE '%%upstream-wide%%'"
                      % s.up["id"])) == 1


# ---------------------------------------------------------------- alerts

def test_alert_webhook_is_delivered(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    name = uniq("hooked")
    hook = stack.mock.url + "/hook"
    rule = create_rule(stack, name=name, upstream_id=s.up["id"], condition=status_is(418),
                       actions=[{"type": "alert", "message": "the teapot is broken",
                                 "webhook": hook}])
    stack.mock.script = per_key({key["value"]: Reply(418, "key %s is a teapot" % key["value"])},
                                hooks={"/hook": json_reply({"ok": True})})
    settle()
    r = stack.main.client.get(s.path("v1/brew"), token=s.token)
    assert r.status == 418, r
    wait_until(lambda: alerts(stack, "rule_id = %d AND delivered IS NOT NULL" % rule["id"]),
               timeout=10, what="the alert's delivery")
    a = alerts(stack, "rule_id = %d" % rule["id"])
    assert len(a) == 1, a
    assert (a[0]["delivered"], a[0]["delivery_error"], a[0]["key_id"], a[0]["upstream_id"],
            a[0]["message"], a[0]["webhook"]) == \
        (1, None, key["id"], s.up["id"], "the teapot is broken", hook), a
    posts = hook_requests(stack, "/hook")
    assert len(posts) == 1, posts
    p = posts[0]
    assert p.method == "POST", p.method
    assert (p.header("Content-Type") or "").startswith("application/json"), p.headers
    assert key["value"].encode() not in p.body, p.body
    assert key["value"] not in json.dumps(p.headers)
    payload = json.loads(p.body)
    assert payload["message"] == "the teapot is broken", payload
    assert payload["rule"] == name, payload
    assert payload["key_masked"] == key["key_masked"], payload


def test_failing_webhook_is_tried_three_times(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    hook = stack.mock.url + "/hook-fail"
    rule = create_rule(stack, name=uniq("hook-fails"), upstream_id=s.up["id"],
                       condition=status_is(418),
                       actions=[{"type": "alert", "message": "nobody listens", "webhook": hook}])
    stack.mock.script = per_key({key["value"]: Reply(418, "tea")},
                                hooks={"/hook-fail": Reply(500, "hook down")})
    settle()
    r = stack.main.client.get(s.path("v1/brew"), token=s.token)
    assert r.status == 418, r
    wait_until(lambda: alerts(stack, "rule_id = %d AND delivered IS NOT NULL" % rule["id"]),
               timeout=15, what="the alert's delivery outcome")
    a = alerts(stack, "rule_id = %d" % rule["id"])
    assert len(a) == 1 and a[0]["delivered"] == 0, a
    assert a[0]["delivery_error"] and "500" in a[0]["delivery_error"], a
    posts = hook_requests(stack, "/hook-fail")
    assert len(posts) == 3, [q.time for q in posts]
    gaps = [posts[1].time - posts[0].time, posts[2].time - posts[1].time]
    assert 0.8 <= gaps[0] <= 1.8 and 1.8 <= gaps[1] <= 2.8, gaps
    time.sleep(0.5)
    assert len(hook_requests(stack, "/hook-fail")) == 3


# ---------------------------------------------------------------- request log

def test_log_action_and_fired_rule_names_in_request_log(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    up = s.up["id"]
    hdr = create_rule(stack, name=uniq("hdr-note"), upstream_id=up, priority=1,
                      condition={"all": [status_is(200),
                                         {"type": "header", "name": "x-upstream-note",
                                          "op": "contains", "value": "deprecat"}]},
                      actions=[{"type": "log", "message": "model is deprecated"}])
    body = create_rule(stack, name=uniq("body-note"), upstream_id=up, priority=2,
                       condition={"type": "json_path", "path": "$.usage.total_tokens",
                                  "op": "gt", "value": 1000},
                       actions=[{"type": "log", "message": "a big answer"}])
    quiet = create_rule(stack, name=uniq("quiet"), upstream_id=up, priority=3,
                        condition=status_is(500), actions=[{"type": "log", "message": "no"}])
    answer = json.dumps({"ok": True, "usage": {"total_tokens": 5000}})
    stack.mock.script = per_key({key["value"]: Reply(
        200, answer, {"Content-Type": "application/json", "X-Upstream-Note": "deprecated soon"})})
    settle()
    r = stack.main.client.get(s.path("v1/chat"), token=s.token)
    assert r.status == 200 and r.body == answer.encode(), r
    rules, msgs = log_rules(stack, rid(r))
    assert rules == [hdr["name"], body["name"]], rules
    assert msgs == ["model is deprecated", "a big answer"], msgs
    assert quiet["name"] not in rules
    # A plain answer: no rule fired, both columns stay NULL.
    stack.mock.script = per_key({key["value"]: json_reply({"ok": True})})
    r = stack.main.client.get(s.path("v1/chat"), token=s.token)
    assert r.status == 200
    assert log_rules(stack, rid(r)) == (None, None)


def test_latency_leaf(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    slow = create_rule(stack, name=uniq("slow"), upstream_id=s.up["id"],
                       condition={"type": "latency", "op": "gt", "value_ms": 250},
                       actions=[{"type": "log", "message": "slow answer"}])
    stack.mock.script = per_key({key["value"]: Reply(200, "late", delay=0.5)})
    settle()
    r = stack.main.client.get(s.path("v1/slow"), token=s.token)
    assert r.status == 200 and r.body == b"late", r
    assert log_rules(stack, rid(r)) == ([slow["name"]], ["slow answer"])
    stack.mock.script = per_key({key["value"]: Reply(200, "fast")})
    r = stack.main.client.get(s.path("v1/fast"), token=s.token)
    assert log_rules(stack, rid(r)) == (None, None)


# ---------------------------------------------------------------- retries

def test_retry_rule_on_5xx_punishes_no_key(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    bad, good = s.keys
    name = uniq("retry-5xx")
    create_rule(stack, name=name, upstream_id=s.up["id"],
                condition={"type": "status", "op": "range", "value": [500, 599]},
                actions=[RETRY])
    stack.mock.script = per_key({bad["value"]: Reply(503, "overloaded")})
    settle()
    r, mine = until_key_seen(stack, s, bad["value"])
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "2", r
    assert len(mine) == 2, mine
    assert log_rules(stack, rid(r))[0] == [name]
    for k in s.keys:
        got = get_key(stack, k["id"])
        assert got["status"] == "active" and got["disabled_until"] is None, got
        assert events(stack, k["id"]) == []


def test_body_rule_on_2xx_acts_after_the_answer_went_out(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10, auto_disable_max_pct=100)
    bad, good = s.keys
    name = uniq("revoked-soon")
    create_rule(stack, name=name, upstream_id=s.up["id"],
                condition={"all": [status_is(200),
                                   {"type": "json_path", "path": "$.warning", "op": "eq",
                                    "value": "key_revoked"}]},
                actions=[{"type": "disable_key", "duration_s": 300}, RETRY])
    body = '{"ok":true,"warning":"key_revoked"}'
    stack.mock.script = per_key({bad["value"]: Reply(200, body,
                                                     {"Content-Type": "application/json"})})
    settle()
    r, mine = until_key_seen(stack, s, bad["value"])
    assert r.status == 200 and r.body == body.encode(), r
    assert r.header("X-Gateway-Attempts") == "1", r.headers
    assert len(mine) == 1, "the answer was retried after it went out"
    t = req_time(mine, bad["value"])
    k = wait_key(stack, bad["id"], status="disabled")
    assert t + 297 <= ts(k["disabled_until"]) <= t + 303, k
    assert k["status_reason"] == name, k
    ev = events(stack, bad["id"])
    assert len(ev) == 1 and ev[0]["excerpt"] == body and ev[0]["request_id"] == rid(r), ev
    assert log_rules(stack, rid(r))[0] == [name]
    settle()
    before = len(stack.mock.requests)
    for _ in range(3):
        assert stack.main.client.get(s.path("v1/chat"), token=s.token).status == 200
    assert set(seen_keys(stack)[before:]) == {good["value"]}


def test_every_attempt_retried_away_gives_the_last_upstream_answer(stack):
    s = setup(stack, nkeys=3, max_retries=2, retry_backoff_ms=10)
    name = uniq("retry-429")
    create_rule(stack, name=name, upstream_id=s.up["id"], condition=status_is(429),
                actions=[RETRY])
    n = [0]

    def script(req):
        n[0] += 1
        return Reply(429, '{"error":{"message":"slow down","n":%d}}' % n[0],
                     {"Content-Type": "application/json", "Retry-After": "7",
                      "X-Upstream-Tag": "tag-%d" % n[0]})

    stack.mock.script = script
    settle()
    r = stack.main.client.post(s.path("v1/chat"), token=s.token, body=b'{"q":1}')
    assert r.status == 429, r
    assert r.body == b'{"error":{"message":"slow down","n":3}}', r.body
    assert r.header("X-Gateway-Attempts") == "3", r.headers
    assert r.header("Retry-After") == "7" and r.header("X-Upstream-Tag") == "tag-3", r.headers
    assert r.header("Content-Type") == "application/json", r.headers
    assert r.error_code() is None
    assert sorted(seen_keys(stack)) == sorted(s.key_values), seen_keys(stack)
    row = wait_log_row(stack, r)
    assert (row["status"], row["attempts"]) == (429, 3), row
    rules = log_rules(stack, rid(r))[0]
    assert rules and set(rules) == {name}, rules
    for k in s.keys:
        assert get_key(stack, k["id"])["status"] == "active"
