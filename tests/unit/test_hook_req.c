/* proxy/hook_req.c: the values a script sees (req, ctx, res) built from a
 * minimal request, and req.query written back as a query string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mask.h"
#include "core/script.h"
#include "core/script_obj.h"
#include "core/script_req.h"
#include "core/pool.h"
#include "core/rule/rule.h"
#include "http.h"
#include "proxy/credential.h"
#include "proxy/hook.h"
#include "proxy/path.h"
#include "proxy/proxy.h"
#include "suites.h"

/* A request and its upstream as proxy.c has them before the hooks run. */
struct fixture {
    struct req r;
    struct pool_upstream up;
    struct pool_token token;
    struct proxy px;
};

static void fixture_init(struct fixture *f, char **env, const char *query, const char *body)
{
    memset(f, 0, sizeof(*f));
    f->r.env = env;
    f->r.method = "POST";
    f->r.query = query;
    memcpy(f->r.id, "req-1", 6);
    buf_init(&f->r.body, 1u << 20);
    if (body != NULL)
        buf_append(&f->r.body, body, strlen(body));
    f->up.name = (char *)"openai";
    f->up.auth_header = (char *)"Authorization";
    f->token.name = (char *)"team-a";
    f->px.r = &f->r;
    f->px.up = &f->up;
    f->px.rest = "v1/chat";
}

