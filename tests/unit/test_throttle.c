#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/throttle.h"
#include "suites.h"

/* Two free failures per pair, five per address; delays 1 s doubling to
 * 8 s; a minute without failures starts a key over. */
static const struct throttle_limits lim = {
    .pair_free = 2, .addr_free = 5, .base_ms = 1000, .max_ms = 8000, .window_ms = 60000};

/* One failed login at now; returns what throttle_begin said. */
static int64_t fail(struct throttle *t, const char *user, const char *addr, int64_t now)
{
    int64_t wait = throttle_begin(t, &lim, user, addr, now);

    if (wait == 0)
        throttle_end(t, &lim, user, addr, THROTTLE_FAILED);
    return wait;
}

static void test_delays_double_up_to_the_cap(void)
{
    struct throttle *t = throttle_new(64, 1);
    int64_t now = 1000000, expect[] = {1000, 2000, 4000, 8000, 8000};
    size_t i;

    CU_ASSERT_EQUAL(fail(t, "alice", "10.0.0.1", now), 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "alice", "10.0.0.1", now), 0);
    /* The second failure uses the last free one and locks the pair. */
    throttle_end(t, &lim, "alice", "10.0.0.1", THROTTLE_FAILED);
    for (i = 0; i < NELEM(expect); i++) {
        CU_ASSERT_EQUAL(throttle_begin(t, &lim, "alice", "10.0.0.1", now), expect[i]);
        CU_ASSERT_EQUAL(throttle_begin(t, &lim, "alice", "10.0.0.1", now + expect[i] - 1), 1);
        now += expect[i];
        CU_ASSERT_EQUAL(fail(t, "alice", "10.0.0.1", now), 0);
    }
    throttle_free(t);
}

static void test_refusals_are_not_counted(void)
{
    struct throttle *t = throttle_new(64, 2);
    struct throttle_stats st;
    int i;

    fail(t, "bob", "10.0.0.2", 0);
    fail(t, "bob", "10.0.0.2", 0);
    for (i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(throttle_begin(t, &lim, "bob", "10.0.0.2", 500), 500);
    /* Refusals neither lengthen the lock nor count as failures. */
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "bob", "10.0.0.2", 1000), 0);
    throttle_get_stats(t, &st);
    CU_ASSERT_EQUAL(st.refused, 100);
    CU_ASSERT_EQUAL(st.failures, 2);
    throttle_free(t);
}

static void test_same_for_any_username_and_case(void)
{
    struct throttle *t = throttle_new(64, 3);

    fail(t, "Carol", "10.0.0.3", 0);
    fail(t, "carol", "10.0.0.3", 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "CAROL", "10.0.0.3", 10), 990);
    /* A name that exists nowhere is throttled alike: the table never asks. */
    fail(t, "nobody-at-all", "10.0.0.3", 0);
    fail(t, "nobody-at-all", "10.0.0.3", 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "nobody-at-all", "10.0.0.3", 10), 990);
    throttle_free(t);
}

static void test_other_address_is_not_locked_out(void)
{
    struct throttle *t = throttle_new(64, 4);

    fail(t, "dave", "10.0.0.4", 0);
    fail(t, "dave", "10.0.0.4", 0);
    CU_ASSERT(throttle_begin(t, &lim, "dave", "10.0.0.4", 1) > 0);
    /* The real user elsewhere logs in at once. */
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "dave", "192.0.2.9", 1), 0);
    throttle_end(t, &lim, "dave", "192.0.2.9", THROTTLE_SUCCEEDED);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "dave", "192.0.2.9", 1), 0);
    throttle_end(t, &lim, "dave", "192.0.2.9", THROTTLE_SUCCEEDED);
    throttle_free(t);
}

static void test_address_limit_across_usernames(void)
{
    struct throttle *t = throttle_new(64, 5);
    char name[32];
    int i;

    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        CU_ASSERT_EQUAL(fail(t, name, "10.0.0.5", 0), 0);
    }
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "someone-new", "10.0.0.5", 0), 1000);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "someone-new", "10.0.0.6", 0), 0);
    throttle_end(t, &lim, "someone-new", "10.0.0.6", THROTTLE_SUCCEEDED);
    /* An IPv6 client counts by its /64, whatever the low bits. */
    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "2001:db8::%x", i + 1);
        CU_ASSERT_EQUAL(fail(t, "erin", name, 0), i < 2 ? 0 : 1000);
    }
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "erin", "2001:db8::ffff:1", 0), 1000);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "erin", "2001:db8:0:1::1", 0), 0);
    throttle_free(t);
}

