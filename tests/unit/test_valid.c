#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/valid.h"
#include "suites.h"
#include "core/nelem.h"

static const char *check_even(const char *s)
{
    return strlen(s) % 2 == 0 ? NULL : "must have an even length";
}

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "name",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 8,
     .check = check_name_slug},
    {.name = "secret",
     .type = VT_STRING,
     .flags = VF_REQUIRED | VF_WRITEONLY | VF_NOUPDATE,
     .min = 2,
     .max = 10,
     .check = check_even},
    {.name = "count", .type = VT_INT, .min = 0, .max = 100, .def = "7"},
    {.name = "on", .type = VT_BOOL, .def = "true"},
    {.name = "until", .type = VT_TIME, .flags = VF_NULLABLE, .def = "null"},
    {.name = "ids", .type = VT_INT_LIST, .min = 0, .max = 3, .def = "[]"},
};

#define N (NELEM(fields))

/* Validates text; returns the message ("" when valid). */
static const char *run(const char *text, bool create)
{
    static char msg[256];
    struct json_object *o = json_tokener_parse(text);
    enum err e;

    msg[0] = '\0';
    e = valid_body(o, fields, N, create, msg, sizeof(msg));
    json_object_put(o);
    if (e == ERR_OK)
        return "";
    CU_ASSERT_EQUAL(e, ERR_INVALID_FIELD);
    return msg;
}

static void test_valid_bodies(void)
{
    CU_ASSERT_STRING_EQUAL(run("{\"name\":\"ab\",\"secret\":\"xy\"}", true), "");
    CU_ASSERT_STRING_EQUAL(run("{\"name\":\"ab\",\"secret\":\"xy\",\"count\":100,\"on\":false,"
                               "\"until\":\"2026-01-01T00:00:00Z\",\"ids\":[1,2]}",
                               true),
                           "");
    CU_ASSERT_STRING_EQUAL(run("{\"count\":3}", false), "");
    CU_ASSERT_STRING_EQUAL(run("{\"id\":99,\"count\":3}", false), ""); /* read-only ignored */
    CU_ASSERT_STRING_EQUAL(run("{\"until\":null}", false), "");
    /* Create-only fields pass here; the update compares them with the row. */
    CU_ASSERT_STRING_EQUAL(run("{\"secret\":\"xy\"}", false), "");
}

/* 63 bytes of ASCII. */
#define LONG63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

static void test_each_fault_names_its_field(void)
{
    const struct {
        const char *text, *want;
        bool create;
    } cases[] = {
        {"{\"secret\":\"xy\"}", "name: required", true},
        {"{\"name\":\"ab\"}", "secret: required", true},
        {"{\"bogus\":1}", "bogus: unknown field", false},
        /* A long unknown name shows its first 64 bytes, cut before the
         * two-byte character that would straddle the cut. */
        {"{\"" LONG63 "\xd0\xba\":1}", LONG63 ": unknown field", false},
        {"{\"name\":\"AB\"}", "name: use only a-z, 0-9, _ and -", false},
        {"{\"name\":\"\"}", "name: length must be 1 to 8", false},
        {"{\"name\":\"abcdefghi\"}", "name: length must be 1 to 8", false},
        {"{\"name\":5}", "name: must be a string", false},
        {"{\"name\":null}", "name: must be a string, not null", false},
        {"{\"name\":\"ab\",\"secret\":\"xyz\"}", "secret: must have an even length", true},
        {"{\"count\":101}", "count: must be between 0 and 100", false},
        {"{\"count\":-1}", "count: must be between 0 and 100", false},
        {"{\"count\":1.5}", "count: must be an integer", false},
        {"{\"count\":\"1\"}", "count: must be an integer", false},
        {"{\"on\":1}", "on: must be true or false", false},
        {"{\"until\":\"tomorrow\"}", "until: must be an RFC 3339 time such as 2026-11-29T01:02:03Z",
         false},
        {"{\"ids\":[1,2,3,4]}", "ids: must have 0 to 3 items", false},
        {"{\"ids\":[1,0]}", "ids: item 1 must be a positive integer", false},
        {"{\"ids\":[\"1\"]}", "ids: item 0 must be a positive integer", false},
        {"[1,2]", "body: must be a JSON object", false},
    };
    size_t i;

    for (i = 0; i < NELEM(cases); i++)
        CU_ASSERT_STRING_EQUAL(run(cases[i].text, cases[i].create), cases[i].want);
}

