/* The rule backtest without a database: judging records that lack parts of
 * the answer (core/rule/rule_judge.c), and replaying matches through the
 * threshold and the upstream-wide guard (admin/backtest_replay.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/backtest_replay.h"
#include "core/nelem.h"
#include "core/rule/rule.h"
#include "rule_helpers.h"
#include "suites.h"

#define S429  "{\"type\":\"status\",\"op\":\"eq\",\"value\":429}"
#define QUOTA "{\"type\":\"body_contains\",\"value\":\"quota\"}"
#define HDR   "{\"type\":\"header\",\"name\":\"x-a\",\"op\":\"exists\"}"

/* The verdict of cond on in with parts missing, and why. */
static int judged(const char *cond, struct rule_input *in, unsigned missing, unsigned *why)
{
    char text[512], err[256];
    struct rule *r;
    int v;

    snprintf(text, sizeof(text),
             "{\"name\":\"r\",\"condition\":%s,\"actions\":[{\"type\":"
             "\"retry\"}]}",
             cond);
    r = rt_compile(text, err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    v = rule_judge(r, in, missing, why);
    rule_input_done(in);
    rule_free(r);
    return v;
}

static void test_judge_three_valued(void)
{
    struct rule_input in = rt_with_status(429);
    unsigned why = 0;

    /* What the record has is judged as live. */
    CU_ASSERT_EQUAL(judged(S429, &in, RULE_NO_BODY, &why), 1);
    CU_ASSERT_EQUAL(why, 0);
    /* A body leaf without a body: unknown, and why says so. */
    CU_ASSERT_EQUAL(judged(QUOTA, &in, RULE_NO_BODY, &why), -1);
    CU_ASSERT_EQUAL(why, RULE_NO_BODY);
    /* all with a false known child is false whatever the unknown. */
    in = rt_with_status(500);
    CU_ASSERT_EQUAL(judged("{\"all\":[" S429 "," QUOTA "]}", &in, RULE_NO_BODY, &why), 0);
    CU_ASSERT_EQUAL(why, 0);
    in = rt_with_status(429);
    CU_ASSERT_EQUAL(judged("{\"all\":[" S429 "," QUOTA "]}", &in, RULE_NO_BODY, &why), -1);
    /* any with a true known child is true. */
    CU_ASSERT_EQUAL(judged("{\"any\":[" HDR "," S429 "]}", &in, RULE_NO_HEADERS, &why), 1);
    in = rt_with_status(500);
    CU_ASSERT_EQUAL(judged("{\"any\":[" HDR "," S429 "]}", &in, RULE_NO_HEADERS, &why), -1);
    CU_ASSERT_EQUAL(why, RULE_NO_HEADERS);
    /* not keeps unknown unknown. */
    CU_ASSERT_EQUAL(judged("{\"not\":" HDR "}", &in, RULE_NO_HEADERS, &why), -1);
    /* A status the record lacks. */
    CU_ASSERT_EQUAL(judged(S429, &in, RULE_NO_STATUS, &why), -1);
    CU_ASSERT_EQUAL(why, RULE_NO_STATUS);
}

/* A rule of `actions` with this threshold and window. */
static struct rule *acting(const char *actions, int threshold, int window_s)
{
    char text[512], err[256];
    struct rule *r;

    snprintf(text, sizeof(text),
             "{\"name\":\"r\",\"condition\":" S429 ",\"actions\":%s,\"threshold\":%d,"
             "\"window_s\":%d}",
             actions, threshold, window_s);
    r = rt_compile(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    return r;
}

static void add(struct backtest *bt, long long ts_s, long long key)
{
    struct bt_match m = {ts_s * 1000, key, 1, ts_s * 100 + key, 429, false};

    CU_ASSERT_EQUAL(bt_add(bt, &m), 0);
}

static struct bt_upstream *one_upstream(long long keys, long long pct)
{
    struct bt_upstream *u = calloc(1, sizeof(*u));

    u->id = 1;
    u->keys_total = keys;
    u->max_pct = pct;
    return u;
}

/* Replays matches {time in s, key} of rule r on one upstream of `keys`
 * keys at most pct% out. */
static void replay(struct backtest *bt, const struct rule *r, long long keys, long long pct,
                   const long long (*m)[2], size_t n)
{
    size_t i;

    bt_init(bt, r, one_upstream(keys, pct), 1);
    for (i = 0; i < n; i++)
        add(bt, m[i][0], m[i][1]);
    CU_ASSERT_EQUAL_FATAL(bt_replay(bt), 0);
}

/* Checks what the rule would do, and frees both. */
static void done(struct backtest *bt, struct rule *r, const char *would)
{
    CU_ASSERT_STRING_EQUAL(bt_would(r), would);
    bt_free(bt);
    rule_free(r);
}

static void test_replay_threshold(void)
{
    /* Key 7: three matches within a minute fire once (at the third); the
     * two after are on a banned key.  Key 8: two matches a window apart,
     * no firing. */
    static const long long m[][2] = {{1000, 7}, {1010, 7}, {1020, 7}, {1030, 7},
                                     {1040, 7}, {1000, 8}, {1100, 8}};
    struct rule *r = acting("[{\"type\":\"ban_key\"}]", 3, 60);
    struct backtest bt;

    replay(&bt, r, 100, 50, m, NELEM(m));
    CU_ASSERT_EQUAL(bt.nsample, 7);
    CU_ASSERT_EQUAL(bt.sample[0].ts_ms, 1000000);
    CU_ASSERT_EQUAL(bt.fired, 1);
    CU_ASSERT_EQUAL_FATAL(bt.nkeys, 2);
    CU_ASSERT_EQUAL(bt.keys[0].key_id, 7);
    CU_ASSERT_EQUAL(bt.keys[0].times, 1);
    CU_ASSERT_EQUAL(bt.keys[0].at_ms, 1020000);
    CU_ASSERT_EQUAL(bt.keys[1].times, 0);
    done(&bt, r, "ban");
}

static void test_replay_guard_holds(void)
{
    /* Ten keys, at most 20% out: two actions pass, the other three are
     * held (one alert for the window). */
    static const long long m[][2] = {{2001, 1}, {2002, 2}, {2003, 3}, {2004, 4}, {2005, 5}};
    struct rule *r = acting("[{\"type\":\"disable_key\",\"until\":\"quota_reset\"}]", 1, 60);
    struct backtest bt;

    replay(&bt, r, 10, 20, m, NELEM(m));
    CU_ASSERT_EQUAL(bt.fired, 5);
    CU_ASSERT_EQUAL(bt.held, 3);
    CU_ASSERT_EQUAL(bt.alerts, 1);
    CU_ASSERT_EQUAL(bt.first_held_ms, 2003000);
    CU_ASSERT_EQUAL(bt.keys[0].times, 1);
    CU_ASSERT_EQUAL(bt.keys[2].held, 1);
    done(&bt, r, "exhaust");
}

static void test_replay_rest_ends(void)
{
    /* Key 1 rests 100 s: the match 50 s later is skipped, the one 150 s
     * later fires again.  The guard (one key of two at most) lets both
     * through: the key is back before its second firing. */
    static const long long m[][2] = {{3000, 1}, {3050, 1}, {3150, 1}};
    struct rule *r = acting("[{\"type\":\"disable_key\",\"duration_s\":100}]", 1, 60);
    struct backtest bt;

    replay(&bt, r, 2, 50, m, NELEM(m));
    CU_ASSERT_EQUAL(bt.fired, 2);
    CU_ASSERT_EQUAL(bt.held, 0);
    CU_ASSERT_EQUAL(bt.keys[0].times, 2);
    CU_ASSERT_EQUAL(bt.ups[0].out, 1);
    done(&bt, r, "disable");
}

void suite_backtest(void)
{
    ADD_SUITE("backtest", TEST(test_judge_three_valued), TEST(test_replay_threshold),
              TEST(test_replay_guard_holds), TEST(test_replay_rest_ends));
}
