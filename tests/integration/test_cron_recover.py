"""apigw-recover: disabled keys whose disabled_until has passed come back.
With a probe on the upstream (probe_method, probe_path) each is probed
first, four at a time: a passing key becomes active (probe_failures 0), a
failing one stays disabled and rests 60 s x 2^probe_failures (at most a
day) with a disabled->disabled history row.  Without a probe they come back
at once.  Banned, exhausted, manually disabled and still-resting keys are
left alone."""

import threading
import time

import harness

from admin_helpers import A, ok
from cron_helpers import (assert_same, clean_slate, finish_job, key_events, key_row,
                          pool_version, run_job, set_keys, snapshot, sql_int, start_job,
                          table, until_in_s)
from mock_upstream import Reply, json_reply
from proxy_helpers import add_key, assert_json_error, make_upstream, settle, setup

PROBE = {"probe_method": "GET", "probe_path": "/models"}
DUE = "status = 'disabled', disabled_until = UTC_TIMESTAMP() - INTERVAL 1 MINUTE"


def _probe_upstream(stack, **fields):
    body = dict(PROBE)
    body.update(fields)
    return make_upstream(stack, base_url=stack.mock.url + "/v1", **body)


def _script(good_values, delay=0.0):
    """The mock passes the probe for these key values, answers 401 otherwise."""
    def script(req):
        if delay:
            time.sleep(delay)
        auth = req.header("Authorization") or ""
        if any(v in auth for v in good_values):
            return json_reply({"object": "list", "data": []})
        return Reply(401, b'{"error":{"message":"invalid api key"}}',
                     {"Content-Type": "application/json"})
    return script


def _probes(stack):
    return [(q.method, q.path, q.header("Authorization")) for q in list(stack.mock.requests)]


def test_a_passing_key_comes_back_and_a_failing_one_rests_longer(stack):
    clean_slate(stack)
    up = _probe_upstream(stack)
    good = add_key(stack, up["id"], name="good")
    bad = add_key(stack, up["id"], name="bad")
    set_keys(stack, [good["id"], bad["id"]], DUE + ", status_reason = 'rule 5'")
    stack.mock.script = _script([good["value"]])

    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 1 keys, 1 still failing", r
    assert sorted(_probes(stack)) == sorted([
        ("GET", "/v1/models", "Bearer " + good["value"]),
        ("GET", "/v1/models", "Bearer " + bad["value"])])

    g = key_row(stack, good["id"])
    assert (g["status"], g["probe_failures"], g["disabled_until"], g["status_reason"]) == (
        "active", 0, None, "recovered: the probe passed (200)"), g
    assert key_events(stack, good["id"]) == [
        ("disabled", "active", "recovered: the probe passed (200)", "cron", "NULL")]
    ev = ok(stack.main.admin.get(A + "/keys/%d/events" % good["id"]))
    assert [(e["from"], e["to"], e["actor"]) for e in ev["items"]] == [
        ("disabled", "active", "cron")], ev

    b = key_row(stack, bad["id"])
    assert (b["status"], b["probe_failures"], b["status_reason"]) == (
        "disabled", 1, "probe failed"), b
    assert 58 <= until_in_s(stack, bad["id"]) <= 61, b
    assert key_events(stack, bad["id"]) == [
        ("disabled", "disabled", "probe failed; next try in 60 s", "cron",
         "the upstream answered 401")]

    # Not due yet: nothing probed, nothing changed.
    stack.mock.reset(_script([good["value"]]))
    before = snapshot(stack, ("api_keys", "key_events"))
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 0 keys, 0 still failing", r
    assert _probes(stack) == []
    assert_same(before, snapshot(stack, ("api_keys", "key_events")))

    # Due again and failing again: twice as long.
    set_keys(stack, [bad["id"]], "disabled_until = UTC_TIMESTAMP() - INTERVAL 1 SECOND")
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 0 keys, 1 still failing", r
    assert _probes(stack) == [("GET", "/v1/models", "Bearer " + bad["value"])]
    b = key_row(stack, bad["id"])
    assert (b["status"], b["probe_failures"]) == ("disabled", 2), b
    assert 118 <= until_in_s(stack, bad["id"]) <= 121, b
    assert [e[2] for e in key_events(stack, bad["id"])] == [
        "probe failed; next try in 60 s", "probe failed; next try in 120 s"]

    # Due again, and now it passes: back, with its failures forgotten.
    stack.mock.reset(_script([good["value"], bad["value"]]))
    set_keys(stack, [bad["id"]], "disabled_until = UTC_TIMESTAMP() - INTERVAL 1 SECOND")
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 1 keys, 0 still failing", r
    b = key_row(stack, bad["id"])
    assert (b["status"], b["probe_failures"], b["disabled_until"]) == ("active", 0, None), b
    assert key_events(stack, bad["id"])[-1] == (
        "disabled", "active", "recovered: the probe passed (200)", "cron", "NULL")
    assert key_row(stack, good["id"])["status"] == "active"


