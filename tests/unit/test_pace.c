/* Pacing by the provider's headers (core/pace.h): reading the headers,
 * keeping the latest, the rest of a key with nothing left, its weight, and
 * what the pick and the 503's Retry-After make of it. */
#include <string.h>

#include "core/pace.h"
#include "core/pool.h"
#include "suites.h"

#define NOW  1000000
#define WALL 1700000000000LL
#define T0   ((time_t)(WALL / 1000))

static void read_all(struct pace_reading *r, const char *const *h, size_t n, int status)
{
    size_t i;

    pace_reading_init(r);
    for (i = 0; i + 1 < n; i += 2)
        pace_read_header(r, h[i], strlen(h[i]), h[i + 1], status, T0);
}

static void test_pace_reads_openai_headers(void)
{
    static const char *const h[] = {"X-RateLimit-Remaining-Requests",
                                    "59",
                                    "x-ratelimit-remaining-tokens",
                                    "149000",
                                    "x-ratelimit-reset-requests",
                                    "2s",
                                    "x-ratelimit-reset-tokens",
                                    "6m0s",
                                    "content-type",
                                    "application/json"};
    struct pace_reading r;

    read_all(&r, h, NELEM(h), 200);
    CU_ASSERT_EQUAL(r.req_left, 59);
    CU_ASSERT_EQUAL(r.tok_left, 149000);
    CU_ASSERT_EQUAL(r.req_reset_ms, 2000);
    CU_ASSERT_EQUAL(r.tok_reset_ms, 360000);
}

static void test_pace_reads_anthropic_headers(void)
{
    static const char *const h[] = {
        "anthropic-ratelimit-requests-remaining", "4",
        "anthropic-ratelimit-requests-reset",     "2023-11-14T22:13:40Z",
        "anthropic-ratelimit-tokens-remaining",   "abc"};
    struct pace_reading r;

    read_all(&r, h, NELEM(h), 200);
    CU_ASSERT_EQUAL(r.req_left, 4);
    CU_ASSERT_EQUAL(r.req_reset_ms, 20000); /* T0 is 2023-11-14T22:13:20Z */
    CU_ASSERT_EQUAL(r.tok_left, -1);        /* not a count: not read */
}

static void test_pace_reads_retry_after_of_a_429_only(void)
{
    static const char *const h[] = {"retry-after", "7"};
    struct pace_reading r;

    read_all(&r, h, NELEM(h), 200);
    CU_ASSERT_EQUAL(r.req_left, -1);
    read_all(&r, h, NELEM(h), 429);
    CU_ASSERT_EQUAL(r.req_left, 0);
    CU_ASSERT_EQUAL(r.req_reset_ms, 7000);
}

static void test_pace_rest_and_weight(void)
{
    struct pace_state s;
    struct pace_reading r;

    pace_state_init(&s);
    CU_ASSERT_EQUAL(pace_rest_left_ms(&s, NOW), 0);
    CU_ASSERT_EQUAL(pace_weigh(&s, 1000, NOW), 1000); /* nothing known: full */
    pace_reading_init(&r);
    r.req_left = 100;
    r.req_reset_ms = 2000;
    pace_learn(&s, &r, NOW, WALL);
    CU_ASSERT_TRUE(atomic_load(&s.dirty));
    CU_ASSERT_EQUAL(pace_weigh(&s, 1000, NOW), 100);
    CU_ASSERT_EQUAL(pace_weigh(&s, 1, NOW), 1);              /* never below 1 while some are left */
    CU_ASSERT_EQUAL(pace_weigh(&s, 1000, NOW + 2000), 1000); /* refilled */
    /* A request sent counts down at once; not below 0, not once refilled. */
    pace_spend(&s, NOW);
    CU_ASSERT_EQUAL(atomic_load(&s.req_left), 99);
    pace_spend(&s, NOW + 2000);
    CU_ASSERT_EQUAL(atomic_load(&s.req_left), 99);
    r.req_left = 1;
    pace_learn(&s, &r, NOW, WALL);
    pace_spend(&s, NOW);
    pace_spend(&s, NOW);
    CU_ASSERT_EQUAL(atomic_load(&s.req_left), 0);
    CU_ASSERT_EQUAL(pace_rest_left_ms(&s, NOW), 2000);
    r.req_left = 0;
    pace_learn(&s, &r, NOW + 500, WALL + 500);
    CU_ASSERT_EQUAL(pace_rest_left_ms(&s, NOW + 500), 2000);
    CU_ASSERT_EQUAL(pace_rest_left_ms(&s, NOW + 2500), 0);
    /* Tokens without a reset hold for the default window. */
    pace_reading_init(&r);
    r.tok_left = 0;
    pace_learn(&s, &r, NOW + 3000, WALL + 3000);
    CU_ASSERT_EQUAL(pace_rest_left_ms(&s, NOW + 3000), PACE_DEFAULT_WINDOW_MS);
}

