/* When no key is usable: how long until one may be (the Retry-After of a
 * 503 no_available_key, and the wake-up of a request waiting for a key),
 * from the snapshot alone. */
#include <string.h>

#include "core/pool.h"
#include "suites.h"

#define NOW       1000000
#define WALL      (1700000040000LL + 15000) /* 15 s into a wall-clock minute */
#define RESET_MS  3600000
#define MINUTE_MS 60000

static struct pool_key keys[3];
static struct pool_upstream up;

/* An upstream of n usable keys. */
static struct pool_upstream *upstream(size_t n)
{
    size_t i;

    memset(keys, 0, sizeof(keys));
    memset(&up, 0, sizeof(up));
    for (i = 0; i < n; i++) {
        keys[i].id = (long long)i + 1;
        keys[i].weight = 1;
        atomic_init(&keys[i].used_here, 0);
        atomic_init(&keys[i].skip_until_ms, 0);
    }
    up.keys = keys;
    up.nkeys = n;
    return &up;
}

static long long next(const struct pool_upstream *u)
{
    return pool_next_usable_ms(u, NULL, NOW, WALL, RESET_MS);
}

static void test_wait_none_comes_back(void)
{
    struct pool_upstream *u = upstream(0);

    /* No key at all, or only keys banned or disabled without a time. */
    CU_ASSERT_EQUAL(next(u), -1);
}

static void test_wait_earliest_rest(void)
{
    struct pool_upstream *u = upstream(2);

    keys[0].rest_until_ms = NOW + 40000;
    keys[1].rest_until_ms = NOW + 7000;
    CU_ASSERT_EQUAL(next(u), 7000);
    /* A disabled key the snapshot does not hold (an upstream with a probe)
     * counts by the time the load read. */
    u->next_rest_end_ms = NOW + 3000;
    CU_ASSERT_EQUAL(next(u), 3000);
    /* A rest already over waits for apigw-recover's next run. */
    u->next_rest_end_ms = NOW - 5;
    CU_ASSERT_EQUAL(next(u), 7000);
    keys[0].rest_until_ms = NOW + 70000;
    keys[1].rest_until_ms = 0;
    atomic_store(&keys[1].skip_until_ms, NOW + 90000);
    CU_ASSERT_EQUAL(next(u), MINUTE_MS);
}

static void test_wait_rpm_rolls_over_with_the_minute(void)
{
    struct pool_upstream *u = upstream(1);

    /* Refused by its rpm limit: skipped for a second, usable again when
     * the minute its window counts is over. */
    keys[0].rpm_limit = 10;
    atomic_store(&keys[0].skip_until_ms, NOW + 1000);
    CU_ASSERT_EQUAL(next(u), MINUTE_MS - 15000);
}

static void test_wait_quota_until_reset(void)
{
    struct pool_upstream *u = upstream(2);

    /* One key spent its daily quota here, the other rests longer than the
     * reset is away: the reset comes first. */
    keys[0].daily_quota = 5;
    keys[0].used_today = 3;
    atomic_store(&keys[0].used_here, 2);
    keys[1].rest_until_ms = NOW + RESET_MS + 1;
    CU_ASSERT_EQUAL(next(u), RESET_MS);
    /* Keys exhausted in the database (not in the snapshot) wait for it too. */
    u = upstream(0);
    u->keys_exhausted = 1;
    CU_ASSERT_EQUAL(next(u), RESET_MS);
}

static void test_wait_usable_key_means_now(void)
{
    struct pool_upstream *u = upstream(2);

    keys[0].rest_until_ms = NOW + 9000;
    CU_ASSERT_EQUAL(next(u), 0);
}

void suite_pool_wait(void)
{
    ADD_SUITE("pool_wait", TEST(test_wait_none_comes_back), TEST(test_wait_earliest_rest),
              TEST(test_wait_rpm_rolls_over_with_the_minute), TEST(test_wait_quota_until_reset),
              TEST(test_wait_usable_key_means_now));
}
