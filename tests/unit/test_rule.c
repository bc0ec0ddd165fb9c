/* The rule engine: compiling rules (defaults, flags, actions, every fault
 * with its place); test_rule_eval.c evaluates them. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/nelem.h"
#include "core/rule/rule.h"
#include "rule_helpers.h"
#include "suites.h"

static void test_defaults(void)
{
    char err[256];
    struct rule *r = rt_compile(WITH_COND(S500), err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->name, "r");
    CU_ASSERT_EQUAL(r->id, 0);
    CU_ASSERT_EQUAL(r->upstream_id, 0);
    CU_ASSERT_TRUE(r->enabled);
    CU_ASSERT_EQUAL(r->priority, 100);
    CU_ASSERT_EQUAL(r->threshold, 1);
    CU_ASSERT_EQUAL(r->window_s, 60);
    CU_ASSERT_EQUAL(r->cooldown_s, 0);
    CU_ASSERT_FALSE(r->stop);
    CU_ASSERT_FALSE(r->needs_body);
    CU_ASSERT_TRUE(r->has_retry);
    CU_ASSERT_FALSE(r->changes_key);
    CU_ASSERT_EQUAL(r->nactions, 1);
    CU_ASSERT_EQUAL(r->actions[0].type, ACTION_RETRY);
    CU_ASSERT_PTR_NULL(r->actions[0].message);
    CU_ASSERT_PTR_NULL(r->actions[0].webhook);
    CU_ASSERT_PTR_NOT_NULL(r->cond);
    rule_free(r);
    rule_free(NULL);
}

static void test_every_field_set(void)
{
    char err[256];
    struct rule *r =
        rt_compile("{\"id\":7,\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":null,"
                   "\"name\":\"openai 429\",\"upstream_id\":3,\"enabled\":false,\"priority\":-5,"
                   "\"condition\":" S500 ",\"actions\":[{\"type\":\"log\",\"message\":\"m\"}],"
                   "\"threshold\":5,\"window_s\":300,\"cooldown_s\":600,\"stop\":true}",
                   err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->id, 0); /* read-only fields are ignored */
    CU_ASSERT_STRING_EQUAL(r->name, "openai 429");
    CU_ASSERT_EQUAL(r->upstream_id, 3);
    CU_ASSERT_FALSE(r->enabled);
    CU_ASSERT_EQUAL(r->priority, -5);
    CU_ASSERT_EQUAL(r->threshold, 5);
    CU_ASSERT_EQUAL(r->window_s, 300);
    CU_ASSERT_EQUAL(r->cooldown_s, 600);
    CU_ASSERT_TRUE(r->stop);
    CU_ASSERT_FALSE(r->has_retry);
    CU_ASSERT_FALSE(r->changes_key);
    rule_free(r);

    /* Null upstream_id, the bounds themselves, and a 128-character name. */
    CU_ASSERT_STRING_EQUAL(
        rt_fault("{\"name\":\"r\",\"upstream_id\":null,\"priority\":-1000000,\"threshold\":1000000,"
                 "\"window_s\":31536000,\"cooldown_s\":31536000,\"condition\":" S500
                 ",\"actions\":[{\"type\":\"retry\"}]}"),
        "");
    CU_ASSERT_STRING_EQUAL(rt_fault("{\"name\":\"r\",\"priority\":1000000,\"threshold\":1,"
                                    "\"window_s\":1,\"condition\":" S500
                                    ",\"actions\":[{\"type\":\"retry\"}]}"),
                           "");
}

static void test_name_length_counts_characters(void)
{
    char text[1024], name[300];
    size_t i;

    for (i = 0; i < 128; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 2); /* é, two bytes */
    name[256] = '\0';
    snprintf(text, sizeof(text),
             "{\"name\":\"%s\",\"condition\":" S500 ","
             "\"actions\":[{\"type\":\"retry\"}]}",
             name);
    CU_ASSERT_STRING_EQUAL(rt_fault(text), "");
    memcpy(name + 256, "e", 2);
    snprintf(text, sizeof(text),
             "{\"name\":\"%s\",\"condition\":" S500 ","
             "\"actions\":[{\"type\":\"retry\"}]}",
             name);
    CU_ASSERT_STRING_EQUAL(rt_fault(text), "name: must be 1 to 128 characters long");
}

