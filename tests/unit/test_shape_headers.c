/* core/header_rules.c and proxy/shape_headers.c: header rules checked and
 * parsed, and what they and strip_forwarding_headers do to the headers an
 * attempt sends (also through upstream_req_headers). */
#include <json-c/json.h>
#include <string.h>

#include "core/header_rules.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/proxy.h"
#include "proxy/shape_headers.h"
#include "proxy/upstream_req.h"
#include "suites.h"

/* Parses text with the key in Authorization; returns the result and
 * leaves the message in msg. */
static int parse(const char *text, struct header_rules *out, char *msg, size_t len)
{
    msg[0] = '\0';
    return header_rules_parse_text(text, "Authorization", out, msg, len);
}

static void test_refusals(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{}", "header_rules: must be an array of {\"op\", \"name\", \"value\"}"},
        {"[{\"op\":\"set\",\"name\":\"X-A\",\"value\":\"1\"},{\"op\":\"set\",\"name\":\"Host\","
         "\"value\":\"h\"}]",
         "header_rules[1].name: Host cannot be changed"},
        {"[{\"op\":\"remove\",\"name\":\"authorization\"}]",
         "header_rules[0].name: authorization carries the key (auth_header) and cannot be changed"},
        {"[{\"op\":\"remove\",\"name\":\"Transfer-Encoding\"}]",
         "header_rules[0].name: Transfer-Encoding cannot be changed"},
        {"[{\"op\":\"append\",\"name\":\"Content-Length\",\"value\":\"1\"}]",
         "header_rules[0].name: Content-Length cannot be changed"},
        {"[{\"op\":\"remove\",\"name\":\"Proxy-Authenticate\"}]",
         "header_rules[0].name: Proxy-Authenticate cannot be changed"},
        {"[{\"op\":\"replace\",\"name\":\"X-A\",\"value\":\"1\"}]",
         "header_rules[0].op: must be set, remove or append"},
        {"[{\"name\":\"X-A\"}]", "header_rules[0].op: must be set, remove or append"},
        {"[{\"op\":\"remove\",\"name\":\"X-A\",\"value\":\"1\"}]",
         "header_rules[0].value: not allowed with remove"},
        {"[{\"op\":\"set\",\"name\":\"X-A\"}]",
         "header_rules[0].value: required with set and append, a string"},
        {"[{\"op\":\"set\",\"name\":\"X-A\",\"value\":\"\"}]",
         "header_rules[0].value: must be 1 to 1024 bytes"},
        {"[{\"op\":\"set\",\"name\":\"X-A\",\"value\":\"a\\r\\nX-B: 1\"}]",
         "header_rules[0].value: must not contain control characters (CR, LF, NUL, ...)"},
        {"[{\"op\":\"set\",\"name\":\"X-A\",\"value\":\"a\\u0000b\"}]",
         "header_rules[0].value: must not contain control characters (CR, LF, NUL, ...)"},
        {"[{\"op\":\"set\",\"name\":\"X A\",\"value\":\"1\"}]",
         "header_rules[0].name: must be an HTTP header name (letters, digits and -)"},
        {"[{\"op\":\"set\",\"name\":\"\",\"value\":\"1\"}]",
         "header_rules[0].name: must be 1 to 128 characters"},
        {"[{\"op\":\"set\",\"name\":\"X-A\",\"value\":\"1\",\"when\":1}]",
         "header_rules[0]: unknown member (only op, name and value)"},
        {"[1]", "header_rules[0]: must be an object {\"op\", \"name\", \"value\"}"},
    };
    struct header_rules r;
    char msg[256];
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        CU_ASSERT_EQUAL(parse(cases[i].json, &r, msg, sizeof(msg)), -1);
        CU_ASSERT_STRING_EQUAL(msg, cases[i].msg);
        CU_ASSERT_EQUAL(r.n, 0);
    }
}