static void test_pace_adopt_newest_wins(void)
{
    struct pace_state s;
    struct pace_reading r;

    pace_state_init(&s);
    pace_reading_init(&r);
    r.req_left = 5;
    r.req_reset_ms = 10000;
    pace_learn(&s, &r, NOW, WALL);
    r.req_left = 0;
    pace_adopt(&s, &r, NOW, WALL - 1); /* older: ignored */
    CU_ASSERT_EQUAL(atomic_load(&s.req_left), 5);
    pace_adopt(&s, &r, NOW, WALL + 1);
    CU_ASSERT_EQUAL(atomic_load(&s.req_left), 0);
    CU_ASSERT_EQUAL(pace_rest_left_ms(&s, NOW), 10000);
    r.req_reset_ms = -5; /* stored, but refilled since: nothing known */
    pace_adopt(&s, &r, NOW, WALL + 2);
    CU_ASSERT_EQUAL(atomic_load(&s.req_left), -1);
}

static struct pool_key keys[2];
static struct pool_upstream up;

/* A key of an upstream with pace_by_headers, nothing learned yet. */
static void paced_key(struct pool_key *k, long long id)
{
    memset(k, 0, sizeof(*k));
    k->id = id;
    k->weight = 1;
    k->paced = true;
    pace_state_init(&k->pace);
}

static void test_pace_pick_and_retry_after(void)
{
    struct pace_reading r;
    long long tried[1];
    size_t i;

    paced_key(&keys[0], 1);
    paced_key(&keys[1], 2);
    memset(&up, 0, sizeof(up));
    up.keys = keys;
    up.nkeys = 2;
    up.strategy = STRATEGY_WEIGHTED;
    up.rr = NULL;
    pace_reading_init(&r);
    r.req_left = 0;
    r.req_reset_ms = 4000;
    pace_learn(&keys[0].pace, &r, NOW, WALL);
    for (i = 0; i < 20; i++)
        CU_ASSERT_PTR_EQUAL(pool_pick(&up, NULL, NULL, 0, i * 7919, NOW), &keys[1]);
    tried[0] = 2;
    CU_ASSERT_PTR_NULL(pool_pick(&up, NULL, tried, 1, 3, NOW));
    r.req_reset_ms = 9000;
    pace_learn(&keys[1].pace, &r, NOW, WALL);
    CU_ASSERT_EQUAL(pool_next_usable_ms(&up, NULL, NOW, WALL, 3600000), 4000);
    CU_ASSERT_PTR_EQUAL(pool_pick(&up, NULL, NULL, 0, 1, NOW + 4000), &keys[0]);
    /* Not paced: what the state says does not count. */
    keys[1].paced = false;
    CU_ASSERT_PTR_EQUAL(pool_pick(&up, NULL, NULL, 0, 1, NOW), &keys[1]);
}

void suite_pace(void)
{
    ADD_SUITE("pace", TEST(test_pace_reads_openai_headers), TEST(test_pace_reads_anthropic_headers),
              TEST(test_pace_reads_retry_after_of_a_429_only), TEST(test_pace_rest_and_weight),
              TEST(test_pace_adopt_newest_wins), TEST(test_pace_pick_and_retry_after));
}
