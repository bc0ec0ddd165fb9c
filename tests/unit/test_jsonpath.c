/* JSON paths on their own, and the comparison rules of json_path leaves as
 * rules see them. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/rule/rule.h"
#include "suites.h"
#include "core/nelem.h"

static const char doc_text[] =
    "{\"error\":{\"code\":\"rate_limit\",\"status\":429,\"details\":[{\"reason\":\"quota\"}]},"
    "\"choices\":[{\"finish_reason\":\"stop\",\"index\":0},{\"finish_reason\":\"length\"}],"
    "\"odd key\":[10,20,30],\"it's\":{\"\\\"q\\\"\":1},\"n\":null,\"t\":true,\"d\":1.5,"
    "\"$x\":\"dollar\",\"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\":\"utf8\",\"\":\"empty\","
    "\"a-b_c\":7}";

/* Looks path up in the document: the value's JSON text, "(null)" for a
 * present null, "(missing)" when the path does not exist, or the compile
 * error. */
static const char *lookup(const char *path)
{
    static char out[256];
    struct json_object *doc = json_tokener_parse(doc_text), *v;
    struct jsonpath *p;
    char err[128] = "";
    bool found = true;

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    p = jsonpath_compile(path, err, sizeof(err));
    if (p == NULL) {
        snprintf(out, sizeof(out), "error: %s", err);
    } else {
        v = jsonpath_get(p, doc, &found);
        if (!found)
            snprintf(out, sizeof(out), "(missing)");
        else if (v == NULL)
            snprintf(out, sizeof(out), "(null)");
        else
            snprintf(out, sizeof(out), "%s", json_object_to_json_string_ext(v, 0));
        if (!found)
            CU_ASSERT_PTR_NULL(v);
    }
    jsonpath_free(p);
    json_object_put(doc);
    return out;
}

static void test_paths_find_values(void)
{
    const struct {
        const char *path, *want;
    } cases[] = {
        {"$.error.code", "\"rate_limit\""},
        {"$.error.status", "429"},
        {"$.error.details[0].reason", "\"quota\""},
        {"$.choices[0].finish_reason", "\"stop\""},
        {"$.choices[1].finish_reason", "\"length\""},
        {"$.choices[0]['index']", "0"},
        {"$['odd key'][2]", "30"},
        {"$[\"odd key\"][0]", "10"},
        {"$['it\\'s']['\"q\"']", "1"},
        {"$[\"it's\"][\"\\\"q\\\"\"]", "1"},
        {"$.n", "(null)"},
        {"$.t", "true"},
        {"$.d", "1.5"},
        {"$.$x", "\"dollar\""},
        {"$.\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", "\"utf8\""},
        {"$['']", "\"empty\""},
        {"$.a-b_c", "7"},
        {"$.missing", "(missing)"},
        {"$.choices[2]", "(missing)"},
        {"$.choices[2].finish_reason", "(missing)"},
        {"$.error.code.x", "(missing)"},
        {"$.choices.finish_reason", "(missing)"},
        {"$.error[0]", "(missing)"},
        {"$.n.x", "(missing)"},
        {"$.n[0]", "(missing)"},
        {"$['odd key'][999999999]", "(missing)"},
        {"$.Error", "(missing)"},
    };
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        const char *got = lookup(cases[i].path);
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "\npath %s: got %s, want %s\n", cases[i].path, got, cases[i].want);
        CU_ASSERT_STRING_EQUAL(got, cases[i].want);
    }
}

static void test_root_is_the_document(void)
{
    struct json_object *doc = json_tokener_parse("[1,2]");
    struct jsonpath *p = jsonpath_compile("$", NULL, 0);
    bool found = false;

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_EQUAL(jsonpath_get(p, doc, &found), doc);
    CU_ASSERT_TRUE(found);
    CU_ASSERT_PTR_NULL(jsonpath_get(p, NULL, &found)); /* a JSON null document */
    CU_ASSERT_TRUE(found);
    CU_ASSERT_PTR_NULL(jsonpath_get(NULL, doc, &found));
    CU_ASSERT_FALSE(found);
    jsonpath_free(p);
    json_object_put(doc);
}

