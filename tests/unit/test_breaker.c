#include "core/breaker.h"
#include "suites.h"

#define OPEN_MS  2000
#define LIMIT_MS 10000

static void test_closed_passes(void)
{
    struct breaker b = BREAKER_INIT;
    enum breaker_cause cause = BREAKER_CAUSE_TIMEOUT;

    CU_ASSERT_EQUAL(breaker_ask(&b, 1000, LIMIT_MS), BREAKER_PASS);
    CU_ASSERT_FALSE(breaker_is_open(&b, &cause));
    CU_ASSERT_EQUAL(cause, BREAKER_CAUSE_NONE);
    CU_ASSERT_FALSE(breaker_success(&b));
    CU_ASSERT_EQUAL(atomic_load(&b.fast_failures), 0);
}

static void test_failure_opens_for_a_while(void)
{
    struct breaker b = BREAKER_INIT;
    enum breaker_cause cause;

    CU_ASSERT_TRUE(breaker_failure(&b, 1000, OPEN_MS, BREAKER_CAUSE_TIMEOUT));
    CU_ASSERT_TRUE(breaker_is_open(&b, &cause));
    CU_ASSERT_EQUAL(cause, BREAKER_CAUSE_TIMEOUT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 1000, LIMIT_MS), BREAKER_REJECT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 2999, LIMIT_MS), BREAKER_REJECT);
    CU_ASSERT_EQUAL(atomic_load(&b.fast_failures), 2);
    CU_ASSERT_EQUAL(atomic_load(&b.opened), 1);
    /* A second failure while open is no new opening. */
    CU_ASSERT_FALSE(breaker_failure(&b, 1500, OPEN_MS, BREAKER_CAUSE_DOWN));
    CU_ASSERT_EQUAL(atomic_load(&b.opened), 1);
    CU_ASSERT_TRUE(breaker_is_open(&b, &cause));
    CU_ASSERT_EQUAL(cause, BREAKER_CAUSE_DOWN);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3499, LIMIT_MS), BREAKER_REJECT);
}

static void test_one_probe_at_a_time(void)
{
    struct breaker b = BREAKER_INIT;

    breaker_failure(&b, 1000, OPEN_MS, BREAKER_CAUSE_TIMEOUT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3000, LIMIT_MS), BREAKER_PROBE);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3001, LIMIT_MS), BREAKER_REJECT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 9000, LIMIT_MS), BREAKER_REJECT);
    CU_ASSERT_TRUE(breaker_is_open(&b, NULL));
}

static void test_probe_success_closes(void)
{
    struct breaker b = BREAKER_INIT;

    breaker_failure(&b, 1000, OPEN_MS, BREAKER_CAUSE_DOWN);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3000, LIMIT_MS), BREAKER_PROBE);
    CU_ASSERT_TRUE(breaker_success(&b));
    CU_ASSERT_FALSE(breaker_is_open(&b, NULL));
    CU_ASSERT_EQUAL(breaker_ask(&b, 3001, LIMIT_MS), BREAKER_PASS);
    CU_ASSERT_FALSE(breaker_success(&b));
    /* It opens again on the next failure, counted as a new opening. */
    CU_ASSERT_TRUE(breaker_failure(&b, 4000, OPEN_MS, BREAKER_CAUSE_TIMEOUT));
    CU_ASSERT_EQUAL(atomic_load(&b.opened), 2);
}

static void test_probe_failure_reopens(void)
{
    struct breaker b = BREAKER_INIT;

    breaker_failure(&b, 1000, OPEN_MS, BREAKER_CAUSE_TIMEOUT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3000, LIMIT_MS), BREAKER_PROBE);
    CU_ASSERT_FALSE(breaker_failure(&b, 4000, OPEN_MS, BREAKER_CAUSE_TIMEOUT));
    CU_ASSERT_EQUAL(breaker_ask(&b, 5999, LIMIT_MS), BREAKER_REJECT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 6000, LIMIT_MS), BREAKER_PROBE);
}

static void test_lost_probe_is_replaced(void)
{
    struct breaker b = BREAKER_INIT;

    breaker_failure(&b, 1000, OPEN_MS, BREAKER_CAUSE_TIMEOUT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3000, LIMIT_MS), BREAKER_PROBE);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3000 + LIMIT_MS - 1, LIMIT_MS), BREAKER_REJECT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 3000 + LIMIT_MS, LIMIT_MS), BREAKER_PROBE);
}

static void test_late_failure_never_shortens(void)
{
    struct breaker b = BREAKER_INIT;

    breaker_failure(&b, 1000, 5000, BREAKER_CAUSE_TIMEOUT);
    /* A call that started long ago reports its timeout with a shorter window. */
    breaker_failure(&b, 1100, 100, BREAKER_CAUSE_TIMEOUT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 5999, LIMIT_MS), BREAKER_REJECT);
    CU_ASSERT_EQUAL(breaker_ask(&b, 6000, LIMIT_MS), BREAKER_PROBE);
}

void suite_breaker(void)
{
    ADD_SUITE("breaker", TEST(test_closed_passes), TEST(test_failure_opens_for_a_while),
              TEST(test_one_probe_at_a_time), TEST(test_probe_success_closes),
              TEST(test_probe_failure_reopens), TEST(test_lost_probe_is_replaced),
              TEST(test_late_failure_never_shortens));
}
