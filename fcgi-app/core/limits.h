/*
 * Limit windows of keys and client tokens (issue 20, docs/API.md "Limit
 * windows"): up to LIMITS_MAX limits, each counting the requests and the
 * answer tokens of a minute, an hour or a day (the day of the reset
 * schedule, limit_day_start), optionally only for requests whose model
 * matches a pattern.  Parsed once when the pool snapshot loads
 * (core/pool.c) and when a key or token is saved (the same checks, so that
 * what was saved always loads); the counters live in the database
 * (core/limit_store.h).  Pure functions, shared with the unit tests.
 */
#ifndef APIGW_LIMITS_H
#define APIGW_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct json_object;

#define LIMITS_MAX      8   /* limits of one key or token */
#define LIMIT_MODEL_MAX 128 /* bytes of a model pattern */
#define LIMIT_N_MAX     1000000000000000LL

enum limit_window { LIMIT_MINUTE, LIMIT_HOUR, LIMIT_DAY };

struct limit {
    enum limit_window window;
    long long requests; /* 0: no request limit */
    long long tokens;   /* 0: no token limit */
    char *model;        /* '*' wildcards; NULL: every request */
};

struct limit_set {
    struct limit v[LIMITS_MAX];
    size_t n;
    /* A hash of the limits as parsed: the counters of an edited list are
     * kept apart from the old one's, so that it starts fresh. */
    long long version;
    bool any_model; /* a limit has a model pattern */
};

/* Parses arr (a JSON array, or NULL / JSON null / [] for none) into *out
 * (NULL for none).  Returns 0, or -1 with "limits[i].member: why" (or
 * "limits: why") in msg and *out NULL.  limits_free releases *out. */
int limits_parse(struct json_object *arr, struct limit_set **out, char *msg, size_t len);

/* Like limits_parse, from the stored JSON text (NULL: none).  Text that
 * does not parse reads as none. */
struct limit_set *limits_parse_text(const char *text);

void limits_free(struct limit_set *s);

/* Whether limit l applies to a request whose model (sent upstream) is
 * model ("" or NULL: the request names none, so that a limit with a
 * pattern does not apply). */
bool limit_applies(const struct limit *l, const char *model);

/* "minute", "hour" or "day". */
const char *limit_window_name(enum limit_window w);

/* The daily reset a day window follows (core/resetzone.h): a key's
 * upstream's own quota_reset_tz and quota_reset_hour, where it has them;
 * tz NULL or "" and hour < 0 (or the whole of it NULL) mean the global
 * setting's, which client tokens follow. */
struct limit_day {
    const char *tz;
    int hour;
};

/* The start of the window of kind w that holds now (epoch seconds; now is
 * the database's clock for minutes and hours), and its end.  Day windows
 * follow limit_day_start. */
long long limit_window_start(enum limit_window w, const struct limit_day *day, long long now);
long long limit_window_end(enum limit_window w, const struct limit_day *day, long long start);

/* The start of the day window that holds now by day's reset, and the end
 * of the day window that starts at start. */
long long limit_day_start(const struct limit_day *day, long long now);
long long limit_day_end(const struct limit_day *day, long long start);

#endif
