"""Issue 22: which rules would fire, in order, on one sample answer (POST
/api/admin/upstreams/{id}/rules/test: every rule of the upstream, the
global ones too, in the proxy's order and phases, with where the
evaluation stops), and each rule's hits over 24 hours (GET
/api/admin/rules/hits, from key events and alerts)."""

from admin_helpers import A, assert_error, create_key, create_upstream, key_value, ok, uniq
from rules_helpers import create_rule, rule_hits_count, status_is

LOG = [{"type": "log", "message": "seen"}]


def _order(stack, up, sample, status=200):
    r = stack.main.admin.post(A + "/upstreams/%d/rules/test" % up, json=sample)
    return ok(r, status)


def _by_id(out):
    return {x["id"]: x for x in out["rules"]}


def test_every_rule_of_the_upstream_in_order_until_a_stop(stack):
    up = create_upstream(stack)["id"]
    other = create_upstream(stack)["id"]
    a = create_rule(stack, upstream_id=up, priority=-30, condition=status_is(418), actions=LOG)
    d = create_rule(stack, upstream_id=up, priority=-25, enabled=False, condition=status_is(418),
                    actions=LOG)
    b = create_rule(stack, upstream_id=up, priority=-20, stop=True, actions=[
        {"type": "ban_key"}, {"type": "retry"}], condition={"all": [
            {"type": "status", "op": "in", "value": [418, 419]},
            {"any": [{"type": "json_path", "path": "$.error.code", "op": "eq", "value": "teapot"},
                     {"not": {"type": "body_contains", "value": "teapot"}}]}]})
    c = create_rule(stack, upstream_id=up, priority=-10, condition=status_is(418), actions=LOG)
    e = create_rule(stack, upstream_id=other, priority=-40, condition=status_is(418), actions=LOG)
    out = _order(stack, up, {"status": 418, "body": '{"error": {"code": "teapot"}}'})
    rules = out["rules"]
    ids = [x["id"] for x in rules]
    assert e["id"] not in ids, "another upstream's rule is not among them"
    assert [(x["priority"], x["id"]) for x in rules] == sorted((x["priority"], x["id"])
                                                              for x in rules), rules
    mine = [i for i in ids if i in (a["id"], d["id"], b["id"], c["id"])]
    assert mine == [a["id"], d["id"], b["id"], c["id"]], mine
    got = _by_id(out)
    assert got[a["id"]]["why"] == "fires" and got[a["id"]]["actions"] == LOG, got[a["id"]]
    assert not got[a["id"]]["stops_here"]
    assert got[d["id"]]["why"] == "disabled" and not got[d["id"]]["matched"], got[d["id"]]
    gb = got[b["id"]]
    assert gb["why"] == "fires" and gb["stops_here"] and gb["phase"] == "held", gb
    assert [x["type"] for x in gb["actions"]] == ["ban_key", "retry"], gb
    assert gb["leaves"] == [
        {"at": "condition.all[0]", "held": True},
        {"at": "condition.all[1].any[0]", "held": True},
        # The leaf itself holds; the "not" around it makes it false.
        {"at": "condition.all[1].any[1].not", "held": True},
    ], gb["leaves"]
    gc = got[c["id"]]
    assert gc["why"] == "not_reached" and not gc["matched"] and gc["actions"] == [], gc
    assert out["stopped_by"] == b["id"] and out["retry"] is True, out
    # Every rule after the stop is not reached, global ones too.
    after = ids[ids.index(b["id"]) + 1:]
    assert all(got[i]["why"] in ("not_reached", "disabled") for i in after), out

    # Without the teapot, b does not match and the evaluation goes on to c.
    out = _order(stack, up, {"status": 418, "body": "teapot"})
    got = _by_id(out)
    assert got[b["id"]]["why"] == "no_match", got[b["id"]]
    assert got[b["id"]]["leaves"][1] == {"at": "condition.all[1].any[0]", "held": False}
    assert got[b["id"]]["leaves"][2] == {"at": "condition.all[1].any[1].not", "held": True}
    assert got[c["id"]]["why"] == "fires", got[c["id"]]


