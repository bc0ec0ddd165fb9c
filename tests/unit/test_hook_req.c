/* proxy/hook_req.c: the values a script sees (req, ctx, res) built from a
 * minimal request, and req.query written back as a query string. */
#include <stdlib.h>
#include <string.h>

#include "core/mask.h"
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
    req = hook_req_build(&f.px, 1u << 20);
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
    req = hook_req_build(&f.px, 5);
    CU_ASSERT_STRING_EQUAL(member(req, "path"), "\"/\"");
    CU_ASSERT_STRING_EQUAL(member(req, "query"), "{}");
    CU_ASSERT_STRING_EQUAL(member(req, "body"), "\"{\\\"mod\"");
    CU_ASSERT_STRING_EQUAL(member(req, "body_truncated"), "true");
    CU_ASSERT_FALSE(json_object_object_get_ex(req, "json", NULL));
    json_object_put(req);
    buf_free(&f.r.body);
    /* No body: null; a body that is not JSON: no json. */
    fixture_init(&f, env, "", NULL);
    req = hook_req_build(&f.px, 100);
    CU_ASSERT_STRING_EQUAL(member(req, "body"), "null");
    json_object_put(req);
    buf_free(&f.r.body);
    fixture_init(&f, env, "", "not json");
    req = hook_req_build(&f.px, 100);
    CU_ASSERT_FALSE(json_object_object_get_ex(req, "json", NULL));
    json_object_put(req);
    buf_free(&f.r.body);
}

static void test_ctx_build(void)
{
    char *env[] = {NULL};
    struct fixture f;
    json_object *ctx;

    fixture_init(&f, env, "", NULL);
    ctx = hook_ctx_build(&f.px);
    CU_ASSERT_STRING_EQUAL(member(ctx, "request_id"), "\"req-1\"");
    CU_ASSERT_STRING_EQUAL(member(ctx, "upstream"), "\"openai\"");
    CU_ASSERT_STRING_EQUAL(member(ctx, "token"), "null");
    CU_ASSERT_TRUE(json_object_object_get_ex(ctx, "now_ms", NULL));
    json_object_put(ctx);
    f.px.token = &f.token;
    ctx = hook_ctx_build(&f.px);
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
    json_object *res, *key;

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
    res = hook_res_build(&k, &in, &secret, 2);
    CU_ASSERT_STRING_EQUAL(member(res, "status"), "401");
    CU_ASSERT_STRING_EQUAL(member(res, "attempt"), "2");
    CU_ASSERT_STRING_EQUAL(member(res, "headers"), "{\"content-type\":\"application/json\"}");
    /* The key's value never reaches a script; its name is null when none. */
    CU_ASSERT_PTR_NULL(strstr(json_object_to_json_string(res), "SECRET"));
    CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(res, "key", &key));
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(key, JSON_C_TO_STRING_PLAIN),
                           "{\"id\":7,\"name\":null,\"masked\":\"sk-S...6789\"}");
    json_object_put(res);
    mask_secret_free(&secret);
}

/* Checks the query string written from the JSON text q. */
static void check_query(const char *q, const char *want)
{
    json_object *o = json_tokener_parse(q);
    char *s = hook_query_string(o);

    if (want == NULL) {
        CU_ASSERT_PTR_NULL(s);
    } else {
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s, want);
    }
    free(s);
    json_object_put(o);
}

static void test_query_string(void)
{
    char *big;
    size_t n = PROXY_URL_MAX + 10;

    check_query("{}", "");
    check_query("{\"a\":[\"1\",\"2\"],\"b c\":\"x&y=z\"}", "a=1&a=2&b%20c=x%26y%3Dz");
    /* Numbers and null become text; non-ASCII is percent-encoded. */
    check_query("{\"n\":[3,null,true],\"u\":\"\xc3\xa9\"}", "n=3&n=&n=true&u=%C3%A9");
    check_query("{\"e\":[]}", "");
    /* Anything but an object is no query; one past the cap is refused. */
    check_query("[\"a\"]", NULL);
    check_query("\"a=1\"", NULL);
    big = malloc(n + 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memcpy(big, "{\"a\":\"", 6);
    memset(big + 6, 'x', n);
    memcpy(big + 6 + n, "\"}", 3);
    check_query(big, NULL);
    free(big);
}

void suite_hook_req(void)
{
    ADD_SUITE("hook_req", TEST(test_req_build), TEST(test_req_body_limit), TEST(test_ctx_build),
              TEST(test_res_build), TEST(test_query_string));
}
