#include <string.h>

#include "core/clock.h"
#include "core/script.h"
#include "suites.h"

static const struct script_limits lim = {SCRIPT_TIMEOUT_MS_DEFAULT, SCRIPT_MEMORY_KB_DEFAULT};

/* Compiles src as hooks; fails the test when it does not compile. */
static struct script *compile_ok(const char *src)
{
    struct script_error err;
    struct script *s = script_compile(SCRIPT_FORM_HOOKS, src, strlen(src), &lim, &err);

    CU_ASSERT_PTR_NOT_NULL(s);
    if (s == NULL)
        fprintf(stderr, "compile: %s (line %d)\n", err.message, err.line);
    return s;
}

static int logged;

/* ctx.log for the tests: counts the messages. */
static void count_log(void *udata, const char *msg)
{
    (void)udata;
    (void)msg;
    logged++;
}

/* Calls onRequest(req, ctx) with a small req; returns the kind. */
static enum script_kind call_request(struct script *s, struct script_call *c)
{
    memset(c, 0, sizeof(*c));
    c->hook = SCRIPT_HOOK_REQUEST;
    c->args[0] = json_tokener_parse("{\"method\":\"POST\",\"path\":\"/v1/chat\","
                                    "\"headers\":{\"x-a\":\"1\"},\"json\":{\"model\":\"m1\"}}");
    c->args[1] = json_tokener_parse("{\"request_id\":\"r1\",\"upstream\":\"u\"}");
    c->nargs = 2;
    c->want_arg0 = true;
    c->log = count_log;
    return script_call(s, &lim, c);
}

static void call_done(struct script_call *c)
{
    size_t i;

    for (i = 0; i < c->nargs; i++)
        json_object_put(c->args[i]);
    json_object_put(c->result);
    json_object_put(c->arg0);
}

static void test_compile_error_has_line(void)
{
    const char *src = "function onRequest(req, ctx) {\n  var a = 1;\n  a = = 2;\n}\n";
    struct script_error err;

    CU_ASSERT_PTR_NULL(script_compile(SCRIPT_FORM_HOOKS, src, strlen(src), &lim, &err));
    CU_ASSERT_EQUAL(err.kind, SCRIPT_COMPILE);
    CU_ASSERT_EQUAL(err.line, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "SyntaxError"));
    /* A leaf's body keeps its own line numbers. */
    CU_ASSERT_PTR_NULL(script_compile(SCRIPT_FORM_LEAF, "return 1;\nreturn (;", 19, &lim, &err));
    CU_ASSERT_EQUAL(err.kind, SCRIPT_COMPILE);
    CU_ASSERT_EQUAL(err.line, 2);
}

static void test_hook_changes_fields(void)
{
    struct script *s = compile_ok("function onRequest(req, ctx) {\n"
                                  "  req.headers['x-b'] = ctx.request_id;\n"
                                  "  req.json.model = req.json.model === 'm1' ? 'm2' : 'x';\n"
                                  "  req.path = '/v2/chat';\n"
                                  "}\n");
    struct script_call c;
    json_object *v;

    CU_ASSERT_TRUE(script_has_hook(s, SCRIPT_HOOK_REQUEST));
    CU_ASSERT_FALSE(script_has_hook(s, SCRIPT_HOOK_RESPONSE));
    CU_ASSERT_EQUAL(call_request(s, &c), SCRIPT_OK);
    CU_ASSERT_PTR_NULL(c.result);
    CU_ASSERT_TRUE(json_object_object_get_ex(c.arg0, "path", &v) &&
                   strcmp(json_object_get_string(v), "/v2/chat") == 0);
    CU_ASSERT_TRUE(json_object_object_get_ex(c.arg0, "headers", &v) &&
                   json_object_object_get_ex(v, "x-b", &v) &&
                   strcmp(json_object_get_string(v), "r1") == 0);
    CU_ASSERT_TRUE(json_object_object_get_ex(c.arg0, "json", &v) &&
                   json_object_object_get_ex(v, "model", &v) &&
                   strcmp(json_object_get_string(v), "m2") == 0);
    call_done(&c);
    script_free(s);
}

static void test_response_and_leaf(void)
{
    struct script *s = compile_ok("function onResponse(res, req, ctx) {\n"
                                  "  if (res.json && res.json.error) return {action: 'retry',"
                                  " reason: res.json.error};\n}\n");
    struct script_error err;
    struct script *leaf =
        script_compile(SCRIPT_FORM_LEAF, "return res.status >= 500;", 25, &lim, &err);
    struct script_call c = {.hook = SCRIPT_HOOK_RESPONSE, .nargs = 3};
    json_object *v;

    c.args[0] = json_tokener_parse("{\"status\":200,\"json\":{\"error\":\"busy\"}}");
    CU_ASSERT_EQUAL(script_call(s, &lim, &c), SCRIPT_OK);
    CU_ASSERT_TRUE(json_object_object_get_ex(c.result, "reason", &v) &&
                   strcmp(json_object_get_string(v), "busy") == 0);
    json_object_put(c.result);
    CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
    CU_ASSERT_TRUE(script_has_hook(leaf, SCRIPT_HOOK_LEAF));
    c.hook = SCRIPT_HOOK_LEAF;
    c.nargs = 2;
    CU_ASSERT_EQUAL(script_call(leaf, &lim, &c), SCRIPT_OK);
    CU_ASSERT_TRUE(json_object_is_type(c.result, json_type_boolean) &&
                   !json_object_get_boolean(c.result));
    json_object_put(c.result);
    json_object_put(c.args[0]);
    script_free(leaf);
    script_free(s);
}

