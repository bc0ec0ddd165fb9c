"""Issue 17, the admin side of upstream scripts: the upstream's `script`
field (round trip, a compile error refused with its line), and the dry run
POST /api/admin/scripts/test (a changed request with the key as `<key>`, a
self-answer, onResponse's result, a throw with its line, an endless loop
ending as a timeout, roles, size caps), and every cookbook script of
docs/SCRIPTS.md compiling."""

import os
import re

import harness
from admin_helpers import A, assert_error, create_upstream, ok, session_client

SCRIPTS_MD = os.path.join(harness.st.ROOT, "docs", "SCRIPTS.md")
TEST = A + "/scripts/test"


def _test(stack, script, request=None, client=None, **more):
    body = {"script": script,
            "request": request or {"method": "POST", "path": "/v1/chat/completions",
                                   "headers": {"Content-Type": "application/json"},
                                   "body": '{"model":"gpt-4","messages":[]}'}}
    body.update(more)
    return (client or stack.main.admin).post(TEST, json=body)


def test_script_field_round_trip(stack):
    up = create_upstream(stack)
    assert up["script"] is None, up
    src = "function onRequest(req, ctx) {\n  req.headers['x-a'] = 'b';\n}\n"
    got = ok(stack.main.admin.put(A + "/upstreams/%d" % up["id"], json={"script": src}))
    assert got["script"] == src, got
    assert ok(stack.main.admin.get(A + "/upstreams/%d" % up["id"]))["script"] == src
    got = ok(stack.main.admin.patch(A + "/upstreams/%d" % up["id"], json={"script": None}))
    assert got["script"] is None, got
    made = create_upstream(stack, script=src)
    assert made["script"] == src, made


def test_script_compile_error_is_400_with_its_line(stack):
    up = create_upstream(stack)
    path = A + "/upstreams/%d" % up["id"]
    bad = "function onRequest(req, ctx) {\n  var x = 1;\n  x = = 2;\n}\n"
    msg = assert_error(stack.main.admin.put(path, json={"script": bad}), 400, "invalid_field",
                       "script")
    assert "line 3" in msg, msg
    assert ok(stack.main.admin.get(path))["script"] is None
    msg = assert_error(stack.main.admin.post(A + "/upstreams", json={
        "name": "scr-bad", "base_url": stack.mock.url, "script": "function (\n"}), 400,
        "invalid_field", "script")
    assert "line" in msg, msg
    # A top level that loops for ever is refused too, as a timeout.
    msg = assert_error(stack.main.admin.put(path, json={"script": "while (true) {}\n"}), 400,
                       "invalid_field", "script")
    assert "timeout" in msg, msg
    big = "// " + "x" * (64 * 1024) + "\n"
    assert_error(stack.main.admin.put(path, json={"script": big}), 400, "invalid_field",
                 "script")


def test_script_test_changed_request(stack):
    src = ("function onRequest(req, ctx) {\n"
           "  req.json.model = 'gpt-4o';\n"
           "  req.headers['x-team'] = 'a';\n"
           "  req.headers['host'] = 'evil';\n"
           "  req.headers['authorization'] = 'Bearer mine';\n"
           "  req.query.v = ['2'];\n"
           "  req.path = '/v2/chat';\n"
           "  ctx.log('mapped ' + ctx.upstream);\n"
           "}\n")
    out = ok(_test(stack, src, upstream="openai"))
    assert out["errors"] == [], out
    r = out["request"]
    assert r["method"] == "POST" and r["path"] == "/v2/chat", r
    assert r["query"] == {"v": ["2"]}, r
    assert '"model":"gpt-4o"' in r["body"], r
    assert r["headers"]["x-team"] == "a", r
    assert r["headers"]["authorization"] == "Bearer <key>", r
    assert "host" not in r["headers"], r
    assert r["headers"]["content-length"] == str(len(r["body"])), r
    assert set(out["changed"]) == {"path", "query", "headers", "body"}, out
    assert "host" in out["dropped_headers"] and "authorization" in out["dropped_headers"], out
    assert out["answer"] is None, out
    assert out["logs"] == [{"hook": "onRequest", "message": "mapped openai"}], out
    assert isinstance(out["ms"]["on_request"], (int, float)), out
    # The upstream's own key header, and a key in the query.
    out = ok(_test(stack, src, auth_header="X-Api-Key", auth_template="{key}"))
    assert out["request"]["headers"]["x-api-key"] == "<key>", out
    assert out["request"]["headers"]["authorization"] == "Bearer mine", out
    out = ok(_test(stack, src, auth_query_param="key"))
    assert out["request"]["query"]["key"] == ["<key>"], out