/* Returns the plain JSON text of member name of o ("" when absent). */
static const char *member(json_object *o, const char *name)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v))
        return "";
    return json_object_to_json_string_ext(v,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* What the script saw: [req, ctx] from onRequest, [res, req, ctx] from
 * onResponse, as JSON (JSON.stringify reads every lazy field).  The
 * caller puts the result. */
static json_object *seen(enum script_hook hook, struct script_obj *a, struct script_obj *b,
                         struct script_obj *c)
{
    static const char src[] = "function onRequest(req, ctx) { return [req, ctx]; }\n"
                              "function onResponse(res, req, ctx) { return [res, req, ctx]; }";
    static const struct script_limits lim = {1000, 16384};
    struct script_error err;
    struct script *s = script_compile(SCRIPT_FORM_HOOKS, src, strlen(src), &lim, &err);
    struct script_call call;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    memset(&call, 0, sizeof(call));
    call.hook = hook;
    call.objs[0] = a;
    call.objs[1] = b;
    call.objs[2] = c;
    call.nargs = c != NULL ? 3 : 2;
    CU_ASSERT_EQUAL(script_call(s, &lim, &call), SCRIPT_OK);
    script_free(s);
    return call.result;
}

/* Calls s's onRequest on a's req and ctx, reading req back. */
static enum script_kind call_request(const struct script *s, struct hook_args *a)
{
    static const struct script_limits lim = {1000, 16384};
    struct script_call call;
    enum script_kind k;

    memset(&call, 0, sizeof(call));
    call.hook = SCRIPT_HOOK_REQUEST;
    call.objs[0] = &a->req;
    call.objs[1] = &a->ctx;
    call.nargs = 2;
    call.want_arg0 = true;
    k = script_call(s, &lim, &call);
    json_object_put(call.result);
    return k;
}

/* Compiles src and runs its onRequest as call_request does. */
static enum script_kind run_request(struct hook_args *a, const char *src)
{
    static const struct script_limits lim = {1000, 16384};
    struct script_error err;
    struct script *s = script_compile(SCRIPT_FORM_HOOKS, src, strlen(src), &lim, &err);
    enum script_kind k;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    k = call_request(s, a);
    script_free(s);
    return k;
}

/* req as the script sees it, from px. */
static json_object *req_of(struct proxy *px, size_t body_limit, struct hook_args **out)
{
    struct hook_args *a = hook_args_make(px, body_limit);
    json_object *r, *req;

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    r = seen(SCRIPT_HOOK_REQUEST, &a->req, &a->ctx, NULL);
    req = json_object_get(json_object_array_get_idx(r, 0));
    json_object_put(r);
    if (out != NULL)
        *out = a;
    else
        hook_args_free(a);
    return req;
}

static void test_req_build(void)
{
    char *env[] = {(char *)"CONTENT_TYPE=application/json",
                   (char *)"HTTP_X_TRACE=t1",
                   (char *)"HTTP_AUTHORIZATION=Bearer gw-token",
                   (char *)"HTTP_HOST=gw.test",
                   (char *)"REQUEST_METHOD=POST",
                   NULL};
    struct fixture f;
    json_object *req;

    fixture_init(&f, env, "a=1&a=2&key=gw-token&b=%C3%A9+x&=skip&c&bad=%zz", "{\"model\":\"m\"}");
    f.px.strip[CRED_QUERY] = true;
    f.px.strip[0] = true;
    req = req_of(&f.px, 1u << 20, NULL);
    CU_ASSERT_STRING_EQUAL(member(req, "method"), "\"POST\"");
    CU_ASSERT_STRING_EQUAL(member(req, "path"), "\"/v1/chat\"");
    /* The client's ?key= token and items that do not decode are left out. */
    CU_ASSERT_STRING_EQUAL(member(req, "query"), "{\"a\":[\"1\",\"2\"],\"b\":[\"\xc3\xa9 x\"],"
                                                 "\"c\":[\"\"]}");
    /* Lower-case names, the client's token and Host not among them. */
    CU_ASSERT_STRING_EQUAL(member(req, "headers"),
                           "{\"content-type\":\"application/json\",\"x-trace\":\"t1\"}");
    CU_ASSERT_STRING_EQUAL(member(req, "body"), "\"{\\\"model\\\":\\\"m\\\"}\"");
    CU_ASSERT_STRING_EQUAL(member(req, "body_truncated"), "false");
    CU_ASSERT_STRING_EQUAL(member(req, "json"), "{\"model\":\"m\"}");
    json_object_put(req);
    buf_free(&f.r.body);
}

static void test_req_body_limit(void)
{
    char *env[] = {NULL};
    struct fixture f;
    json_object *req;

    /* A body cut at the limit is marked and has no json. */
    fixture_init(&f, env, "", "{\"model\":\"m\"}");
    f.px.rest = NULL;
    req = req_of(&f.px, 5, NULL);
    CU_ASSERT_STRING_EQUAL(member(req, "path"), "\"/\"");
    CU_ASSERT_STRING_EQUAL(member(req, "query"), "{}");
    CU_ASSERT_STRING_EQUAL(member(req, "body"), "\"{\\\"mod\"");
    CU_ASSERT_STRING_EQUAL(member(req, "body_truncated"), "true");
    CU_ASSERT_FALSE(json_object_object_get_ex(req, "json", NULL));
    json_object_put(req);
    buf_free(&f.r.body);
    /* No body: null; a body that is not JSON: no json. */
    fixture_init(&f, env, "", NULL);
    req = req_of(&f.px, 100, NULL);
    CU_ASSERT_STRING_EQUAL(member(req, "body"), "null");
    json_object_put(req);
    buf_free(&f.r.body);
    fixture_init(&f, env, "", "not json");
    req = req_of(&f.px, 100, NULL);
    CU_ASSERT_FALSE(json_object_object_get_ex(req, "json", NULL));
    json_object_put(req);
    buf_free(&f.r.body);
}

static json_object *ctx_of(struct proxy *px)
{
    struct hook_args *a = hook_args_make(px, 100);
    json_object *r, *ctx;

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    r = seen(SCRIPT_HOOK_REQUEST, &a->req, &a->ctx, NULL);
    ctx = json_object_get(json_object_array_get_idx(r, 1));
    json_object_put(r);
    hook_args_free(a);
    return ctx;
}

static void test_ctx_build(void)
{
    char *env[] = {NULL};
    struct fixture f;
    json_object *ctx;

    fixture_init(&f, env, "", NULL);
    ctx = ctx_of(&f.px);
    CU_ASSERT_STRING_EQUAL(member(ctx, "request_id"), "\"req-1\"");
    CU_ASSERT_STRING_EQUAL(member(ctx, "upstream"), "\"openai\"");
    CU_ASSERT_STRING_EQUAL(member(ctx, "token"), "null");
    CU_ASSERT_TRUE(json_object_object_get_ex(ctx, "now_ms", NULL));
    json_object_put(ctx);
    f.px.token = &f.token;
    ctx = ctx_of(&f.px);
    CU_ASSERT_STRING_EQUAL(member(ctx, "token"), "\"team-a\"");
    json_object_put(ctx);
    buf_free(&f.r.body);
}

static void test_res_build(void)
{
    static const struct rule_header headers[] = {{"Content-Type", 12, "application/json", 16}};
    static const char body[] = "{\"error\":\"bad key sk-SECRET-0123456789\"}";
    struct pool_key k;
    struct rule_input in;
    struct mask_secret secret;
    struct fixture f;
    struct hook_args *a;
    char *env[] = {NULL};
    json_object *all, *res, *key;

    memset(&k, 0, sizeof(k));
    memset(&in, 0, sizeof(in));
    k.id = 7;
    memcpy(k.masked, "sk-S...6789", 12);
    in.status = 401;
    in.headers = headers;
    in.nheaders = 1;
    in.body = body;
    in.body_len = strlen(body);
    in.latency_ms = 12;
    CU_ASSERT_EQUAL_FATAL(mask_secret_init(&secret, "sk-SECRET-0123456789", 20, k.masked), 0);
    in.secret = &secret;
    fixture_init(&f, env, "", NULL);
    a = hook_args_make(&f.px, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    rule_script_res_key(rule_script_res(&in), 2, k.id, k.name, k.masked);
    all = seen(SCRIPT_HOOK_RESPONSE, rule_script_res_obj(in.script_res), &a->req, &a->ctx);
    res = json_object_array_get_idx(all, 0);
    CU_ASSERT_STRING_EQUAL(member(res, "status"), "401");
    CU_ASSERT_STRING_EQUAL(member(res, "attempt"), "2");
    CU_ASSERT_STRING_EQUAL(member(res, "headers"), "{\"content-type\":\"application/json\"}");
    /* The key's value never reaches a script; its name is null when none. */
    CU_ASSERT_PTR_NULL(strstr(json_object_to_json_string(res), "SECRET"));
    CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(res, "key", &key));
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(key, JSON_C_TO_STRING_PLAIN),
                           "{\"id\":7,\"name\":null,\"masked\":\"sk-S...6789\"}");
    CU_ASSERT_STRING_EQUAL(member(res, "json"), "{\"error\":\"bad key sk-S...6789\"}");
    json_object_put(all);
    rule_input_done(&in);
    hook_args_free(a);
    mask_secret_free(&secret);
    buf_free(&f.r.body);
}

