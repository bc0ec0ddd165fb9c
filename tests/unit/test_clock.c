#include <string.h>

#include "core/clock.h"
#include "suites.h"
#include "core/nelem.h"

static void test_rfc3339_round_trip(void)
{
    char out[32];
    time_t t;

    CU_ASSERT_STRING_EQUAL(clock_rfc3339(0, out, sizeof(out)), "1970-01-01T00:00:00Z");
    CU_ASSERT_EQUAL(clock_parse_time("2026-11-29T01:02:03Z", &t), 0);
    CU_ASSERT_STRING_EQUAL(clock_rfc3339(t, out, sizeof(out)), "2026-11-29T01:02:03Z");
}

static void test_parse_forms(void)
{
    time_t a, b, c, d;

    CU_ASSERT_EQUAL(clock_parse_time("2026-11-29T01:02:03Z", &a), 0);
    CU_ASSERT_EQUAL(clock_parse_time("2026-11-29 01:02:03", &b), 0);
    CU_ASSERT_EQUAL(clock_parse_time("2026-11-29T02:02:03.250+01:00", &c), 0);
    CU_ASSERT_EQUAL(clock_parse_time("2026-11-28T23:02:03-02:00", &d), 0);
    CU_ASSERT_EQUAL(a, b);
    CU_ASSERT_EQUAL(a, c);
    CU_ASSERT_EQUAL(a, d);
}

static void test_parse_rejects(void)
{
    const char *bad[] = {"",
                         "2026-11-29",
                         "2026-13-01T00:00:00Z",
                         "2026-11-29T25:00:00Z",
                         "2026-11-29T01:02:03",
                         "2026-11-29T01:02:03Zjunk",
                         "2026-11-29T01:02:03+0100",
                         "yesterday"};
    size_t i;
    time_t t;

    for (i = 0; i < NELEM(bad); i++)
        CU_ASSERT_EQUAL(clock_parse_time(bad[i], &t), -1);
}

void suite_clock(void)
{
    ADD_SUITE("clock", TEST(test_rfc3339_round_trip), TEST(test_parse_forms),
              TEST(test_parse_rejects));
}