static void test_limits_and_key_in_query(void)
{
    struct header_rules r;
    struct buf text;
    char msg[256];
    int i;

    /* 32 rules pass, 33 do not. */
    buf_init(&text, 1u << 16);
    buf_puts(&text, "[");
    for (i = 0; i < HEADER_RULES_MAX; i++)
        buf_printf(&text, "%s{\"op\":\"remove\",\"name\":\"X-%d\"}", i ? "," : "", i);
    buf_puts(&text, "]");
    CU_ASSERT_EQUAL(parse(buf_str(&text), &r, msg, sizeof(msg)), 0);
    CU_ASSERT_EQUAL(r.n, HEADER_RULES_MAX);
    header_rules_free(&r);
    text.len--;
    buf_puts(&text, ",{\"op\":\"remove\",\"name\":\"X-Last\"}]");
    CU_ASSERT_EQUAL(parse(buf_str(&text), &r, msg, sizeof(msg)), -1);
    CU_ASSERT_STRING_EQUAL(msg, "header_rules: at most 32 rules");
    buf_free(&text);
    /* With the key in the query, the auth header is a header like others. */
    CU_ASSERT_EQUAL(header_rules_parse_text("[{\"op\":\"set\",\"name\":\"Authorization\","
                                            "\"value\":\"x\"}]",
                                            NULL, &r, msg, sizeof(msg)),
                    0);
    header_rules_free(&r);
    CU_ASSERT_EQUAL(parse(NULL, &r, msg, sizeof(msg)), 0);
    CU_ASSERT_EQUAL(parse("null", &r, msg, sizeof(msg)), 0);
    CU_ASSERT_EQUAL(parse("[]", &r, msg, sizeof(msg)), 0);
    CU_ASSERT_EQUAL(r.n, 0);
}

static void test_emits(void)
{
    /* A line survives unless a later set or remove names it. */
    const char *json = "[{\"op\":\"append\",\"name\":\"X-A\",\"value\":\"1\"},"
                       "{\"op\":\"set\",\"name\":\"x-a\",\"value\":\"2\"},"
                       "{\"op\":\"append\",\"name\":\"X-A\",\"value\":\"3\"},"
                       "{\"op\":\"set\",\"name\":\"X-B\",\"value\":\"4\"},"
                       "{\"op\":\"remove\",\"name\":\"X-B\"},"
                       "{\"op\":\"remove\",\"name\":\"X-C\"}]";
    const bool want[] = {false, true, true, false, false, false};
    struct header_rules r;
    char msg[256];
    size_t i;

    CU_ASSERT_EQUAL_FATAL(parse(json, &r, msg, sizeof(msg)), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, NELEM(want));
    for (i = 0; i < r.n; i++)
        CU_ASSERT_EQUAL(r.v[i].emits, want[i]);
    CU_ASSERT_EQUAL(r.v[4].op, HEADER_REMOVE);
    CU_ASSERT_PTR_NULL(r.v[4].value);
    header_rules_free(&r);
}

static void test_drops(void)
{
    static const char *const fwd[] = {"X-Forwarded-For",  "x-forwarded-proto", "X-Forwarded-Host",
                                      "Forwarded",        "X-Real-IP",         "via",
                                      "CF-Connecting-IP", "True-Client-IP"};
    const char *json = "[{\"op\":\"remove\",\"name\":\"X-Debug\"},"
                       "{\"op\":\"set\",\"name\":\"X-Team\",\"value\":\"a\"},"
                       "{\"op\":\"append\",\"name\":\"X-Tags\",\"value\":\"b\"}]";
    struct header_rules r, none = {NULL, 0};
    char msg[256];
    size_t i;

    for (i = 0; i < NELEM(fwd); i++) {
        CU_ASSERT_TRUE(shape_forwarding_header(fwd[i]));
        CU_ASSERT_TRUE(shape_drops(&none, true, fwd[i]));
        CU_ASSERT_FALSE(shape_drops(&none, false, fwd[i]));
    }
    CU_ASSERT_FALSE(shape_forwarding_header("X-Forwarded"));
    CU_ASSERT_FALSE(shape_forwarding_header("X-Real-IPs"));
    CU_ASSERT_EQUAL_FATAL(parse(json, &r, msg, sizeof(msg)), 0);
    CU_ASSERT_TRUE(shape_drops(&r, false, "x-debug"));
    CU_ASSERT_TRUE(shape_drops(&r, false, "X-TEAM"));
    /* append keeps what the client sent. */
    CU_ASSERT_FALSE(shape_drops(&r, false, "X-Tags"));
    CU_ASSERT_FALSE(shape_drops(&r, false, "X-Forwarded-For"));
    header_rules_free(&r);
}

