"""Capacity alerts (docs/API.md "Capacity alerts"), raised by apigw-recover's
capacity check: an upstream low on usable keys (alert_min_active_pct,
alert_min_active), dry (every request of the last minute got 503
no_available_key), back to ok; a key recovered; a key whose probe has failed
for more than a day.  Each fires once per change of state (the job run twice
raises one alert), is listed by GET /api/admin/alerts with its kind, is
POSTed to webhook_url, and the state shows in GET /api/admin/upstreams/{id},
GET /api/admin/capacity and /metrics."""

import json
import subprocess
import time

import harness
from admin_helpers import A, ok
from cron_helpers import run_job, write_conf
from proxy_helpers import settle, setup


def _conf(stack, up_id):
    path, _ = write_conf(stack, webhook_url=stack.mock.url + "/cap-hook-%d" % up_id)
    return path


def _run(stack, conf):
    r = run_job(stack, "apigw-recover", config=conf)
    assert r.rc == 0 and r.err == "", r
    return r


def _alerts(stack, up_id):
    """This upstream's alerts, oldest first, as (kind, key_id)."""
    items = ok(stack.main.admin.get(A + "/alerts?upstream_id=%d&limit=100" % up_id))["items"]
    return [(a["kind"], a["key_id"]) for a in reversed(items)]


def _hooks(stack, up_id):
    """The webhook payloads the mock received for this upstream."""
    return [json.loads(q.body) for q in list(stack.mock.requests)
            if q.path == "/cap-hook-%d" % up_id]


def _capacity(stack, up_id):
    return ok(stack.main.admin.get(A + "/upstreams/%d" % up_id))["capacity"]


# Key events are read by the check once this many seconds old (an event
# committed after a later one must not be skipped: core/capacity.c).
SETTLE_S = 2.2


def _disable(stack, key_id, status="disabled"):
    ok(stack.main.admin.patch(A + "/keys/%d" % key_id, json={"status": status}))


def test_low_fires_once_then_ok_and_recovered(stack):
    s = setup(stack, nkeys=5, alert_min_active_pct=50)
    conf = _conf(stack, s.up["id"])
    assert s.up["alert_min_active_pct"] == 50 and s.up["alert_min_active"] is None
    assert _capacity(stack, s.up["id"])["state"] == "unknown"
    _run(stack, conf)
    cap = _capacity(stack, s.up["id"])
    assert (cap["state"], cap["usable"], cap["total"]) == ("ok", 5, 5), cap
    assert _alerts(stack, s.up["id"]) == []
    for k in s.keys[:3]:
        _disable(stack, k["id"])
    _run(stack, conf)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("capacity_low", None)]
    cap = _capacity(stack, s.up["id"])
    assert (cap["state"], cap["usable"], cap["total"]) == ("low", 2, 5), cap
    assert cap["since"] is not None and cap["checked_at"] is not None, cap
    # A GET body sent back, capacity included, is accepted; capacity is ignored.
    got = ok(stack.main.admin.get(A + "/upstreams/%d" % s.up["id"]))
    back = ok(stack.main.admin.put(A + "/upstreams/%d" % s.up["id"], json=got))
    assert "capacity" not in back and back["alert_min_active_pct"] == 50, back
    whole = ok(stack.main.admin.get(A + "/capacity"))
    mine = [u for u in whole["upstreams"] if u["upstream_id"] == s.up["id"]]
    assert len(mine) == 1 and mine[0]["state"] == "low", whole
    assert {"upstream_id": s.up["id"], "upstream": s.name, "kind": "low",
            "since": cap["since"]} in whole["active"], whole
    metrics = stack.main.client.get("/metrics").text
    assert ('apigw_upstream_capacity_state{upstream="%s",upstream_id="%d"} 1'
            % (s.name, s.up["id"])) in metrics
    harness.wait_until(lambda: len(_hooks(stack, s.up["id"])) == 1, timeout=10,
                       what="the low alert's webhook")
    hook = _hooks(stack, s.up["id"])[0]
    assert hook["kind"] == "capacity_low" and hook["upstream_id"] == s.up["id"], hook
    assert "2 of 5 usable" in hook["message"], hook
    # A key back: 3 of 5 is not below 50 %: the upstream is ok again, and
    # the key's recovery is an alert of its own.  Both once.
    ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"], json={"status": "active"}))
    _run(stack, conf)
    time.sleep(SETTLE_S)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("capacity_low", None), ("capacity_ok", None),
                                          ("key_recovered", s.keys[0]["id"])]
    assert _capacity(stack, s.up["id"])["state"] == "ok"
    harness.wait_until(lambda: len(_hooks(stack, s.up["id"])) == 3, timeout=10,
                       what="three webhooks")
    rec = [h for h in _hooks(stack, s.up["id"]) if h["kind"] == "key_recovered"]
    assert rec[0]["key_id"] == s.keys[0]["id"], rec
    assert rec[0]["key_masked"] == s.keys[0]["key_masked"], rec
    for h in _hooks(stack, s.up["id"]):
        assert all(k["value"] not in json.dumps(h) for k in s.keys), h
    kinds = ok(stack.main.admin.get(A + "/alerts?kind=key_recovered&upstream_id=%d"
                                    % s.up["id"]))
    assert kinds["total"] == 1, kinds


