/* The rule engine: evaluating every leaf, op and combinator, and one
 * compiled rule shared by threads. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/nelem.h"
#include "core/rule/rule.h"
#include "rule_helpers.h"
#include "suites.h"

static void test_status_leaf(void)
{
    const struct {
        const char *cond;
        int status, want;
    } cases[] = {
        {"{\"type\":\"status\",\"op\":\"eq\",\"value\":429}", 429, 1},
        {"{\"type\":\"status\",\"op\":\"eq\",\"value\":429}", 430, 0},
        {"{\"type\":\"status\",\"op\":\"ne\",\"value\":200}", 500, 1},
        {"{\"type\":\"status\",\"op\":\"ne\",\"value\":200}", 200, 0},
        {"{\"type\":\"status\",\"op\":\"ne\",\"value\":200}", 0, 0}, /* no answer */
        {"{\"type\":\"status\",\"op\":\"in\",\"value\":[401,403]}", 403, 1},
        {"{\"type\":\"status\",\"op\":\"in\",\"value\":[401,403]}", 402, 0},
        {"{\"type\":\"status\",\"op\":\"range\",\"value\":[500,599]}", 500, 1},
        {"{\"type\":\"status\",\"op\":\"range\",\"value\":[500,599]}", 599, 1},
        {"{\"type\":\"status\",\"op\":\"range\",\"value\":[500,599]}", 499, 0},
        {"{\"type\":\"status\",\"op\":\"range\",\"value\":[500,599]}", 600, 0},
        {"{\"type\":\"status\",\"op\":\"range\",\"value\":[429,429]}", 429, 1},
        {"{\"type\":\"status\",\"op\":\"gte\",\"value\":500}", 500, 1},
        {"{\"type\":\"status\",\"op\":\"gte\",\"value\":500}", 499, 0},
        {"{\"type\":\"status\",\"op\":\"lte\",\"value\":299}", 299, 1},
        {"{\"type\":\"status\",\"op\":\"lte\",\"value\":299}", 300, 0},
        {"{\"type\":\"status\",\"op\":\"lte\",\"value\":299}", 0, 0},
    };
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        struct rule_input in = rt_with_status(cases[i].status);
        CU_ASSERT_EQUAL(rt_eval(cases[i].cond, &in), cases[i].want);
    }
}

static void test_body_contains_leaf(void)
{
    static const char nul_body[] = "ab\0quota exceeded\0";
    const struct {
        const char *cond, *body;
        int want;
    } cases[] = {
        {"{\"type\":\"body_contains\",\"value\":\"quota\"}", "your quota is gone", 1},
        {"{\"type\":\"body_contains\",\"value\":\"quota\"}", "your QUOTA is gone", 0},
        {"{\"type\":\"body_contains\",\"value\":\"quota\",\"case_insensitive\":false}", "QUOTA", 0},
        {"{\"type\":\"body_contains\",\"value\":\"Quota\",\"case_insensitive\":true}",
         "your qUOTA is gone", 1},
        {"{\"type\":\"body_contains\",\"value\":\"quota\",\"case_insensitive\":true}", "quot", 0},
        {"{\"type\":\"body_contains\",\"value\":\"gone\"}", "your quota is gone", 1},
        {"{\"type\":\"body_contains\",\"value\":\"aab\"}", "aaab", 1},
        {"{\"type\":\"body_contains\",\"value\":\"abab\"}", "abaabab", 1},
        {"{\"type\":\"body_contains\",\"value\":\"abab\"}", "abaaba", 0},
        {"{\"type\":\"body_contains\",\"value\":\"longer than the body\"}", "short", 0},
        {"{\"type\":\"body_contains\",\"value\":\"\xc3\x89\",\"case_insensitive\":true}",
         "\xc3\xa9", 0}, /* ASCII folding only */
        {"{\"type\":\"body_contains\",\"value\":\"x\"}", "", 0},
    };
    struct rule_input in;
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        in = rt_with_body(cases[i].body, strlen(cases[i].body));
        CU_ASSERT_EQUAL(rt_eval(cases[i].cond, &in), cases[i].want);
    }
    /* The body is searched by length, past NUL bytes. */
    in = rt_with_body(nul_body, sizeof(nul_body) - 1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_contains\",\"value\":\"EXCEEDED\","
                            "\"case_insensitive\":true}",
                            &in),
                    1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_contains\",\"value\":\"b\\u0000q\"}", &in), 1);
    in = rt_with_body(nul_body, 2);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_contains\",\"value\":\"quota\"}", &in), 0);
    in = rt_with_body(NULL, 0);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_contains\",\"value\":\"quota\"}", &in), 0);
    CU_ASSERT_EQUAL(rt_eval("{\"not\":{\"type\":\"body_contains\",\"value\":\"quota\"}}", &in), 1);
}

