/*
 * When no key of an upstream is usable: how long until one may be (the
 * honest Retry-After of a 503 no_available_key), and the wait of a request
 * that may hold on for one (upstream queue_wait_ms).  Both read only the
 * snapshot and this process's atomics: a refused request costs no database
 * round trip.
 */
#include "core/pool.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "core/clock.h"

#define MINUTE_MS 60000

/* A key whose rest is over but that waits for apigw-recover (an upstream
 * with a probe) comes back at the job's next run: cron runs it every
 * minute. */
#define RECOVER_PERIOD_MS MINUTE_MS

static long long earlier(long long best, long long ms)
{
    if (ms < 0)
        ms = 0;
    return best < 0 || ms < best ? ms : best;
}

/* A key at its rpm limit serves again when the minute its window counts
 * ends; one at its daily quota at the reset.  A key skipped for another
 * reason (the database could not be asked) is worth trying when its skip
 * ends. */
static long long held_back_ms(const struct pool_key *k, int64_t now_ms, long long wall_ms,
                              long long reset_wait_ms)
{
    long long skip = atomic_load(&k->skip_until_ms) - now_ms;
    long long minute_end = MINUTE_MS - wall_ms % MINUTE_MS;

    if (k->rest_until_ms > now_ms)
        return k->rest_until_ms - now_ms;
    if (k->daily_quota > 0 && k->used_today + atomic_load(&k->used_here) >= k->daily_quota)
        return reset_wait_ms;
    if (skip <= 0)
        return 0;
    if (k->rpm_limit > 0)
        return minute_end > skip ? minute_end : skip;
    if (k->daily_quota > 0)
        return reset_wait_ms;
    return skip;
}

/* ... and one set aside by a full limit window when that window ends, or
 * resting by its provider's budget (core/pace.h) when that refills, if
 * nothing else holds it longer. */
static long long key_back_ms(const struct pool_key *k, int64_t now_ms, long long wall_ms,
                             long long reset_wait_ms)
{
    long long window = atomic_load(&k->window_until_ms) - now_ms;
    long long back = held_back_ms(k, now_ms, wall_ms, reset_wait_ms);
    long long paced = k->paced ? pace_rest_left_ms(&k->pace, now_ms) : 0;

    if (paced > back)
        back = paced;
    return window > back ? window : back;
}

long long pool_next_usable_ms(const struct pool_upstream *u, const struct pool_model *m,
                              int64_t now_ms, long long wall_ms, long long reset_wait_ms)
{
    long long best = -1, back, block;
    size_t i;

    for (i = 0; i < u->nkeys; i++) {
        back = key_back_ms(&u->keys[i], now_ms, wall_ms, reset_wait_ms);
        /* A key rested for the request's model is back for it when both
         * that rest and whatever else holds it are over; never by itself
         * when the rest lasts until the key is enabled. */
        block = m != NULL && m->name != NULL ? pool_key_block_left(&u->keys[i], m, now_ms) : 0;
        if (block < 0)
            continue;
        best = earlier(best, block > back ? block : back);
    }
    if (u->keys_exhausted > 0)
        best = earlier(best, reset_wait_ms);
    if (u->next_rest_end_ms > now_ms)
        best = earlier(best, u->next_rest_end_ms - now_ms);
    else if (u->next_rest_end_ms > 0)
        best = earlier(best, RECOVER_PERIOD_MS);
    return best;
}

bool pool_wait_change(struct pool_cache *c, const struct pool *seen, int64_t until_ms)
{
    bool changed;

    pthread_mutex_lock(&c->lock);
    while (c->cur == seen && clock_mono_ms() < until_ms) {
        struct timespec at;
        int64_t ms = until_ms;
        at.tv_sec = (time_t)(ms / 1000);
        at.tv_nsec = (long)(ms % 1000) * 1000000L;
        if (pthread_cond_timedwait(&c->changed, &c->lock, &at) == ETIMEDOUT)
            break;
    }
    changed = c->cur != seen;
    pthread_mutex_unlock(&c->lock);
    return changed;
}