def test_alert_min_active_counts_keys(stack):
    s = setup(stack, nkeys=3, alert_min_active_pct=0, alert_min_active=3)
    conf = _conf(stack, s.up["id"])
    _run(stack, conf)
    assert _capacity(stack, s.up["id"])["state"] == "ok"
    _disable(stack, s.keys[0]["id"], "banned")
    _run(stack, conf)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("capacity_low", None)]
    # Off: neither test applies, and leaving low says so once.
    ok(stack.main.admin.patch(A + "/upstreams/%d" % s.up["id"], json={"alert_min_active": None}))
    _run(stack, conf)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("capacity_low", None), ("capacity_ok", None)]


def _logged(stack, up_id):
    return int(stack.sql("SELECT COUNT(*) FROM request_logs WHERE upstream_id = %d" % up_id))


def test_dry_fires_once_when_every_request_finds_no_key(stack):
    s = setup(stack, nkeys=1, alert_min_active_pct=0)
    conf = _conf(stack, s.up["id"])
    _run(stack, conf)
    _disable(stack, s.keys[0]["id"])
    settle()
    for _ in range(3):
        r = stack.main.client.get(s.path("v1/models"), token=s.token)
        assert r.status == 503 and "no_available_key" in r.text, r
    harness.wait_until(lambda: _logged(stack, s.up["id"]) == 3, timeout=10,
                       what="the requests' log rows")
    _run(stack, conf)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("capacity_dry", None)]
    cap = _capacity(stack, s.up["id"])
    assert (cap["state"], cap["usable"], cap["total"]) == ("dry", 0, 1), cap
    harness.wait_until(lambda: len(_hooks(stack, s.up["id"])) == 1, timeout=10,
                       what="the dry alert's webhook")
    assert "all 3 requests of the last minute" in _hooks(stack, s.up["id"])[0]["message"]


def test_dry_needs_requests(stack):
    s = setup(stack, nkeys=1, alert_min_active_pct=0)
    conf = _conf(stack, s.up["id"])
    _disable(stack, s.keys[0]["id"])
    _run(stack, conf)
    assert _capacity(stack, s.up["id"])["state"] == "ok"
    assert _alerts(stack, s.up["id"]) == []


def _seed_probe_failures(stack, key_id, first_failure_h):
    stack.sql("UPDATE api_keys SET status = 'disabled', probe_failures = 9,"
              " disabled_until = UTC_TIMESTAMP() + INTERVAL 1 HOUR WHERE id = %d;"
              " INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor) VALUES"
              " (%d, UTC_TIMESTAMP() - INTERVAL %d HOUR, 'active', 'disabled', 'rule', 'rule'),"
              " (%d, UTC_TIMESTAMP() - INTERVAL %d HOUR, 'disabled', 'disabled',"
              " 'probe failed; next try in 3600 s', 'cron'),"
              " (%d, UTC_TIMESTAMP() - INTERVAL 1 HOUR, 'disabled', 'disabled',"
              " 'probe failed; next try in 86400 s', 'cron')"
              % (key_id, key_id, first_failure_h + 1, key_id, first_failure_h, key_id))


def test_probe_failing_for_a_day_fires_once(stack):
    s = setup(stack, nkeys=3, alert_min_active_pct=0)
    conf = _conf(stack, s.up["id"])
    _run(stack, conf)
    old, young = s.keys[0], s.keys[1]
    _seed_probe_failures(stack, old["id"], 25)
    _seed_probe_failures(stack, young["id"], 5)
    _run(stack, conf)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("probe_failing", old["id"])]
    whole = ok(stack.main.admin.get(A + "/capacity"))
    mine = [a for a in whole["active"] if a["upstream_id"] == s.up["id"]]
    assert [(a["kind"], a["key_id"], a["key_masked"]) for a in mine] == [
        ("probe_failing", old["id"], old["key_masked"])], whole
    harness.wait_until(lambda: len(_hooks(stack, s.up["id"])) == 1, timeout=10,
                       what="the probe alert's webhook")
    hook = _hooks(stack, s.up["id"])[0]
    assert hook["kind"] == "probe_failing" and hook["key_id"] == old["id"], hook
    assert old["value"] not in json.dumps(hook)
    # Back to active: the state ends, and the recovery is its own alert.
    ok(stack.main.admin.patch(A + "/keys/%d" % old["id"], json={"status": "active"}))
    _run(stack, conf)
    time.sleep(SETTLE_S)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("probe_failing", old["id"]),
                                          ("key_recovered", old["id"])]
    whole = ok(stack.main.admin.get(A + "/capacity"))
    assert [a for a in whole["active"] if a["upstream_id"] == s.up["id"]] == []