/* Checks the query string onRequest's req.query (JS source q) comes to. */
static void check_query(const char *q, const char *want)
{
    char *env[] = {NULL}, src[256], *s;
    struct fixture f;
    struct hook_args *a;
    const struct script_field *fq;

    fixture_init(&f, env, "x=1", NULL);
    a = hook_args_make(&f.px, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    snprintf(src, sizeof(src), "function onRequest(req) { req.query = %s; }", q);
    CU_ASSERT_EQUAL(run_request(a, src), SCRIPT_OK);
    fq = &a->req_f[REQ_QUERY];
    if (want == NULL) {
        CU_ASSERT_PTR_NOT_NULL(fq->malformed);
    } else {
        CU_ASSERT_PTR_NULL_FATAL(fq->malformed);
        s = hook_query_string(fq->out_pairs, fq->out_npairs);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s, want);
        free(s);
    }
    hook_args_free(a);
    buf_free(&f.r.body);
}

static void test_query_string(void)
{
    struct script_pair big = {"a", 1, NULL, PROXY_URL_MAX + 10};
    char *v = malloc(big.value_len);

    check_query("{}", "");
    check_query("{a: ['1', '2'], 'b c': 'x&y=z'}", "a=1&a=2&b%20c=x%26y%3Dz");
    /* Numbers, booleans and null become text; non-ASCII is percent-encoded. */
    check_query("{n: [3, null, true], u: '\\u00e9'}", "n=3&n=&n=true&u=%C3%A9");
    check_query("{e: []}", "");
    /* Anything but an object of strings is malformed; past the cap, no query. */
    check_query("['a']", NULL);
    check_query("'a=1'", NULL);
    check_query("{a: {b: 1}}", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    memset(v, 'x', big.value_len);
    big.value = v;
    CU_ASSERT_PTR_NULL(hook_query_string(&big, 1));
    free(v);
}

/* What onRequest changed, read back field by field. */
static void test_read_back(void)
{
    char *env[] = {(char *)"CONTENT_TYPE=application/json", (char *)"HTTP_X_TRACE=t1", NULL};
    struct fixture f;
    struct hook_args *a;
    const struct script_field *rf;

    fixture_init(&f, env, "a=1", "{ \"model\": \"m\", \"n\": 1.50 }");
    a = hook_args_make(&f.px, 1u << 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    rf = a->req_f;
    /* Reading only changes nothing: the body keeps its spacing and numbers. */
    CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) {"
                                   " var x = req.json.model + req.headers['x-trace'] +"
                                   " req.query.a[0] + req.body; }"),
                    SCRIPT_OK);
    CU_ASSERT_TRUE(rf[REQ_JSON].touched && rf[REQ_HEADERS].touched && rf[REQ_QUERY].touched);
    CU_ASSERT_FALSE(rf[REQ_JSON].changed || rf[REQ_HEADERS].changed || rf[REQ_QUERY].changed ||
                    rf[REQ_BODY].changed || rf[REQ_METHOD].changed);
    /* Untouched fields are not even looked at. */
    hook_args_refresh(a);
    CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { req.method = 'PUT'; }"), SCRIPT_OK);
    CU_ASSERT_FALSE(rf[REQ_JSON].touched || rf[REQ_HEADERS].touched);
    CU_ASSERT_TRUE(rf[REQ_METHOD].changed);
    CU_ASSERT_STRING_EQUAL(rf[REQ_METHOD].out_s, "PUT");
    /* A change to json comes back as compact JSON; headers in order. */
    hook_args_refresh(a);
    CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { req.json.model = 'x';"
                                   " req.headers['x-new'] = 'v'; delete req.headers['x-trace']; }"),
                    SCRIPT_OK);
    CU_ASSERT_TRUE(rf[REQ_JSON].changed);
    CU_ASSERT_STRING_EQUAL(rf[REQ_JSON].out_s, "{\"model\":\"x\",\"n\":1.5}");
    CU_ASSERT_TRUE_FATAL(rf[REQ_HEADERS].changed);
    CU_ASSERT_EQUAL_FATAL(rf[REQ_HEADERS].out_npairs, 2);
    CU_ASSERT_NSTRING_EQUAL(rf[REQ_HEADERS].out_pairs[1].name, "x-new", 5);
    /* Assigning null to the body, a number to the path: changed, malformed. */
    hook_args_refresh(a);
    CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { req.body = null; req.path = 3;"
                                   " req.headers = {a: 1}; }"),
                    SCRIPT_OK);
    CU_ASSERT_TRUE(rf[REQ_BODY].changed);
    CU_ASSERT_PTR_NULL(rf[REQ_BODY].out_s);
    CU_ASSERT_PTR_NOT_NULL(rf[REQ_PATH].malformed);
    CU_ASSERT_PTR_NOT_NULL(rf[REQ_HEADERS].malformed);
    hook_args_free(a);
    buf_free(&f.r.body);
    /* A compact body: read only, unchanged; changed, written anew. */
    fixture_init(&f, env, "", "{\"model\":\"m\",\"n\":[1,-2,true,null]}");
    a = hook_args_make(&f.px, 1u << 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { var m = req.json.model; }"),
                    SCRIPT_OK);
    CU_ASSERT_TRUE(a->req_f[REQ_JSON].touched);
    CU_ASSERT_FALSE(a->req_f[REQ_JSON].changed);
    hook_args_refresh(a);
    CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { req.json.n.pop(); }"), SCRIPT_OK);
    CU_ASSERT_TRUE_FATAL(a->req_f[REQ_JSON].changed);
    CU_ASSERT_STRING_EQUAL(a->req_f[REQ_JSON].out_s, "{\"model\":\"m\",\"n\":[1,-2,true]}");
    hook_args_free(a);
    buf_free(&f.r.body);
}

