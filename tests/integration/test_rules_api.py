"""The rules API: CRUD with the contract's defaults, validation that names
the place of the fault, roles, and the dry run POST /api/admin/rules/test
(which changes nothing)."""

from admin_helpers import (A, assert_error, create_key, create_upstream, key_value, ok,
                           parse_time, session_client, uniq)
from rules_helpers import (count, create_rule, delete_all_rules, rule_body, rule_hits_count,
                           status_is)

COND_429 = {"type": "status", "op": "eq", "value": 429}
RETRY = [{"type": "retry"}]


def _post(stack, body, client=None):
    return (client or stack.main.admin).post(A + "/rules", json=body)


def _bad(stack, status_place, **fields):
    """POSTs a rule that must be refused; returns the message."""
    body = {"name": uniq("bad"), "condition": COND_429, "actions": RETRY}
    body.update(fields)
    for k in [k for k, v in body.items() if v is _DROP]:
        del body[k]
    before = count(stack, "SELECT COUNT(*) FROM rules")
    r = _post(stack, body)
    msg = assert_error(r, 400, "invalid_field")
    assert status_place in msg, "message %r does not name %r" % (msg, status_place)
    assert count(stack, "SELECT COUNT(*) FROM rules") == before, "a refused rule was stored"
    return msg


_DROP = object()


# ---------------------------------------------------------------- CRUD

def test_create_minimal_rule_takes_the_defaults(stack):
    r = _post(stack, {"name": "rl-minimal", "condition": COND_429, "actions": RETRY})
    got = ok(r, 201)
    assert isinstance(got["id"], int) and got["id"] > 0, got
    expect = {"name": "rl-minimal", "upstream_id": None, "enabled": True, "priority": 100,
              "condition": COND_429, "actions": RETRY, "threshold": 1, "window_s": 60,
              "cooldown_s": 0, "stop": False}
    for k, v in expect.items():
        assert k in got and got[k] == v, "%s: expected %r, got %r (%r)" % (k, v, got.get(k), got)
    parse_time(got["created_at"])
    parse_time(got["updated_at"])
    one = ok(stack.main.admin.get(A + "/rules/%d" % got["id"]))
    assert one == got, (one, got)
    lst = ok(stack.main.admin.get(A + "/rules"))
    assert lst["total"] >= 1 and got in lst["items"], lst


def test_create_with_every_field_round_trips(stack):
    up = create_upstream(stack)
    cond = {"all": [{"type": "status", "op": "in", "value": [400, 429]},
                    {"any": [{"type": "json_path", "path": "$.error.code", "op": "eq",
                              "value": "insufficient_quota"},
                             {"type": "body_contains", "value": "quota",
                              "case_insensitive": True}]},
                    {"not": {"type": "header", "name": "X-Foo", "op": "exists"}}]}
    actions = [{"type": "disable_key", "until": "quota_reset"},
               {"type": "alert", "message": "quota gone", "webhook": "http://127.0.0.1:9/h"},
               {"type": "log", "message": "seen"}, {"type": "retry"}]
    body = {"name": "full", "upstream_id": up["id"], "enabled": False, "priority": 7,
            "condition": cond, "actions": actions, "threshold": 3, "window_s": 120,
            "cooldown_s": 30, "stop": True}
    got = ok(_post(stack, body), 201)
    for k, v in body.items():
        assert got[k] == v, (k, v, got[k])
    assert ok(stack.main.admin.get(A + "/rules/%d" % got["id"])) == got


def test_list_filter_upstream_id_and_order(stack):
    delete_all_rules(stack)
    u1 = create_upstream(stack)
    u2 = create_upstream(stack)
    a = create_rule(stack, name="f-a", upstream_id=u1["id"], priority=50, condition=COND_429,
                    actions=RETRY)
    b = create_rule(stack, name="f-b", upstream_id=u1["id"], priority=10, condition=COND_429,
                    actions=RETRY)
    c = create_rule(stack, name="f-c", upstream_id=u2["id"], condition=COND_429, actions=RETRY)
    g = create_rule(stack, name="f-g", condition=COND_429, actions=RETRY)
    lst = ok(stack.main.admin.get(A + "/rules?upstream_id=%d" % u1["id"]))
    assert [x["id"] for x in lst["items"]] == [b["id"], a["id"]], lst
    assert lst["total"] == 2, lst
    lst = ok(stack.main.admin.get(A + "/rules?upstream_id=%d" % u2["id"]))
    assert [x["id"] for x in lst["items"]] == [c["id"]] and lst["total"] == 1, lst
    lst = ok(stack.main.admin.get(A + "/rules"))
    assert sorted(x["id"] for x in lst["items"]) == sorted([a["id"], b["id"], c["id"], g["id"]])
    assert lst["total"] == 4, lst
    lst = ok(stack.main.admin.get(A + "/rules?limit=1&offset=1"))
    assert len(lst["items"]) == 1 and lst["total"] == 4, lst
    delete_all_rules(stack)


