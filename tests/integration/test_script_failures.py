"""Failing upstream scripts (issue 17): a throw, an endless loop, a memory
bomb, a script that reaches for eval/Function/require, a source that does
not compile (the database may hold one the admin API would refuse), and a
malformed result; with script_fail open (the request goes on as if there
were no hook) and closed (502 script_error).  Every error is counted in
/metrics and the first of an upstream in a minute raises an alert.  The
script is set in SQL (script_helpers.py): the admin API's `script` field is
another engineer's part."""

import re

from mock_upstream import Reply
from proxy_helpers import assert_json_error, setup
from rules_helpers import alerts, extra_gateway, quiet_mock
from script_helpers import script_errors, set_script

LOOP = "function onRequest(req) { req.headers['x-a'] = '1'; for (;;) {} }"
BOMB = ("function onRequest(req) { var a = []; for (;;) a.push(new Array(100000).join('x') + "
        "a.length); }")


def _closed(stack):
    return extra_gateway(stack, "script-closed", {"script_fail": "closed"})


def test_open_a_throw_goes_on_as_if_there_were_no_hook(stack):
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onRequest(req) {\n  req.headers['x-a'] = '1';\n"
                                  "  throw new Error('boom');\n}")
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200, r
    assert stack.mock.requests[-1].header("X-A") is None
    assert script_errors(stack.main, s.name) == {"throw": 1}
    log = stack.main.log()
    assert "onRequest failed (throw at line 3): Error: boom" in log, log[-2000:]
    a = alerts(stack, "upstream_id = %d" % s.up["id"])
    assert len(a) == 1 and "onRequest failed" in a[0]["message"], a
    # The second error in the minute is counted but raises no alert.
    stack.main.client.get(s.path("v1/x"), token=s.token)
    assert script_errors(stack.main, s.name) == {"throw": 2}
    assert len(alerts(stack, "upstream_id = %d" % s.up["id"])) == 1


def test_closed_a_throw_is_502_script_error(stack):
    gw = _closed(stack)
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onRequest(req) { null.x; }")
    before = len(stack.mock.requests)
    r = gw.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "script_error")
    assert "onRequest" in r.json()["error"]["message"] and "line 1" in \
        r.json()["error"]["message"], r.json()
    assert len(stack.mock.requests) == before
    assert script_errors(gw, s.name) == {"throw": 1}


def test_closed_an_on_response_error_is_502_script_error(stack):
    gw = _closed(stack)
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onResponse(res) { return {action: 'explode'}; }")
    # An error answer is held until onResponse has judged it; a 2xx answer
    # streams to the client before onResponse sees it, so only the count
    # tells of the failure then.
    stack.mock.script = lambda req: Reply(503, '{"error":"down"}')
    r = gw.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "script_error")
    assert script_errors(gw, s.name) == {"malformed": 1}
    # Open: the answer goes to the client as it is.
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 503 and r.body == b'{"error":"down"}', r


def test_closed_an_error_answer_bigger_than_what_is_held(stack):
    # The answer is over rule_body_limit (64K): onResponse sees its first
    # part, and its failure still turns the answer into 502 script_error.
    gw = _closed(stack)
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onResponse(res) { throw 'no ' + res.body.length; }")
    stack.mock.script = lambda req: Reply(500, "x" * 200000)
    with quiet_mock(stack):
        r = gw.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "script_error")
    # What is held when the cap is reached depends on how the chunks came.
    m = re.search(r"no (\d+)$", r.json()["error"]["message"])
    assert m and 0 < int(m.group(1)) <= 65536, r.json()
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 500 and len(r.body) == 200000, r


def test_an_endless_loop_ends_at_its_time_limit(stack):
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], LOOP)
    for _ in range(3):
        r = stack.main.client.get(s.path("v1/x"), token=s.token)
        assert r.status == 200 and stack.mock.requests[-1].header("X-A") is None, r
    assert script_errors(stack.main, s.name) == {"timeout": 3}
    # The workers stay healthy: a request without a script goes through.
    other = setup(stack, nkeys=1)
    assert stack.main.client.get(other.path("v1/y"), token=other.token).status == 200
    assert stack.main.client.get("/healthz").status == 200


def test_a_memory_bomb_ends_at_its_memory_limit(stack):
    gw = _closed(stack)
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], BOMB)
    r = gw.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "script_error")
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200, r
    assert script_errors(stack.main, s.name) == {"memory": 1}
    assert script_errors(gw, s.name) == {"memory": 1}
    # The worker that ran it still answers (the context was made anew).
    set_script(stack, s.up["id"], "function onRequest(req) { req.headers['x-b'] = 'ok'; }")
    for g in (stack.main, gw):
        for _ in range(4):
            assert g.client.get(s.path("v1/x"), token=s.token).status == 200
            assert stack.mock.requests[-1].header("X-B") == "ok"


def test_eval_function_and_require_are_not_there(stack):
    gw = _closed(stack)
    s = setup(stack, nkeys=1)
    for src in ["function onRequest(req) { eval('1'); }",
                "function onRequest(req) { new Function('return 1')(); }",
                "function onRequest(req) { (function(){}).constructor('return 1')(); }",
                "function onRequest(req) { require('fs'); }",
                "function onRequest(req) { Duktape.modSearch = null; }"]:
        set_script(stack, s.up["id"], src)
        r = gw.client.get(s.path("v1/x"), token=s.token)
        assert_json_error(r, 502, "script_error")
    assert script_errors(gw, s.name) == {"throw": 5}


def test_a_script_that_does_not_compile(stack):
    gw = _closed(stack)
    s = setup(stack, nkeys=1)
    set_script(stack, s.up["id"], "function onRequest(req) {\n  req.headers['x-a'] = = 1;\n}")
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200 and stack.mock.requests[-1].header("X-A") is None, r
    r = gw.client.get(s.path("v1/x"), token=s.token)
    assert_json_error(r, 502, "script_error")
    assert "line 2" in r.json()["error"]["message"], r.json()
    assert script_errors(stack.main, s.name) == {"compile": 1}
    assert "its script fails (compile at line 2" in stack.main.log()
