#include "core/resettime.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/resetzone.h"

int reset_schedule_init(const char *tz, int hour, time_t now)
{
    (void)now;
    return reset_zone_set_default(tz, hour);
}

long long retry_after_clamp_s(long long s)
{
    return s < 1 ? 1 : s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
}

long long reset_schedule_wait_s(time_t now)
{
    time_t next = reset_schedule_next(now);

    return next > now ? (long long)(next - now) : 3600;
}

time_t reset_schedule_next(time_t t)
{
    return reset_next_for(NULL, -1, t);
}

time_t reset_schedule_prev(time_t t)
{
    return reset_prev_for(NULL, -1, t);
}

void reset_schedule_day(time_t t, char out[16])
{
    reset_day_for(NULL, -1, t, out);
}

/* A whole non-negative number, and nothing else. */
static bool whole_number(const char *s, double *out)
{
    char *end;

    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    return errno == 0 && *end == '\0';
}

/* A Go-style duration: "6m0s", "1.5s", "20ms", "1h2m". */
static bool go_duration(const char *s, double *seconds)
{
    double total = 0;
    bool any = false;

    while (*s != '\0') {
        char *end;
        double v;
        if (!isdigit((unsigned char)*s) && *s != '.')
            return false;
        v = strtod(s, &end);
        if (end == s)
            return false;
        if (strncmp(end, "ms", 2) == 0)
            total += v / 1000, end += 2;
        else if (*end == 'h')
            total += v * 3600, end++;
        else if (*end == 'm')
            total += v * 60, end++;
        else if (*end == 's')
            total += v, end++;
        else
            return false;
        any = true;
        s = end;
    }
    *seconds = total;
    return any;
}

static long long clamp_wait(double seconds)
{
    if (!(seconds >= 0) || seconds > WAIT_MAX_S)
        return seconds > WAIT_MAX_S ? WAIT_MAX_S : -1;
    return (long long)ceil(seconds);
}

long long wait_from_header(const char *name, const char *value, time_t now)
{
    double v;
    struct tm tm;
    time_t t;

    while (isspace((unsigned char)*value))
        value++;
    if (strcasecmp(name, "retry-after-ms") == 0)
        return whole_number(value, &v) ? clamp_wait(v / 1000) : -1;
    if (strcasecmp(name, "retry-after") == 0) {
        if (whole_number(value, &v))
            return clamp_wait(v);
        memset(&tm, 0, sizeof(tm));
        /* The HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT" (the C locale). */
        if (strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
            return -1;
        t = timegm(&tm);
        return clamp_wait(t > now ? (double)(t - now) : 0);
    }
    if (strncasecmp(name, "x-ratelimit-reset", 17) != 0)
        return -1;
    if (whole_number(value, &v)) {
        if (v > 1e12) /* epoch milliseconds */
            v = v / 1000 - (double)now;
        else if (v > 1e9) /* epoch seconds */
            v -= (double)now;
        return clamp_wait(v < 0 ? 0 : v);
    }
    if (go_duration(value, &v))
        return clamp_wait(v);
    if (clock_parse_time(value, &t) == 0)
        return clamp_wait(t > now ? (double)(t - now) : 0);
    return -1;
}