def test_patch_and_put_update_and_revalidate(stack):
    rule = create_rule(stack, name="upd", condition=COND_429, actions=RETRY)
    path = A + "/rules/%d" % rule["id"]
    got = ok(stack.main.admin.patch(path, json={"priority": 5, "stop": True}))
    assert (got["priority"], got["stop"], got["name"], got["condition"]) == \
        (5, True, "upd", COND_429), got
    new_cond = {"type": "status", "op": "range", "value": [500, 599]}
    got = ok(stack.main.admin.put(path, json={"name": "upd2", "condition": new_cond,
                                              "actions": [{"type": "ban_key"}]}))
    assert (got["name"], got["condition"], got["actions"]) == \
        ("upd2", new_cond, [{"type": "ban_key"}]), got
    stored = ok(stack.main.admin.get(path))
    # Invalid changes are refused with the place, and nothing changes.
    bad = {"all": [status_is(500), {"type": "body_regex", "pattern": "a(b"}]}
    for method in ("patch", "put"):
        r = getattr(stack.main.admin, method)(path, json={"condition": bad})
        msg = assert_error(r, 400, "invalid_field")
        assert msg.startswith("condition.all[1].pattern: missing closing parenthesis"), msg
        r = getattr(stack.main.admin, method)(path, json={"actions": [{"type": "explode"}]})
        assert "actions[0].type" in assert_error(r, 400, "invalid_field")
        r = getattr(stack.main.admin, method)(path, json={"upstream_id": 987654})
        assert "upstream_id" in assert_error(r, 400, "invalid_field")
        r = getattr(stack.main.admin, method)(path, json={"threshold": 0})
        assert "threshold" in assert_error(r, 400, "invalid_field")
        r = getattr(stack.main.admin, method)(path, json={"bogus": 1})
        assert "bogus" in assert_error(r, 400, "invalid_field")
        assert ok(stack.main.admin.get(path)) == stored
    r = stack.main.admin.patch(A + "/rules/99999999", json={"priority": 1})
    assert_error(r, 404, "not_found")


def test_delete_rule(stack):
    rule = create_rule(stack, name="gone", condition=COND_429, actions=RETRY)
    path = A + "/rules/%d" % rule["id"]
    ok(stack.main.admin.delete(path), 204)
    assert_error(stack.main.admin.get(path), 404, "not_found")
    assert_error(stack.main.admin.delete(path), 404, "not_found")
    assert count(stack, "SELECT COUNT(*) FROM rules WHERE id = %d" % rule["id"]) == 0


def test_rule_with_upstream_is_deleted_with_it(stack):
    up = create_upstream(stack)
    rule = create_rule(stack, name="scoped", upstream_id=up["id"], condition=COND_429,
                       actions=RETRY)
    ok(stack.main.admin.delete(A + "/upstreams/%d" % up["id"]), 204)
    assert_error(stack.main.admin.get(A + "/rules/%d" % rule["id"]), 404, "not_found")


# ---------------------------------------------------------------- validation

def test_unknown_leaf_type_names_the_place(stack):
    msg = _bad(stack, "condition.type", condition={"type": "nope"})
    assert "status" in msg and "transport_error" in msg, msg
    _bad(stack, "condition.all[1].type",
         condition={"all": [status_is(429), {"type": "bogus_leaf"}]})
    _bad(stack, "condition.any[0].not.type",
         condition={"any": [{"not": {"type": "bogus_leaf"}}]})


def test_unknown_op_names_the_place(stack):
    msg = _bad(stack, "condition.op", condition={"type": "status", "op": "gt", "value": 1})
    for op in ("eq", "ne", "in", "range", "gte", "lte"):
        assert op in msg, msg
    _bad(stack, "condition.all[0].op",
         condition={"all": [{"type": "header", "name": "x", "op": "ne", "value": "y"}]})
    _bad(stack, "condition.op", condition={"type": "latency", "op": "eq", "value_ms": 5})
    _bad(stack, "condition.op",
         condition={"type": "json_path", "path": "$.a", "op": "gte", "value": 1})