static void test_flags(void)
{
    const struct {
        const char *text;
        bool needs_body, has_retry, changes_key;
    } cases[] = {
        {WITH_COND(S500), false, true, false},
        {WITH_COND("{\"type\":\"body_contains\",\"value\":\"x\"}"), true, true, false},
        {WITH_COND("{\"not\":{\"type\":\"body_regex\",\"pattern\":\"x\"}}"), true, true, false},
        {WITH_COND("{\"any\":[" S500 ",{\"all\":[{\"type\":\"json_path\",\"path\":\"$\","
                   "\"op\":\"exists\"}]}]}"),
         true, true, false},
        {WITH_COND("{\"all\":[" S500 ",{\"type\":\"header\",\"name\":\"x\",\"op\":\"exists\"},"
                   "{\"type\":\"latency\",\"op\":\"gt\",\"value_ms\":1},"
                   "{\"type\":\"transport_error\",\"value\":\"any\"}]}"),
         false, true, false},
        {WITH_ACTIONS("[{\"type\":\"disable_key\"}]"), false, false, true},
        {WITH_ACTIONS("[{\"type\":\"ban_key\"}]"), false, false, true},
        {WITH_ACTIONS("[{\"type\":\"alert\"},{\"type\":\"log\",\"message\":\"x\"}]"), false, false,
         false},
        {WITH_ACTIONS("[{\"type\":\"retry\"},{\"type\":\"ban_key\"}]"), false, true, true},
    };
    char err[256];
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        struct rule *r = rt_compile(cases[i].text, err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(r->needs_body, cases[i].needs_body);
        CU_ASSERT_EQUAL(r->has_retry, cases[i].has_retry);
        CU_ASSERT_EQUAL(r->changes_key, cases[i].changes_key);
        rule_free(r);
    }
}

static void test_actions(void)
{
    char err[256];
    struct rule *r = rt_compile(
        WITH_ACTIONS("[{\"type\":\"disable_key\"},{\"type\":\"disable_key\",\"duration_s\":300},"
                     "{\"type\":\"disable_key\",\"until\":\"retry_after\",\"duration_s\":60},"
                     "{\"type\":\"disable_key\",\"until\":\"quota_reset\"},{\"type\":\"ban_key\"},"
                     "{\"type\":\"retry\"},{\"type\":\"alert\",\"message\":\"key \xc3\xa9\","
                     "\"webhook\":\"https://hooks.example.com/x\"},{\"type\":\"alert\","
                     "\"message\":null,\"webhook\":null},{\"type\":\"log\",\"message\":\"hit\"}]"),
        err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->nactions, 9);
    CU_ASSERT_EQUAL(r->actions[0].type, ACTION_DISABLE);
    CU_ASSERT_EQUAL(r->actions[0].duration_s, 0);
    CU_ASSERT_EQUAL(r->actions[0].until, UNTIL_DURATION);
    CU_ASSERT_EQUAL(r->actions[1].duration_s, 300);
    CU_ASSERT_EQUAL(r->actions[1].until, UNTIL_DURATION);
    CU_ASSERT_EQUAL(r->actions[2].until, UNTIL_RETRY_AFTER);
    CU_ASSERT_EQUAL(r->actions[2].duration_s, 60);
    CU_ASSERT_EQUAL(r->actions[3].until, UNTIL_QUOTA_RESET);
    CU_ASSERT_EQUAL(r->actions[4].type, ACTION_BAN);
    CU_ASSERT_EQUAL(r->actions[5].type, ACTION_RETRY);
    CU_ASSERT_EQUAL(r->actions[6].type, ACTION_ALERT);
    CU_ASSERT_STRING_EQUAL(r->actions[6].message, "key \xc3\xa9");
    CU_ASSERT_STRING_EQUAL(r->actions[6].webhook, "https://hooks.example.com/x");
    CU_ASSERT_EQUAL(r->actions[7].type, ACTION_ALERT);
    CU_ASSERT_PTR_NULL(r->actions[7].message);
    CU_ASSERT_PTR_NULL(r->actions[7].webhook);
    CU_ASSERT_EQUAL(r->actions[8].type, ACTION_LOG);
    CU_ASSERT_STRING_EQUAL(r->actions[8].message, "hit");
    CU_ASSERT_TRUE(r->has_retry);
    CU_ASSERT_TRUE(r->changes_key);
    rule_free(r);
}

