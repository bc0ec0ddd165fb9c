/* core/shape.c: the model_allow wildcards, the model map, body_set on
 * JSON bodies, and the refusals of what cannot be saved. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "core/shape.h"
#include "suites.h"

static struct shape *parsed(const char *allow, const char *map, const char *set)
{
    struct shape *s = NULL;

    CU_ASSERT_PTR_NULL(shape_parse(allow, map, set, &s));
    return s;
}

/* Whether s shapes body into want ("" when the body stays as it is). */
static void expect_body(const struct shape *s, const char *body, const char *want)
{
    size_t n = 0;
    char *out = shape_body(s, body, strlen(body), &n);

    CU_ASSERT_STRING_EQUAL(out != NULL ? out : "", want);
    if (out != NULL)
        CU_ASSERT_EQUAL(n, strlen(out));
    free(out);
}

static void test_glob(void)
{
    CU_ASSERT_TRUE(shape_glob("gpt-4o", "gpt-4o"));
    CU_ASSERT_FALSE(shape_glob("gpt-4o", "gpt-4o-mini"));
    CU_ASSERT_TRUE(shape_glob("gpt-4o*", "gpt-4o-mini"));
    CU_ASSERT_TRUE(shape_glob("gpt-4o*", "gpt-4o"));
    CU_ASSERT_TRUE(shape_glob("*", ""));
    CU_ASSERT_TRUE(shape_glob("*mini", "gpt-4o-mini"));
    CU_ASSERT_FALSE(shape_glob("*mini", "gpt-4o-mini-x"));
    CU_ASSERT_TRUE(shape_glob("gpt-*-mini*", "gpt-4o-mini-2024"));
    CU_ASSERT_TRUE(shape_glob("a*b*c", "axxbyybzc"));
    CU_ASSERT_FALSE(shape_glob("a*b*c", "axxbyybz"));
    CU_ASSERT_TRUE(shape_glob("**a", "a"));
    CU_ASSERT_FALSE(shape_glob("", "a"));
    CU_ASSERT_FALSE(shape_glob("claude*", "gpt-4o"));
}

static void test_allow_and_map(void)
{
    struct shape *s = parsed("[\"gpt-4o*\", \"claude-3-5-sonnet\"]",
                             "{\"fast\": \"gpt-4o-mini\", \"smart\": \"gpt-4o\"}", "null");

    CU_ASSERT_TRUE(shape_model_allowed(s, "gpt-4o-mini"));
    CU_ASSERT_TRUE(shape_model_allowed(s, "claude-3-5-sonnet"));
    CU_ASSERT_FALSE(shape_model_allowed(s, "claude-3-opus"));
    CU_ASSERT_FALSE(shape_model_allowed(s, "fast")); /* the name asked for is checked */
    CU_ASSERT_STRING_EQUAL(shape_model_mapped(s, "fast"), "gpt-4o-mini");
    CU_ASSERT_PTR_NULL(shape_model_mapped(s, "gpt-4o"));
    CU_ASSERT_TRUE(shape_model_allowed(NULL, "anything"));
    shape_free(s);
    /* Nothing set: no shape at all. */
    s = parsed(NULL, "", "null");
    CU_ASSERT_PTR_NULL(s);
    s = parsed("[]", "{}", "{}");
    CU_ASSERT_PTR_NULL(s);
}

static void test_path(void)
{
    struct shape *s = parsed(NULL, "{\"flash\": \"gemini-2.0-flash\"}", NULL);
    char *p = shape_path(s, "/v1beta/models/flash:generateContent");

    CU_ASSERT_STRING_EQUAL(p, "/v1beta/models/gemini-2.0-flash:generateContent");
    free(p);
    CU_ASSERT_PTR_NULL(shape_path(s, "/v1beta/models/other:generateContent"));
    CU_ASSERT_PTR_NULL(shape_path(s, "/v1/chat/completions"));
    p = shape_path(s, "/v1beta/models/flash");
    CU_ASSERT_STRING_EQUAL(p, "/v1beta/models/gemini-2.0-flash");
    free(p);
    shape_free(s);
}

