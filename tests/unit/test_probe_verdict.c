/* A validation job's verdict on one probe (core/probe_verdict.h): 2xx is
 * valid; 429, 5xx and no answer are inconclusive whatever the rules say;
 * other answers are invalid only when a matching rule bans the key or
 * disables it until a person enables it, in the rules' run order. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "core/probe.h"
#include "core/probe_verdict.h"
#include "core/rule/rule.h"
#include "rule_helpers.h"
#include "suites.h"

/* The default rules' shapes (sql/002_default_rules.sql), in their order. */
static const char *const defaults[] = {
    "{\"name\":\"quota-exhausted\",\"priority\":10,\"stop\":true,"
    "\"condition\":{\"all\":[{\"type\":\"status\",\"op\":\"in\",\"value\":[400,402,403,429]},"
    "{\"type\":\"body_contains\",\"value\":\"insufficient_quota\"}]},"
    "\"actions\":[{\"type\":\"disable_key\",\"until\":\"quota_reset\"},{\"type\":\"retry\"}]}",
    "{\"name\":\"rate-limited\",\"priority\":20,\"stop\":true,"
    "\"condition\":{\"type\":\"status\",\"op\":\"eq\",\"value\":429},"
    "\"actions\":[{\"type\":\"disable_key\",\"until\":\"retry_after\",\"duration_s\":60}]}",
    "{\"name\":\"invalid-key\",\"priority\":30,\"stop\":true,"
    "\"condition\":{\"type\":\"status\",\"op\":\"in\",\"value\":[401,403]},"
    "\"actions\":[{\"type\":\"ban_key\"},{\"type\":\"retry\"}]}",
    "{\"name\":\"hand-disable\",\"priority\":40,"
    "\"condition\":{\"type\":\"status\",\"op\":\"eq\",\"value\":404},"
    "\"actions\":[{\"type\":\"disable_key\",\"duration_s\":0}]}",
    "{\"name\":\"short-rest\",\"priority\":50,"
    "\"condition\":{\"type\":\"status\",\"op\":\"eq\",\"value\":400},"
    "\"actions\":[{\"type\":\"disable_key\",\"duration_s\":600}]}",
};

static char key[] = "sk-test-0123456789abcdef";

static enum probe_verdict judge(int status, const char *body, bool transport, char *rule)
{
    struct rule *v[8];
    struct verdict_rules rules = {v, 0};
    struct probe_target t;
    struct probe_result res;
    enum probe_verdict out;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        v[i] = rt_compile(defaults[i], err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(v[i]);
        rules.n++;
    }
    memset(&t, 0, sizeof(t));
    t.key = key;
    t.key_len = strlen(key);
    snprintf(t.masked, sizeof(t.masked), "sk-t...cdef");
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.ok = status >= 200 && status < 300 && !transport;
    res.transport_failed = transport;
    res.answer_len = strlen(body);
    memcpy(res.answer, body, res.answer_len);
    out = probe_verdict(&rules, &t, &res, rule, 64);
    for (i = 0; i < rules.n; i++)
        rule_free(v[i]);
    return out;
}

static void test_verdicts(void)
{
    char rule[64];

    CU_ASSERT_EQUAL(judge(200, "{}", false, rule), VERDICT_VALID);
    CU_ASSERT_EQUAL(judge(204, "", false, rule), VERDICT_VALID);
    CU_ASSERT_EQUAL(judge(401, "{\"error\":{\"code\":\"invalid_api_key\"}}", false, rule),
                    VERDICT_INVALID);
    CU_ASSERT_STRING_EQUAL(rule, "invalid-key");
    /* A rest until a person ends it condemns the key too. */
    CU_ASSERT_EQUAL(judge(404, "", false, rule), VERDICT_INVALID);
    CU_ASSERT_STRING_EQUAL(rule, "hand-disable");
    /* A quota answer stops the run before the ban: spent, not bad. */
    CU_ASSERT_EQUAL(judge(403, "insufficient_quota", false, rule), VERDICT_INCONCLUSIVE);
    CU_ASSERT_STRING_EQUAL(rule, "");
    /* A rest that ends by itself, or no rule at all. */
    CU_ASSERT_EQUAL(judge(400, "", false, rule), VERDICT_INCONCLUSIVE);
    CU_ASSERT_EQUAL(judge(418, "", false, rule), VERDICT_INCONCLUSIVE);
    /* The provider in trouble: never held against the key. */
    CU_ASSERT_EQUAL(judge(429, "", false, rule), VERDICT_INCONCLUSIVE);
    CU_ASSERT_EQUAL(judge(500, "", false, rule), VERDICT_INCONCLUSIVE);
    CU_ASSERT_EQUAL(judge(503, "", false, rule), VERDICT_INCONCLUSIVE);
    CU_ASSERT_EQUAL(judge(0, "", true, rule), VERDICT_INCONCLUSIVE);
    CU_ASSERT_EQUAL(judge(0, "", false, rule), VERDICT_INCONCLUSIVE);
    CU_ASSERT_STRING_EQUAL(probe_verdict_name(VERDICT_VALID), "valid");
    CU_ASSERT_STRING_EQUAL(probe_verdict_name(VERDICT_INVALID), "invalid");
    CU_ASSERT_STRING_EQUAL(probe_verdict_name(VERDICT_INCONCLUSIVE), "inconclusive");
}

void suite_probe_verdict(void)
{
    ADD_SUITE("probe_verdict", TEST(test_verdicts));
}