static void test_bad_paths_are_refused(void)
{
    char long_path[1100], many_steps[200];
    const struct {
        const char *path, *want;
    } cases[] = {
        {"", "error: must start with $"},
        {"error.code", "error: must start with $"},
        {".error", "error: must start with $"},
        {"$.", "error: expected a name after . at offset 1"},
        {"$..a", "error: expected a name after . at offset 1"},
        {"$.a.", "error: expected a name after . at offset 3"},
        {"$.a b", "error: unexpected byte 0x20 at offset 3"},
        {"$a", "error: unexpected 'a' at offset 1"},
        {"$$", "error: unexpected '$' at offset 1"},
        {"$.a}", "error: unexpected '}' at offset 3"},
        {"$.*", "error: wildcards are not supported (offset 2)"},
        {"$[*]", "error: wildcards are not supported (offset 2)"},
        {"$[", "error: expected an index or a quoted name after [ at offset 1"},
        {"$[a]", "error: expected an index or a quoted name after [ at offset 1"},
        {"$[0", "error: missing ] for the [ at offset 1"},
        {"$['a'", "error: missing ] for the [ at offset 1"},
        {"$['a'x]", "error: unexpected 'x' at offset 5"},
        {"$[1x]", "error: unexpected 'x' at offset 3"},
        {"$['a", "error: unterminated name starting at offset 2"},
        {"$['a\\']", "error: unterminated name starting at offset 2"},
        {"$[-1]", "error: negative index at offset 2"},
        {"$[1234567890]", "error: index too large at offset 2"},
        {"$[0]]", "error: unexpected ']' at offset 4"},
        {"$.a\xff", "error: must be valid UTF-8"},
        {long_path, "error: must be at most 1024 bytes"},
        {many_steps, "error: must have at most 64 steps"},
    };
    size_t i;

    long_path[0] = '$';
    long_path[1] = '.';
    memset(long_path + 2, 'a', 1023);
    long_path[1025] = '\0';
    many_steps[0] = '$';
    for (i = 0; i < 65; i++)
        memcpy(many_steps + 1 + 2 * i, ".a", 2);
    many_steps[1 + 2 * 65] = '\0';
    for (i = 0; i < NELEM(cases); i++) {
        const char *got = lookup(cases[i].path);
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "\npath %.60s: got %s, want %s\n", cases[i].path, got, cases[i].want);
        CU_ASSERT_STRING_EQUAL(got, cases[i].want);
    }
    /* The limits themselves are fine. */
    long_path[1024] = '\0';
    CU_ASSERT_STRING_EQUAL(lookup(long_path), "(missing)");
    many_steps[1 + 2 * 64] = '\0';
    CU_ASSERT_STRING_EQUAL(lookup(many_steps), "(missing)");
}

static const char cmp_body[] =
    "{\"s\":\"429\",\"n\":429,\"f\":429.0,\"neg\":-1.5,\"str\":\"hello world\",\"b\":true,"
    "\"z\":null,\"arr\":[1,\"two\",true,null,2.5],\"obj\":{\"k\":1},"
    "\"big\":12345678901234567890,\"num_s\":\"1e3\",\"lead\":\"0429\",\"sp\":\" 429\","
    "\"nan\":NaN}";

/* Evaluates a json_path leaf against body: 1 or 0, or -1 when the rule
 * does not compile. */
static int json_leaf(const char *body, const char *path, const char *op, const char *value)
{
    char text[512], err[256] = "";
    struct json_object *j;
    struct rule *r;
    struct rule_input in = {0};
    int got;

    snprintf(text, sizeof(text),
             "{\"name\":\"t\",\"condition\":{\"type\":\"json_path\",\"path\":\"%s\",\"op\":\"%s\""
             "%s%s},\"actions\":[{\"type\":\"retry\"}]}",
             path, op, value != NULL ? ",\"value\":" : "", value != NULL ? value : "");
    j = json_tokener_parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    r = rule_compile(j, err, sizeof(err));
    json_object_put(j);
    if (r == NULL)
        return -1;
    in.body = body;
    in.body_len = body != NULL ? strlen(body) : 0;
    got = rule_matches(r, &in);
    rule_input_done(&in);
    rule_free(r);
    return got;
}

