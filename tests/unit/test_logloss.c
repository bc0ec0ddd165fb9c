/* core/logloss.c: the account of request-log rows the spool refused: the
 * rate-limited line, the total and the alert message. */
#include <errno.h>
#include <string.h>

#include "core/logloss.h"
#include "suites.h"

static long long total(struct logloss *l)
{
    long long n;

    logloss_counts(l, &n, NULL);
    return n;
}

static long long unreported(struct logloss *l)
{
    long long n;

    logloss_counts(l, NULL, &n);
    return n;
}

static void test_first_refusal_is_said_at_once_then_every_10_s(void)
{
    struct logloss l;
    struct logloss_event ev = {.refused = 5, .lost = 0, .queued = 5, .err = ENOSPC};
    char line[256] = "";

    logloss_init(&l);
    CU_ASSERT_TRUE(logloss_note(&l, &ev, 1000, 0, false, line, sizeof(line)));
    CU_ASSERT_STRING_EQUAL(line, "refused 5 rows since the last report (0 lost; 5 rows wait in"
                                 " memory): No space left on device");
    /* Within 10 s: counted, not said. */
    ev = (struct logloss_event){.refused = 7, .lost = 2, .queued = 200, .err = ENOSPC};
    CU_ASSERT_FALSE(logloss_note(&l, &ev, 2000, 0, false, line, sizeof(line)));
    ev = (struct logloss_event){.refused = 1, .lost = 1, .queued = 200, .err = EIO};
    CU_ASSERT_FALSE(logloss_note(&l, &ev, 10999, 0, false, line, sizeof(line)));
    /* 10 s after the last line: what happened since, and the last errno. */
    ev = (struct logloss_event){.refused = 0, .lost = 3, .queued = 200, .err = EIO};
    CU_ASSERT_TRUE(logloss_note(&l, &ev, 11000, 0, false, line, sizeof(line)));
    CU_ASSERT_STRING_EQUAL(line, "refused 8 rows since the last report (6 lost; 200 rows wait in"
                                 " memory): Input/output error");
    CU_ASSERT_EQUAL(total(&l), 6);
    /* Forced (at the stop): said whatever the time. */
    ev = (struct logloss_event){.refused = 2, .lost = 2, .queued = 0, .err = EIO};
    CU_ASSERT_TRUE(logloss_note(&l, &ev, 11001, 0, true, line, sizeof(line)));
    CU_ASSERT_EQUAL(total(&l), 8);
    logloss_destroy(&l);
}

static void test_nothing_new_says_nothing(void)
{
    struct logloss l;
    struct logloss_event none = {0, 0, 0, 0};
    char line[64] = "";

    logloss_init(&l);
    CU_ASSERT_FALSE(logloss_note(&l, &none, 50000, 0, true, line, sizeof(line)));
    CU_ASSERT_STRING_EQUAL(line, "");
    CU_ASSERT_EQUAL(total(&l), 0);
    logloss_destroy(&l);
}

static void test_alert_reports_lost_rows_once(void)
{
    struct logloss l;
    struct logloss_event ev = {.refused = 10, .lost = 4, .queued = 200, .err = ENOSPC};
    char line[256], msg[1024];

    logloss_init(&l);
    CU_ASSERT_EQUAL(logloss_alert(&l, "gw-1", 42, "/var/spool/apigw", 200, msg, sizeof(msg)), 0);
    CU_ASSERT_STRING_EQUAL(msg, "");
    /* Rows refused but kept in memory are no loss. */
    ev.lost = 0;
    logloss_note(&l, &ev, 1000, 1764982800000LL, false, line, sizeof(line));
    CU_ASSERT_EQUAL(unreported(&l), 0);
    ev.lost = 4;
    logloss_note(&l, &ev, 2000, 1764982801000LL, false, line, sizeof(line));
    ev.lost = 3;
    logloss_note(&l, &ev, 3000, 1764982809000LL, false, line, sizeof(line));
    CU_ASSERT_EQUAL(unreported(&l), 7);
    CU_ASSERT_EQUAL(logloss_alert(&l, "gw-1", 42, "/var/spool/apigw", 200, msg, sizeof(msg)), 7);
    CU_ASSERT_STRING_EQUAL(msg, "request log: 7 rows lost on gw-1 (pid 42) since "
                                "2025-12-06T01:00:01Z: the database did not take them, the spool"
                                " in /var/spool/apigw refused them (No space left on device) and"
                                " the memory queue (200 rows) was full");
    /* Until the alert is written, the rows stay to report; more may come. */
    ev.lost = 1;
    logloss_note(&l, &ev, 4000, 1764982810000LL, false, line, sizeof(line));
    logloss_reported(&l, 7);
    CU_ASSERT_EQUAL(unreported(&l), 1);
    logloss_reported(&l, 5);
    CU_ASSERT_EQUAL(unreported(&l), 0);
    CU_ASSERT_EQUAL(total(&l), 8);
    logloss_destroy(&l);
}

void suite_logloss(void)
{
    ADD_SUITE("logloss", TEST(test_first_refusal_is_said_at_once_then_every_10_s),
              TEST(test_nothing_new_says_nothing), TEST(test_alert_reports_lost_rows_once));
}
