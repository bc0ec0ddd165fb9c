#include "core/breaker.h"

enum breaker_verdict breaker_ask(struct breaker *b, int64_t now_ms, int64_t probe_limit_ms)
{
    enum breaker_verdict v = BREAKER_PASS;

    if (!atomic_load(&b->open))
        return BREAKER_PASS;
    pthread_mutex_lock(&b->lock);
    if (!atomic_load(&b->open)) {
        v = BREAKER_PASS;
    } else if (now_ms < b->until_ms) {
        v = BREAKER_REJECT;
    } else if (b->probe_ms != 0 && now_ms - b->probe_ms < probe_limit_ms) {
        v = BREAKER_REJECT; /* another caller is testing the server */
    } else {
        b->probe_ms = now_ms;
        v = BREAKER_PROBE;
    }
    pthread_mutex_unlock(&b->lock);
    if (v == BREAKER_REJECT)
        atomic_fetch_add(&b->fast_failures, 1);
    return v;
}

bool breaker_success(struct breaker *b)
{
    bool was_open;

    if (!atomic_load(&b->open))
        return false;
    pthread_mutex_lock(&b->lock);
    was_open = atomic_exchange(&b->open, false);
    b->probe_ms = 0;
    b->cause = BREAKER_CAUSE_NONE;
    pthread_mutex_unlock(&b->lock);
    return was_open;
}

bool breaker_failure(struct breaker *b, int64_t now_ms, int64_t open_ms, enum breaker_cause cause)
{
    bool was_open;

    pthread_mutex_lock(&b->lock);
    was_open = atomic_exchange(&b->open, true);
    /* A late failure of a call that started before the breaker opened
     * never shortens the window. */
    if (!was_open || now_ms + open_ms > b->until_ms)
        b->until_ms = now_ms + open_ms;
    b->probe_ms = 0;
    b->cause = cause;
    pthread_mutex_unlock(&b->lock);
    if (!was_open)
        atomic_fetch_add(&b->opened, 1);
    return !was_open;
}

bool breaker_is_open(struct breaker *b, enum breaker_cause *cause)
{
    bool open;

    pthread_mutex_lock(&b->lock);
    open = atomic_load(&b->open);
    if (cause != NULL)
        *cause = open ? b->cause : BREAKER_CAUSE_NONE;
    pthread_mutex_unlock(&b->lock);
    return open;
}