def test_bad_regex_names_the_place(stack):
    msg = _bad(stack, "condition.all[1].pattern",
               condition={"all": [status_is(500), {"type": "body_regex", "pattern": "a(b"}]})
    assert msg.startswith("condition.all[1].pattern: missing closing parenthesis"), msg
    assert "offset" in msg, msg
    _bad(stack, "condition.value",
         condition={"type": "header", "name": "x", "op": "regex", "value": "[z"})
    _bad(stack, "condition.any[1].value",
         condition={"any": [status_is(1), {"type": "json_path", "path": "$.a", "op": "regex",
                                           "value": "(?<"}]})


def test_bad_json_path_names_the_place(stack):
    for p in ("error.code", "$.", "$[", "$..x", "$.a[b]", "$['x"):
        _bad(stack, "condition.path",
             condition={"type": "json_path", "path": p, "op": "eq", "value": "x"})
    _bad(stack, "condition.all[0].path",
         condition={"all": [{"type": "json_path", "path": "nope", "op": "exists"}]})


def test_missing_or_empty_or_unknown_actions(stack):
    _bad(stack, "actions", actions=_DROP)
    _bad(stack, "actions", actions=[])
    msg = _bad(stack, "actions[0].type", actions=[{"type": "explode"}])
    assert "disable_key" in msg and "ban_key" in msg, msg
    _bad(stack, "actions[1].type", actions=[{"type": "retry"}, {"type": "nuke_key"}])
    _bad(stack, "actions[0].until", actions=[{"type": "disable_key", "until": "tomorrow"}])
    _bad(stack, "actions[0].duration_s", actions=[{"type": "disable_key", "duration_s": -1}])
    _bad(stack, "actions[0].message", actions=[{"type": "log"}])
    _bad(stack, "actions[0].webhook", actions=[{"type": "alert", "webhook": "ftp://x/y"}])
    _bad(stack, "actions[0].colour", actions=[{"type": "ban_key", "colour": "red"}])


def test_missing_condition_and_name(stack):
    _bad(stack, "condition", condition=_DROP)
    _bad(stack, "name", name=_DROP)
    _bad(stack, "condition", condition={"type": "status", "op": "eq", "value": 1, "all": []})
    _bad(stack, "condition.all", condition={"all": []})


def test_unknown_fields_are_refused(stack):
    _bad(stack, "colour", colour="red")
    _bad(stack, "condition.extra",
         condition={"type": "status", "op": "eq", "value": 429, "extra": 1})
    _bad(stack, "condition.any[0].pattern",
         condition={"any": [{"type": "status", "op": "eq", "value": 1, "pattern": "x"}]})


def test_upstream_id_of_a_missing_upstream(stack):
    msg = _bad(stack, "upstream_id", upstream_id=99999999)
    assert "99999999" in msg, msg


def test_wrong_types_are_refused(stack):
    _bad(stack, "threshold", threshold="3")
    _bad(stack, "threshold", threshold=0)
    _bad(stack, "window_s", window_s=0)
    _bad(stack, "cooldown_s", cooldown_s=-1)
    _bad(stack, "stop", stop="yes")
    _bad(stack, "condition.value", condition={"type": "status", "op": "in", "value": []})
    _bad(stack, "condition.value", condition={"type": "status", "op": "range", "value": [5]})
    _bad(stack, "condition.value", condition={"type": "transport_error", "value": "dns"})
    _bad(stack, "condition.value_ms", condition={"type": "latency", "op": "gt", "value_ms": "x"})


# ---------------------------------------------------------------- roles

def test_viewer_may_read_but_not_write_or_dry_run(stack):
    rule = create_rule(stack, name="ro", condition=COND_429, actions=RETRY)
    v = session_client(stack, "viewer")
    assert ok(v.get(A + "/rules"))["total"] >= 1
    assert ok(v.get(A + "/rules/%d" % rule["id"]))["id"] == rule["id"]
    body = rule_body(condition=COND_429, actions=RETRY)
    assert_error(v.post(A + "/rules", json=body), 403, "forbidden")
    assert_error(v.patch(A + "/rules/%d" % rule["id"], json={"priority": 1}), 403, "forbidden")
    assert_error(v.put(A + "/rules/%d" % rule["id"], json={"priority": 1}), 403, "forbidden")
    assert_error(v.delete(A + "/rules/%d" % rule["id"]), 403, "forbidden")
    assert_error(v.post(A + "/rules/test", json={"rule": body, "response": {"status": 429}}),
                 403, "forbidden")
    assert ok(stack.main.admin.get(A + "/rules/%d" % rule["id"])) == rule