/* Members are the prototype's accessors until read: a script cannot take
 * them away, JSON.stringify and for-in see them all, Object.keys those read. */
static void test_prototype(void)
{
    char *env[] = {(char *)"HTTP_X_TRACE=t1", NULL};
    struct fixture f;
    struct hook_args *a;

    fixture_init(&f, env, "", "{\"m\":1}");
    a = hook_args_make(&f.px, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(
        run_request(a,
                    "function onRequest(req) {\n"
                    "  var p = Object.getPrototypeOf(req);\n"
                    "  delete p.headers; p.method = 'X'; try { p.json = 2; } catch (e) {}\n"
                    "  var keys = Object.keys(req).length, all = 0;\n"
                    "  for (var k in req) all++;\n"
                    "  var text = JSON.stringify(req);\n"
                    "  req.body = [keys, all, Object.keys(req).length, req.headers['x-trace'],\n"
                    "              req.method, text.indexOf('\"json\":{\"m\":1}') > 0].join(' ');\n"
                    "}"),
        SCRIPT_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a->req_f[REQ_BODY].out_s);
    CU_ASSERT_STRING_EQUAL(a->req_f[REQ_BODY].out_s, "0 7 7 t1 POST true");
    CU_ASSERT_FALSE(a->req_f[REQ_JSON].changed || a->req_f[REQ_METHOD].changed);
    hook_args_free(a);
    buf_free(&f.r.body);
}

/* An object kept in a global by one call gives undefined in the next. */
static void test_stale_object(void)
{
    static const char src[] =
        "var kept;\n"
        "function onRequest(req) {\n"
        "  var was = kept ? String(kept.headers) + String(kept.json) : 'none';\n"
        "  kept = req; req.body = was; }";
    static const struct script_limits lim = {1000, 16384};
    char *env[] = {(char *)"HTTP_X_TRACE=t1", NULL};
    struct fixture f;
    struct hook_args *a;
    struct script_error err;
    struct script *s = script_compile(SCRIPT_FORM_HOOKS, src, strlen(src), &lim, &err);
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    fixture_init(&f, env, "", "{}");
    a = hook_args_make(&f.px, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    for (i = 0; i < 2; i++) {
        hook_args_refresh(a);
        CU_ASSERT_EQUAL(call_request(s, a), SCRIPT_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a->req_f[REQ_BODY].out_s);
        CU_ASSERT_STRING_EQUAL(a->req_f[REQ_BODY].out_s, i == 0 ? "none" : "undefinedundefined");
    }
    hook_args_free(a);
    script_free(s);
    buf_free(&f.r.body);
}

/* The checks both the proxy and the test route put onRequest's changes to. */
static void test_req_check(void)
{
    static const struct {
        const char *src, *why; /* why: a part of the message, NULL: taken */
    } cases[] = {
        {"req.method = 'PATCH'; req.path = '/v2'; req.headers['x-a'] = 'b';", NULL},
        {"req.method = 'get';", "capital letters"},
        {"req.method = 'ABCDEFGHIJKLMNOPQ';", "capital letters"},
        {"req.path = 'v2';", "begins with /"},
        {"req.path = '/a\\u0000b';", "begins with /"},
        {"req.headers['bad name'] = 'x';", "header names"},
        {"req.headers['x-a'] = 'a\\r\\nb';", "header names"},
        {"req.headers['x-a'] = 1;", "req.headers must be an object of names to strings"},
        {"req.query = 5;", "req.query must be"},
        {"req.body = {};", "req.body must be a string or null"},
    };
    char *env[] = {NULL}, src[256], why[160];
    struct fixture f;
    struct hook_args *a;
    const char *got;
    size_t i;

    fixture_init(&f, env, "", "{}");
    a = hook_args_make(&f.px, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hook_args_refresh(a);
        snprintf(src, sizeof(src), "function onRequest(req) { %s }", cases[i].src);
        CU_ASSERT_EQUAL(run_request(a, src), SCRIPT_OK);
        got = script_req_check(a->req_f, why, sizeof(why));
        if (cases[i].why == NULL) {
            CU_ASSERT_PTR_NULL(got);
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(got);
            CU_ASSERT_PTR_NOT_NULL(strstr(got, cases[i].why));
        }
    }
    /* json wins over body; a null body is an empty one. */
    hook_args_refresh(a);
    CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { req.body = 'x'; req.json = [1]; }"),
                    SCRIPT_OK);
    {
        const char *body;
        size_t len;
        CU_ASSERT_TRUE_FATAL(script_req_new_body(a->req_f, &body, &len));
        CU_ASSERT_EQUAL(len, 3);
        CU_ASSERT_EQUAL(memcmp(body, "[1]", 3), 0);
        hook_args_refresh(a);
        CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { req.body = null; }"), SCRIPT_OK);
        CU_ASSERT_TRUE_FATAL(script_req_new_body(a->req_f, &body, &len));
        CU_ASSERT_EQUAL(len, 0);
        hook_args_refresh(a);
        CU_ASSERT_EQUAL(run_request(a, "function onRequest(req) { var j = req.json; }"), SCRIPT_OK);
        CU_ASSERT_FALSE(script_req_new_body(a->req_f, &body, &len));
    }
    CU_ASSERT_TRUE(script_header_fixed("Expect") && script_header_fixed("host") &&
                   !script_header_fixed("content-type"));
    hook_args_free(a);
    buf_free(&f.r.body);
}

void suite_hook_req(void)
{
    ADD_SUITE("hook_req", TEST(test_req_build), TEST(test_req_body_limit), TEST(test_ctx_build),
              TEST(test_res_build), TEST(test_query_string), TEST(test_read_back),
              TEST(test_req_check), TEST(test_prototype), TEST(test_stale_object));
}
