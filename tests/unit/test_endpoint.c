#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "suites.h"

/* Three failures within 10 s open for 5 s; a trial is lost after 2 s. */
static const struct endpoint_params P = {3, 10000, 5000, 2000};

/* The breaker as endpoint_view sees it at now. */
static struct endpoint_view at(struct endpoint_breaker *b, int64_t now)
{
    struct endpoint_view v;

    endpoint_view(b, &P, now, &v);
    return v;
}

static void test_failures_open_within_the_window(void)
{
    struct endpoint_breaker b;
    struct endpoint_view v;

    endpoint_breaker_init(&b);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 1000), ENDPOINT_PASS);
    CU_ASSERT_FALSE(endpoint_report(&b, &P, false, ENDPOINT_TRANSPORT, 1000));
    CU_ASSERT_FALSE(endpoint_report(&b, &P, false, ENDPOINT_5XX, 2000));
    /* Successes do not wipe the window. */
    CU_ASSERT_FALSE(endpoint_report(&b, &P, false, ENDPOINT_OK, 2500));
    v = at(&b, 3000);
    CU_ASSERT_EQUAL(v.state, ENDPOINT_CLOSED);
    CU_ASSERT_EQUAL(v.failures, 2);
    CU_ASSERT_TRUE(endpoint_report(&b, &P, false, ENDPOINT_TRANSPORT, 3000));
    v = at(&b, 3000);
    CU_ASSERT_EQUAL(v.state, ENDPOINT_OPEN);
    CU_ASSERT_EQUAL(v.open_until_ms, 8000);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 7999), ENDPOINT_REJECT);
    CU_ASSERT_EQUAL(atomic_load(&b.opened), 1);
    CU_ASSERT_EQUAL(atomic_load(&b.outcomes[ENDPOINT_TRANSPORT]), 2);
    CU_ASSERT_EQUAL(atomic_load(&b.outcomes[ENDPOINT_5XX]), 1);
    CU_ASSERT_EQUAL(atomic_load(&b.outcomes[ENDPOINT_OK]), 1);
}

static void test_old_failures_leave_the_window(void)
{
    struct endpoint_breaker b;
    struct endpoint_view v;

    endpoint_breaker_init(&b);
    endpoint_report(&b, &P, false, ENDPOINT_TRANSPORT, 1000);
    endpoint_report(&b, &P, false, ENDPOINT_TRANSPORT, 2000);
    /* The first has left the 10 s window by 11000. */
    CU_ASSERT_FALSE(endpoint_report(&b, &P, false, ENDPOINT_TRANSPORT, 11000));
    v = at(&b, 11000);
    CU_ASSERT_EQUAL(v.state, ENDPOINT_CLOSED);
    CU_ASSERT_EQUAL(v.failures, 2);
    CU_ASSERT_TRUE(endpoint_report(&b, &P, false, ENDPOINT_TRANSPORT, 11500));
}

/* Opens b at 1000 (open until 6000). */
static void open_it(struct endpoint_breaker *b)
{
    endpoint_breaker_init(b);
    endpoint_report(b, &P, false, ENDPOINT_TRANSPORT, 1000);
    endpoint_report(b, &P, false, ENDPOINT_TRANSPORT, 1000);
    endpoint_report(b, &P, false, ENDPOINT_TRANSPORT, 1000);
}

static void test_one_trial_closes_on_success(void)
{
    struct endpoint_breaker b;
    struct endpoint_view v;

    open_it(&b);
    v = at(&b, 6000);
    CU_ASSERT_EQUAL(v.state, ENDPOINT_HALF_OPEN);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 6000), ENDPOINT_TRIAL);
    /* Exactly one trial at a time. */
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 6001), ENDPOINT_REJECT);
    /* A request let through otherwise does not decide. */
    endpoint_report(&b, &P, false, ENDPOINT_OK, 6002);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 6003), ENDPOINT_REJECT);
    endpoint_report(&b, &P, true, ENDPOINT_OK, 6100);
    v = at(&b, 6100);
    CU_ASSERT_EQUAL(v.state, ENDPOINT_CLOSED);
    CU_ASSERT_EQUAL(v.failures, 0);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 6101), ENDPOINT_PASS);
}

static void test_trial_failure_reopens(void)
{
    struct endpoint_breaker b;
    struct endpoint_view v;

    open_it(&b);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 7000), ENDPOINT_TRIAL);
    CU_ASSERT_FALSE(endpoint_report(&b, &P, true, ENDPOINT_5XX, 7100));
    v = at(&b, 7100);
    CU_ASSERT_EQUAL(v.state, ENDPOINT_OPEN);
    CU_ASSERT_EQUAL(v.open_until_ms, 12100);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 12099), ENDPOINT_REJECT);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 12100), ENDPOINT_TRIAL);
    CU_ASSERT_EQUAL(atomic_load(&b.opened), 1);
}

static void test_released_or_lost_trial(void)
{
    struct endpoint_breaker b;

    open_it(&b);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 6000), ENDPOINT_TRIAL);
    endpoint_release(&b, true);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 6001), ENDPOINT_TRIAL);
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 8000), ENDPOINT_REJECT);
    /* Not reported within trial_limit_ms: another request becomes the trial. */
    CU_ASSERT_EQUAL(endpoint_ask(&b, &P, 8001), ENDPOINT_TRIAL);
}