def test_script_test_self_answer(stack):
    src = ("function onRequest(req, ctx) {\n"
           "  if (req.path.indexOf('/v1/files') === 0)\n"
           "    return {status: 403, headers: {'content-type': 'text/plain'}, body: 'no'};\n"
           "}\nfunction onResponse(res) { return {action: 'retry'}; }\n")
    out = ok(_test(stack, src, request={"method": "GET", "path": "/v1/files/1"},
                   response={"status": 200}))
    assert out["answer"] == {"status": 403, "headers": {"content-type": "text/plain"},
                             "body": "no"}, out
    assert out["request"] is None and out["response_result"] is None, out
    # The test route holds an answer to the proxy's rule: a final status,
    # 200 to 599 (it took 100 to 199, which the proxy refuses).
    for status in (101, 199, 600):
        out = ok(_test(stack, "function onRequest() { return {status: %d}; }" % status,
                       request={"method": "GET", "path": "/v1/x"}))
        assert "answer" not in out or out["answer"] is None, out
        assert [(e["kind"], "200 to 599" in e["message"]) for e in out["errors"]] == \
            [("malformed", True)], out


def test_script_test_on_response_result(stack):
    src = ("function onResponse(res, req, ctx) {\n"
           "  if (res.status === 200 && res.json && res.json.error)\n"
           "    return {action: 'disable_key', duration_s: 60, reason: res.json.error.code + '/'"
           " + res.key.masked + ' ' + req.path};\n"
           "}\n")
    out = ok(_test(stack, src, response={"status": 200, "latency_ms": 12,
                                         "headers": {"Content-Type": "application/json"},
                                         "body": '{"error":{"code":"overloaded"}}'}))
    assert out["errors"] == [], out
    assert out["response_result"] == {"action": "disable_key", "duration_s": 60,
                                      "reason": "overloaded/<key> /v1/chat/completions"}, out
    assert out["hooks"] == {"on_request": False, "on_response": True}, out
    assert isinstance(out["ms"]["on_response"], (int, float)), out
    bad = ok(_test(stack, "function onResponse() { return {action: 'explode'}; }",
                   response={"status": 500}))
    assert [e["kind"] for e in bad["errors"]] == ["malformed"], bad


def test_script_test_throw_and_compile_error_lines(stack):
    src = "function onRequest(req, ctx) {\n  var a = 1;\n  throw new Error('boom');\n}\n"
    out = ok(_test(stack, src))
    assert len(out["errors"]) == 1, out
    e = out["errors"][0]
    assert e["hook"] == "onRequest" and e["kind"] == "throw" and e["line"] == 3, e
    assert "boom" in e["message"], e
    # The request goes on unchanged (fail open), as the proxy would send it.
    assert out["request"]["path"] == "/v1/chat/completions", out
    out = ok(_test(stack, "function onRequest(req, ctx) {\n  return (;\n}\n"))
    e = out["errors"][0]
    assert e["hook"] == "compile" and e["kind"] == "compile" and e["line"] == 2, out


def test_script_test_endless_loop_is_a_timeout(stack):
    src = "function onRequest(req, ctx) {\n  for (;;) {}\n}\n"
    out = ok(_test(stack, src))
    assert [(e["hook"], e["kind"]) for e in out["errors"]] == [("onRequest", "timeout")], out
    # The worker still answers.
    assert ok(_test(stack, "function onRequest() {}"))["errors"] == []


