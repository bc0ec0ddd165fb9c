#include "core/lease.h"
#include "suites.h"

/* A key used rarely, or a new process (CGI mode), leases one unit. */
static void test_idle_rate_leases_one(void)
{
    CU_ASSERT_EQUAL(lease_want(0), 1);
    CU_ASSERT_EQUAL(lease_want(-5), 1);
    CU_ASSERT_EQUAL(lease_want(1), 1);
    CU_ASSERT_EQUAL(lease_want(6), 1);
}

/* The block covers the requests of the next LEASE_HORIZON_MS, rounded up,
 * up to LEASE_MAX_BLOCK. */
static void test_rate_sets_the_block(void)
{
    CU_ASSERT_EQUAL(lease_want(7), 2);
    CU_ASSERT_EQUAL(lease_want(100), 15);
    CU_ASSERT_EQUAL(lease_want(101), 16);
    CU_ASSERT_EQUAL(lease_want(400), 60);
    CU_ASSERT_EQUAL(lease_want(1000), LEASE_MAX_BLOCK);
    CU_ASSERT_EQUAL(lease_want(1LL << 40), LEASE_MAX_BLOCK);
}

/* Near the end of a budget the block shrinks to a quarter of what is left
 * and, for the last units, to single reservations. */
static void test_block_shrinks_near_the_end(void)
{
    CU_ASSERT_EQUAL(lease_block_size(16, 1000), 16);
    CU_ASSERT_EQUAL(lease_block_size(16, 64), 16);
    CU_ASSERT_EQUAL(lease_block_size(16, 40), 10);
    CU_ASSERT_EQUAL(lease_block_size(16, 8), 2);
    CU_ASSERT_EQUAL(lease_block_size(16, 7), 1);
    CU_ASSERT_EQUAL(lease_block_size(16, 1), 1);
    CU_ASSERT_EQUAL(lease_block_size(16, 0), 0);
    CU_ASSERT_EQUAL(lease_block_size(1, 1000), 1);
}

/* However many processes ask in turn, the blocks never add up to more
 * than the budget, and every unit can be leased. */
static void test_blocks_never_exceed_the_budget(void)
{
    long long left = 100, total = 0, grants = 0, g;

    while ((g = lease_block_size(LEASE_MAX_BLOCK, left)) > 0) {
        CU_ASSERT_TRUE(g <= left);
        left -= g;
        total += g;
        grants++;
    }
    CU_ASSERT_EQUAL(total, 100);
    CU_ASSERT_EQUAL(left, 0);
    CU_ASSERT_TRUE(grants < 30);
}

void suite_lease(void)
{
    ADD_SUITE("lease", TEST(test_idle_rate_leases_one), TEST(test_rate_sets_the_block),
              TEST(test_block_shrinks_near_the_end), TEST(test_blocks_never_exceed_the_budget));
}
