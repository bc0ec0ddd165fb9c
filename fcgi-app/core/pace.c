/* A key's budget as its upstream's answers report it (pace.h): reading the
 * headers, keeping the latest, and what it means for the key's choice. */
#include "core/pace.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/nelem.h"
#include "core/resettime.h"

void pace_state_init(struct pace_state *s)
{
    atomic_init(&s->req_left, -1);
    atomic_init(&s->tok_left, -1);
    atomic_init(&s->req_reset_ms, 0);
    atomic_init(&s->tok_reset_ms, 0);
    atomic_init(&s->learned_ms, 0);
    atomic_init(&s->dirty, false);
}

void pace_reading_init(struct pace_reading *r)
{
    r->req_left = r->tok_left = -1;
    r->req_reset_ms = r->tok_reset_ms = -1;
}

/* A whole non-negative count, and nothing else; -1 otherwise. */
static long long count(const char *v)
{
    char *end;
    long long n;

    while (*v == ' ' || *v == '\t')
        v++;
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    n = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno != 0 || *end != '\0')
        return -1;
    return n > PACE_REMAINING_MAX ? PACE_REMAINING_MAX : n;
}

/* A reset as ms from now; -1 when the value says nothing usable.  Every
 * form of wait_from_header's x-ratelimit-reset reading is taken (seconds,
 * durations such as "6m0s", RFC 3339 times as Anthropic sends them). */
static long long reset_ms(const char *v, time_t now)
{
    long long s = wait_from_header("x-ratelimit-reset", v, now);

    return s < 0 ? -1 : s * 1000;
}

enum what { REQ_LEFT, TOK_LEFT, REQ_RESET, TOK_RESET };

static const struct {
    const char *name;
    enum what what;
} known[] = {
    {"x-ratelimit-remaining-requests", REQ_LEFT},
    {"x-ratelimit-remaining-tokens", TOK_LEFT},
    {"x-ratelimit-reset-requests", REQ_RESET},
    {"x-ratelimit-reset-tokens", TOK_RESET},
    {"anthropic-ratelimit-requests-remaining", REQ_LEFT},
    {"anthropic-ratelimit-tokens-remaining", TOK_LEFT},
    {"anthropic-ratelimit-requests-reset", REQ_RESET},
    {"anthropic-ratelimit-tokens-reset", TOK_RESET},
};

/* A 429's Retry-After says that no request is left until then. */
static bool read_retry(struct pace_reading *r, const char *name, size_t nlen, const char *value,
                       int status, time_t now)
{
    long long s;
    char lower[16];

    if (status != 429 || (nlen != 11 && nlen != 14) ||
        (strncasecmp(name, "retry-after", nlen) != 0 &&
         strncasecmp(name, "retry-after-ms", nlen) != 0))
        return false;
    memcpy(lower, name, nlen);
    lower[nlen] = '\0';
    if ((s = wait_from_header(lower, value, now)) < 0)
        return false;
    r->req_left = 0;
    if (r->req_reset_ms < s * 1000)
        r->req_reset_ms = s * 1000;
    return true;
}

bool pace_read_header(struct pace_reading *r, const char *name, size_t nlen, const char *value,
                      int status, time_t now)
{
    size_t i;
    long long v;

    for (i = 0; i < NELEM(known); i++) {
        if (strlen(known[i].name) != nlen || strncasecmp(known[i].name, name, nlen) != 0)
            continue;
        switch (known[i].what) {
        case REQ_LEFT:
            v = count(value);
            if (v >= 0 && (r->req_left < 0 || v < r->req_left))
                r->req_left = v;
            break;
        case TOK_LEFT:
            v = count(value);
            if (v >= 0 && (r->tok_left < 0 || v < r->tok_left))
                r->tok_left = v;
            break;
        case REQ_RESET:
            if ((v = reset_ms(value, now)) >= 0)
                r->req_reset_ms = v;
            break;
        case TOK_RESET:
            if ((v = reset_ms(value, now)) >= 0)
                r->tok_reset_ms = v;
            break;
        }
        return true;
    }
    return read_retry(r, name, nlen, value, status, now);
}

/* Keeps one count and its reset: the reset first, so that a reader that
 * sees the new count never sees it with a stale reset long past. */
static void keep(atomic_llong *left, atomic_llong *reset, long long n, long long in_ms,
                 int64_t now_mono)
{
    if (n < 0)
        return;
    atomic_store(reset, now_mono + (in_ms >= 0 ? in_ms : PACE_DEFAULT_WINDOW_MS));
    atomic_store(left, n);
}

void pace_learn(struct pace_state *s, const struct pace_reading *r, int64_t now_mono,
                long long now_wall)
{
    if (r->req_left < 0 && r->tok_left < 0)
        return;
    keep(&s->req_left, &s->req_reset_ms, r->req_left, r->req_reset_ms, now_mono);
    keep(&s->tok_left, &s->tok_reset_ms, r->tok_left, r->tok_reset_ms, now_mono);
    atomic_store(&s->learned_ms, now_wall);
    atomic_store(&s->dirty, true);
}

void pace_adopt(struct pace_state *s, const struct pace_reading *stored, int64_t now_mono,
                long long learned_ms)
{
    if (learned_ms <= atomic_load(&s->learned_ms))
        return;
    /* A count whose reset has passed says nothing any more. */
    atomic_store(&s->req_reset_ms,
                 now_mono + (stored->req_reset_ms > 0 ? stored->req_reset_ms : 0));
    atomic_store(&s->req_left, stored->req_reset_ms > 0 ? stored->req_left : -1);
    atomic_store(&s->tok_reset_ms,
                 now_mono + (stored->tok_reset_ms > 0 ? stored->tok_reset_ms : 0));
    atomic_store(&s->tok_left, stored->tok_reset_ms > 0 ? stored->tok_left : -1);
    atomic_store(&s->learned_ms, learned_ms);
}

void pace_spend(struct pace_state *s, int64_t now_mono)
{
    long long left = atomic_load(&s->req_left);

    if (atomic_load(&s->req_reset_ms) <= now_mono)
        return; /* refilled: the next answer says how much */
    while (left > 0 && !atomic_compare_exchange_weak(&s->req_left, &left, left - 1))
        ;
}

/* The ms until one count refills while it is at 0; 0 otherwise. */
static long long empty_for(const atomic_llong *left, const atomic_llong *reset, int64_t now_mono)
{
    long long until;

    if (atomic_load(left) != 0)
        return 0;
    until = atomic_load(reset);
    return until > now_mono ? until - now_mono : 0;
}

long long pace_rest_left_ms(const struct pace_state *s, int64_t now_mono)
{
    long long req = empty_for(&s->req_left, &s->req_reset_ms, now_mono);
    long long tok = empty_for(&s->tok_left, &s->tok_reset_ms, now_mono);

    return req > tok ? req : tok;
}

long long pace_weigh(const struct pace_state *s, long long w, int64_t now_mono)
{
    long long left = atomic_load(&s->req_left), scaled;

    if (left < 0 || left >= PACE_FULL_REQUESTS || atomic_load(&s->req_reset_ms) <= now_mono)
        return w;
    /* w may be a weight (10^6) times a daily quota (10^12): divide first
     * when multiplying first could overflow. */
    scaled = w > LLONG_MAX / PACE_FULL_REQUESTS ? w / PACE_FULL_REQUESTS * left
                                                : w * left / PACE_FULL_REQUESTS;
    return scaled > 0 || left == 0 ? scaled : 1;
}
