/* Time helpers shared by every module. */
#ifndef APIGW_CLOCK_H
#define APIGW_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds of a monotonic clock, for durations and deadlines. */
int64_t clock_mono_ms(void);

/* Microseconds of a monotonic clock. */
int64_t clock_mono_us(void);

/* Milliseconds since the Unix epoch, wall clock. */
int64_t clock_wall_ms(void);

/* Writes t as RFC 3339 UTC ("2026-11-29T01:02:03Z") into out (at least 21
 * bytes).  Returns out. */
char *clock_rfc3339(time_t t, char *out, size_t outlen);

/* Writes ms since the Unix epoch as DATETIME(3) text in UTC ("2026-11-29
 * 01:02:03.456"), the form of the database's time columns. */
void clock_db_time(long long ms, char *out, size_t len);

/* Parses RFC 3339 UTC text ("2026-11-29T01:02:03Z", fractions and a
 * numeric offset accepted) or a database DATETIME ("2026-11-29 01:02:03").
 * Returns 0 and the time in *out, or -1. */
int clock_parse_time(const char *s, time_t *out);

/* The same, keeping milliseconds: *ms since the Unix epoch. */
int clock_parse_time_ms(const char *s, long long *ms);

#endif