static const struct cmp_case {
    const char *path, *op, *value;
    int want;
} cmp_cases[] = {
    /* exists, also for null; a missing path makes every op false. */
    {"$.z", "exists", NULL, 1},
    {"$.obj.k", "exists", NULL, 1},
    {"$", "exists", NULL, 1},
    {"$.missing", "exists", NULL, 0},
    {"$.missing", "eq", "1", 0},
    {"$.missing", "ne", "1", 0},
    {"$.missing", "contains", "\"x\"", 0},
    {"$.missing", "gt", "0", 0},
    {"$.missing", "lt", "0", 0},
    {"$.missing", "regex", "\"\"", -1}, /* an empty pattern is refused */
    {"$.missing", "regex", "\".*\"", 0},
    /* eq between numbers, integer or not. */
    {"$.n", "eq", "429", 1},
    {"$.n", "eq", "429.0", 1},
    {"$.f", "eq", "429", 1},
    {"$.n", "eq", "430", 0},
    {"$.neg", "eq", "-1.5", 1},
    {"$.neg", "eq", "-1.25", 0},
    {"$.big", "eq", "12345678901234567890", 1},
    {"$.nan", "eq", "0", 0},
    /* A string that is entirely a number against a number. */
    {"$.s", "eq", "429", 1},
    {"$.n", "eq", "\"429\"", 1},
    {"$.s", "eq", "429.0", 1},
    {"$.num_s", "eq", "1000", 1},
    {"$.lead", "eq", "429", 0}, /* 0429 is not a JSON number */
    {"$.sp", "eq", "429", 0},
    {"$.str", "eq", "0", 0},
    /* Two strings compare byte for byte, even numeric ones. */
    {"$.s", "eq", "\"429\"", 1},
    {"$.s", "eq", "\"429.0\"", 0},
    {"$.str", "eq", "\"hello world\"", 1},
    {"$.str", "eq", "\"Hello world\"", 0},
    {"$.str", "eq", "\"hello\"", 0},
    /* Booleans and null by value, never equal to other types. */
    {"$.b", "eq", "true", 1},
    {"$.b", "eq", "false", 0},
    {"$.b", "eq", "\"true\"", 0},
    {"$.b", "eq", "1", 0},
    {"$.z", "eq", "null", 1},
    {"$.z", "eq", "\"null\"", 0},
    {"$.z", "eq", "0", 0},
    {"$.n", "eq", "null", 0},
    {"$.obj", "eq", "1", 0},
    {"$.arr", "eq", "1", 0},
    /* ne is the opposite of eq, for present paths. */
    {"$.n", "ne", "430", 1},
    {"$.n", "ne", "429", 0},
    {"$.s", "ne", "429", 0},
    {"$.obj", "ne", "1", 1},
    {"$.z", "ne", "null", 0},
    {"$.b", "ne", "\"true\"", 1},
    /* contains: substrings of strings, the value as text if need be. */
    {"$.str", "contains", "\"lo wo\"", 1},
    {"$.str", "contains", "\"xyz\"", 0},
    {"$.str", "contains", "\"\"", 1},
    {"$.s", "contains", "42", 1},
    {"$.s", "contains", "43", 0},
    {"$.b", "contains", "\"t\"", 0},
    {"$.n", "contains", "4", 0},
    {"$.obj", "contains", "\"k\"", 0},
    /* contains: an element of an array equal by the eq rules. */
    {"$.arr", "contains", "1", 1},
    {"$.arr", "contains", "1.0", 1},
    {"$.arr", "contains", "\"1\"", 1},
    {"$.arr", "contains", "\"two\"", 1},
    {"$.arr", "contains", "\"tw\"", 0},
    {"$.arr", "contains", "true", 1},
    {"$.arr", "contains", "null", 1},
    {"$.arr", "contains", "2.5", 1},
    {"$.arr", "contains", "3", 0},
    /* gt / lt: numbers and numeric strings only. */
    {"$.n", "gt", "428", 1},
    {"$.n", "gt", "429", 0},
    {"$.n", "lt", "430", 1},
    {"$.n", "lt", "429", 0},
    {"$.f", "gt", "428.5", 1},
    {"$.s", "gt", "400", 1},
    {"$.n", "gt", "\"400\"", 1},
    {"$.neg", "lt", "0", 1},
    {"$.big", "gt", "9223372036854775807", 1},
    {"$.str", "gt", "1", 0},
    {"$.b", "gt", "0", 0},
    {"$.z", "lt", "1", 0},
    {"$.arr", "gt", "0", 0},
    {"$.nan", "gt", "0", 0},
    {"$.nan", "lt", "0", 0},
    /* regex: strings as they are, numbers and booleans as JSON text. */
    {"$.str", "regex", "\"^hello\"", 1},
    {"$.str", "regex", "\"^world\"", 0},
    {"$.n", "regex", "\"^42\"", 1},
    {"$.f", "regex", "\"^429\\\\.0$\"", 1},
    {"$.b", "regex", "\"^true$\"", 1},
    {"$.z", "regex", "\"null\"", 0},
    {"$.arr", "regex", "\".\"", 0},
    {"$.obj", "regex", "\".\"", 0},
};

