"""Model-scoped key state (issue 20): disable_key with scope "model" rests a
key for the model the request sent only (key_model_blocks, in the pool
snapshot of every process); the key keeps serving other models, the rest
ends on time, enable clears it, apigw-recover deletes ended rests,
apigw-quota-reset the exhausted ones; a request without a model rests the
whole key; the admin API shows the rests and refuses a bad scope."""

import json
import time

from admin_helpers import A, assert_error, ok
from cron_helpers import run_job, sql_int, sql_rows
from mock_upstream import json_reply
from proxy_helpers import assert_json_error, get_key, settle, setup, wait_log_row
from rules_helpers import bearer_key, create_rule, delete_all_rules, extra_gateway, status_is
from script_helpers import set_script


def _model_of(req):
    try:
        return json.loads(req.body or b"{}").get("model")
    except ValueError:
        return None


def _mock(refuse):
    """Answers 429 to the (key value, model) pairs in refuse (a key of None
    stands for every key), else 200 naming the key."""
    def script(req):
        key, model = bearer_key(req), _model_of(req)
        if (key, model) in refuse or (None, model) in refuse:
            return json_reply({"error": "rate limited"}, 429)
        return json_reply({"ok": True, "key": key, "model": model})
    return script


def _ask(stack, s, model=None, gateway=None):
    body = None if model is None else json.dumps({"model": model, "messages": []})
    return (gateway or stack.main).client.post(s.path("v1/chat/completions"), body=body, token=s.token,
                                  headers={"Content-Type": "application/json"})


def _served_by(stack, s, r):
    assert r.status == 200, r
    return wait_log_row(stack, r)["key_id"]


def _blocks(stack, key_id=None):
    where = "" if key_id is None else " WHERE key_id = %d" % key_id
    return sql_rows(stack, "SELECT key_id, model, kind, until IS NULL, reason"
                           " FROM key_model_blocks%s ORDER BY key_id, model" % where)


def _clear(stack):
    """The rests earlier tests of this file left (ended ones included)."""
    stack.sql("DELETE FROM key_model_blocks; UPDATE pool_version SET version = version + 1")


def _model_rule(stack, s, **action):
    a = {"type": "disable_key", "scope": "model"}
    a.update(action)
    return create_rule(stack, upstream_id=s.up["id"], condition=status_is(429),
                       actions=[a, {"type": "retry"}])


def test_a_429_for_one_model_keeps_the_key_serving_others(stack):
    delete_all_rules(stack)
    s = setup(stack, nkeys=2, settle=False, max_retries=1, auto_disable_max_pct=100)
    k0, k1 = s.keys
    rule = _model_rule(stack, s, duration_s=3)
    settle()
    stack.mock.reset(_mock({(k0["value"], "model-a")}))
    # model-a: k0 answers 429 once, is rested for model-a, and k1 serves.
    for _ in range(4):
        assert _served_by(stack, s, _ask(stack, s, "model-a")) == k1["id"]
    assert _blocks(stack) == [[str(k0["id"]), "model-a", "disabled", "0", rule["name"]]]
    key = get_key(stack, k0["id"])
    assert key["status"] == "active", key
    assert [(b["model"], b["kind"], b["reason"]) for b in key["model_blocks"]] == \
        [("model-a", "disabled", rule["name"])], key
    assert key["model_blocks"][0]["until"].endswith("Z"), key
    listed = ok(stack.main.admin.get(A + "/keys?upstream_id=%d" % s.up["id"]))["items"]
    assert [len(k["model_blocks"]) for k in listed] == [1, 0], listed
    ev = ok(stack.main.admin.get(A + "/keys/%d/events" % k0["id"]))["items"][0]
    assert (ev["from"], ev["to"], ev["model"], ev["actor"], ev["rule_id"]) == \
        ("active", "disabled", "model-a", "rule", rule["id"]), ev
    # The key still serves model-b (round robin: both keys).
    served = {_served_by(stack, s, _ask(stack, s, "model-b")) for _ in range(4)}
    assert served == {k0["id"], k1["id"]}, served
    # Every key out for model-a: 503 with the rest's own end as Retry-After.
    stack.mock.reset(_mock({(None, "model-a")}))
    _ask(stack, s, "model-a")
    assert len(_blocks(stack)) == 2, _blocks(stack)
    r = _ask(stack, s, "model-a")
    assert_json_error(r, 503, "no_available_key")
    assert 1 <= int(r.header("Retry-After")) <= 3, r
    assert _served_by(stack, s, _ask(stack, s, "model-b")) in (k0["id"], k1["id"])
    metrics = stack.main.client.get("/metrics").text
    assert 'apigw_key_model_blocks{upstream="%s",upstream_id="%d"} 2\n' % (s.name, s.up["id"]) \
        in metrics, metrics
    # The rests end on time, without a job.
    stack.mock.reset(_mock(set()))
    time.sleep(3.2)
    assert _served_by(stack, s, _ask(stack, s, "model-a")) in (k0["id"], k1["id"])
    assert get_key(stack, k0["id"])["model_blocks"] == []
    delete_all_rules(stack)