static void test_line_placeholders(void)
{
    static const struct {
        const char *value, *want;
    } cases[] = {
        {"{upstream}", "X-A: openai"},     {"id={request_id} by {token}", "X-A: id=00ab by ci"},
        {"{token}{token}", "X-A: cici"},   {"{nope} {", "X-A: {nope} {"},
        {"{{upstream}}", "X-A: {openai}"}, {"plain", "X-A: plain"},
    };
    struct header_vars v = {"00ab", "ci", "openai"}, empty = {"00ab", NULL, "openai"};
    struct header_rule r = {HEADER_SET, (char *)"X-A", NULL, true};
    struct buf line;
    size_t i;

    buf_init(&line, 64);
    for (i = 0; i < NELEM(cases); i++) {
        buf_reset(&line);
        r.value = (char *)cases[i].value;
        CU_ASSERT_EQUAL(header_rule_line(&r, &v, &line), 0);
        CU_ASSERT_STRING_EQUAL(buf_str(&line), cases[i].want);
    }
    /* A public upstream has no token name. */
    buf_reset(&line);
    r.value = (char *)"t={token}";
    CU_ASSERT_EQUAL(header_rule_line(&r, &empty, &line), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&line), "X-A: t=");
    /* The line's cap. */
    buf_reset(&line);
    r.value = (char *)"{upstream}{upstream}{upstream}{upstream}{upstream}{upstream}{upstream}"
                      "{upstream}{upstream}{upstream}";
    CU_ASSERT_EQUAL(header_rule_line(&r, &v, &line), -1);
    buf_free(&line);
}

/* Through upstream_req_headers: the client's headers shaped, the rules'
 * lines after them, the key last and untouched. */
static void test_request_headers(void)
{
    char *env[] = {(char *)"CONTENT_TYPE=application/json",
                   (char *)"HTTP_X_FORWARDED_FOR=10.0.0.1",
                   (char *)"HTTP_X_REAL_IP=10.0.0.1",
                   (char *)"HTTP_VIA=1.1 edge",
                   (char *)"HTTP_X_DEBUG=1",
                   (char *)"HTTP_X_TEAM=client",
                   (char *)"HTTP_X_TAGS=client",
                   (char *)"HTTP_X_KEEP=yes",
                   NULL};
    const char *json = "[{\"op\":\"remove\",\"name\":\"X-Debug\"},"
                       "{\"op\":\"set\",\"name\":\"X-Team\",\"value\":\"alpha\"},"
                       "{\"op\":\"append\",\"name\":\"X-Tags\",\"value\":\"{upstream}/{token}\"},"
                       "{\"op\":\"set\",\"name\":\"Accept\",\"value\":\"text/plain\"}]";
    struct req r;
    struct pool_upstream up;
    struct pool_key key;
    struct pool_token tok;
    struct proxy px;
    struct curl_slist *list, *l;
    struct buf text;
    char msg[256];

    memset(&r, 0, sizeof(r));
    memset(&up, 0, sizeof(up));
    memset(&key, 0, sizeof(key));
    memset(&tok, 0, sizeof(tok));
    memset(&px, 0, sizeof(px));
    r.env = env;
    r.method = "POST";
    snprintf(r.id, sizeof(r.id), "%s", "00000000000000ab");
    up.name = (char *)"openai";
    up.auth_header = (char *)"Authorization";
    up.auth_template = (char *)"Bearer {key}";
    up.strip_forwarding = true;
    key.value = (char *)"sk-1";
    key.value_len = 4;
    tok.name = (char *)"ci";
    px.r = &r;
    px.up = &up;
    px.token = &tok;
    CU_ASSERT_EQUAL_FATAL(parse(json, &up.header_rules, msg, sizeof(msg)), 0);
    list = upstream_req_headers(&px, &key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    buf_init(&text, 4096);
    for (l = list; l != NULL; l = l->next)
        buf_cat(&text, l->data, "\n", (char *)NULL);
    CU_ASSERT_STRING_EQUAL(buf_str(&text), "Content-Type: application/json\n"
                                           "X-Tags: client\n"
                                           "X-Keep: yes\n"
                                           "X-Team: alpha\n"
                                           "X-Tags: openai/ci\n"
                                           "Accept: text/plain\n"
                                           "Expect:\n"
                                           "Authorization: Bearer sk-1\n");
    curl_slist_free_all(list);
    buf_free(&text);
    header_rules_free(&up.header_rules);
}

void suite_shape_headers(void)
{
    ADD_SUITE("shape_headers", TEST(test_refusals), TEST(test_limits_and_key_in_query),
              TEST(test_emits), TEST(test_drops), TEST(test_line_placeholders),
              TEST(test_request_headers));
}