static void test_success_and_undecided(void)
{
    struct throttle *t = throttle_new(64, 6);
    int i;

    fail(t, "gina", "10.0.0.7", 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "gina", "10.0.0.7", 0), 0);
    throttle_end(t, &lim, "gina", "10.0.0.7", THROTTLE_SUCCEEDED);
    /* The right password starts the pair over. */
    CU_ASSERT_EQUAL(fail(t, "gina", "10.0.0.7", 0), 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "gina", "10.0.0.7", 0), 0);
    /* A login that checked nothing takes its count back, and its lock. */
    throttle_end(t, &lim, "gina", "10.0.0.7", THROTTLE_UNDECIDED);
    for (i = 0; i < 10; i++) {
        CU_ASSERT_EQUAL(throttle_begin(t, &lim, "gina", "10.0.0.7", 0), 0);
        throttle_end(t, &lim, "gina", "10.0.0.7", THROTTLE_UNDECIDED);
    }
    throttle_free(t);
}

static void test_window_forgets(void)
{
    struct throttle *t = throttle_new(64, 7);

    fail(t, "hal", "10.0.0.8", 0);
    CU_ASSERT_EQUAL(fail(t, "hal", "10.0.0.8", 59999), 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "hal", "10.0.0.8", 60000), 999);
    /* A minute after the last failure, the pair has two free ones again. */
    CU_ASSERT_EQUAL(fail(t, "hal", "10.0.0.8", 119999), 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "hal", "10.0.0.8", 119999), 0);
    throttle_end(t, &lim, "hal", "10.0.0.8", THROTTLE_UNDECIDED);
    throttle_free(t);
}

static void test_table_is_bounded_and_evicts_oldest(void)
{
    struct throttle *t = throttle_new(16, 8);
    struct throttle_stats st;
    char name[32];
    int i;

    /* The victim pair is locked; then a spray from other addresses. */
    fail(t, "ivy", "10.0.1.1", 0);
    fail(t, "ivy", "10.0.1.1", 0);
    CU_ASSERT(throttle_begin(t, &lim, "ivy", "10.0.1.1", 1) > 0);
    for (i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "10.1.%d.%d", i / 250, i % 250);
        fail(t, "spray", name, 0);
    }
    throttle_get_stats(t, &st);
    CU_ASSERT_EQUAL(st.keys, 16);
    CU_ASSERT(st.evictions >= 2000 - 16);
    /* The oldest keys went first: the victim's pair is forgotten, while
     * the last sprayed pair is remembered (one more failure locks it). */
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "ivy", "10.0.1.1", 1), 0);
    throttle_end(t, &lim, "ivy", "10.0.1.1", THROTTLE_UNDECIDED);
    CU_ASSERT_EQUAL(fail(t, "spray", "10.1.3.249", 1), 0);
    CU_ASSERT_EQUAL(throttle_begin(t, &lim, "spray", "10.1.3.249", 1), 1000);
    throttle_free(t);
}

static void test_hash_slots(void)
{
    CU_ASSERT(crypto_hash_slot_take(2, 0));
    CU_ASSERT(crypto_hash_slot_take(2, 0));
    /* Both slots are held: a third caller waits its time, then gives up. */
    CU_ASSERT_FALSE(crypto_hash_slot_take(2, 20));
    CU_ASSERT_FALSE(crypto_hash_slot_take(2, 0));
    crypto_hash_slot_give();
    CU_ASSERT(crypto_hash_slot_take(2, 0));
    crypto_hash_slot_give();
    crypto_hash_slot_give();
}

static void *wait_for_slot(void *got)
{
    *(bool *)got = crypto_hash_slot_take(1, 60000);
    return NULL;
}

static void test_hash_slot_waiters_are_bounded(void)
{
    pthread_t waiter;
    bool got = false;
    int64_t t0;

    CU_ASSERT_FATAL(crypto_hash_slot_take(1, 0));
    CU_ASSERT_EQUAL_FATAL(pthread_create(&waiter, NULL, wait_for_slot, &got), 0);
    usleep(200 * 1000);
    /* One slot, one caller waiting for it: the next is refused at once
     * instead of waiting its minute (30 s only tells a wait from none). */
    t0 = clock_mono_ms();
    CU_ASSERT_FALSE(crypto_hash_slot_take(1, 60000));
    CU_ASSERT(clock_mono_ms() - t0 < 30000);
    crypto_hash_slot_give();
    pthread_join(waiter, NULL);
    CU_ASSERT(got);
    crypto_hash_slot_give();
}

void suite_throttle(void)
{
    ADD_SUITE("throttle", TEST(test_delays_double_up_to_the_cap),
              TEST(test_refusals_are_not_counted), TEST(test_same_for_any_username_and_case),
              TEST(test_other_address_is_not_locked_out), TEST(test_address_limit_across_usernames),
              TEST(test_success_and_undecided), TEST(test_window_forgets),
              TEST(test_table_is_bounded_and_evicts_oldest), TEST(test_hash_slots),
              TEST(test_hash_slot_waiters_are_bounded));
}