def test_threshold_counts_and_the_phases_of_a_2xx_answer(stack):
    up = create_upstream(stack)["id"]
    thr = create_rule(stack, upstream_id=up, priority=-60, threshold=3, window_s=60,
                      condition=status_is(200), actions=[{"type": "disable_key",
                                                         "duration_s": 60}])
    head = create_rule(stack, upstream_id=up, priority=-50, stop=True,
                       condition=status_is(200), actions=LOG)
    body = create_rule(stack, upstream_id=up, priority=-45,
                       condition={"type": "body_contains", "value": "fine"},
                       actions=[{"type": "retry"}])
    hits_before = rule_hits_count(stack, thr["id"])
    out = _order(stack, up, {"status": 200, "body": "all fine",
                             "headers": {"Content-Type": "text/plain"}})
    got = _by_id(out)
    assert got[thr["id"]]["why"] == "counts" and got[thr["id"]]["matched"], got[thr["id"]]
    assert not got[thr["id"]]["fires"] and got[thr["id"]]["threshold"] == 3
    assert got[head["id"]]["phase"] == "headers" and got[head["id"]]["stops_here"]
    # The stop ends the headers' rules; the body rules run after the answer
    # went out, on their own, and cannot retry any more.
    assert got[body["id"]]["phase"] == "after" and got[body["id"]]["why"] == "fires", got
    assert out["stopped_by"] == head["id"] and out["stopped_after_by"] is None, out
    assert out["retry"] is False, out
    assert rule_hits_count(stack, thr["id"]) == hits_before, "the dry run counted nothing"


def test_a_transport_error_and_a_status_0(stack):
    up = create_upstream(stack)["id"]
    t = create_rule(stack, upstream_id=up, priority=-70,
                    condition={"type": "transport_error", "value": "timeout"},
                    actions=[{"type": "retry"}])
    out = _order(stack, up, {"transport_error": "timeout", "latency_ms": 30000})
    got = _by_id(out)
    assert got[t["id"]]["phase"] == "transport" and got[t["id"]]["why"] == "fires", got[t["id"]]
    assert out["retry"] is True
    out = _order(stack, up, {"transport_error": "connect"})
    assert _by_id(out)[t["id"]]["why"] == "no_match"


def test_bad_input_and_unknown_upstream(stack):
    up = create_upstream(stack)["id"]
    r = stack.main.admin.post(A + "/upstreams/99999999/rules/test", json={"status": 429})
    assert_error(r, 404, "not_found")
    r = stack.main.admin.post(A + "/upstreams/%d/rules/test" % up, json={"status": "x"})
    msg = assert_error(r, 400, "invalid_field")
    assert msg.startswith("status:"), msg
    r = stack.main.admin.post(A + "/upstreams/%d/rules/test" % up,
                              json={"transport_error": "dns"})
    assert assert_error(r, 400, "invalid_field").startswith("transport_error:")
    r = stack.main.admin.post(A + "/upstreams/%d/rules/test" % up, json={"headers": {"a": 1}})
    assert "headers" in assert_error(r, 400, "invalid_field")


def test_hits_over_24_hours_from_key_events_and_alerts(stack):
    up = create_upstream(stack)["id"]
    key = create_key(stack, up, key_value("hits"))
    rule = create_rule(stack, upstream_id=up, condition=status_is(401), actions=[
        {"type": "ban_key"}, {"type": "alert", "message": "banned"}])
    quiet = create_rule(stack, upstream_id=up, name=uniq("quiet"), condition=status_is(402),
                        actions=[{"type": "ban_key"}])
    ev = ("INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor, rule_id)"
          " VALUES (%d, %s, 'active', 'banned', 'r', 'rule', %d)")
    stack.sql(ev % (key["id"], "UTC_TIMESTAMP(3)", rule["id"]))
    stack.sql(ev % (key["id"], "UTC_TIMESTAMP(3) - INTERVAL 1 HOUR", rule["id"]))
    stack.sql(ev % (key["id"], "UTC_TIMESTAMP(3) - INTERVAL 25 HOUR", rule["id"]))
    stack.sql("INSERT INTO alerts (ts, rule_id, key_id, upstream_id, message) VALUES"
              " (UTC_TIMESTAMP(3), %d, %d, %d, 'banned')" % (rule["id"], key["id"], up))
    out = ok(stack.main.admin.get(A + "/rules/hits"))
    assert out["since"].endswith("Z"), out
    got = {x["rule_id"]: x for x in out["items"]}
    assert got[rule["id"]] == {"rule_id": rule["id"], "key_events": 2, "alerts": 1}, got
    assert quiet["id"] not in got, "a rule that never acted has no entry"