def test_the_rest_doubles_per_failure_up_to_a_day(stack):
    clean_slate(stack)
    up = _probe_upstream(stack)
    cases = [(0, 60), (3, 480), (10, 61440), (11, 86400), (40, 86400)]
    keys = []
    for failures, _ in cases:
        k = add_key(stack, up["id"])
        set_keys(stack, [k["id"]], DUE + ", probe_failures = %d" % failures)
        keys.append(k)
    stack.mock.script = _script([])
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 0 keys, %d still failing" % len(cases), r
    for k, (failures, wait) in zip(keys, cases):
        row = key_row(stack, k["id"])
        assert (row["status"], row["probe_failures"]) == ("disabled", failures + 1), row
        assert wait - 3 <= until_in_s(stack, k["id"]) <= wait + 1, (failures, row)
        assert key_events(stack, k["id"]) == [
            ("disabled", "disabled", "probe failed; next try in %d s" % wait, "cron",
             "the upstream answered 401")], failures


def test_without_a_probe_keys_come_back_directly_and_others_are_left_alone(stack):
    clean_slate(stack)
    plain = make_upstream(stack)                              # no probe
    probed = _probe_upstream(stack)
    due1 = add_key(stack, plain["id"])
    due2 = add_key(stack, plain["id"])
    set_keys(stack, [due1["id"]], DUE + ", probe_failures = 2")
    set_keys(stack, [due2["id"]], DUE)
    left = {}
    for up in (plain, probed):
        for what, sets in (
                ("banned", "status = 'banned', disabled_until = UTC_TIMESTAMP() - INTERVAL 1"
                           " HOUR"),
                ("exhausted", "status = 'exhausted', disabled_until = UTC_TIMESTAMP() -"
                              " INTERVAL 1 HOUR"),
                ("manual", "status = 'disabled', disabled_until = NULL"),
                ("resting", "status = 'disabled', disabled_until = UTC_TIMESTAMP() +"
                            " INTERVAL 10 MINUTE"),
                ("active", "status = 'active', disabled_until = NULL")):
            k = add_key(stack, up["id"])
            set_keys(stack, [k["id"]], sets)
            left["%s/%s" % (up["name"], what)] = k["id"]
    where = "id IN (%s)" % ", ".join(str(i) for i in left.values())
    before = table(stack, "api_keys", where)
    stack.mock.script = _script([])

    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 2 keys, 0 still failing", r
    assert _probes(stack) == []                               # nothing to probe
    for k in (due1, due2):
        row = key_row(stack, k["id"])
        assert (row["status"], row["disabled_until"], row["probe_failures"],
                row["status_reason"]) == ("active", None, 0,
                                          "recovered: disabled_until passed"), row
        assert key_events(stack, k["id"]) == [
            ("disabled", "active", "recovered: disabled_until passed", "cron", "NULL")]
    assert table(stack, "api_keys", where) == before
    for name, kid in left.items():
        assert key_events(stack, kid) == [], name


def test_dry_run_changes_nothing_and_probes_nothing(stack):
    clean_slate(stack)
    plain = make_upstream(stack)
    probed = _probe_upstream(stack)
    ks = [add_key(stack, probed["id"]), add_key(stack, probed["id"]), add_key(stack, plain["id"])]
    set_keys(stack, [k["id"] for k in ks], DUE)
    stack.mock.script = _script([ks[0]["value"]])
    before = snapshot(stack, ("api_keys", "key_events", "pool_version"))
    r = run_job(stack, "apigw-recover", "--dry-run")
    assert r.line() == "would recover up to 3 keys (2 after a probe)", r
    assert_same(before, snapshot(stack, ("api_keys", "key_events", "pool_version")))
    assert _probes(stack) == []
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 2 keys, 1 still failing", r


def test_a_pool_whose_every_key_is_disabled_recovers_and_serves_again(stack):
    clean_slate(stack)
    s = setup(stack, nkeys=2, base_url=stack.mock.url, **PROBE)
    set_keys(stack, [k["id"] for k in s.keys], DUE + ", status_reason = 'auth-failed'")
    settle()
    c = stack.main.client
    assert_json_error(c.get(s.path("v1/chat"), token=s.token), 503, "no_available_key")
    stack.mock.reset()                                      # every probe passes
    v0 = pool_version(stack)
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 2 keys, 0 still failing", r
    assert sorted(_probes(stack)) == sorted(("GET", "/models", "Bearer " + k["value"])
                                            for k in s.keys)
    assert pool_version(stack) > v0
    settle()
    stack.mock.reset()
    for i in range(4):
        r = c.get(s.path("v1/chat"), token=s.token)
        assert r.status == 200, (i, r)
    used = sorted(q.header("Authorization") for q in stack.mock.requests)
    assert used == sorted(["Bearer " + k["value"] for k in s.keys] * 2), used


