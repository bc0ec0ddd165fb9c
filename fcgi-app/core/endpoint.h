/*
 * The endpoints of an upstream: its base URLs, each with a weight, an
 * enabled flag and a circuit breaker (docs/API.md, "Endpoints").
 *
 * A breaker counts the failures of its endpoint (transport errors and 5xx
 * answers) in a sliding window of window_ms; threshold of them open it
 * for cooldown_ms.  Then it is half-open: exactly one request is let
 * through as the trial, whose success closes the breaker and whose
 * failure opens it again.  A trial that never reports (its worker died)
 * is taken for lost after trial_limit_ms, and another request becomes the
 * trial.
 *
 * Breakers live in this process for its life, keyed by upstream id and
 * URL, outside the pool snapshots (like the round-robin cursors), so that
 * a reload keeps what the old snapshot learnt; each process has its own
 * view.  Every function is given the time (monotonic ms), so tests drive
 * the state machine with their own clock.
 */
#ifndef APIGW_ENDPOINT_H
#define APIGW_ENDPOINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENDPOINTS_MAX          16 /* per upstream */
#define ENDPOINT_WEIGHT_MAX    1000
#define ENDPOINT_THRESHOLD_MAX 100 /* the failures a window remembers */
#define ENDPOINT_ORIGIN_MAX    128 /* scheme://host:port as logs and metrics name it */

enum endpoint_state { ENDPOINT_CLOSED, ENDPOINT_OPEN, ENDPOINT_HALF_OPEN };

/* What an attempt through an endpoint came to. */
enum endpoint_outcome {
    ENDPOINT_OK,        /* an answer below 500 */
    ENDPOINT_5XX,       /* an answer of 500 or more */
    ENDPOINT_TRANSPORT, /* no answer: refused, timed out, reset */
    ENDPOINT_OUTCOMES
};

/* What a caller may do with an endpoint now. */
enum endpoint_verdict {
    ENDPOINT_PASS,  /* closed: go ahead */
    ENDPOINT_TRIAL, /* half-open, and this caller is the trial: go ahead and report */
    ENDPOINT_REJECT /* open, or half-open with a trial in flight */
};

struct endpoint_breaker {
    pthread_mutex_t lock; /* guards the members up to trial_ms; open is written under it */
    int64_t fails[ENDPOINT_THRESHOLD_MAX]; /* times of the latest failures, a ring */
    unsigned nfails, next;                 /* how many the ring holds; the slot to write */
    atomic_bool open;                      /* read without the lock: a closed breaker costs none */
    int64_t open_until_ms;
    int64_t trial_ms;                         /* when the trial in flight began, 0 when none */
    atomic_llong outcomes[ENDPOINT_OUTCOMES]; /* attempts since the process started */
    atomic_llong opened;                      /* times it went from closed to open */
};

/* An upstream's breaker settings (its endpoint_* fields). */
struct endpoint_params {
    long long threshold;
    int64_t window_ms, cooldown_ms, trial_limit_ms;
};

/* An endpoint as the pool snapshot holds it. */
struct pool_endpoint {
    char *url;
    char origin[ENDPOINT_ORIGIN_MAX]; /* of url, cut to fit */
    long long weight;
    bool enabled;
    struct endpoint_breaker *br; /* NULL only when memory ran out: then always closed */
};

/* What a breaker looks like now (for the admin API and /metrics). */
struct endpoint_view {
    enum endpoint_state state;
    unsigned failures;     /* in the window */
    int64_t open_until_ms; /* monotonic; 0 when closed */
};

void endpoint_breaker_init(struct endpoint_breaker *b);

/* The breaker of an upstream's endpoint: the same pointer for the same id
 * and URL for the life of the process.  NULL when memory ran out. */
struct endpoint_breaker *endpoint_breaker_for(long long upstream_id, const char *url);

/* Asks whether a request may go through b at now. */
enum endpoint_verdict endpoint_ask(struct endpoint_breaker *b, const struct endpoint_params *p,
                                   int64_t now);

/* Reports what a request that endpoint_ask let through came to; trial says
 * it was the trial.  Returns true when this opened the breaker. */
bool endpoint_report(struct endpoint_breaker *b, const struct endpoint_params *p, bool trial,
                     enum endpoint_outcome o, int64_t now);

/* Ends a trial that came to no verdict (the client left before an answer):
 * the next request may be the trial. */
void endpoint_release(struct endpoint_breaker *b, bool trial);

void endpoint_view(struct endpoint_breaker *b, const struct endpoint_params *p, int64_t now,
                   struct endpoint_view *v);

/* "closed", "open" or "half_open". */
const char *endpoint_state_name(enum endpoint_state s);

/* "ok", "5xx" or "transport". */
const char *endpoint_outcome_name(enum endpoint_outcome o);

/* Writes the origin (scheme://host[:port]) of url into out, cut to fit. */
void endpoint_origin(const char *url, char *out, size_t size);

/* Chooses the endpoint of an attempt: a weighted random choice (rnd is a
 * fresh random number) among the enabled endpoints whose breaker lets a
 * request through, leaving out those whose bit is set in avoid (failed in
 * this request) while another is left.  When every enabled endpoint is
 * open, the one whose cooldown ends first is taken anyway: the breakers
 * steer traffic between endpoints but never refuse a request on their
 * own.  Sets *trial when the choice is its breaker's trial.  Returns the
 * index, or -1 when no endpoint is enabled. */
int endpoint_pick(const struct pool_endpoint *eps, size_t n, const struct endpoint_params *p,
                  uint32_t avoid, uint64_t rnd, int64_t now, bool *trial);

/* Whether an enabled endpoint outside avoid would let a request through
 * now (without taking a trial). */
bool endpoint_any_usable(const struct pool_endpoint *eps, size_t n, const struct endpoint_params *p,
                         uint32_t avoid, int64_t now);

#endif
