/* The in-flight counts of max_concurrent: one counter per scope and id for
 * the life of the process, entries refused at the limit without touching
 * the count, and the count exact when many threads enter and leave. */
#include <pthread.h>

#include "core/concurrency.h"
#include "suites.h"

static void test_concurrency_counter_is_stable_per_scope_and_id(void)
{
    atomic_llong *t7 = concurrency_counter(CONCURRENCY_TOKEN, 7);
    atomic_llong *u7 = concurrency_counter(CONCURRENCY_UPSTREAM, 7);

    CU_ASSERT_PTR_NOT_NULL_FATAL(t7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u7);
    /* A snapshot loaded later finds the same counter, so it goes on
     * counting what an older snapshot let in. */
    CU_ASSERT_PTR_EQUAL(concurrency_counter(CONCURRENCY_TOKEN, 7), t7);
    CU_ASSERT_PTR_NOT_EQUAL(t7, u7);
    CU_ASSERT_PTR_NOT_EQUAL(concurrency_counter(CONCURRENCY_TOKEN, 7 + 1024), t7);
    CU_ASSERT_PTR_EQUAL(concurrency_counter(CONCURRENCY_TOKEN, 7 + 1024),
                        concurrency_counter(CONCURRENCY_TOKEN, 7 + 1024));
}

static void test_concurrency_enter_refuses_at_the_limit(void)
{
    atomic_llong *c = concurrency_counter(CONCURRENCY_TOKEN, 101);

    CU_ASSERT_TRUE(concurrency_enter(c, 2));
    CU_ASSERT_TRUE(concurrency_enter(c, 2));
    CU_ASSERT_FALSE(concurrency_enter(c, 2));
    /* A refusal leaves the count as it was. */
    CU_ASSERT_EQUAL(atomic_load(c), 2);
    concurrency_leave(c);
    CU_ASSERT_TRUE(concurrency_enter(c, 2));
    CU_ASSERT_FALSE(concurrency_enter(c, 2));
    /* A lower limit set while more are in flight refuses until they end. */
    CU_ASSERT_FALSE(concurrency_enter(c, 1));
    concurrency_leave(c);
    concurrency_leave(c);
    CU_ASSERT_EQUAL(atomic_load(c), 0);
}

static void test_concurrency_unlimited_still_counts(void)
{
    atomic_llong *c = concurrency_counter(CONCURRENCY_UPSTREAM, 102);
    int i;

    for (i = 0; i < 5; i++)
        CU_ASSERT_TRUE(concurrency_enter(c, 0));
    /* A limit set now sees the five already in flight. */
    CU_ASSERT_FALSE(concurrency_enter(c, 5));
    CU_ASSERT_TRUE(concurrency_enter(c, 6));
    for (i = 0; i < 6; i++)
        concurrency_leave(c);
    CU_ASSERT_EQUAL(atomic_load(c), 0);
}

static void test_concurrency_refusals_by_scope(void)
{
    long long t = concurrency_refusals(CONCURRENCY_TOKEN);
    long long u = concurrency_refusals(CONCURRENCY_UPSTREAM);

    concurrency_note_refusal(CONCURRENCY_TOKEN);
    concurrency_note_refusal(CONCURRENCY_TOKEN);
    concurrency_note_refusal(CONCURRENCY_UPSTREAM);
    CU_ASSERT_EQUAL(concurrency_refusals(CONCURRENCY_TOKEN), t + 2);
    CU_ASSERT_EQUAL(concurrency_refusals(CONCURRENCY_UPSTREAM), u + 1);
    CU_ASSERT_STRING_EQUAL(concurrency_scope_name(CONCURRENCY_TOKEN), "token");
    CU_ASSERT_STRING_EQUAL(concurrency_scope_name(CONCURRENCY_UPSTREAM), "upstream");
}

#define RACE_THREADS 8
#define RACE_ROUNDS  20000
#define RACE_LIMIT   3

static atomic_llong *race_count;
static atomic_llong race_inside, race_max, race_entered;

/* Enters and leaves many times, tracking how many are inside at once. */
static void *race(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < RACE_ROUNDS; i++) {
        long long inside, seen;
        if (!concurrency_enter(race_count, RACE_LIMIT))
            continue;
        atomic_fetch_add(&race_entered, 1);
        inside = atomic_fetch_add(&race_inside, 1) + 1;
        seen = atomic_load(&race_max);
        while (inside > seen && !atomic_compare_exchange_weak(&race_max, &seen, inside))
            ;
        atomic_fetch_sub(&race_inside, 1);
        concurrency_leave(race_count);
    }
    return NULL;
}

static void test_concurrency_exact_under_threads(void)
{
    pthread_t th[RACE_THREADS];
    int i;

    race_count = concurrency_counter(CONCURRENCY_TOKEN, 103);
    atomic_init(&race_inside, 0);
    atomic_init(&race_max, 0);
    atomic_init(&race_entered, 0);
    for (i = 0; i < RACE_THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race, NULL), 0);
    for (i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT(atomic_load(&race_max) <= RACE_LIMIT);
    CU_ASSERT(atomic_load(&race_entered) > 0);
    CU_ASSERT_EQUAL(atomic_load(race_count), 0);
}

void suite_concurrency(void)
{
    ADD_SUITE("concurrency", TEST(test_concurrency_counter_is_stable_per_scope_and_id),
              TEST(test_concurrency_enter_refuses_at_the_limit),
              TEST(test_concurrency_unlimited_still_counts),
              TEST(test_concurrency_refusals_by_scope), TEST(test_concurrency_exact_under_threads));
}