def test_operator_may_manage_rules_and_dry_run(stack):
    o = session_client(stack, "operator")
    rule = create_rule(stack, client=o, name="op", condition=COND_429, actions=RETRY)
    got = ok(o.patch(A + "/rules/%d" % rule["id"], json={"priority": 3}))
    assert got["priority"] == 3
    r = ok(o.post(A + "/rules/test", json={"rule_id": rule["id"], "response": {"status": 429}}))
    assert r["matched"] is True and r["actions"] == RETRY, r
    ok(o.delete(A + "/rules/%d" % rule["id"]), 204)


# ---------------------------------------------------------------- dry run

def _dry(stack, body, status=200):
    r = stack.main.admin.post(A + "/rules/test", json=body)
    return ok(r, status)


def test_dry_run_inline_rule_matched_and_not(stack):
    rule = {"condition": COND_429,
            "actions": [{"type": "disable_key", "until": "retry_after", "duration_s": 60},
                        {"type": "retry"}]}
    got = _dry(stack, {"rule": rule, "response": {"status": 429,
                                                  "headers": {"Retry-After": "20"},
                                                  "body": "{}"}})
    assert got["matched"] is True and got["actions"] == rule["actions"], got
    got = _dry(stack, {"rule": rule, "response": {"status": 200, "body": "{}"}})
    assert got["matched"] is False and got["actions"] == [], got
    # The example of docs/RULES.md, answer for answer.
    got = _dry(stack, {"rule": {"condition": COND_429, "actions": [{"type": "retry"}]},
                       "response": {"status": 429, "headers": {"Retry-After": "20"},
                                    "body": "{}"}})
    assert got == {"matched": True, "actions": [{"type": "retry"}], "threshold": 1,
                   "window_s": 60}, got


def test_dry_run_with_rule_id(stack):
    rule = create_rule(stack, name="stored", condition={"type": "status", "op": "range",
                                                        "value": [500, 599]},
                       actions=[{"type": "log", "message": "5xx"}], threshold=3, window_s=30)
    got = _dry(stack, {"rule_id": rule["id"], "response": {"status": 503}})
    assert got["matched"] is True and got["actions"] == [{"type": "log", "message": "5xx"}], got
    assert got.get("threshold") == 3 and got.get("window_s") == 30, got
    got = _dry(stack, {"rule_id": rule["id"], "response": {"status": 499}})
    assert got["matched"] is False and got["actions"] == [], got
    r = stack.main.admin.post(A + "/rules/test", json={"rule_id": 99999999,
                                                      "response": {"status": 500}})
    assert_error(r, 404, "not_found")