static void test_action_scope(void)
{
    char err[256];
    struct rule *r = rt_compile(
        WITH_ACTIONS("[{\"type\":\"disable_key\"},{\"type\":\"disable_key\",\"scope\":\"key\"},"
                     "{\"type\":\"disable_key\",\"scope\":\"model\",\"until\":\"quota_reset\"},"
                     "{\"type\":\"disable_key\",\"scope\":null}]"),
        err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->nactions, 4);
    CU_ASSERT_EQUAL(r->actions[0].scope, SCOPE_KEY);
    CU_ASSERT_EQUAL(r->actions[1].scope, SCOPE_KEY);
    CU_ASSERT_EQUAL(r->actions[2].scope, SCOPE_MODEL);
    CU_ASSERT_EQUAL(r->actions[2].until, UNTIL_QUOTA_RESET);
    CU_ASSERT_EQUAL(r->actions[3].scope, SCOPE_KEY);
    rule_free(r);
    CU_ASSERT_STRING_EQUAL(
        rt_fault(WITH_ACTIONS("[{\"type\":\"disable_key\",\"scope\":\"models\"}]")),
        "actions[0].scope: must be key or model");
    CU_ASSERT_STRING_EQUAL(rt_fault(WITH_ACTIONS("[{\"type\":\"disable_key\",\"scope\":1}]")),
                           "actions[0].scope: must be key or model");
    CU_ASSERT_STRING_EQUAL(
        rt_fault(WITH_ACTIONS("[{\"type\":\"retry\"},{\"type\":\"ban_key\",\"scope\":\"model\"}]")),
        "actions[1].scope: unknown field");
}

/* A condition nested n levels deep (n - 1 "not"s around a status leaf). */
static const char *nested(size_t n)
{
    static char text[1024];
    size_t i, used = 0;

    used += (size_t)snprintf(text, sizeof(text), "{\"name\":\"r\",\"condition\":");
    for (i = 1; i < n; i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used, "{\"not\":");
    used += (size_t)snprintf(text + used, sizeof(text) - used, "%s", S500);
    for (i = 1; i < n; i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used, "}");
    snprintf(text + used, sizeof(text) - used, ",\"actions\":[{\"type\":\"retry\"}]}");
    return text;
}

