/*
 * Time arithmetic of the rules: when the daily quota resets
 * (quota_reset_hour in quota_reset_tz), and how long an answer asks a key
 * to rest (Retry-After, retry-after-ms, x-ratelimit-reset*).
 */
#ifndef APIGW_RESETTIME_H
#define APIGW_RESETTIME_H

#include <stddef.h>
#include <time.h>

/* Sets the global reset, hour:00 local time in tz each day (core/resetzone.h
 * does the work; now is not used).  Call it before any thread starts.
 * Returns 0, or -1 for an unknown time zone. */
int reset_schedule_init(const char *tz, int hour, time_t now);

/* The first reset strictly after t, and the last one at or before t, by
 * the global setting (UTC midnight before reset_schedule_init). */
time_t reset_schedule_next(time_t t);
time_t reset_schedule_prev(time_t t);

/* Seconds from now until the next reset: what a Retry-After says to a
 * client whose daily quota is spent. */
long long reset_schedule_wait_s(time_t now);

/* A wait in seconds as a Retry-After says it: at least 1 and at most
 * RETRY_AFTER_MAX_S (an hour), however far the real wait is; a client
 * asks again then and gets the rest of it. */
#define RETRY_AFTER_MAX_S 3600
long long retry_after_clamp_s(long long s);

/* The local calendar day (YYYY-MM-DD in the schedule's time zone) that the
 * reset at or before t opened, for "reset once a day".  out holds 16 bytes. */
void reset_schedule_day(time_t t, char out[16]);

/* Seconds an answer asks to wait, from the value of one header:
 *  - Retry-After: delta seconds, or an HTTP date;
 *  - retry-after-ms: milliseconds;
 *  - x-ratelimit-reset*: seconds, epoch seconds or milliseconds, a duration
 *    such as "6m0s", "1.5s" or "20ms", or an RFC 3339 time.
 * name selects the reading.  Returns -1 when the value says nothing usable. */
long long wait_from_header(const char *name, const char *value, time_t now);

#define WAIT_MAX_S (7 * 86400) /* no answer rests a key longer than a week */

#endif