def test_many_failing_probes_are_summed_up(stack):
    """A provider's day-long outage makes five probe_failing alerts and a
    sum, once, not one per key."""
    s = setup(stack, nkeys=8, alert_min_active_pct=0)
    conf = _conf(stack, s.up["id"])
    _run(stack, conf)
    for k in s.keys:
        _seed_probe_failures(stack, k["id"], 25)
    _run(stack, conf)
    _run(stack, conf)
    got = _alerts(stack, s.up["id"])
    assert got == [("probe_failing", k["id"]) for k in s.keys[:5]] + [("probe_failing", None)]
    items = ok(stack.main.admin.get(A + "/alerts?upstream_id=%d" % s.up["id"]))["items"]
    assert items[0]["message"] == ("3 more keys of upstream %s: their probes have failed for"
                                   " more than a day" % s.name), items[0]
    # All eight are in the state, so /capacity lists each.
    whole = ok(stack.main.admin.get(A + "/capacity"))
    assert len([a for a in whole["active"] if a["upstream_id"] == s.up["id"]]) == 8, whole


def test_many_recoveries_are_summed_up(stack):
    s = setup(stack, nkeys=8, alert_min_active_pct=0)
    conf = _conf(stack, s.up["id"])
    for k in s.keys:
        _disable(stack, k["id"], "exhausted")
    _run(stack, conf)
    for k in s.keys:
        ok(stack.main.admin.patch(A + "/keys/%d" % k["id"], json={"status": "active"}))
    time.sleep(SETTLE_S)
    _run(stack, conf)
    got = _alerts(stack, s.up["id"])
    assert got == [("key_recovered", k["id"]) for k in s.keys[:5]] + [("key_recovered", None)]
    items = ok(stack.main.admin.get(A + "/alerts?upstream_id=%d" % s.up["id"]))["items"]
    assert items[0]["message"] == "3 more keys of upstream %s recovered" % s.name, items[0]


def test_recovery_committed_after_a_later_one_is_not_skipped(stack):
    """A recovery whose transaction commits after a later event's (its id
    is smaller) still raises its alert: the check reads events only once
    they are a couple of seconds old, when such a writer has committed."""
    s = setup(stack, nkeys=2, alert_min_active_pct=0)
    conf = _conf(stack, s.up["id"])
    for k in s.keys:
        _disable(stack, k["id"], "exhausted")
    _run(stack, conf)
    # The first key's recovery is written in a transaction held open while
    # the second's commits with a larger id and a check runs.
    late = subprocess.Popen(["mariadb", "--no-defaults", "-uroot", "--unbuffered", "-N", "-B",
                             "--socket=" + stack.db.socket,
                             "apigw_test"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    k0, k1 = s.keys[0]["id"], s.keys[1]["id"]
    try:
        late.stdin.write("BEGIN; UPDATE api_keys SET status = 'active' WHERE id = %d;"
                         " INSERT INTO key_events (key_id, ts, from_status, to_status, reason,"
                         " actor) VALUES (%d, UTC_TIMESTAMP(3), 'exhausted', 'active',"
                         " 'by hand', 'admin'); SELECT 'written';\n" % (k0, k0))
        late.stdin.flush()
        assert late.stdout.readline().strip() == "written"
        ok(stack.main.admin.patch(A + "/keys/%d" % k1, json={"status": "active"}))
        _run(stack, conf)
    finally:
        late.stdin.write("COMMIT;\n")
        late.stdin.close()
        late.wait(timeout=30)
    assert _alerts(stack, s.up["id"]) == []
    time.sleep(SETTLE_S)
    _run(stack, conf)
    assert _alerts(stack, s.up["id"]) == [("key_recovered", k0), ("key_recovered", k1)]


def test_dry_run_checks_nothing(stack):
    s = setup(stack, nkeys=2, alert_min_active_pct=0, alert_min_active=5)
    r = run_job(stack, "apigw-recover", "--dry-run", config=_conf(stack, s.up["id"]))
    assert r.rc == 0, r
    assert _capacity(stack, s.up["id"])["state"] == "unknown"
    assert _alerts(stack, s.up["id"]) == []