def test_script_test_takes_changes_as_the_proxy_does(stack):
    # A change the proxy would not take: none are taken, as in the proxy.
    src = ("function onRequest(req) {\n"
           "  req.path = '/v2/other'; req.method = 'get';\n"
           "}\n")
    out = ok(_test(stack, src))
    assert [(e["kind"], "capital letters" in e["message"]) for e in out["errors"]] == \
        [("malformed", True)], out
    assert out["request"]["path"] == "/v1/chat/completions", out
    assert out["request"]["method"] == "POST" and out["changed"] == [], out
    # Reading json changes nothing; Expect is dropped like the proxy drops it.
    src = ("function onRequest(req) { var m = req.json.model; req.headers.expect = '100-continue'; }\n"
           "function onResponse(res, req) { return {p: req.path, h: req.headers.expect || null,"
           " j: res.json && res.json.ok, a: res.attempt}; }\n")
    out = ok(_test(stack, src, response={"status": 200, "body": '{"ok": true}\n'}))
    assert out["errors"] == [], out
    assert out["request"]["body"] == '{"model":"gpt-4","messages":[]}', out
    assert out["changed"] == ["headers"] and out["dropped_headers"] == ["expect"], out
    # onResponse sees the request as it would go out, and an answer's JSON
    # even with a newline after it.
    assert out["response_result"] == {"p": "/v1/chat/completions", "h": "100-continue",
                                      "j": True, "a": 1}, out


def test_script_test_roles(stack):
    src = "function onRequest(req, ctx) {}"
    ok(_test(stack, src, client=session_client(stack, "operator")))
    assert_error(_test(stack, src, client=session_client(stack, "viewer")), 403, "forbidden")


def test_script_test_bad_input_and_caps(stack):
    c = stack.main.admin
    assert_error(c.post(TEST, json={"request": {"method": "GET", "path": "/"}}), 400,
                 "invalid_field", "script")
    assert_error(c.post(TEST, json={"script": ""}), 400, "invalid_field", "request")
    assert_error(_test(stack, "", request={"method": "GET"}), 400, "invalid_field",
                 "request.path")
    assert_error(_test(stack, "", request={"method": "get", "path": "/"}), 400,
                 "invalid_field", "request.method")
    assert_error(_test(stack, "", request={"method": "GET", "path": "/", "headers": {"a": 1}}),
                 400, "invalid_field", "request.headers")
    assert_error(_test(stack, "", request={"method": "GET", "path": "/", "query": {"a": 1}}),
                 400, "invalid_field", "request.query")
    assert_error(_test(stack, "", response={"status": 42}), 400, "invalid_field",
                 "response.status")
    assert_error(_test(stack, "// " + "x" * (64 * 1024)), 400, "invalid_field", "script")
    big = "x" * (1024 * 1024 + 1)
    assert_error(_test(stack, "", request={"method": "POST", "path": "/", "body": big}), 400,
                 "invalid_field", "request.body")
    assert_error(_test(stack, "", response={"status": 200, "body": big}), 400,
                 "invalid_field", "response.body")


def cookbook_scripts():
    text = open(SCRIPTS_MD).read()
    return re.findall(r"```js\n(.*?)```", text, re.S)


def test_script_cookbook_compiles(stack):
    scripts = cookbook_scripts()
    assert len(scripts) >= 6, len(scripts)
    for src in scripts:
        out = ok(_test(stack, src, response={"status": 200, "body": "{}"}, token="team-a"))
        assert not [e for e in out["errors"] if e["kind"] == "compile"], (src, out)
        up = create_upstream(stack, script=src)
        assert up["script"] == src


def test_script_page_templates_compile(stack):
    text = open(os.path.join(harness.st.ROOT, "web", "js", "script_templates.js")).read()
    sources = re.findall(r"source: `(.*?)`", text, re.S)
    assert len(sources) == 3, len(sources)
    for src in sources:
        out = ok(_test(stack, src, response={"status": 200, "body": '{"error":{"code":"x"}}'}))
        assert out["errors"] == [], (src, out)