def test_another_process_honours_the_rest(stack):
    _clear(stack)
    delete_all_rules(stack)
    second = extra_gateway(stack, "model-blocks-second")
    s = setup(stack, nkeys=1, settle=False, auto_disable_max_pct=100)
    _model_rule(stack, s, duration_s=60)
    settle()
    stack.mock.reset(_mock({(s.keys[0]["value"], "shared")}))
    assert _ask(stack, s, "shared").status == 429
    assert len(_blocks(stack)) == 1
    settle()
    stack.mock.reset(_mock(set()))
    r = _ask(stack, s, "shared", gateway=second)
    assert_json_error(r, 503, "no_available_key")
    assert 55 <= int(r.header("Retry-After")) <= 60, r
    assert _ask(stack, s, "other", gateway=second).status == 200
    delete_all_rules(stack)


def test_models_compare_exactly(stack):
    _clear(stack)
    s = setup(stack, nkeys=1, settle=False)
    k = s.keys[0]
    stack.sql("INSERT INTO key_model_blocks (key_id, model, kind, until, reason, created_at)"
              " VALUES (%d, 'Model-X', 'disabled', NULL, 'by hand', UTC_TIMESTAMP(6));"
              " UPDATE pool_version SET version = version + 1" % k["id"])
    stack.mock.reset(_mock(set()))
    settle()   # a rest written by anyone is honoured once pool_refresh_ms passed
    r = _ask(stack, s, "Model-X")
    assert_json_error(r, 503, "no_available_key")
    assert int(r.header("Retry-After")) == 3600, r   # until enabled: no end of its own
    assert _served_by(stack, s, _ask(stack, s, "model-x")) == k["id"]
    assert _served_by(stack, s, _ask(stack, s)) == k["id"]   # no model: not rested


def test_enable_clears_the_rests(stack):
    _clear(stack)
    s = setup(stack, nkeys=2, settle=False)
    for k in s.keys:
        stack.sql("INSERT INTO key_model_blocks (key_id, model, kind, until, reason, created_at)"
                  " VALUES (%d, 'm1', 'disabled', NULL, 'r', UTC_TIMESTAMP(6)),"
                  " (%d, 'm2', 'exhausted', UTC_TIMESTAMP() + INTERVAL 1 HOUR, 'r',"
                  " UTC_TIMESTAMP(6))" % (k["id"], k["id"]))
    stack.sql("UPDATE pool_version SET version = version + 1")
    settle()
    stack.mock.reset(_mock(set()))
    assert_json_error(_ask(stack, s, "m1"), 503, "no_available_key")
    # A PATCH that sets status active (the key is active already) clears them.
    got = ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"], json={"status": "active"}))
    assert got["model_blocks"] == [], got
    assert len(_blocks(stack, s.keys[1]["id"])) == 2
    # Another change leaves them.
    ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[1]["id"], json={"name": "n"}))
    assert len(_blocks(stack, s.keys[1]["id"])) == 2
    settle()
    assert _served_by(stack, s, _ask(stack, s, "m1")) == s.keys[0]["id"]
    res = ok(stack.main.admin.post(A + "/keys/batch", json={
        "action": "enable", "ids": [s.keys[1]["id"]]}))
    assert res["affected"] == 1, res
    assert _blocks(stack) == []