static void test_defaults_fill_missing_only(void)
{
    struct json_object *o = json_tokener_parse("{\"name\":\"ab\",\"count\":3}");

    valid_defaults(o, fields, N);
    CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                           "{\"name\":\"ab\",\"count\":3,\"on\":true,\"until\":null,\"ids\":[]}");
    json_object_put(o);
}

static void test_string_checks(void)
{
    CU_ASSERT_PTR_NULL(check_http_url("https://api.openai.com/v1"));
    CU_ASSERT_PTR_NULL(check_http_url("http://127.0.0.1:8080"));
    CU_ASSERT_PTR_NOT_NULL(check_http_url("ftp://x.org"));
    CU_ASSERT_PTR_NOT_NULL(check_http_url("https://x.org/v1?key=1"));
    CU_ASSERT_PTR_NOT_NULL(check_http_url("https://x.org/#frag"));
    CU_ASSERT_PTR_NOT_NULL(check_http_url("https://user:pw@x.org/"));
    CU_ASSERT_PTR_NOT_NULL(check_http_url("https://x.org/a b"));
    CU_ASSERT_PTR_NOT_NULL(check_http_url("https://"));
    CU_ASSERT_PTR_NULL(check_header_name("X-Goog-Api-Key"));
    CU_ASSERT_PTR_NOT_NULL(check_header_name("X Api"));
    CU_ASSERT_PTR_NOT_NULL(check_header_name("X:Api"));
    CU_ASSERT_PTR_NULL(check_url_path("/v1/models"));
    CU_ASSERT_PTR_NOT_NULL(check_url_path("v1/models"));
    CU_ASSERT_PTR_NOT_NULL(check_url_path("/v1\r\nX: y"));
    CU_ASSERT_PTR_NULL(check_query_name("api_key"));
    CU_ASSERT_PTR_NOT_NULL(check_query_name("api key"));
    CU_ASSERT_PTR_NULL(check_name_slug("open-ai_2"));
    CU_ASSERT_PTR_NOT_NULL(check_name_slug("OpenAI"));
}

/* valid_body_all lists every bad field, and its message is valid_body's. */
static void test_all_faults_at_once(void)
{
    struct json_object *o = json_tokener_parse("{\"count\":101,\"bogus\":1,\"on\":3}");
    struct json_object *faults = json_object_new_array(), *f0, *v;
    char msg[256] = "";

    CU_ASSERT_EQUAL(valid_body_all(o, fields, N, true, msg, sizeof(msg), faults),
                    ERR_INVALID_FIELD);
    CU_ASSERT_STRING_EQUAL(msg, "count: must be between 0 and 100");
    /* count, bogus, on, then the two required fields missing. */
    CU_ASSERT_EQUAL(json_object_array_length(faults), 5);
    f0 = json_object_array_get_idx(faults, 0);
    CU_ASSERT(json_object_object_get_ex(f0, "field", &v) &&
              strcmp(json_object_get_string(v), "count") == 0);
    CU_ASSERT(json_object_object_get_ex(json_object_array_get_idx(faults, 4), "field", &v) &&
              strcmp(json_object_get_string(v), "secret") == 0);
    json_object_put(faults);
    json_object_put(o);
}

/* A body of many unknown members gets at most VALID_FAULTS_MAX faults. */
static void test_faults_capped(void)
{
    struct json_object *o = json_object_new_object();
    struct json_object *faults = json_object_new_array();
    char msg[256], name[16];
    int i;

    for (i = 0; i < VALID_FAULTS_MAX * 3; i++) {
        snprintf(name, sizeof(name), "x%d", i);
        json_object_object_add(o, name, json_object_new_int(i));
    }
    CU_ASSERT_EQUAL(valid_body_all(o, fields, N, false, msg, sizeof(msg), faults),
                    ERR_INVALID_FIELD);
    CU_ASSERT_EQUAL(json_object_array_length(faults), VALID_FAULTS_MAX);
    json_object_put(faults);
    json_object_put(o);
}

void suite_valid(void)
{
    ADD_SUITE("valid", TEST(test_valid_bodies), TEST(test_each_fault_names_its_field),
              TEST(test_all_faults_at_once), TEST(test_faults_capped),
              TEST(test_defaults_fill_missing_only), TEST(test_string_checks));
}