static void test_nesting_limit(void)
{
    char want[256];
    size_t i, used;
    struct rule_input in = rt_with_status(200);
    char err[256];
    struct json_object *j = rt_parse(nested(32));
    struct rule *r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    r = rule_compile(j, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_TRUE(rule_matches(r, &in)); /* 31 nots around a false leaf */
    rule_free(r);
    json_object_put(j);
    used = (size_t)snprintf(want, sizeof(want), "condition");
    for (i = 0; i < 32; i++)
        used += (size_t)snprintf(want + used, sizeof(want) - used, ".not");
    snprintf(want + used, sizeof(want) - used, ": nested too deeply (at most 32 levels)");
    CU_ASSERT_STRING_EQUAL(rt_fault(nested(33)), want);
}

/* Rules that are refused, and the message that says where and why. */
static const struct fault_case {
    const char *text, *want;
} fault_cases[] = {
    {"[]", "rule: must be a JSON object"},
    {"{\"condition\":" S500 ",\"actions\":[{\"type\":\"retry\"}]}", "name: required"},
    {"{\"name\":\"\",\"condition\":" S500 ",\"actions\":[{\"type\":\"retry\"}]}",
     "name: must be 1 to 128 characters long"},
    {"{\"name\":5,\"condition\":" S500 ",\"actions\":[{\"type\":\"retry\"}]}",
     "name: must be a string"},
    {"{\"name\":null,\"condition\":" S500 ",\"actions\":[{\"type\":\"retry\"}]}",
     "name: must be a string"},
    {"{\"name\":\"a\\u0000b\",\"condition\":" S500 ",\"actions\":[{\"type\":\"retry\"}]}",
     "name: must be UTF-8 text without NUL characters"},
    {"{\"name\":\"r\",\"bogus\":1}", "bogus: unknown field"},
    {"{\"name\":\"r\",\"\":1}", "\"\": unknown field"},
    {WITH_ACTIONS("[{\"type\":\"retry\",\"\":1}]"), "actions[0].\"\": unknown field"},
    {"{\"name\":\"r\",\"upstream_id\":0}", "upstream_id: must be a positive integer or null"},
    {"{\"name\":\"r\",\"upstream_id\":\"1\"}", "upstream_id: must be a positive integer or null"},
    {"{\"name\":\"r\",\"enabled\":\"yes\"}", "enabled: must be true or false"},
    {"{\"name\":\"r\",\"priority\":1000001}",
     "priority: must be an integer between -1000000 and 1000000"},
    {"{\"name\":\"r\",\"priority\":-1000001}",
     "priority: must be an integer between -1000000 and 1000000"},
    {"{\"name\":\"r\",\"priority\":1.5}",
     "priority: must be an integer between -1000000 and 1000000"},
    {"{\"name\":\"r\"}", "condition: required"},
    {WITH_COND("[]"), "condition: must be an object"},
    {WITH_COND("{}"), "condition: must have exactly one of all, any, not or type"},
    {WITH_COND("{\"bogus\":1}"), "condition: must have exactly one of all, any, not or type"},
    {WITH_COND("{\"all\":[" S500 "],\"any\":[" S500 "]}"),
     "condition: must have exactly one of all, any, not or type"},
    {WITH_COND("{\"type\":\"status\",\"not\":" S500 "}"),
     "condition: must have exactly one of all, any, not or type"},
    {WITH_COND("{\"all\":[]}"), "condition.all: must be a non-empty array of conditions"},
    {WITH_COND("{\"any\":{}}"), "condition.any: must be a non-empty array of conditions"},
    {WITH_COND("{\"not\":[]}"), "condition.not: must be an object"},
    {WITH_COND("{\"all\":[" S500 "],\"bogus\":1}"), "condition.bogus: unknown field"},
    {WITH_COND("{\"all\":[" S500 ",{\"type\":\"body_regex\",\"pattern\":\"(abc\"}]}"),
     "condition.all[1].pattern: missing closing parenthesis at offset 4"},
    {WITH_COND("{\"any\":[" S500 ",{\"all\":[" S500 ",5]}]}"),
     "condition.any[1].all[1]: must be an object"},
    {WITH_COND("{\"not\":{\"type\":\"status\",\"op\":\"eq\",\"value\":\"x\"}}"),
     "condition.not.value: must be an integer"},
    {WITH_COND("{\"type\":\"nope\"}"),
     "condition.type: must be status, body_contains, body_regex, json_path, header, latency, "
     "transport_error or script"},
    {WITH_COND("{\"type\":5}"),
     "condition.type: must be status, body_contains, body_regex, json_path, header, latency, "
     "transport_error or script"},
    {WITH_COND("{\"all\":[{\"type\":\"status\",\"op\":\"eq\",\"value\":1,\"bogus\":1}]}"),
     "condition.all[0].bogus: unknown field"},
    /* status */
    {WITH_COND("{\"type\":\"status\",\"value\":1}"), "condition.op: required"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"gt\",\"value\":1}"),
     "condition.op: must be eq, ne, in, range, gte or lte"},
    {WITH_COND("{\"type\":\"status\",\"op\":5,\"value\":1}"),
     "condition.op: must be eq, ne, in, range, gte or lte"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"eq\"}"), "condition.value: required"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"eq\",\"value\":1.5}"),
     "condition.value: must be an integer"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"eq\",\"value\":[500]}"),
     "condition.value: must be an integer"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"in\",\"value\":[]}"),
     "condition.value: must be a non-empty array of integers"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"in\",\"value\":500}"),
     "condition.value: must be a non-empty array of integers"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"in\",\"value\":[500,\"x\"]}"),
     "condition.value[1]: must be an integer"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"range\",\"value\":[500]}"),
     "condition.value: must be [low, high]"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"range\",\"value\":[1,2,3]}"),
     "condition.value: must be [low, high]"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"range\",\"value\":[500,null]}"),
     "condition.value[1]: must be an integer"},
    {WITH_COND("{\"type\":\"status\",\"op\":\"range\",\"value\":[500,400]}"),
     "condition.value: low must not be greater than high"},
    /* body_contains */
    {WITH_COND("{\"type\":\"body_contains\"}"), "condition.value: required"},
    {WITH_COND("{\"type\":\"body_contains\",\"value\":\"\"}"),
     "condition.value: must be a non-empty string"},
    {WITH_COND("{\"type\":\"body_contains\",\"value\":1}"),
     "condition.value: must be a non-empty string"},
    {WITH_COND("{\"type\":\"body_contains\",\"value\":\"x\",\"case_insensitive\":\"yes\"}"),
     "condition.case_insensitive: must be true or false"},
    {WITH_COND("{\"type\":\"body_contains\",\"value\":\"x\",\"op\":\"eq\"}"),
     "condition.op: unknown field"},
    /* body_regex */
    {WITH_COND("{\"type\":\"body_regex\"}"), "condition.pattern: required"},
    {WITH_COND("{\"type\":\"body_regex\",\"pattern\":\"\"}"),
     "condition.pattern: must be a non-empty string"},
    {WITH_COND("{\"type\":\"body_regex\",\"pattern\":\"a)\"}"),
     "condition.pattern: unmatched closing parenthesis at offset 1"},
    {WITH_COND("{\"type\":\"body_regex\",\"pattern\":\"[a\"}"),
     "condition.pattern: missing terminating ] for character class at offset 2"},
    {WITH_COND("{\"type\":\"body_regex\",\"value\":\"a\"}"), "condition.value: unknown field"},
    /* json_path */
    {WITH_COND("{\"type\":\"json_path\",\"op\":\"exists\"}"), "condition.path: required"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"error.code\",\"op\":\"exists\"}"),
     "condition.path: must start with $"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a[x]\",\"op\":\"exists\"}"),
     "condition.path: expected an index or a quoted name after [ at offset 3"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$\\u0000\",\"op\":\"exists\"}"),
     "condition.path: must not contain NUL characters"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"gte\",\"value\":1}"),
     "condition.op: must be eq, ne, contains, exists, gt, lt or regex"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"eq\"}"),
     "condition.value: required"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"eq\",\"value\":{}}"),
     "condition.value: must be a string, number, true, false or null"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"contains\",\"value\":[1]}"),
     "condition.value: must be a string, number, true, false or null"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"gt\",\"value\":\"abc\"}"),
     "condition.value: must be a number"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"lt\",\"value\":true}"),
     "condition.value: must be a number"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"regex\",\"value\":\"(\"}"),
     "condition.value: missing closing parenthesis at offset 1"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"regex\",\"value\":1}"),
     "condition.value: must be a non-empty string"},
    {WITH_COND("{\"type\":\"json_path\",\"path\":\"$.a\",\"op\":\"exists\",\"pattern\":\"x\"}"),
     "condition.pattern: unknown field"},
    /* header */
    {WITH_COND("{\"type\":\"header\",\"op\":\"exists\"}"), "condition.name: required"},
    {WITH_COND("{\"type\":\"header\",\"name\":\"X Bad\",\"op\":\"exists\"}"),
     "condition.name: must be an HTTP header name of at most 256 bytes"},
    {WITH_COND("{\"type\":\"header\",\"name\":\"x\",\"op\":\"ne\",\"value\":\"a\"}"),
     "condition.op: must be eq, contains, exists or regex"},
    {WITH_COND("{\"type\":\"header\",\"name\":\"x\",\"op\":\"eq\"}"), "condition.value: required"},
    {WITH_COND("{\"type\":\"header\",\"name\":\"x\",\"op\":\"eq\",\"value\":5}"),
     "condition.value: must be a string"},
    {WITH_COND("{\"type\":\"header\",\"name\":\"x\",\"op\":\"regex\",\"value\":\"*\"}"),
     "condition.value: quantifier does not follow a repeatable item at offset 0"},
    /* latency */
    {WITH_COND("{\"type\":\"latency\",\"op\":\"eq\",\"value_ms\":1}"),
     "condition.op: must be gt or lt"},
    {WITH_COND("{\"type\":\"latency\",\"op\":\"gt\"}"), "condition.value_ms: required"},
    {WITH_COND("{\"type\":\"latency\",\"op\":\"gt\",\"value_ms\":-1}"),
     "condition.value_ms: must be a non-negative integer"},
    {WITH_COND("{\"type\":\"latency\",\"op\":\"gt\",\"value_ms\":\"5\"}"),
     "condition.value_ms: must be a non-negative integer"},
    {WITH_COND("{\"type\":\"latency\",\"op\":\"gt\",\"value\":5}"),
     "condition.value: unknown field"},
    /* transport_error */
    {WITH_COND("{\"type\":\"transport_error\"}"), "condition.value: required"},
    {WITH_COND("{\"type\":\"transport_error\",\"value\":\"dns\"}"),
     "condition.value: must be timeout, connect, proxy or any"},
    {WITH_COND("{\"type\":\"transport_error\",\"value\":\"any\",\"op\":\"eq\"}"),
     "condition.op: unknown field"},
    /* actions */
    {"{\"name\":\"r\",\"condition\":" S500 "}", "actions: required"},
    {WITH_ACTIONS("[]"), "actions: must be a non-empty array of actions"},
    {WITH_ACTIONS("{\"type\":\"retry\"}"), "actions: must be a non-empty array of actions"},
    {WITH_ACTIONS("[5]"), "actions[0]: must be an object"},
    {WITH_ACTIONS("[{}]"), "actions[0].type: required"},
    {WITH_ACTIONS("[{\"type\":\"retry\"},{\"type\":\"explode\"}]"),
     "actions[1].type: must be disable_key, ban_key, retry, alert or log"},
    {WITH_ACTIONS("[{\"type\":\"retry\",\"x\":1}]"), "actions[0].x: unknown field"},
    {WITH_ACTIONS("[{\"type\":\"ban_key\",\"duration_s\":1}]"),
     "actions[0].duration_s: unknown field"},
    {WITH_ACTIONS("[{\"type\":\"log\",\"message\":\"m\",\"webhook\":\"https://a.b\"}]"),
     "actions[0].webhook: unknown field"},
    {WITH_ACTIONS("[{\"type\":\"disable_key\",\"duration_s\":-1}]"),
     "actions[0].duration_s: must be an integer between 0 and 31536000"},
    {WITH_ACTIONS("[{\"type\":\"disable_key\",\"duration_s\":31536001}]"),
     "actions[0].duration_s: must be an integer between 0 and 31536000"},
    {WITH_ACTIONS("[{\"type\":\"disable_key\",\"until\":\"never\"}]"),
     "actions[0].until: must be retry_after or quota_reset"},
    {WITH_ACTIONS("[{\"type\":\"log\"}]"), "actions[0].message: required"},
    {WITH_ACTIONS("[{\"type\":\"log\",\"message\":\"\"}]"),
     "actions[0].message: must be 1 to 1024 characters long"},
    {WITH_ACTIONS("[{\"type\":\"log\",\"message\":null}]"), "actions[0].message: must be a string"},
    {WITH_ACTIONS("[{\"type\":\"alert\",\"message\":7}]"), "actions[0].message: must be a string"},
    {WITH_ACTIONS("[{\"type\":\"alert\",\"webhook\":\"ftp://x.org\"}]"),
     "actions[0].webhook: must start with http:// or https://"},
    {WITH_ACTIONS("[{\"type\":\"alert\",\"webhook\":\"https://x.org/?a=1\"}]"),
     "actions[0].webhook: must not have a query or fragment"},
    /* the fields after actions */
    {WITH_ACTIONS("[{\"type\":\"retry\"}],\"threshold\":0"),
     "threshold: must be an integer between 1 and 1000000"},
    {WITH_ACTIONS("[{\"type\":\"retry\"}],\"threshold\":1000001"),
     "threshold: must be an integer between 1 and 1000000"},
    {WITH_ACTIONS("[{\"type\":\"retry\"}],\"window_s\":0"),
     "window_s: must be an integer between 1 and 31536000"},
    {WITH_ACTIONS("[{\"type\":\"retry\"}],\"window_s\":31536001"),
     "window_s: must be an integer between 1 and 31536000"},
    {WITH_ACTIONS("[{\"type\":\"retry\"}],\"cooldown_s\":-1"),
     "cooldown_s: must be an integer between 0 and 31536000"},
    {WITH_ACTIONS("[{\"type\":\"retry\"}],\"cooldown_s\":31536001"),
     "cooldown_s: must be an integer between 0 and 31536000"},
    {WITH_ACTIONS("[{\"type\":\"retry\"}],\"stop\":1"), "stop: must be true or false"},
};

