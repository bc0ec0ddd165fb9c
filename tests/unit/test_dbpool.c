#include "core/clock.h"
#include "core/dbpool.h"
#include "suites.h"

static int freed;

static void count_free(void *item)
{
    (void)item;
    freed++;
}

static void test_slots_are_made_then_reused_newest_first(void)
{
    struct dbpool *p = dbpool_new(2);
    int a, b;
    void *item;

    CU_ASSERT_EQUAL(dbpool_take(p, 10, &item), DBPOOL_MAKE);
    CU_ASSERT_PTR_NULL(item);
    CU_ASSERT_EQUAL(dbpool_take(p, 10, &item), DBPOOL_MAKE);
    dbpool_give(p, &a);
    dbpool_give(p, &b);
    CU_ASSERT_EQUAL(dbpool_take(p, 10, &item), DBPOOL_ITEM);
    CU_ASSERT_PTR_EQUAL(item, &b);
    dbpool_give(p, item);
    freed = 0;
    dbpool_free(p, count_free);
    CU_ASSERT_EQUAL(freed, 2);
}

static void test_a_full_pool_times_out_after_the_wait(void)
{
    struct dbpool *p = dbpool_new(1);
    struct dbpool_stats st;
    int64_t t0;
    void *item;

    CU_ASSERT_EQUAL(dbpool_take(p, 10, &item), DBPOOL_MAKE);
    t0 = clock_mono_ms();
    CU_ASSERT_EQUAL(dbpool_take(p, 50, &item), DBPOOL_TIMEOUT);
    CU_ASSERT(clock_mono_ms() - t0 >= 40);
    dbpool_stats(p, &st);
    CU_ASSERT_EQUAL(st.size, 1);
    CU_ASSERT_EQUAL(st.taken, 1);
    CU_ASSERT_EQUAL(st.waits, 1);
    CU_ASSERT_EQUAL(st.timeouts, 1);
    /* A slot given back without an item is unmade again. */
    dbpool_give(p, NULL);
    CU_ASSERT_EQUAL(dbpool_take(p, 10, &item), DBPOOL_MAKE);
    dbpool_give(p, NULL);
    dbpool_free(p, count_free);
}

void suite_dbpool(void)
{
    ADD_SUITE("dbpool", TEST(test_slots_are_made_then_reused_newest_first),
              TEST(test_a_full_pool_times_out_after_the_wait));
}
