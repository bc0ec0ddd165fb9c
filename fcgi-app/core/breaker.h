/*
 * A circuit breaker for one shared dependency (the database).
 *
 * After a failure that means "the server is not answering" (a timeout, a
 * refused or lost connection) the breaker opens: for open_ms every caller
 * is told at once to fail instead of waiting on the server again.  When
 * the time is up one caller at a time is let through as the probe; its
 * success closes the breaker, its failure opens it for another open_ms.
 *
 * The module is pure apart from its lock: every function is given the time
 * (milliseconds of a monotonic clock), so tests drive it with their own
 * clock.  One struct breaker is shared by every thread of a process.
 */
#ifndef APIGW_BREAKER_H
#define APIGW_BREAKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Why the breaker is open. */
enum breaker_cause { BREAKER_CAUSE_NONE, BREAKER_CAUSE_DOWN, BREAKER_CAUSE_TIMEOUT };

/* What a caller may do now. */
enum breaker_verdict {
    BREAKER_PASS,  /* closed: go ahead */
    BREAKER_PROBE, /* open, but this caller is the one probe: go ahead and report */
    BREAKER_REJECT /* open: fail at once */
};

struct breaker {
    pthread_mutex_t lock; /* guards until_ms, probe_ms and cause */
    atomic_bool open;     /* read without the lock on the fast path */
    int64_t until_ms;     /* no probe before this time */
    int64_t probe_ms;     /* when the probe in flight started, 0 when none */
    enum breaker_cause cause;
    atomic_llong fast_failures; /* callers rejected so far */
    atomic_llong opened;        /* times it went from closed to open */
};

/* clang-format off */
#define BREAKER_INIT {PTHREAD_MUTEX_INITIALIZER, false, 0, 0, BREAKER_CAUSE_NONE, 0, 0}
/* clang-format on */

/* Asks whether a caller may reach the server at now_ms.  A probe that has
 * not reported after probe_limit_ms is taken for lost and another caller
 * becomes the probe.  Every BREAKER_REJECT is counted. */
enum breaker_verdict breaker_ask(struct breaker *b, int64_t now_ms, int64_t probe_limit_ms);

/* Reports that the server answered.  Returns true when this closed an open
 * breaker (the caller may log it once). */
bool breaker_success(struct breaker *b);

/* Reports a failure at now_ms: the breaker is open until now_ms + open_ms
 * and any probe in flight is over.  Returns true when this opened a closed
 * breaker. */
bool breaker_failure(struct breaker *b, int64_t now_ms, int64_t open_ms, enum breaker_cause cause);

/* Whether the breaker is open, and why (cause may be NULL). */
bool breaker_is_open(struct breaker *b, enum breaker_cause *cause);

#endif
