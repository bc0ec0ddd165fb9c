#include <string.h>

#include "core/clock.h"
#include "core/resettime.h"
#include "suites.h"

static time_t at(const char *rfc3339)
{
    time_t t = 0;

    CU_ASSERT_EQUAL_FATAL(clock_parse_time(rfc3339, &t), 0);
    return t;
}

static void expect_next(const char *tz, int hour, const char *now, const char *want)
{
    char got[32];

    CU_ASSERT_EQUAL_FATAL(reset_schedule_init(tz, hour, at(now)), 0);
    clock_rfc3339(reset_schedule_next(at(now)), got, sizeof(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s %d after %s: got %s, want %s\n", tz, hour, now, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_next_reset_in_time_zones(void)
{
    expect_next("UTC", 0, "2026-11-29T01:00:00Z", "2026-11-30T00:00:00Z");
    expect_next("UTC", 0, "2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"); /* strictly after */
    expect_next("UTC", 5, "2026-11-29T01:00:00Z", "2026-11-29T05:00:00Z");
    /* Berlin in winter is UTC+1: local midnight is 23:00 UTC. */
    expect_next("Europe/Berlin", 0, "2026-11-29T01:00:00Z", "2026-11-29T23:00:00Z");
    /* In summer UTC+2. */
    expect_next("Europe/Berlin", 0, "2026-07-01T12:00:00Z", "2026-07-01T22:00:00Z");
    /* Los Angeles, 17:00 local in winter is 01:00 UTC next day. */
    expect_next("America/Los_Angeles", 17, "2026-12-01T00:30:00Z", "2026-12-01T01:00:00Z");
    /* Kolkata is UTC+5:30 all year. */
    expect_next("Asia/Kolkata", 0, "2026-11-29T10:00:00Z", "2026-11-29T18:30:00Z");
}

static void test_reset_across_dst_changes(void)
{
    /* Berlin springs forward on 2026-03-29 at 02:00 -> 03:00: a reset hour
     * of 2 does not exist that day and happens at 03:00 CEST (01:00 UTC). */
    expect_next("Europe/Berlin", 2, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z");
    /* The day before it was 02:00 CET = 01:00 UTC as well; the day after,
     * 02:00 CEST = 00:00 UTC. */
    expect_next("Europe/Berlin", 2, "2026-03-29T12:00:00Z", "2026-03-30T00:00:00Z");
    /* New York falls back on 2026-11-01: midnight resets stay at local 00:00. */
    expect_next("America/New_York", 0, "2026-10-31T12:00:00Z", "2026-11-01T04:00:00Z");
    expect_next("America/New_York", 0, "2026-11-01T12:00:00Z", "2026-11-02T05:00:00Z");
}

static void test_prev_and_day(void)
{
    char day[16], got[32];

    CU_ASSERT_EQUAL(reset_schedule_init("Europe/Berlin", 0, at("2026-11-29T12:00:00Z")), 0);
    clock_rfc3339(reset_schedule_prev(at("2026-11-29T12:00:00Z")), got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "2026-11-28T23:00:00Z");
    reset_schedule_day(at("2026-11-29T12:00:00Z"), day);
    CU_ASSERT_STRING_EQUAL(day, "2026-11-29");
    /* 22:30 UTC on the 29th is still the 29th in Berlin. */
    reset_schedule_day(at("2026-11-29T22:30:00Z"), day);
    CU_ASSERT_STRING_EQUAL(day, "2026-11-29");
    reset_schedule_day(at("2026-11-29T23:30:00Z"), day);
    CU_ASSERT_STRING_EQUAL(day, "2026-11-30");
    CU_ASSERT_EQUAL(reset_schedule_init("Mars/Olympus", 0, 0), -1);
}

static void test_wait_from_headers(void)
{
    time_t now = at("2026-11-29T01:00:00Z");

    CU_ASSERT_EQUAL(wait_from_header("Retry-After", "30", now), 30);
    CU_ASSERT_EQUAL(wait_from_header("retry-after", " 7", now), 7);
    CU_ASSERT_EQUAL(wait_from_header("Retry-After", "Sun, 29 Nov 2026 01:02:00 GMT", now), 120);
    CU_ASSERT_EQUAL(wait_from_header("Retry-After", "Sun, 29 Nov 2026 00:59:00 GMT", now), 0);
    CU_ASSERT_EQUAL(wait_from_header("Retry-After", "soon", now), -1);
    CU_ASSERT_EQUAL(wait_from_header("retry-after-ms", "1500", now), 2);
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset", "45", now), 45);
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset", "1795914060", now), 60);    /* epoch s */
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset", "1795914090000", now), 90); /* ms */
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset-requests", "6m0s", now), 360);
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset-tokens", "1.5s", now), 2);
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset-tokens", "20ms", now), 1);
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset", "2026-11-29T01:05:00Z", now), 300);
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-reset", "garbage", now), -1);
    CU_ASSERT_EQUAL(wait_from_header("x-ratelimit-limit", "60", now), -1);
    /* No answer rests a key for more than a week. */
    CU_ASSERT_EQUAL(wait_from_header("Retry-After", "99999999", now), WAIT_MAX_S);
}

void suite_resettime(void)
{
    ADD_SUITE("resettime", TEST(test_next_reset_in_time_zones), TEST(test_reset_across_dst_changes),
              TEST(test_prev_and_day), TEST(test_wait_from_headers));
}