static void test_comparison_rules(void)
{
    size_t i;

    for (i = 0; i < NELEM(cmp_cases); i++) {
        const struct cmp_case *c = &cmp_cases[i];
        int got = json_leaf(cmp_body, c->path, c->op, c->value);
        if (got != c->want)
            fprintf(stderr, "\n%s %s %s: got %d, want %d\n", c->path, c->op,
                    c->value != NULL ? c->value : "", got, c->want);
        CU_ASSERT_EQUAL(got, c->want);
    }
}

static void test_bodies_that_are_not_json(void)
{
    static const char with_nul[] = "{\"a\":1}\0";
    struct rule_input in = {0};
    struct json_object *j;
    struct rule *r;
    char err[128];

    CU_ASSERT_EQUAL(json_leaf("not json", "$", "exists", NULL), 0);
    CU_ASSERT_EQUAL(json_leaf("not json", "$.a", "ne", "1"), 0);
    CU_ASSERT_EQUAL(json_leaf("{\"a\":1} x", "$.a", "exists", NULL), 0);
    CU_ASSERT_EQUAL(json_leaf("{\"a\":1", "$.a", "exists", NULL), 0); /* truncated */
    CU_ASSERT_EQUAL(json_leaf("", "$", "exists", NULL), 0);
    CU_ASSERT_EQUAL(json_leaf(NULL, "$", "exists", NULL), 0);
    CU_ASSERT_EQUAL(json_leaf(" {\"a\":1}\r\n", "$.a", "eq", "1"), 1);
    CU_ASSERT_EQUAL(json_leaf("123", "$", "eq", "123"), 1);
    CU_ASSERT_EQUAL(json_leaf("\"x\"", "$", "eq", "\"x\""), 1);
    CU_ASSERT_EQUAL(json_leaf("[1,[2,3]]", "$[1][0]", "eq", "2"), 1);

    /* A NUL byte after the value is not JSON either. */
    j = json_tokener_parse("{\"name\":\"t\",\"condition\":{\"type\":\"json_path\",\"path\":\"$.a\","
                           "\"op\":\"exists\"},\"actions\":[{\"type\":\"retry\"}]}");
    r = rule_compile(j, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    in.body = with_nul;
    in.body_len = sizeof(with_nul) - 1;
    CU_ASSERT_FALSE(rule_matches(r, &in));
    rule_input_done(&in);
    in.body_len = sizeof(with_nul) - 2;
    CU_ASSERT_TRUE(rule_matches(r, &in));
    rule_input_done(&in);
    rule_free(r);
    json_object_put(j);
}

static void test_body_is_parsed_once(void)
{
    struct json_object *j = json_tokener_parse(
        "{\"name\":\"t\",\"condition\":{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"eq\","
        "\"value\":1},\"actions\":[{\"type\":\"retry\"}]}");
    struct rule_input in = {0};
    struct rule *r;
    char err[128];

    r = rule_compile(j, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    in.body = "{\"a\":1}";
    in.body_len = 7;
    CU_ASSERT_TRUE(rule_matches(r, &in));
    CU_ASSERT_TRUE(in.body_parsed);
    CU_ASSERT_PTR_NOT_NULL(in.parsed_body);
    /* The cache answers now, whatever the body says. */
    in.body = "{\"a\":2}";
    CU_ASSERT_TRUE(rule_matches(r, &in));
    rule_input_done(&in);
    CU_ASSERT_FALSE(in.body_parsed);
    CU_ASSERT_PTR_NULL(in.parsed_body);
    CU_ASSERT_FALSE(rule_matches(r, &in));
    rule_input_done(&in);
    /* A body that is not JSON is remembered as such. */
    in.body = "nope";
    in.body_len = 4;
    CU_ASSERT_FALSE(rule_matches(r, &in));
    CU_ASSERT_TRUE(in.body_parsed);
    CU_ASSERT_PTR_NULL(in.parsed_body);
    rule_input_done(&in);
    rule_free(r);
    json_object_put(j);
}

void suite_jsonpath(void)
{
    ADD_SUITE("jsonpath", TEST(test_paths_find_values), TEST(test_root_is_the_document),
              TEST(test_bad_paths_are_refused), TEST(test_comparison_rules),
              TEST(test_bodies_that_are_not_json), TEST(test_body_is_parsed_once));
}
