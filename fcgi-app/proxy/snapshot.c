/* A request moving to a newer pool snapshot (proxy/proxy.h): after a
 * lookup miss (proxy.c, key_reserve.c) or a wait for a key (key_wait.c). */
#include <stdio.h>

#include "app.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/proxy.h"

#define MISS_RECHECK_MS 10

void proxy_take_snapshot(struct proxy *px, struct pool *now)
{
    char name[sizeof(px->name)];

    /* The upstream the request is on may be a fallback: found again by its
     * own name, never by the name in the path. */
    snprintf(name, sizeof(name), "%s", px->up != NULL ? px->up->name : px->name);
    pool_release(px->pool);
    px->pool = now;
    px->up = pool_find_upstream(px->pool, name);
    px->last_key = NULL; /* it pointed into the old snapshot */
}

/* A lookup missed: the pool may have changed since the snapshot was made
 * (a token, upstream or key created a moment ago).  Waits for a version
 * check that began after now (shared with the other requests that miss
 * meanwhile; checks at most every MISS_RECHECK_MS, see pool_refresh_fresh)
 * and, when the current snapshot is not the one px->pool holds, takes it
 * (proxy_take_snapshot).  Returns true when it took a new snapshot. */
bool proxy_refresh_after_miss(struct proxy *px)
{
    struct app *app = px->r->w->app;
    struct pool *now;

    if (pool_refresh_fresh(&app->pool, px->r->w->db, MISS_RECHECK_MS) < 0)
        return false;
    now = pool_acquire(&app->pool);
    if (now == NULL || now == px->pool) {
        pool_release(now);
        return false;
    }
    proxy_take_snapshot(px, now);
    return true;
}
