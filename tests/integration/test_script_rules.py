"""The rule condition leaf {"type": "script", "source": "..."} (issue 17):
the body of a function of (res, req), usable inside all/any/not; a leaf that
does not compile is refused by the rules API naming its line; a leaf that
fails is false (script_fail open) and counted."""

from admin_helpers import A
from mock_upstream import json_reply
from proxy_helpers import assert_json_error, settle, setup, wait_key
from rules_helpers import create_rule, events, per_key, rule_body, uniq
from script_helpers import script_errors

HIDDEN = {"type": "script",
          "source": "return !!(res.json && res.json.error === 'hidden' && req.method === 'GET');"}


def test_a_script_leaf_matches_inside_all(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5)
    bad, good = s.keys
    create_rule(stack, name=uniq("leaf"), upstream_id=s.up["id"],
                condition={"all": [{"type": "status", "op": "eq", "value": 200}, HIDDEN]},
                actions=[{"type": "ban_key"}, {"type": "retry"}], stop=True)
    stack.mock.script = per_key({bad["value"]: json_reply({"error": "hidden"})})
    settle()
    for _ in range(4):
        r = stack.main.client.get(s.path("v1/x"), token=s.token)
        assert r.status == 200, r
    wait_key(stack, bad["id"], status="banned")
    assert events(stack, bad["id"])[0]["actor"] == "rule"
    assert wait_key(stack, good["id"], status="active")


def test_a_leaf_that_does_not_compile_is_refused_with_its_line(stack):
    body = rule_body(name=uniq("bad-leaf"), condition={"not": {
        "type": "script", "source": "var a = 1;\nreturn a = = 2;"}},
        actions=[{"type": "log", "message": "x"}])
    r = stack.main.admin.post(A + "/rules", json=body)
    assert_json_error(r, 400, "invalid_field")
    msg = r.json()["error"]["message"]
    assert "condition.not.source" in msg and "line 2" in msg, msg


def test_a_failing_leaf_is_false_and_counted(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    create_rule(stack, name=uniq("loop-leaf"), upstream_id=s.up["id"],
                condition={"type": "script", "source": "for (;;) {}"},
                actions=[{"type": "ban_key"}])
    stack.mock.script = lambda req: json_reply({"error": "x"}, status=500)
    settle()
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 500, r
    assert script_errors(stack.main, s.name) == {"timeout": 1}
    assert wait_key(stack, s.keys[0]["id"], status="active")