def test_dry_run_json_path_and_body_leaves(stack):
    rule = {"condition": {"all": [{"type": "status", "op": "in", "value": [400, 429]},
                                  {"type": "json_path", "path": "$.error.code", "op": "eq",
                                   "value": "insufficient_quota"}]},
            "actions": [{"type": "disable_key", "until": "quota_reset"}]}
    body = '{"error": {"code": "insufficient_quota", "message": "You exceeded"}}'
    assert _dry(stack, {"rule": rule, "response": {"status": 429, "body": body}})["matched"]
    assert not _dry(stack, {"rule": rule, "response": {"status": 429,
                                                       "body": '{"error":{"code":"x"}}'}})[
        "matched"]
    assert not _dry(stack, {"rule": rule, "response": {"status": 429, "body": "not json"}})[
        "matched"]
    assert not _dry(stack, {"rule": rule, "response": {"status": 429}})["matched"]
    cases = [
        ({"type": "json_path", "path": "$.choices[0].finish_reason", "op": "eq",
          "value": "length"}, '{"choices":[{"finish_reason":"length"}]}', True),
        ({"type": "json_path", "path": "$.code", "op": "eq", "value": 429}, '{"code":"429"}',
         True),
        ({"type": "json_path", "path": "$.n", "op": "eq", "value": 2}, '{"n":2.0}', True),
        ({"type": "json_path", "path": "$.n", "op": "gt", "value": 5}, '{"n":7}', True),
        ({"type": "json_path", "path": "$.n", "op": "lt", "value": 5}, '{"n":"x"}', False),
        ({"type": "json_path", "path": "$.v", "op": "exists"}, '{"v":null}', True),
        ({"type": "json_path", "path": "$.w", "op": "exists"}, '{"v":null}', False),
        ({"type": "json_path", "path": "$.w", "op": "ne", "value": "a"}, '{"v":1}', False),
        ({"type": "json_path", "path": "$['x-y'][1]", "op": "contains", "value": "bc"},
         '{"x-y":[0,"abcd"]}', True),
        ({"type": "json_path", "path": "$.tags", "op": "contains", "value": "b"},
         '{"tags":["a","b"]}', True),
        ({"type": "json_path", "path": "$.ok", "op": "regex", "value": "^tr"}, '{"ok":true}',
         True),
        ({"type": "body_contains", "value": "Credit Balance", "case_insensitive": True},
         "your credit balance is too low", True),
        ({"type": "body_contains", "value": "Credit Balance"},
         "your credit balance is too low", False),
        ({"type": "body_regex", "pattern": "API_KEY_(INVALID|EXPIRED)"},
         '{"reason":"API_KEY_EXPIRED"}', True),
    ]
    for cond, b, want in cases:
        got = _dry(stack, {"rule": {"condition": cond, "actions": RETRY},
                           "response": {"status": 200, "body": b}})
        assert got["matched"] is want, (cond, b, got)
        assert got["actions"] == (RETRY if want else []), got


def test_dry_run_header_latency_and_transport_inputs(stack):
    hdr = {"type": "header", "name": "x-ratelimit-remaining", "op": "eq", "value": "0"}
    rule = {"condition": hdr, "actions": RETRY}
    assert _dry(stack, {"rule": rule, "response": {
        "status": 200, "headers": {"X-RateLimit-Remaining": "0"}}})["matched"] is True
    assert _dry(stack, {"rule": rule, "response": {
        "status": 200, "headers": {"X-RateLimit-Remaining": "10"}}})["matched"] is False
    assert _dry(stack, {"rule": rule, "response": {"status": 200}})["matched"] is False
    exists = {"condition": {"type": "header", "name": "Retry-After", "op": "exists"},
              "actions": RETRY}
    assert _dry(stack, {"rule": exists, "response": {
        "status": 429, "headers": {"retry-after": "5"}}})["matched"] is True
    rx = {"condition": {"type": "header", "name": "server", "op": "regex", "value": "^cloud"},
          "actions": RETRY}
    assert _dry(stack, {"rule": rx, "response": {
        "status": 502, "headers": {"Server": "cloudflare"}}})["matched"] is True
    slow = {"condition": {"type": "latency", "op": "gt", "value_ms": 1000}, "actions": RETRY}
    assert _dry(stack, {"rule": slow, "response": {"status": 200,
                                                   "latency_ms": 1500}})["matched"] is True
    assert _dry(stack, {"rule": slow, "response": {"status": 200,
                                                   "latency_ms": 900}})["matched"] is False
    conn = {"condition": {"type": "transport_error", "value": "connect"}, "actions": RETRY}
    anyt = {"condition": {"type": "transport_error", "value": "any"}, "actions": RETRY}
    st5 = {"condition": {"type": "status", "op": "gte", "value": 0}, "actions": RETRY}
    assert _dry(stack, {"rule": conn, "response": {"transport_error": "connect"}})["matched"]
    assert not _dry(stack, {"rule": conn, "response": {"transport_error": "timeout"}})[
        "matched"]
    assert not _dry(stack, {"rule": conn, "response": {"status": 502}})["matched"]
    assert _dry(stack, {"rule": anyt, "response": {"transport_error": "timeout"}})["matched"]
    assert not _dry(stack, {"rule": anyt, "response": {"status": 200}})["matched"]
    # A status leaf is never true when there was no answer.
    assert not _dry(stack, {"rule": st5, "response": {"transport_error": "connect"}})[
        "matched"]