static void test_body_map_and_set(void)
{
    struct shape *s = parsed(NULL, "{\"fast\": \"gpt-4o-mini\"}",
                             "{\"$.stream_options.include_usage\": true, \"$.temperature\": 0,"
                             " \"$['a']['b']['c']\": {\"d\": [1, null]}}");

    expect_body(s, "{\"model\": \"fast\", \"temperature\": 0.7, \"messages\": []}",
                "{\"model\":\"gpt-4o-mini\",\"temperature\":0,\"messages\":[],"
                "\"stream_options\":{\"include_usage\":true},"
                "\"a\":{\"b\":{\"c\":{\"d\":[1,null]}}}}");
    /* An existing object keeps its other members; a member on the way that
     * is not an object becomes one. */
    expect_body(s, "{\"stream_options\": {\"x\": 1}, \"a\": 5}",
                "{\"stream_options\":{\"x\":1,\"include_usage\":true},"
                "\"a\":{\"b\":{\"c\":{\"d\":[1,null]}}},\"temperature\":0}");
    /* Roots that are not objects, and text that is not JSON, stay. */
    expect_body(s, "[1, 2]", "");
    expect_body(s, "\"model\"", "");
    expect_body(s, "{\"model\": \"fast\"} trailing", "");
    expect_body(s, "model=fast", "");
    shape_free(s);
}

static void test_body_map_only(void)
{
    struct shape *s = parsed(NULL, "{\"fast\": \"gpt-4o-mini\"}", NULL);

    /* Only the map: a body whose model is no alias stays byte for byte. */
    expect_body(s, "{\"model\": \"gpt-4o\", \"x\": 1}", "");
    expect_body(s, "{\"model\": 7}", "");
    expect_body(s, "{\"model\":\"fast\",\"url\":\"a/b\"}\n",
                "{\"model\":\"gpt-4o-mini\",\"url\":\"a/b\"}");
    shape_free(s);
}

/* Whether the fields are refused with a message that starts with want. */
static void refused(const char *allow, const char *map, const char *set, const char *want)
{
    struct shape *s = NULL;
    const char *why = shape_parse(allow, map, set, &s);

    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(strncmp(why, want, strlen(want)), 0);
}

static void test_refusals(void)
{
    char many[64 * 6 + 8];
    size_t i, n = 0;

    refused("{}", NULL, NULL, "model_allow: must be an array");
    refused("[\"\"]", NULL, NULL, "model_allow[0]: must be a pattern");
    refused("[\"ok\", 3]", NULL, NULL, "model_allow[1]:");
    refused(NULL, "[]", NULL, "model_map: must be an object");
    refused(NULL, "{\"a\": 1}", NULL, "model_map: \"a\":");
    refused(NULL, "{\"a\": \"\"}", NULL, "model_map: \"a\":");
    refused(NULL, NULL, "{\"$.messages[0].role\": 1}", "body_set: \"$.messages[0].role\": only");
    refused(NULL, NULL, "{\"$\": 1}", "body_set: \"$\": only");
    refused(NULL, NULL, "{\"model\": 1}", "body_set: \"model\":");
    refused(NULL, NULL, "[]", "body_set: must be an object");
    refused(NULL, NULL, "{nope", "body_set: must be JSON");
    n += (size_t)snprintf(many, sizeof(many), "[");
    for (i = 0; i < 65; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"m%zu\"", i ? "," : "", i % 10);
    snprintf(many + n, sizeof(many) - n, "]");
    refused(many, NULL, NULL, "model_allow: at most 64");
}

void suite_shape(void)
{
    ADD_SUITE("shape", TEST(test_glob), TEST(test_allow_and_map), TEST(test_path),
              TEST(test_body_map_and_set), TEST(test_body_map_only), TEST(test_refusals));
}