def test_probes_run_four_at_a_time_and_each_answer_goes_to_its_key(stack):
    clean_slate(stack)
    up = _probe_upstream(stack)
    ks = [add_key(stack, up["id"]) for _ in range(10)]
    set_keys(stack, [k["id"] for k in ks], DUE)
    # Even keys pass, odd ones fail; answers come back out of order.
    good = {k["value"] for i, k in enumerate(ks) if i % 2 == 0}
    delay = {k["value"]: 0.2 + 0.1 * ((i * 7) % 5) for i, k in enumerate(ks)}
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def script(req):
        value = (req.header("Authorization") or "")[len("Bearer "):]
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(delay.get(value, 0))
        with lock:
            state["now"] -= 1
        if value in good:
            return json_reply({"data": []})
        return Reply(403, b'{"error":"revoked"}', {"Content-Type": "application/json"})

    stack.mock.script = script
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 5 keys, 5 still failing", r
    assert len(_probes(stack)) == 10
    assert state["max"] == 4, state
    total = sum(delay.values())                              # 4 s one at a time
    assert total / 4 - 0.05 <= r.seconds < total / 2 + 0.5, (r.seconds, total)
    for k in ks:
        row = key_row(stack, k["id"])
        if k["value"] in good:
            assert (row["status"], row["probe_failures"]) == ("active", 0), row
        else:
            assert (row["status"], row["probe_failures"]) == ("disabled", 1), row
            assert key_events(stack, k["id"]) == [
                ("disabled", "disabled", "probe failed; next try in 60 s", "cron",
                 "the upstream answered 403")]


def test_a_probe_waits_at_most_10_s(stack):
    clean_slate(stack)
    up = _probe_upstream(stack, timeout_ms=60000, connect_timeout_ms=60000)
    k = add_key(stack, up["id"])
    set_keys(stack, [k["id"]], DUE)
    stack.mock.script = lambda req: Reply(close=True, delay=11.5)
    r = run_job(stack, "apigw-recover")
    assert r.line() == "recovered 0 keys, 1 still failing", r
    assert 9.5 <= r.seconds < 11.5, r.seconds
    ev = key_events(stack, k["id"])
    assert len(ev) == 1 and ev[0][:4] == ("disabled", "disabled",
                                          "probe failed; next try in 60 s", "cron"), ev
    assert "timed out" in ev[0][4].lower() and k["value"] not in ev[0][4], ev


def test_two_copies_at_once_recover_each_key_once(stack):
    clean_slate(stack)
    up = _probe_upstream(stack)
    ks = [add_key(stack, up["id"]) for _ in range(24)]
    set_keys(stack, [k["id"] for k in ks], DUE)
    stack.mock.script = _script([k["value"] for k in ks], delay=0.15)
    procs = [start_job(stack, "apigw-recover") for _ in range(2)]
    runs = [finish_job(p) for p in procs]
    acted = [r for r in runs if r.out == "recovered 24 keys, 0 still failing\n"]
    assert len(acted) == 1, runs
    other = [r for r in runs if r is not acted[0]][0]
    if other.out:
        assert other.line() == "recovered 0 keys, 0 still failing", other
    else:
        other.quiet()
    assert len(_probes(stack)) == 24
    assert sql_int(stack, "SELECT COUNT(*) FROM key_events") == 24
    assert sql_int(stack, "SELECT COUNT(*) FROM api_keys WHERE status = 'active'") == 24


def test_a_key_changed_by_a_person_while_it_is_probed_keeps_that_change(stack):
    clean_slate(stack)
    up = _probe_upstream(stack)
    passing = add_key(stack, up["id"])
    failing = add_key(stack, up["id"])
    set_keys(stack, [passing["id"], failing["id"]], DUE)
    stack.mock.script = _script([passing["value"]], delay=1.5)
    p = start_job(stack, "apigw-recover")
    harness.wait_until(lambda: len(stack.mock.requests) == 2, timeout=10, what="both probes sent")
    # While the probes are out, an operator bans one key and enables the other.
    ok(stack.main.admin.patch(A + "/keys/%d" % passing["id"], json={"status": "banned"}))
    ok(stack.main.admin.patch(A + "/keys/%d" % failing["id"], json={"status": "active"}))
    r = finish_job(p)
    problems = []
    # Neither key came back through the job: the summary does not count them.
    if not r.line().startswith("recovered 0 keys, "):
        problems.append("summary: %r" % r.line())
    got, ev = key_row(stack, passing["id"]), key_events(stack, passing["id"])
    if got["status"] != "banned" or ev[-1][:2] != ("disabled", "banned"):
        problems.append("key banned during its (passing) probe: %r, history %r" % (got, ev))
    got, ev = key_row(stack, failing["id"]), key_events(stack, failing["id"])
    if got["status"] != "active" or ev[-1][:2] != ("disabled", "active") or ev[-1][3] == "cron":
        problems.append("key enabled during its (failing) probe: %r, history %r" % (got, ev))
    assert not problems, "\n".join(problems)