def test_dry_run_refuses_bad_input(stack):
    r = stack.main.admin.post(A + "/rules/test", json={"response": {"status": 429}})
    assert_error(r, 400, "invalid_field", "rule")
    r = stack.main.admin.post(A + "/rules/test", json={
        "rule": {"condition": {"all": [COND_429, {"type": "body_regex", "pattern": "a(b"}]},
                 "actions": RETRY}, "response": {"status": 429}})
    msg = assert_error(r, 400, "invalid_field")
    assert "condition.all[1].pattern" in msg and "missing closing parenthesis" in msg, msg
    r = stack.main.admin.post(A + "/rules/test", json={
        "rule": {"condition": COND_429}, "response": {"status": 429}})
    assert_error(r, 400, "invalid_field", "actions")
    r = stack.main.admin.post(A + "/rules/test", json={
        "rule": {"condition": COND_429, "actions": RETRY}, "response": {"status": "429"}})
    assert_error(r, 400, "invalid_field", "status")
    r = stack.main.admin.post(A + "/rules/test", json={
        "rule": {"condition": COND_429, "actions": RETRY},
        "response": {"status": 429, "headers": {"Retry-After": 5}}})
    assert_error(r, 400, "invalid_field", "Retry-After")
    r = stack.main.admin.post(A + "/rules/test", json={
        "rule": {"condition": COND_429, "actions": RETRY}, "response": {"status": 429},
        "extra": 1})
    assert_error(r, 400, "invalid_field", "extra")


def test_dry_run_changes_nothing(stack):
    up = create_upstream(stack)
    value = key_value("dry")
    key = create_key(stack, up["id"], value)
    rule = create_rule(stack, name="dry-ban", upstream_id=up["id"], condition=COND_429,
                       actions=[{"type": "ban_key"}, {"type": "alert", "message": "x"},
                                {"type": "log", "message": "y"}],
                       threshold=2, cooldown_s=60)
    before_rule = ok(stack.main.admin.get(A + "/rules/%d" % rule["id"]))
    for _ in range(3):
        got = _dry(stack, {"rule_id": rule["id"], "response": {"status": 429}})
        assert got["matched"] is True, got
        got = _dry(stack, {"rule": {"name": "inline", "upstream_id": up["id"],
                                    "condition": COND_429, "actions": [{"type": "ban_key"}],
                                    "threshold": 2, "cooldown_s": 5},
                           "response": {"status": 429}})
        assert got["matched"] is True, got
    assert rule_hits_count(stack) == 0
    assert count(stack, "SELECT COUNT(*) FROM alerts") == 0
    assert count(stack, "SELECT COUNT(*) FROM key_events") == 0
    assert count(stack, "SELECT COUNT(*) FROM upstream_guard") == 0
    assert count(stack, "SELECT COUNT(*) FROM rules") == count(
        stack, "SELECT COUNT(*) FROM rules WHERE name <> 'inline'"), "the inline rule was stored"
    k = ok(stack.main.admin.get(A + "/keys/%d" % key["id"]))
    assert k["status"] == "active" and k["disabled_until"] is None, k
    assert ok(stack.main.admin.get(A + "/rules/%d" % rule["id"])) == before_rule
    delete_all_rules(stack)


def test_dry_run_refuses_arrays_and_scalars_where_objects_belong(stack):
    rule = {"condition": COND_429, "actions": RETRY}
    for body, place in [({"rule": [rule], "response": {"status": 429}}, "rule"),
                        ({"rule": [], "response": {"status": 429}}, "rule"),
                        ({"rule": "x", "response": {"status": 429}}, "rule"),
                        ({"rule": rule, "response": [{"status": 429}]}, "response"),
                        ({"rule": rule, "response": 429}, "response"),
                        ({"rule": rule, "response": {"status": 429, "headers": []}}, "headers"),
                        ({"rule": dict(rule, condition=[COND_429]), "response": {}}, "condition"),
                        ({"rule": dict(rule, actions=[["retry"]]), "response": {}}, "actions"),
                        ({"rule": dict(rule, actions=[None]), "response": {}}, "actions"),
                        ({"rule": dict(rule, condition={"all": [[]]}), "response": {}},
                         "condition")]:
        r = stack.main.admin.post(A + "/rules/test", json=body)
        assert_error(r, 400, "invalid_field", place)
    # The application is still whole: every worker answers.
    for _ in range(20):
        assert stack.main.client.get("/healthz").status == 200
    r = stack.main.admin.post(A + "/rules/test", json={"rule": rule, "response": {"status": 429}})
    assert ok(r)["matched"] is True