def test_recover_deletes_ended_rests_and_quota_reset_the_exhausted(stack):
    _clear(stack)
    s = setup(stack, nkeys=1, settle=False, probe_method="GET", probe_path="/v1/models")
    k = s.keys[0]["id"]
    stack.sql("INSERT INTO key_model_blocks (key_id, model, kind, until, reason, created_at)"
              " VALUES (%d, 'past', 'disabled', UTC_TIMESTAMP() - INTERVAL 1 SECOND, 'r',"
              " UTC_TIMESTAMP(6)), (%d, 'later', 'disabled', UTC_TIMESTAMP() + INTERVAL 1 HOUR,"
              " 'r', UTC_TIMESTAMP(6)), (%d, 'reset', 'exhausted', UTC_TIMESTAMP() + INTERVAL"
              " 1 HOUR, 'r', UTC_TIMESTAMP(6)), (%d, 'hand', 'disabled', NULL, 'r',"
              " UTC_TIMESTAMP(6))" % (k, k, k, k))
    probes = len(stack.mock.requests)
    r = run_job(stack, "apigw-recover")
    assert r.rc == 0 and r.err == "", r
    assert "deleted 1 ended rests for a model" in r.out, r
    assert len(stack.mock.requests) == probes   # rests for a model are never probed
    assert [b[1] for b in _blocks(stack)] == ["hand", "later", "reset"]
    r = run_job(stack, "apigw-quota-reset", "--force")
    assert r.rc == 0 and r.err == "", r
    assert "ended 1 rests for a model until the reset" in r.out, r
    assert [b[1] for b in _blocks(stack)] == ["hand", "later"]


def test_until_quota_reset_rests_the_model_as_exhausted(stack):
    _clear(stack)
    delete_all_rules(stack)
    s = setup(stack, nkeys=2, settle=False, max_retries=1, auto_disable_max_pct=100)
    _model_rule(stack, s, until="quota_reset")
    settle()
    stack.mock.reset(_mock({(s.keys[0]["value"], "q")}))
    for _ in range(2):
        assert _served_by(stack, s, _ask(stack, s, "q")) == s.keys[1]["id"]
    assert [b[1:4] for b in _blocks(stack)] == [["q", "exhausted", "0"]]
    left = sql_int(stack, "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), until)"
                          " FROM key_model_blocks")
    assert 0 < left <= 86400, left
    delete_all_rules(stack)


def test_a_request_without_a_model_rests_the_whole_key(stack):
    _clear(stack)
    delete_all_rules(stack)
    s = setup(stack, nkeys=2, settle=False, auto_disable_max_pct=100)
    _model_rule(stack, s, duration_s=60)
    settle()
    stack.mock.reset(_mock({(s.keys[0]["value"], None)}))
    for _ in range(2):
        _ask(stack, s)
    assert get_key(stack, s.keys[0]["id"])["status"] == "disabled"
    assert _blocks(stack) == []
    delete_all_rules(stack)


def test_a_script_rests_a_key_for_a_model(stack):
    _clear(stack)
    s = setup(stack, nkeys=2, settle=False, max_retries=1, auto_disable_max_pct=100)
    set_script(stack, s.up["id"], "function onResponse(res, req, ctx) {\n"
                                  "  if (res.status === 429)\n"
                                  "    return {action: 'exhaust_key', scope: 'model',"
                                  " reason: 'daily limit of the model'};\n}\n")
    stack.mock.reset(_mock({(s.keys[1]["value"], "sm")}))
    for _ in range(3):
        _ask(stack, s, "sm")
    assert [b[1:] for b in _blocks(stack)] == \
        [["sm", "exhausted", "0", "daily limit of the model"]]
    assert _blocks(stack)[0][0] == str(s.keys[1]["id"])
    assert get_key(stack, s.keys[1]["id"])["status"] == "active"


def test_a_bad_scope_is_refused(stack):
    _clear(stack)
    s = setup(stack, nkeys=0, settle=False, token=False)
    for scope in ("models", 1, "KEY"):
        assert_error(stack.main.admin.post(A + "/rules", json={
            "name": "bad-scope", "upstream_id": s.up["id"], "condition": status_is(429),
            "actions": [{"type": "disable_key", "scope": scope}]}), 400, "invalid_field",
            "actions[0].scope")
    assert_error(stack.main.admin.post(A + "/rules", json={
        "name": "ban-scope", "condition": status_is(429),
        "actions": [{"type": "ban_key", "scope": "model"}]}), 400, "invalid_field",
        "actions[0].scope")
    made = create_rule(stack, condition=status_is(429),
                       actions=[{"type": "disable_key", "scope": "key"}])
    assert made["actions"][0]["scope"] == "key", made
    delete_all_rules(stack)
    out = ok(stack.main.admin.post(A + "/scripts/test", json={
        "script": "function onResponse() { return {action: 'disable_key', scope: 'up'}; }",
        "request": {"method": "POST", "path": "/v1/x", "body": '{"model":"m"}'},
        "response": {"status": 429}}))
    assert [e["kind"] for e in out["errors"]] == ["malformed"], out
    assert "scope" in out["errors"][0]["message"], out