static void test_faults_name_their_place(void)
{
    char long_key[256];
    size_t i;

    for (i = 0; i < NELEM(fault_cases); i++) {
        const struct fault_case *fc = &fault_cases[i];
        const char *got = rt_fault(fc->text);
        if (strcmp(got, fc->want) != 0)
            fprintf(stderr, "\n%s\n  got:  %s\n  want: %s\n", fc->text, got, fc->want);
        CU_ASSERT_STRING_EQUAL(got, fc->want);
    }
    /* Long user text is quoted capped, on a character boundary: 39 bytes,
     * then a two-byte character across the 40-byte cut. */
    snprintf(long_key, sizeof(long_key), "{\"%s\xc3\xa9yyyy\":1}",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    CU_ASSERT_STRING_EQUAL(rt_fault(long_key),
                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...: unknown field");
}

static void test_long_messages_and_values(void)
{
    char text[12000], big[5000];
    size_t n;

    /* A message of 1024 characters passes, 1025 does not. */
    memset(big, 'm', 1025);
    big[1024] = '\0';
    snprintf(text, sizeof(text), WITH_ACTIONS("[{\"type\":\"alert\",\"message\":\"%s\"}]"), big);
    CU_ASSERT_STRING_EQUAL(rt_fault(text), "");
    big[1024] = 'm';
    big[1025] = '\0';
    snprintf(text, sizeof(text), WITH_ACTIONS("[{\"type\":\"alert\",\"message\":\"%s\"}]"), big);
    CU_ASSERT_STRING_EQUAL(rt_fault(text), "actions[0].message: must be 0 to 1024 characters long");
    /* Values and patterns of 4096 bytes pass, 4097 do not. */
    memset(big, 'v', 4097);
    big[4096] = '\0';
    snprintf(text, sizeof(text), WITH_COND("{\"type\":\"body_contains\",\"value\":\"%s\"}"), big);
    CU_ASSERT_STRING_EQUAL(rt_fault(text), "");
    big[4096] = 'v';
    big[4097] = '\0';
    snprintf(text, sizeof(text), WITH_COND("{\"type\":\"body_regex\",\"pattern\":\"%s\"}"), big);
    CU_ASSERT_STRING_EQUAL(rt_fault(text), "condition.pattern: must be at most 4096 bytes");
    snprintf(text, sizeof(text),
             WITH_COND("{\"type\":\"header\",\"name\":\"x\",\"op\":\"eq\",\"value\":\"%s\"}"), big);
    CU_ASSERT_STRING_EQUAL(rt_fault(text), "condition.value: must be at most 4096 bytes");
    /* A long unknown key is never echoed whole. */
    memset(big, 'k', 3000);
    big[3000] = '\0';
    snprintf(text, sizeof(text), "{\"%s\":1}", big);
    n = strlen(rt_fault(text));
    CU_ASSERT_EQUAL(n, strlen("...: unknown field") + 40);
}

void suite_rule(void)
{
    ADD_SUITE("rule", TEST(test_defaults), TEST(test_every_field_set),
              TEST(test_name_length_counts_characters), TEST(test_flags), TEST(test_actions),
              TEST(test_action_scope), TEST(test_nesting_limit), TEST(test_faults_name_their_place),
              TEST(test_long_messages_and_values));
}