static void test_body_regex_leaf(void)
{
    static const char nul_body[] = "{\0\"error\": \"rate limited\"}";
    struct rule_input in = BODY("{\"error\":\"Rate limit reached\"}");

    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"[Rr]ate.limit\"}", &in), 1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"^rate\"}", &in), 0);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"(?i)RATE LIMIT\"}", &in), 1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"reached\\\"}$\"}", &in), 1);
    in = rt_with_body(nul_body, sizeof(nul_body) - 1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"rate limited\"}", &in), 1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"\\\\{\\\\x00\\\"\"}", &in), 1);
    in = BODY("\xff\xfe rate"); /* not UTF-8: matched as bytes */
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"rate$\"}", &in), 1);
    in = rt_with_body(NULL, 0);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\".*\"}", &in), 0);
    in = rt_with_body("", 0);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"body_regex\",\"pattern\":\"^$\"}", &in), 1);
}

static void test_header_leaf(void)
{
    static const struct rule_header hs[] = {
        {"Content-Type", 12, "application/json", 16},
        {"Retry-After", 11, " 30 ", 4},
        {"X-Tag", 5, "one", 3},
        {"x-tag", 5, "two", 3},
        {"X-Empty", 7, "", 0},
    };
    const struct {
        const char *cond;
        int want;
    } cases[] = {
        {"{\"type\":\"header\",\"name\":\"retry-after\",\"op\":\"exists\"}", 1},
        {"{\"type\":\"header\",\"name\":\"RETRY-AFTER\",\"op\":\"exists\",\"value\":\"x\"}", 1},
        {"{\"type\":\"header\",\"name\":\"Retry\",\"op\":\"exists\"}", 0},
        {"{\"type\":\"header\",\"name\":\"x-missing\",\"op\":\"exists\"}", 0},
        {"{\"type\":\"header\",\"name\":\"retry-after\",\"op\":\"eq\",\"value\":\"30\"}", 1},
        {"{\"type\":\"header\",\"name\":\"retry-after\",\"op\":\"eq\",\"value\":\"3\"}", 0},
        {"{\"type\":\"header\",\"name\":\"content-type\",\"op\":\"eq\","
         "\"value\":\"APPLICATION/JSON\"}",
         0},
        {"{\"type\":\"header\",\"name\":\"content-type\",\"op\":\"contains\",\"value\":\"json\"}",
         1},
        {"{\"type\":\"header\",\"name\":\"content-type\",\"op\":\"contains\",\"value\":\"xml\"}",
         0},
        {"{\"type\":\"header\",\"name\":\"content-type\",\"op\":\"regex\","
         "\"value\":\"^application/\"}",
         1},
        {"{\"type\":\"header\",\"name\":\"retry-after\",\"op\":\"regex\",\"value\":\"^[0-9]+$\"}",
         1},
        {"{\"type\":\"header\",\"name\":\"content-type\",\"op\":\"regex\",\"value\":\"^text/\"}",
         0},
        /* Any header of the name may match. */
        {"{\"type\":\"header\",\"name\":\"X-TAG\",\"op\":\"eq\",\"value\":\"two\"}", 1},
        {"{\"type\":\"header\",\"name\":\"x-tag\",\"op\":\"eq\",\"value\":\"one\"}", 1},
        {"{\"type\":\"header\",\"name\":\"x-tag\",\"op\":\"eq\",\"value\":\"three\"}", 0},
        {"{\"type\":\"header\",\"name\":\"x-empty\",\"op\":\"eq\",\"value\":\"\"}", 1},
        {"{\"type\":\"header\",\"name\":\"x-empty\",\"op\":\"contains\",\"value\":\"\"}", 1},
    };
    struct rule_input in = rt_with_status(429);
    size_t i;

    in.headers = hs;
    in.nheaders = NELEM(hs);
    for (i = 0; i < NELEM(cases); i++) {
        int got = rt_eval(cases[i].cond, &in);
        if (got != cases[i].want)
            fprintf(stderr, "\n%s: got %d\n", cases[i].cond, got);
        CU_ASSERT_EQUAL(got, cases[i].want);
    }
    in.headers = NULL;
    in.nheaders = 0;
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"header\",\"name\":\"x-tag\",\"op\":\"exists\"}", &in), 0);
}

static void test_latency_and_transport_leaves(void)
{
    struct rule_input in = rt_with_status(200);
    const char *const transports[] = {"timeout", "connect", "any", "proxy"};
    /* want[kind][value]: TRANSPORT_NONE, _TIMEOUT, _CONNECT, _OTHER, _PROXY. */
    const int want[5][4] = {{0, 0, 0, 0}, {1, 0, 1, 0}, {0, 1, 1, 0}, {0, 0, 1, 0}, {0, 0, 1, 1}};
    char cond[128];
    size_t k, v;

    in.latency_ms = 1000;
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"latency\",\"op\":\"gt\",\"value_ms\":999}", &in), 1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"latency\",\"op\":\"gt\",\"value_ms\":1000}", &in), 0);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"latency\",\"op\":\"lt\",\"value_ms\":1001}", &in), 1);
    CU_ASSERT_EQUAL(rt_eval("{\"type\":\"latency\",\"op\":\"lt\",\"value_ms\":1000}", &in), 0);
    for (k = 0; k < 5; k++) {
        for (v = 0; v < 4; v++) {
            in = rt_with_status(k == 0 ? 200 : 0);
            in.transport = (enum transport_kind)k;
            snprintf(cond, sizeof(cond), "{\"type\":\"transport_error\",\"value\":\"%s\"}",
                     transports[v]);
            CU_ASSERT_EQUAL(rt_eval(cond, &in), want[k][v]);
        }
    }
}

