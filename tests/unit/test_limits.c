/* core/limits.c: limit windows parsed, refused, matched to models, and
 * their windows' starts and ends. */
#include <CUnit/CUnit.h>
#include <json-c/json.h>
#include <string.h>

#include "core/limits.h"
#include "suites.h"

/* Whether text is refused with a message that begins with want. */
static void refused(const char *text, const char *want)
{
    struct json_object *o = json_tokener_parse(text);
    struct limit_set *s = NULL;
    char msg[200] = "";

    CU_ASSERT_EQUAL(limits_parse(o, &s, msg, sizeof(msg)), -1);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(strncmp(msg, want, strlen(want)), 0);
    if (strncmp(msg, want, strlen(want)) != 0)
        fprintf(stderr, "\n  %s: got \"%s\", want \"%s\"\n", text, msg, want);
    json_object_put(o);
}

static void test_parse(void)
{
    struct limit_set *s =
        limits_parse_text("[{\"window\": \"minute\", \"requests\": 10},"
                          " {\"window\": \"day\", \"tokens\": 5000, \"model\": \"gpt-4o*\"},"
                          " {\"window\": \"hour\", \"requests\": 100, \"tokens\": 9}]");

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n, 3);
    CU_ASSERT_EQUAL(s->v[0].window, LIMIT_MINUTE);
    CU_ASSERT_EQUAL(s->v[0].requests, 10);
    CU_ASSERT_EQUAL(s->v[0].tokens, 0);
    CU_ASSERT_PTR_NULL(s->v[0].model);
    CU_ASSERT_EQUAL(s->v[1].window, LIMIT_DAY);
    CU_ASSERT_STRING_EQUAL(s->v[1].model, "gpt-4o*");
    CU_ASSERT_EQUAL(s->v[2].window, LIMIT_HOUR);
    CU_ASSERT_TRUE(s->any_model);
    CU_ASSERT_TRUE(s->version > 0);
    limits_free(s);
    /* None: null, [] and nothing. */
    CU_ASSERT_PTR_NULL(limits_parse_text(NULL));
    CU_ASSERT_PTR_NULL(limits_parse_text("null"));
    CU_ASSERT_PTR_NULL(limits_parse_text("[]"));
}

static void test_version(void)
{
    struct limit_set *a = limits_parse_text("[{\"window\": \"minute\", \"requests\": 10}]");
    struct limit_set *b = limits_parse_text("[ {\"requests\":10,\"window\":\"minute\"} ]");
    struct limit_set *c = limits_parse_text("[{\"window\": \"minute\", \"requests\": 11}]");

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* The same limits written otherwise count in the same rows; an edit
     * starts afresh. */
    CU_ASSERT_EQUAL(a->version, b->version);
    CU_ASSERT_NOT_EQUAL(a->version, c->version);
    limits_free(a);
    limits_free(b);
    limits_free(c);
}

static void test_refusals(void)
{
    refused("{}", "limits: must be an array");
    refused("[1]", "limits[0]: must be an object");
    refused("[{\"requests\": 1}]", "limits[0].window: required");
    refused("[{\"window\": \"week\", \"requests\": 1}]", "limits[0].window:");
    refused("[{\"window\": \"minute\"}]", "limits[0].requests: requests or tokens is required");
    refused("[{\"window\": \"minute\", \"requests\": 1}, {\"window\": \"hour\", \"requests\": 0}]",
            "limits[1].requests: must be from 1");
    refused("[{\"window\": \"minute\", \"tokens\": -5}]", "limits[0].tokens: must be from 1");
    refused("[{\"window\": \"minute\", \"tokens\": \"5\"}]",
            "limits[0].tokens: must be an integer");
    refused("[{\"window\": \"minute\", \"requests\": 1, \"model\": \"\"}]", "limits[0].model:");
    refused("[{\"window\": \"minute\", \"requests\": 1, \"model\": 3}]", "limits[0].model:");
    refused("[{\"window\": \"minute\", \"requests\": 1, \"rpm\": 3}]", "limits[0].rpm: unknown");
    refused("[{\"window\":\"day\",\"requests\":1},{\"window\":\"day\",\"requests\":1},"
            "{\"window\":\"day\",\"requests\":1},{\"window\":\"day\",\"requests\":1},"
            "{\"window\":\"day\",\"requests\":1},{\"window\":\"day\",\"requests\":1},"
            "{\"window\":\"day\",\"requests\":1},{\"window\":\"day\",\"requests\":1},"
            "{\"window\":\"day\",\"requests\":1}]",
            "limits: at most 8");
}

static void test_applies(void)
{
    struct limit all = {LIMIT_MINUTE, 1, 0, NULL};
    struct limit some = {LIMIT_MINUTE, 1, 0, (char *)"gpt-4o*"};

    CU_ASSERT_TRUE(limit_applies(&all, "anything"));
    CU_ASSERT_TRUE(limit_applies(&all, ""));
    CU_ASSERT_TRUE(limit_applies(&all, NULL));
    CU_ASSERT_TRUE(limit_applies(&some, "gpt-4o-mini"));
    CU_ASSERT_FALSE(limit_applies(&some, "claude-3"));
    /* A request that names no model is not one of some models. */
    CU_ASSERT_FALSE(limit_applies(&some, ""));
    CU_ASSERT_FALSE(limit_applies(&some, NULL));
}

static void test_windows(void)
{
    long long t = 1700000123; /* 2023-11-14T22:15:23Z */
    struct limit_day la = {"America/Los_Angeles", 0};

    CU_ASSERT_EQUAL(limit_window_start(LIMIT_MINUTE, NULL, t), 1700000100);
    CU_ASSERT_EQUAL(limit_window_end(LIMIT_MINUTE, NULL, 1700000100), 1700000160);
    CU_ASSERT_EQUAL(limit_window_start(LIMIT_HOUR, NULL, t), 1699999200);
    CU_ASSERT_EQUAL(limit_window_end(LIMIT_HOUR, NULL, 1699999200), 1700002800);
    /* A day holds t and ends after it. */
    CU_ASSERT_TRUE(limit_window_start(LIMIT_DAY, NULL, t) <= t);
    CU_ASSERT_TRUE(limit_window_end(LIMIT_DAY, NULL, limit_window_start(LIMIT_DAY, NULL, t)) > t);
    CU_ASSERT_TRUE(limit_window_end(LIMIT_DAY, NULL, limit_window_start(LIMIT_DAY, NULL, t)) -
                       limit_window_start(LIMIT_DAY, NULL, t) <=
                   25 * 3600);
    CU_ASSERT_STRING_EQUAL(limit_window_name(LIMIT_HOUR), "hour");
    /* A key's upstream that resets at midnight Pacific: that day is
     * 2023-11-14T08:00Z to 2023-11-15T08:00Z (PST, UTC-8). */
    CU_ASSERT_EQUAL(limit_window_start(LIMIT_DAY, &la, t), 1699948800);
    CU_ASSERT_EQUAL(limit_window_end(LIMIT_DAY, &la, 1699948800), 1700035200);
}

void suite_limits(void)
{
    ADD_SUITE("limits", TEST(test_parse), TEST(test_version), TEST(test_refusals),
              TEST(test_applies), TEST(test_windows));
}