/* n endpoints with the given weights, each with its own breaker. */
static void make(struct pool_endpoint *eps, struct endpoint_breaker *brs, const long long *w,
                 size_t n)
{
    size_t i;

    memset(eps, 0, n * sizeof(*eps));
    for (i = 0; i < n; i++) {
        endpoint_breaker_init(&brs[i]);
        eps[i].weight = w[i];
        eps[i].enabled = true;
        eps[i].br = &brs[i];
    }
}

static void test_pick_follows_weights(void)
{
    static const long long w[] = {1, 3, 0};
    struct pool_endpoint eps[3];
    struct endpoint_breaker brs[3];
    int count[3] = {0, 0, 0};
    bool trial;
    uint64_t r;

    make(eps, brs, w, 3);
    eps[2].enabled = false;
    /* rnd walks every residue of the total weight (4) equally often. */
    for (r = 0; r < 4000; r++)
        count[endpoint_pick(eps, 3, &P, 0, r, 1000, &trial)]++;
    CU_ASSERT_EQUAL(count[0], 1000);
    CU_ASSERT_EQUAL(count[1], 3000);
    CU_ASSERT_EQUAL(count[2], 0);
    CU_ASSERT_FALSE(trial);
}

static void test_pick_avoids_open_and_failed(void)
{
    static const long long w[] = {5, 5};
    struct pool_endpoint eps[2];
    struct endpoint_breaker brs[2];
    bool trial;
    uint64_t r;

    make(eps, brs, w, 2);
    open_it(&brs[0]);
    for (r = 0; r < 20; r++)
        CU_ASSERT_EQUAL(endpoint_pick(eps, 2, &P, 0, r, 2000, &trial), 1);
    /* Failed in this request: the other one, even when it is open... */
    CU_ASSERT_EQUAL(endpoint_pick(eps, 2, &P, 1u << 1, 0, 2000, &trial), 1);
    /* ...and after the cooldown the open one's trial comes first. */
    CU_ASSERT_EQUAL(endpoint_pick(eps, 2, &P, 1u << 1, 0, 6000, &trial), 0);
    CU_ASSERT_TRUE(trial);
    CU_ASSERT_FALSE(endpoint_any_usable(eps, 2, &P, 1u << 1, 6001));
    CU_ASSERT_TRUE(endpoint_any_usable(eps, 2, &P, 0, 6001));
}

static void test_pick_when_all_are_open(void)
{
    static const long long w[] = {1, 1};
    struct pool_endpoint eps[2];
    struct endpoint_breaker brs[2];
    bool trial = true;

    make(eps, brs, w, 2);
    open_it(&brs[0]); /* until 6000 */
    endpoint_breaker_init(&brs[1]);
    endpoint_report(&brs[1], &P, false, ENDPOINT_TRANSPORT, 500);
    endpoint_report(&brs[1], &P, false, ENDPOINT_TRANSPORT, 500);
    endpoint_report(&brs[1], &P, false, ENDPOINT_TRANSPORT, 500); /* until 5500 */
    /* Never refused: the one whose cooldown ends first, not as a trial. */
    CU_ASSERT_EQUAL(endpoint_pick(eps, 2, &P, 0, 0, 2000, &trial), 1);
    CU_ASSERT_FALSE(trial);
    eps[1].enabled = false;
    CU_ASSERT_EQUAL(endpoint_pick(eps, 2, &P, 0, 0, 2000, &trial), 0);
    eps[0].enabled = false;
    CU_ASSERT_EQUAL(endpoint_pick(eps, 2, &P, 0, 0, 2000, &trial), -1);
}

static void test_origin(void)
{
    char o[ENDPOINT_ORIGIN_MAX], small[12];

    endpoint_origin("https://api.example.com:8443/v1/x", o, sizeof(o));
    CU_ASSERT_STRING_EQUAL(o, "https://api.example.com:8443");
    endpoint_origin("http://127.0.0.1:9", o, sizeof(o));
    CU_ASSERT_STRING_EQUAL(o, "http://127.0.0.1:9");
    endpoint_origin("http://a-long-host.example/v1", small, sizeof(small));
    CU_ASSERT_STRING_EQUAL(small, "http://a-lo");
}

static void test_registry_keeps_breakers(void)
{
    struct endpoint_breaker *a = endpoint_breaker_for(7, "http://a.example");

    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_EQUAL(endpoint_breaker_for(7, "http://a.example"), a);
    CU_ASSERT_PTR_NOT_EQUAL(endpoint_breaker_for(8, "http://a.example"), a);
    CU_ASSERT_PTR_NOT_EQUAL(endpoint_breaker_for(7, "http://b.example"), a);
}

void suite_endpoint(void)
{
    ADD_SUITE("endpoint", TEST(test_failures_open_within_the_window),
              TEST(test_old_failures_leave_the_window), TEST(test_one_trial_closes_on_success),
              TEST(test_trial_failure_reopens), TEST(test_released_or_lost_trial),
              TEST(test_pick_follows_weights), TEST(test_pick_avoids_open_and_failed),
              TEST(test_pick_when_all_are_open), TEST(test_origin),
              TEST(test_registry_keeps_breakers));
}
