/* A request moving to a newer pool snapshot (proxy/proxy.h): after a
 * lookup miss (proxy.c) or a wait for a key (key_wait.c). */
#include <stdio.h>

#include "core/pool.h"
#include "proxy/proxy.h"

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
