#include "core/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int64_t clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *clock_rfc3339(time_t t, char *out, size_t outlen)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    if (strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && outlen > 0)
        out[0] = '\0';
    return out;
}

/* Reads exactly n digits; returns the value or -1. */
static int digits(const char **p, int n)
{
    int v = 0;

    while (n-- > 0) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

int clock_parse_time(const char *s, time_t *out)
{
    long long ms;

    if (clock_parse_time_ms(s, &ms) != 0)
        return -1;
    *out = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    return 0;
}

int clock_parse_time_ms(const char *s, long long *ms)
{
    const char *p = s;
    long long frac = 0;
    int digits_seen = 0;
    struct tm tm;
    int offset_s = 0;

    memset(&tm, 0, sizeof(tm));
    if ((tm.tm_year = digits(&p, 4)) < 0 || *p++ != '-')
        return -1;
    if ((tm.tm_mon = digits(&p, 2)) < 1 || tm.tm_mon > 12 || *p++ != '-')
        return -1;
    if ((tm.tm_mday = digits(&p, 2)) < 1 || tm.tm_mday > 31)
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if ((tm.tm_hour = digits(&p, 2)) < 0 || tm.tm_hour > 23 || *p++ != ':')
        return -1;
    if ((tm.tm_min = digits(&p, 2)) < 0 || tm.tm_min > 59 || *p++ != ':')
        return -1;
    if ((tm.tm_sec = digits(&p, 2)) < 0 || tm.tm_sec > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        /* Milliseconds; further digits are read and dropped. */
        for (; isdigit((unsigned char)*p); p++, digits_seen++)
            if (digits_seen < 3)
                frac = frac * 10 + (*p - '0');
        while (digits_seen < 3)
            frac *= 10, digits_seen++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm;
        p++;
        if ((hh = digits(&p, 2)) < 0 || hh > 23 || *p++ != ':' || (mm = digits(&p, 2)) < 0 ||
            mm > 59)
            return -1;
        offset_s = sign * (hh * 3600 + mm * 60);
    } else if (*p != '\0' || s[10] != ' ') {
        /* Only the database form may leave the zone out; it is UTC. */
        return -1;
    }
    if (*p != '\0')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ms = ((long long)timegm(&tm) - offset_s) * 1000 + frac;
    return 0;
}

void clock_db_time(long long ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char day[24];

    gmtime_r(&t, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, len, "%s.%03lld", day, ms % 1000);
}