static void test_combinators(void)
{
    struct rule_input in = BODY("{\"error\":{\"code\":\"rate_limit\"}}");
    const struct {
        const char *cond;
        int want;
    } cases[] = {
        {"{\"all\":[{\"type\":\"status\",\"op\":\"eq\",\"value\":429},"
         "{\"type\":\"body_contains\",\"value\":\"rate\"}]}",
         1},
        {"{\"all\":[{\"type\":\"status\",\"op\":\"eq\",\"value\":429},"
         "{\"type\":\"body_contains\",\"value\":\"nope\"}]}",
         0},
        {"{\"all\":[" S500 "]}", 0},
        {"{\"any\":[" S500 ",{\"type\":\"body_contains\",\"value\":\"rate\"}]}", 1},
        {"{\"any\":[" S500 ",{\"type\":\"body_contains\",\"value\":\"nope\"}]}", 0},
        {"{\"not\":" S500 "}", 1},
        {"{\"not\":{\"not\":" S500 "}}", 0},
        {"{\"any\":[" S500 ",{\"all\":[{\"type\":\"status\",\"op\":\"range\",\"value\":[400,499]},"
         "{\"not\":{\"type\":\"json_path\",\"path\":\"$.error.code\",\"op\":\"eq\","
         "\"value\":\"quota\"}},{\"type\":\"json_path\",\"path\":\"$.error.code\",\"op\":\"eq\","
         "\"value\":\"rate_limit\"}]}]}",
         1},
        {"{\"all\":[{\"any\":[" S500 ",{\"not\":{\"type\":\"status\",\"op\":\"eq\","
         "\"value\":429}}]},{\"type\":\"body_contains\",\"value\":\"rate\"}]}",
         0},
    };
    size_t i;

    in.status = 429;
    for (i = 0; i < NELEM(cases); i++)
        CU_ASSERT_EQUAL(rt_eval(cases[i].cond, &in), cases[i].want);
}

static void test_short_circuit(void)
{
    struct rule_input in = BODY("{\"a\":1}");
    char err[256];
    struct rule *r =
        rt_compile(WITH_COND("{\"all\":[" S500 ",{\"type\":\"json_path\",\"path\":\"$.a\","
                             "\"op\":\"exists\"}]}"),
                   err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_FALSE(rule_matches(r, &in));
    CU_ASSERT_FALSE(in.body_parsed); /* the status leaf decided */
    in.status = 500;
    CU_ASSERT_TRUE(rule_matches(r, &in));
    CU_ASSERT_TRUE(in.body_parsed);
    rule_input_done(&in);
    rule_free(r);
    CU_ASSERT_FALSE(rule_matches(NULL, &in));
}

/* Many threads evaluating one compiled rule at once. */
/* One thread's share of the evaluations. */
struct worker {
    const struct rule *r;
    int matched;
};

static void *evaluate_many(void *arg)
{
    struct worker *w = arg;
    static const struct rule_header hs[] = {{"Retry-After", 11, "5", 1}};
    int i;

    for (i = 0; i < 500; i++) {
        struct rule_input in = BODY("{\"error\":{\"code\":\"rate_limit\",\"n\":3}}");
        in.status = 429;
        in.headers = hs;
        in.nheaders = 1;
        w->matched += rule_matches(w->r, &in);
        rule_input_done(&in);
    }
    return NULL;
}

static void test_threads_share_a_rule(void)
{
    char err[256];
    struct rule *r =
        rt_compile(WITH_COND("{\"all\":[{\"type\":\"body_regex\",\"pattern\":\"rate_l(i)mit\"},"
                             "{\"type\":\"json_path\",\"path\":\"$.error.code\",\"op\":\"regex\","
                             "\"value\":\"^rate\"},{\"type\":\"json_path\",\"path\":\"$.error.n\","
                             "\"op\":\"eq\",\"value\":3.0},{\"type\":\"header\","
                             "\"name\":\"retry-after\",\"op\":\"regex\",\"value\":\"^[0-9]+$\"}]}"),
                   err, sizeof(err));
    struct worker w[4];
    pthread_t t[4];
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (i = 0; i < 4; i++) {
        w[i].r = r;
        w[i].matched = 0;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, evaluate_many, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(w[i].matched, 500);
    }
    rule_free(r);
}

void suite_rule_eval(void)
{
    ADD_SUITE("rule_eval", TEST(test_status_leaf), TEST(test_body_contains_leaf),
              TEST(test_body_regex_leaf), TEST(test_header_leaf),
              TEST(test_latency_and_transport_leaves), TEST(test_combinators),
              TEST(test_short_circuit), TEST(test_threads_share_a_rule));
}