static void test_throw_has_line(void)
{
    struct script *s = compile_ok("function onRequest(req, ctx) {\n"
                                  "  var x = 1;\n"
                                  "  throw new Error('no model ' + req.json.model);\n"
                                  "}\n");
    struct script_call c;

    CU_ASSERT_EQUAL(call_request(s, &c), SCRIPT_THROW);
    CU_ASSERT_EQUAL(c.err.line, 3);
    CU_ASSERT_STRING_EQUAL(c.err.message, "Error: no model m1");
    CU_ASSERT_PTR_NULL(c.result);
    CU_ASSERT_PTR_NULL(c.arg0);
    call_done(&c);
    script_free(s);
}

static void test_endless_loop_times_out(void)
{
    struct script *loop = compile_ok("function onRequest(req, ctx) {\n"
                                     "  for (;;) { try { while (true) {} } catch (e) {} }\n"
                                     "}\n");
    struct script *fine = compile_ok("function onRequest(req) { req.path = '/ok'; }");
    struct script_call c;
    int64_t t0 = clock_mono_ms();

    CU_ASSERT_EQUAL(call_request(loop, &c), SCRIPT_TIMEOUT);
    CU_ASSERT_EQUAL(c.err.line, 2);
    CU_ASSERT_TRUE(clock_mono_ms() - t0 < 2000);
    call_done(&c);
    /* The same context serves the next script, and the looping one again. */
    CU_ASSERT_EQUAL(call_request(fine, &c), SCRIPT_OK);
    CU_ASSERT_PTR_NOT_NULL(c.arg0);
    call_done(&c);
    CU_ASSERT_EQUAL(call_request(loop, &c), SCRIPT_TIMEOUT);
    call_done(&c);
    script_free(loop);
    script_free(fine);
}

static void test_memory_bomb(void)
{
    struct script *bomb = compile_ok("function onRequest(req, ctx) {\n"
                                     "  var a = [];\n"
                                     "  for (var s = 'xxxxxxxx';; s += s) a.push(s + s);\n"
                                     "}\n");
    struct script *fine = compile_ok("function onRequest(req) { req.path = '/ok'; }");
    struct script_call c;

    CU_ASSERT_EQUAL(call_request(bomb, &c), SCRIPT_MEMORY);
    call_done(&c);
    CU_ASSERT_EQUAL(call_request(fine, &c), SCRIPT_OK);
    call_done(&c);
    script_free(bomb);
    script_free(fine);
}

static void test_no_code_from_strings(void)
{
    static const char *const tries[] = {"eval('1')",
                                        "new Function('return 1')()",
                                        "(function(){}).constructor('return 1')()",
                                        "Duktape.fin({}, function(){})",
                                        "require('fs')",
                                        "print('x')"};
    char src[256];
    struct script_call c;
    size_t i;

    for (i = 0; i < NELEM(tries); i++) {
        struct script *s;

        snprintf(src, sizeof(src), "function onRequest(req) {\n  return %s;\n}", tries[i]);
        s = compile_ok(src);
        CU_ASSERT_EQUAL(call_request(s, &c), SCRIPT_THROW);
        CU_ASSERT_EQUAL(c.err.line, 2);
        call_done(&c);
        script_free(s);
    }
}

static void test_scripts_do_not_share_globals(void)
{
    struct script *a = compile_ok("var n = 0; Object.prototype.evil = 1;\n"
                                  "function onRequest(req) { n++; return {n: n}; }");
    struct script *b = compile_ok("function onRequest(req) { return {evil: ({}).evil}; }");
    struct script_call c;

    CU_ASSERT_EQUAL(call_request(a, &c), SCRIPT_OK);
    call_done(&c);
    CU_ASSERT_EQUAL(call_request(b, &c), SCRIPT_OK);
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string(c.result), "{ }");
    call_done(&c);
    script_free(a);
    script_free(b);
}

static void test_many_calls(void)
{
    struct script *s = compile_ok("function onRequest(req, ctx) {\n"
                                  "  req.headers['x-model'] = req.json.model;\n"
                                  "  ctx.log('seen ' + req.path);\n"
                                  "}\n");
    struct script_call c;
    int i, fails = 0;

    logged = 0;
    for (i = 0; i < 2000; i++) {
        if (call_request(s, &c) != SCRIPT_OK)
            fails++;
        call_done(&c);
    }
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT_EQUAL(logged, 2000);
    script_free(s);
    script_thread_done();
}

void suite_script(void)
{
    ADD_SUITE("script", TEST(test_compile_error_has_line), TEST(test_hook_changes_fields),
              TEST(test_response_and_leaf), TEST(test_throw_has_line),
              TEST(test_endless_loop_times_out), TEST(test_memory_bomb),
              TEST(test_no_code_from_strings), TEST(test_scripts_do_not_share_globals),
              TEST(test_many_calls));
}
