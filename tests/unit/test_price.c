/* core/price.c: which price a model gets, and the cost of a usage. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "core/price.h"
#include "suites.h"

static struct price list[] = {
    {.model = "gpt-4o*", .prompt = 5, .completion = 15, .cached = 5, .currency = "USD"},
    {.model = "gpt-4o-mini*",
     .prompt = 0.15,
     .completion = 0.6,
     .cached = 0.075,
     .currency = "USD"},
    {.model = "gpt-4o-2024-08-06",
     .prompt = 2.5,
     .completion = 10,
     .cached = 1.25,
     .currency = "USD"},
    {.model = "*", .prompt = 1, .completion = 1, .cached = 1, .currency = "EUR"},
};

static void test_exact_beats_patterns(void)
{
    CU_ASSERT_PTR_EQUAL(price_match(list, 4, "gpt-4o-2024-08-06"), &list[2]);
}

static void test_longest_prefix_wins(void)
{
    CU_ASSERT_PTR_EQUAL(price_match(list, 4, "gpt-4o-mini-2024"), &list[1]);
    CU_ASSERT_PTR_EQUAL(price_match(list, 4, "gpt-4o-2025"), &list[0]);
    /* A bare "*" matches any named model, and nothing matches no model. */
    CU_ASSERT_PTR_EQUAL(price_match(list, 4, "claude"), &list[3]);
    CU_ASSERT_PTR_NULL(price_match(list, 4, ""));
    CU_ASSERT_PTR_NULL(price_match(list, 3, "claude"));
}

static struct usage_counts counts(long long p, long long c, long long k)
{
    struct usage_counts u;

    memset(&u, 0, sizeof(u));
    u.prompt = p;
    u.completion = c;
    u.cached = k;
    u.total = -1;
    u.source = USAGE_SOURCE_REPORTED;
    return u;
}

static void test_cost(void)
{
    struct usage_counts u = counts(11, 7, 3);

    /* (11 - 3) x 2.5 + 3 x 1.25 + 7 x 10 per million, in billionths. */
    CU_ASSERT_EQUAL(price_cost_nanos(&list[2], &u), 93750);
    u = counts(1000000, 0, -1);
    CU_ASSERT_EQUAL(price_cost_nanos(&list[2], &u), 2500000000LL);
    /* Cached above prompt (a confused answer) costs no less than zero. */
    u = counts(2, 0, 5);
    CU_ASSERT_EQUAL(price_cost_nanos(&list[2], &u), 2500);
    u = counts(-1, -1, -1);
    CU_ASSERT_EQUAL(price_cost_nanos(&list[2], &u), -1);
    u = counts(5, 5, 0);
    u.source = USAGE_SOURCE_NONE;
    CU_ASSERT_EQUAL(price_cost_nanos(&list[2], &u), -1);
    CU_ASSERT_EQUAL(price_cost_nanos(NULL, &u), -1);
}

static void test_check_model(void)
{
    CU_ASSERT_PTR_NULL(price_check_model("gpt-4o*"));
    CU_ASSERT_PTR_NULL(price_check_model("claude-3-5-sonnet-20241022"));
    CU_ASSERT_PTR_NOT_NULL(price_check_model("gpt*4o"));
    CU_ASSERT_PTR_NOT_NULL(price_check_model("gpt 4o"));
    CU_ASSERT_PTR_NOT_NULL(price_check_model("gpt\x01"));
}

void suite_price(void)
{
    ADD_SUITE("price", TEST(test_exact_beats_patterns), TEST(test_longest_prefix_wins),
              TEST(test_cost), TEST(test_check_model));
}
