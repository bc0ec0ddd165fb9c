/*
 * When a day of quotas starts: hour:00 local time in a time zone, for the
 * global setting (config quota_reset_hour / quota_reset_tz) and for each
 * upstream with its own (upstreams.quota_reset_hour / quota_reset_tz).
 * Thread-safe: zones are read from the system's TZif files (core/tzif.h)
 * once each and kept in a small cache under a lock, never by switching the
 * process's TZ.
 *
 * A reset hour that a spring-forward skips on some day happens at the first
 * instant after the gap (02:00 skipped to 03:00: the reset is at 03:00);
 * one a fall-back repeats happens the first time.
 */
#ifndef APIGW_RESETZONE_H
#define APIGW_RESETZONE_H

#include <stdbool.h>
#include <time.h>

#include "core/tzif.h"

#define RESET_TZ_MAX TZIF_NAME_MAX

struct pool_upstream;

/* Whether tz names a zone this reader can load. */
bool reset_zone_known(const char *tz);

/* Sets the global reset (before any thread uses it; UTC 0 until then).
 * Returns -1, and changes nothing, for an unknown zone. */
int reset_zone_set_default(const char *tz, int hour);

/* The reset of (tz, hour): tz NULL or "" and hour < 0 mean the global
 * setting's; a zone that cannot be loaded (removed since it was saved)
 * reads as the global zone.  _next is the first reset strictly after t,
 * _prev the last one at or before t; _day writes the local date
 * (YYYY-MM-DD) whose reset _prev gives. */
time_t reset_next_for(const char *tz, int hour, time_t t);
time_t reset_prev_for(const char *tz, int hour, time_t t);
time_t reset_day_for(const char *tz, int hour, time_t t, char out[16]);

/* An upstream's day: the start of the day now is in (its last reset at or
 * before now), and the next reset after now, by its own reset hour and
 * zone or, where it has none, the global ones.  u NULL: the global day.
 * This is the day window of daily quotas and limits. */
time_t upstream_day_start(const struct pool_upstream *u, time_t now);
time_t upstream_next_reset(const struct pool_upstream *u, time_t now);

#endif
