/* The honest Retry-After and the wait for a key (proxy/key_wait.h). */
#include "proxy/key_wait.h"

#include <stdio.h>
#include <time.h>

#include "app.h"
#include "core/clock.h"
#include "core/pool.h"
#include "core/resettime.h"
#include "core/resetzone.h"
#include "http.h"
#include "proxy/model_rest.h"
#include "proxy/proxy.h"

#define MIN_TURN_MS 10

/* How long until a key of u may be usable, in ms; -1 when never by itself.
 * Keys at their daily quota come back at u's own reset. */
static long long next_usable_ms(const struct pool_upstream *u, const struct pool_model *m)
{
    time_t now = time(NULL), reset = upstream_next_reset(u, now);

    return pool_next_usable_ms(u, m, clock_mono_ms(), clock_wall_ms(),
                               (reset > now ? (long long)(reset - now) : 3600) * 1000);
}

long long key_wait_retry_after_s(const struct pool_upstream *u, const struct pool_model *m)
{
    long long ms = next_usable_ms(u, m);

    return ms < 0 ? RETRY_AFTER_MAX_S : retry_after_clamp_s((ms + 999) / 1000);
}

bool key_wait_begin(struct proxy *px)
{
    struct app *app = px->r->w->app;

    if (atomic_fetch_add(&app->key_waiting, 1) < px->r->cfg->max_waiting)
        return true;
    atomic_fetch_sub(&app->key_waiting, 1);
    atomic_fetch_add(&app->key_wait_refused, 1);
    return false;
}

void key_wait_end(struct proxy *px)
{
    atomic_fetch_sub(&px->r->w->app->key_waiting, 1);
}

bool key_wait_turn(struct proxy *px, int64_t until_ms)
{
    struct app *app = px->r->w->app;
    int64_t now = clock_mono_ms(), wake = until_ms;
    long long next;
    struct pool *cur;

    if (now >= until_ms)
        return false;
    next = next_usable_ms(px->up, proxy_model(px, false));
    if (next >= 0 && now + next < wake)
        wake = now + next;
    /* A wake at the very moment a skip ends would find it not yet over;
     * and however the times fall, a turn sleeps a little. */
    if (wake < now + MIN_TURN_MS)
        wake = now + MIN_TURN_MS;
    else
        wake++;
    if (wake > until_ms)
        wake = until_ms;
    if (pool_wait_change(&app->pool, px->pool, wake) && (cur = pool_acquire(&app->pool)) != NULL)
        proxy_take_snapshot(px, cur);
    return px->up != NULL;
}
