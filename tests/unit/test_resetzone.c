#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/pool.h"
#include "core/resetzone.h"
#include "core/tzif.h"
#include "suites.h"

static time_t at(const char *rfc3339)
{
    time_t t = 0;

    CU_ASSERT_EQUAL_FATAL(clock_parse_time(rfc3339, &t), 0);
    return t;
}

static void expect(const char *what, const char *tz, int hour, const char *now, const char *want)
{
    char got[32];
    time_t t = strcmp(what, "next") == 0 ? reset_next_for(tz, hour, at(now))
                                         : reset_prev_for(tz, hour, at(now));

    clock_rfc3339(t, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s %s %d from %s: got %s, want %s\n", what, tz, hour, now, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* What, zone, hour, from, the reset. */
static const struct {
    const char *what, *tz;
    int hour;
    const char *from, *want;
} known[] = {
    /* Gemini's day: midnight Pacific, UTC-8 in winter, UTC-7 in summer. */
    {"next", "America/Los_Angeles", 0, "2026-12-07T12:00:00Z", "2026-12-08T08:00:00Z"},
    {"prev", "America/Los_Angeles", 0, "2026-12-07T12:00:00Z", "2026-12-07T08:00:00Z"},
    {"prev", "America/Los_Angeles", 0, "2026-12-07T08:00:00Z", "2026-12-07T08:00:00Z"},
    {"next", "America/Los_Angeles", 0, "2026-07-01T12:00:00Z", "2026-07-02T07:00:00Z"},
    {"prev", "America/Los_Angeles", 0, "2026-07-01T06:59:59Z", "2026-06-30T07:00:00Z"},
    {"next", "UTC", 0, "2026-12-07T12:00:00Z", "2026-12-08T00:00:00Z"},
    {"next", "UTC", 13, "2026-12-07T12:00:00Z", "2026-12-07T13:00:00Z"},
    {"next", "Asia/Shanghai", 0, "2026-12-07T12:00:00Z", "2026-12-07T16:00:00Z"},
    {"prev", "Asia/Shanghai", 0, "2026-12-07T12:00:00Z", "2026-12-06T16:00:00Z"},
    {"next", "Asia/Kolkata", 5, "2026-12-07T12:00:00Z", "2026-12-07T23:30:00Z"},
    /* Sydney keeps daylight saving in the southern summer (UTC+11). */
    {"next", "Australia/Sydney", 0, "2026-01-14T12:00:00Z", "2026-01-14T13:00:00Z"},
    {"next", "Australia/Sydney", 0, "2026-07-14T12:00:00Z", "2026-07-14T14:00:00Z"},
    /* Past the transitions the file lists: its footer rule. */
    {"next", "America/Los_Angeles", 0, "2050-07-01T12:00:00Z", "2050-07-02T07:00:00Z"},
    {"next", "America/Los_Angeles", 0, "2050-12-01T12:00:00Z", "2050-12-02T08:00:00Z"},
    {"next", "Australia/Sydney", 0, "2060-01-14T12:00:00Z", "2060-01-14T13:00:00Z"},
    /* Los Angeles springs forward on 2026-03-08, 02:00 PST -> 03:00 PDT:
     * a reset at 2 that day happens at the end of the gap (10:00 UTC). */
    {"next", "America/Los_Angeles", 2, "2026-03-07T12:00:00Z", "2026-03-08T10:00:00Z"},
    {"next", "America/Los_Angeles", 2, "2026-03-06T12:00:00Z", "2026-03-07T10:00:00Z"},
    {"next", "America/Los_Angeles", 2, "2026-03-08T12:00:00Z", "2026-03-09T09:00:00Z"},
    /* It falls back on 2026-11-01, 01:00 twice: the reset is the first. */
    {"next", "America/Los_Angeles", 1, "2026-10-31T12:00:00Z", "2026-11-01T08:00:00Z"},
    {"next", "America/Los_Angeles", 1, "2026-11-01T08:00:00Z", "2026-11-02T09:00:00Z"},
    /* Midnight on both switch days stays local midnight. */
    {"next", "America/Los_Angeles", 0, "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"},
    {"next", "America/Los_Angeles", 0, "2026-03-08T08:00:00Z", "2026-03-09T07:00:00Z"},
    {"next", "America/Los_Angeles", 0, "2026-11-01T07:00:00Z", "2026-11-02T08:00:00Z"},
    /* Berlin, 2026-03-29 02:00 CET -> 03:00 CEST. */
    {"next", "Europe/Berlin", 2, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
};

static void test_known_instants_and_dst_days(void)
{
    size_t i;

    CU_ASSERT_EQUAL_FATAL(reset_zone_set_default("UTC", 0), 0);
    for (i = 0; i < NELEM(known); i++)
        expect(known[i].what, known[i].tz, known[i].hour, known[i].from, known[i].want);
}

static void test_unknown_zones_and_defaults(void)
{
    struct pool_upstream u;
    char day[16], got[32];

    CU_ASSERT_FALSE(reset_zone_known("Mars/Olympus"));
    CU_ASSERT_FALSE(reset_zone_known("../../etc/passwd"));
    CU_ASSERT_FALSE(reset_zone_known("/etc/localtime"));
    CU_ASSERT_FALSE(reset_zone_known(""));
    CU_ASSERT_FALSE(reset_zone_known("zone.tab")); /* a file, not a zone */
    CU_ASSERT_TRUE(reset_zone_known("UTC"));
    CU_ASSERT_TRUE(reset_zone_known("America/Los_Angeles"));
    CU_ASSERT_EQUAL(reset_zone_set_default("Mars/Olympus", 0), -1);
    CU_ASSERT_EQUAL_FATAL(reset_zone_set_default("Asia/Shanghai", 8), 0);
    /* No zone, or one that cannot be loaded: the global setting. */
    expect("next", NULL, -1, "2026-12-07T12:00:00Z", "2026-12-08T00:00:00Z");
    expect("next", "Mars/Olympus", 0, "2026-12-07T12:00:00Z", "2026-12-07T16:00:00Z");
    expect("next", "", 1, "2026-12-07T12:00:00Z", "2026-12-07T17:00:00Z");
    expect("next", "America/Los_Angeles", -1, "2026-12-07T12:00:00Z", "2026-12-07T16:00:00Z");

    memset(&u, 0, sizeof(u));
    u.reset_hour = -1;
    clock_rfc3339(upstream_day_start(&u, at("2026-12-07T12:00:00Z")), got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "2026-12-07T00:00:00Z");
    snprintf(u.reset_tz, sizeof(u.reset_tz), "America/Los_Angeles");
    u.reset_hour = 0;
    clock_rfc3339(upstream_day_start(&u, at("2026-12-07T12:00:00Z")), got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "2026-12-07T08:00:00Z");
    clock_rfc3339(upstream_next_reset(&u, at("2026-12-07T12:00:00Z")), got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "2026-12-08T08:00:00Z");
    clock_rfc3339(upstream_day_start(NULL, at("2026-12-07T12:00:00Z")), got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "2026-12-07T00:00:00Z");

    /* The day a reset opens is its local date. */
    reset_day_for("America/Los_Angeles", 0, at("2026-12-07T07:59:59Z"), day);
    CU_ASSERT_STRING_EQUAL(day, "2026-12-06");
    reset_day_for("America/Los_Angeles", 0, at("2026-12-07T08:00:00Z"), day);
    CU_ASSERT_STRING_EQUAL(day, "2026-12-07");
    reset_day_for("Pacific/Kiritimati", 0, at("2026-12-07T10:00:00Z"), day);
    CU_ASSERT_STRING_EQUAL(day, "2026-12-08");
    CU_ASSERT_EQUAL(reset_zone_set_default("UTC", 0), 0);
}

/* Files that are not whole TZif files are refused. */
static void test_bad_files(void)
{
    char dir[] = "/tmp/apigw-tzif-XXXXXX", path[64];
    FILE *in, *out;
    unsigned char buf[64];
    size_t n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/Cut", dir);
    in = fopen("/usr/share/zoneinfo/America/Los_Angeles", "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    out = fopen(path, "wb");
    fwrite(buf, 1, n, out);
    fclose(out);
    CU_ASSERT_PTR_NULL(tzif_load(dir, "Cut"));
    snprintf(path, sizeof(path), "%s/Text", dir);
    out = fopen(path, "wb");
    fputs("not a zone\n", out);
    fclose(out);
    CU_ASSERT_PTR_NULL(tzif_load(dir, "Text"));
    CU_ASSERT_PTR_NULL(tzif_load(dir, "Missing"));
    unlink(path);
    snprintf(path, sizeof(path), "%s/Cut", dir);
    unlink(path);
    rmdir(dir);
}

/* The offsets agree with the C library's, which reads the same files,
 * from 1970 to 2120, for zones of every kind. */
static void test_offsets_agree_with_libc(void)
{
    static const char *const zones[] = {
        "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe",
        "Asia/Shanghai",       "Asia/Kolkata",  "Pacific/Chatham",  "America/Santiago",
        "Africa/Casablanca",   "Europe/Dublin", "America/St_Johns", "Asia/Tehran",
        "Pacific/Kiritimati",  "America/Nuuk",  "Antarctica/Troll", "UTC"};
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    size_t i, bad = 0;

    for (i = 0; i < NELEM(zones); i++) {
        struct tzone *z = tzif_load("/usr/share/zoneinfo", zones[i]);
        int64_t t;
        CU_ASSERT_PTR_NOT_NULL_FATAL(z);
        setenv("TZ", zones[i], 1);
        tzset();
        for (t = 0; t < 4733510400LL && bad < 5; t += 86400 * 3 + 3607) {
            time_t tt = (time_t)t;
            struct tm tm;
            localtime_r(&tt, &tm);
            if (tm.tm_gmtoff != tzif_offset_at(z, t)) {
                fprintf(stderr, "%s at %lld: libc %ld, tzif %d\n", zones[i], (long long)t,
                        tm.tm_gmtoff, tzif_offset_at(z, t));
                bad++;
            }
        }
        tzif_free(z);
    }
    CU_ASSERT_EQUAL(bad, 0);
    if (old != NULL)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
}

/* Threads asking at once, about zones none has loaded yet, all get the
 * answer one thread alone would see; the cache fills under its lock. */
static const char *const racing[] = {"Europe/Paris", "Asia/Tokyo",       "America/Chicago",
                                     "Africa/Cairo", "Pacific/Auckland", "America/Sao_Paulo"};

static void *race(void *arg)
{
    time_t *out = arg;
    size_t i, round;

    for (round = 0; round < 200; round++)
        for (i = 0; i < NELEM(racing); i++)
            out[i] = reset_next_for(racing[i], 3, (time_t)1796608800 + (time_t)round * 3600);
    return NULL;
}

static void test_threads_share_the_cache(void)
{
    time_t got[8][NELEM(racing)];
    pthread_t th[8];
    size_t i, j;

    for (i = 0; i < 8; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race, got[i]), 0);
    for (i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (j = 0; j < NELEM(racing); j++) {
        time_t want = reset_next_for(racing[j], 3, (time_t)1796608800 + 199 * 3600);
        for (i = 0; i < 8; i++)
            CU_ASSERT_EQUAL(got[i][j], want);
    }
}

void suite_resetzone(void)
{
    ADD_SUITE("resetzone", TEST(test_known_instants_and_dst_days),
              TEST(test_unknown_zones_and_defaults), TEST(test_bad_files),
              TEST(test_offsets_agree_with_libc), TEST(test_threads_share_the_cache));
}
