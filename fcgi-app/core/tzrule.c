/* The POSIX TZ rule of a TZif footer (core/tzrule.h). */
#include "core/tzrule.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* When in a year a change happens: Jn (1..365, no Feb 29), n (0..365) or
 * Mm.w.d (day d of week w of month m, week 5 the last), at time seconds
 * of local time. */
struct when {
    char kind; /* 'J', 'N' or 'M' */
    int n, m, w, d;
    long time;
};

struct rule {
    long std, dst; /* UTC offsets, seconds east */
    struct when start, end;
};

int64_t tzrule_days(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool number(const char **s, int lo, int hi, int *out)
{
    long v = 0;
    int digits = 0;

    while (isdigit((unsigned char)**s) && digits < 4)
        v = v * 10 + (*(*s)++ - '0'), digits++;
    *out = (int)v;
    return digits > 0 && v >= lo && v <= hi;
}

/* A zone abbreviation: three or more letters, or <...> quoted. */
static bool abbrev(const char **s)
{
    const char *p = *s;

    if (*p == '<') {
        while (*p != '\0' && *p != '>')
            p++;
        if (*p != '>')
            return false;
        *s = p + 1;
        return true;
    }
    while (isalpha((unsigned char)*p))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

/* [+-]hh[:mm[:ss]], hours up to 167. */
static bool hms(const char **s, long *out)
{
    int sign = 1, h, m = 0, sec = 0;

    if (**s == '+' || **s == '-')
        sign = *(*s)++ == '-' ? -1 : 1;
    if (!number(s, 0, 167, &h))
        return false;
    if (**s == ':' && (++*s, !number(s, 0, 59, &m)))
        return false;
    if (**s == ':' && (++*s, !number(s, 0, 59, &sec)))
        return false;
    *out = sign * ((long)h * 3600 + m * 60 + sec);
    return true;
}

static bool when(const char **s, struct when *w)
{
    w->time = 7200; /* 02:00 unless said */
    if (**s == 'J') {
        ++*s;
        w->kind = 'J';
        if (!number(s, 1, 365, &w->n))
            return false;
    } else if (**s == 'M') {
        ++*s;
        w->kind = 'M';
        if (!number(s, 1, 12, &w->m) || *(*s)++ != '.' || !number(s, 1, 5, &w->w) ||
            *(*s)++ != '.' || !number(s, 0, 6, &w->d))
            return false;
    } else {
        w->kind = 'N';
        if (!number(s, 0, 365, &w->n))
            return false;
    }
    return **s != '/' || (++*s, hms(s, &w->time));
}

static bool parse_rule(const char *s, struct rule *r)
{
    long off;

    if (!abbrev(&s) || !hms(&s, &off))
        return false;
    r->std = -off;
    if (*s == '\0')
        return false; /* no daylight saving: nothing to add */
    if (!abbrev(&s))
        return false;
    r->dst = r->std + 3600;
    if (*s != ',' && *s != '\0') {
        if (!hms(&s, &off))
            return false;
        r->dst = -off;
    }
    if (*s++ != ',' || !when(&s, &r->start) || *s++ != ',' || !when(&s, &r->end))
        return false;
    return *s == '\0';
}

/* The day (since 1970) in year y that w names. */
static int64_t day_of(int64_t y, const struct when *w)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t first, day;
    unsigned len;
    int wd;

    if (w->kind == 'J')
        return tzrule_days(y, 1, 1) + w->n - 1 + (leap(y) && w->n >= 60);
    if (w->kind == 'N')
        return tzrule_days(y, 1, 1) + w->n;
    first = tzrule_days(y, (unsigned)w->m, 1);
    wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    day = first + (w->d - wd + 7) % 7 + (int64_t)(w->w - 1) * 7;
    len = mdays[w->m - 1] + (w->m == 2 && leap(y));
    while (day >= first + len)
        day -= 7;
    return day;
}

static int add(struct tzone *z, size_t *cap, int64_t at, int32_t off)
{
    if (z->n > 0 && at <= z->at[z->n - 1])
        return 0;
    if (z->n == *cap) {
        size_t ncap = *cap * 2 + 16;
        int64_t *nat = realloc(z->at, ncap * sizeof(*nat));
        int32_t *noff;
        if (nat == NULL)
            return -1;
        z->at = nat;
        if ((noff = realloc(z->off, ncap * sizeof(*noff))) == NULL)
            return -1;
        z->off = noff;
        *cap = ncap;
    }
    z->at[z->n] = at;
    z->off[z->n++] = off;
    return 0;
}

int tzrule_extend(struct tzone *z, const char *text, int last_year)
{
    struct rule r;
    size_t cap = z->n;
    int64_t y = 1970;
    struct tm tm;

    if (!parse_rule(text, &r))
        return 0;
    if (z->n > 0) {
        time_t last = (time_t)z->at[z->n - 1];
        if (gmtime_r(&last, &tm) != NULL)
            y = tm.tm_year + 1900;
    }
    for (; y <= last_year; y++) {
        /* The start is said in standard time, the end in daylight time. */
        int64_t on = day_of(y, &r.start) * 86400 + r.start.time - r.std;
        int64_t off = day_of(y, &r.end) * 86400 + r.end.time - r.dst;
        bool on_first = on < off;
        if (add(z, &cap, on_first ? on : off, (int32_t)(on_first ? r.dst : r.std)) != 0 ||
            add(z, &cap, on_first ? off : on, (int32_t)(on_first ? r.std : r.dst)) != 0)
            return -1;
    }
    return 0;
}
