#include <string.h>

#include "core/capacity.h"
#include "suites.h"

static const char *state(long long pct, long long min, bool has_min, long long usable,
                         long long total, long long reqs, long long no_key)
{
    struct capacity_counts c = {pct, min, has_min, usable, total, reqs, no_key, false};

    return capacity_state_of(&c);
}

/* Below the share is low; at it is not (2 of 10 is 20 %). */
static void test_share(void)
{
    CU_ASSERT_STRING_EQUAL(state(20, 0, false, 1, 10, 0, 0), "low");
    CU_ASSERT_STRING_EQUAL(state(20, 0, false, 2, 10, 0, 0), "ok");
    CU_ASSERT_STRING_EQUAL(state(50, 0, false, 2, 5, 0, 0), "low");
    CU_ASSERT_STRING_EQUAL(state(0, 0, false, 0, 10, 0, 0), "ok"); /* off */
    CU_ASSERT_STRING_EQUAL(state(20, 0, false, 0, 0, 0, 0), "ok"); /* no keys to share */
    CU_ASSERT_STRING_EQUAL(state(100, 0, false, 9, 10, 0, 0), "low");
}

static void test_count(void)
{
    CU_ASSERT_STRING_EQUAL(state(0, 3, true, 2, 3, 0, 0), "low");
    CU_ASSERT_STRING_EQUAL(state(0, 3, true, 3, 3, 0, 0), "ok");
    CU_ASSERT_STRING_EQUAL(state(0, 1, true, 0, 0, 0, 0), "low"); /* no keys at all */
    CU_ASSERT_STRING_EQUAL(state(0, 0, false, 0, 0, 0, 0), "ok");
}

/* Dry needs a request, and every one refused; it wins over low. */
static void test_dry(void)
{
    CU_ASSERT_STRING_EQUAL(state(20, 0, false, 0, 4, 3, 3), "dry");
    CU_ASSERT_STRING_EQUAL(state(20, 0, false, 0, 4, 3, 2), "low");
    CU_ASSERT_STRING_EQUAL(state(0, 0, false, 0, 4, 0, 0), "ok");
    CU_ASSERT_STRING_EQUAL(state(0, 0, false, 4, 4, 1, 1), "dry");
}

/* A dry pool stays dry through a minute without requests while no key is
 * usable, and is no longer dry once one is. */
static void test_dry_stays(void)
{
    struct capacity_counts c = {20, 0, false, 0, 10, 0, 0, true};

    CU_ASSERT_STRING_EQUAL(capacity_state_of(&c), "dry");
    c.usable = 1;
    CU_ASSERT_STRING_EQUAL(capacity_state_of(&c), "low");
    c.usable = 0;
    c.was_dry = false;
    CU_ASSERT_STRING_EQUAL(capacity_state_of(&c), "low");
}

void suite_capacity(void)
{
    ADD_SUITE("capacity", TEST(test_share), TEST(test_count), TEST(test_dry), TEST(test_dry_stays));
}
