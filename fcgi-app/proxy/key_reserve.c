/* A key for an attempt (proxy/proxy.h): the pick, its reservation from
 * this process's lease when it has limits, the wake of a key whose rest is
 * over, and for the first attempt the wait of queue_wait_ms. */
#include <stdatomic.h>
#include <string.h>

#include "app.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/lease.h"
#include "core/pool.h"
#include "core/quota.h"
#include "core/store.h"
#include "http.h"
#include "proxy/affinity.h"
#include "proxy/key_wait.h"
#include "proxy/model_rest.h"
#include "proxy/limit_check.h"
#include "proxy/proxy.h"

/* Whether a key has a limit that only the database can enforce exactly. */
bool proxy_key_is_limited(const struct pool_key *k)
{
    return k->daily_quota > 0 || k->rpm_limit > 0;
}

/* A resting key whose rest is over serves again at once; its first use in
 * this process marks it active in the database (once across processes:
 * the change applies only to a key still disabled and due).  When the
 * database cannot take it, a later request tries again. */
static void wake_key(struct worker *w, struct pool_key *k, const char *request_id)
{
    struct key_change c;

    if (!pool_key_wake_due(k))
        return;
    memset(&c, 0, sizeof(c));
    c.key_id = k->id;
    c.to = KEY_ACTIVE;
    c.reason = "recovered: disabled_until passed";
    c.actor = "proxy";
    c.request_id = request_id;
    c.only_from = "disabled";
    c.only_due = true;
    if (key_change_status(w->db, &c, NULL) != DB_OK)
        atomic_store(&k->woken, false);
}

/* The key an attempt goes out with.  A paced key's count goes down by one
 * at once (core/pace.h), so that requests sent together do not all take
 * its last request; its answer then says the provider's own count. */
static struct pool_key *chosen(struct pool_key *k, int64_t now)
{
    if (k->paced)
        pace_spend(&k->pace, now);
    return k;
}

/* Picks a key and reserves it.  A key with a daily quota or an rpm limit
 * spends a unit of this process's lease (core/lease.h), which asks the
 * database for a block when it is empty; one that loses (a limit, or a race with
 * another process) is skipped for a second.  A key with neither needs no
 * reservation: its status comes from the pool snapshot and its use is
 * counted by the log writer.  Limit windows (proxy/limit_check.h) come
 * first: a key over one is skipped.  With may_refresh, a first attempt that
 * finds none looks once for a newer snapshot.  Returns NULL with *e set
 * when there is none, or ERR_RATE_LIMITED when a window of the client
 * token is full. */
struct pool_key *proxy_reserve_key(struct proxy *px, enum err *e, bool may_refresh)
{
    struct worker *w = px->r->w;
    bool refreshed = !may_refresh, db_down = false;

    for (;;) {
        int64_t now = clock_mono_ms();
        const struct pool_model *m = proxy_model(px, false);
        struct pool_key *k =
            px->affine ? pool_pick_affine(px->up, m, px->affinity_hash, px->tried, px->ntried, now)
                       : pool_pick(px->up, m, px->tried, px->ntried, worker_random(w), now);
        bool granted = false;
        int rc;

        if (k == NULL) {
            /* Perhaps a key was added or enabled a moment ago. */
            if (!refreshed && px->ntried == 0 && proxy_refresh_after_miss(px) && px->up != NULL) {
                refreshed = true;
                continue;
            }
            *e = db_down ? ERR_DB_UNAVAILABLE : ERR_NO_AVAILABLE_KEY;
            return NULL;
        }
        wake_key(w, k, px->r->id);
        /* Limit windows: the key's, and the token's with the first key. */
        switch (proxy_limits_key(px, k, now)) {
        case LIMITS_GRANTED:
            break;
        case LIMITS_TOKEN_FULL:
            *e = ERR_RATE_LIMITED;
            return NULL;
        case LIMITS_DB_DOWN:
            db_down = true;
            continue;
        case LIMITS_KEY_FULL:
            continue;
        }
        if (!proxy_key_is_limited(k))
            return chosen(k, now);
        rc = lease_take(w->db, QUOTA_KEY, k->id, k->rpm_limit > 0, &granted);
        if (rc != DB_OK || !granted)
            proxy_limits_undo(px, k);
        if (rc != DB_OK) {
            /* A key with limits cannot be reserved now; one without may
             * still serve from the cache. */
            db_down = true;
            atomic_store(&k->skip_until_ms, now + 1000);
            continue;
        }
        if (granted) {
            atomic_fetch_add(&k->used_here, 1);
            return chosen(k, now);
        }
        atomic_store(&k->skip_until_ms, now + 1000);
    }
}

/* The first key of the request: reserve_key, and on an upstream with
 * queue_wait_ms, waits for one up to that long (within the deadline) when
 * none is usable.  *refused tells whether max_waiting refused it the
 * wait. */
struct pool_key *proxy_first_key(struct proxy *px, enum err *e, bool *refused)
{
    struct pool_key *k = proxy_reserve_key(px, e, true);
    int64_t until;

    *refused = false;
    if (k != NULL || *e != ERR_NO_AVAILABLE_KEY || px->up == NULL || px->up->queue_wait_ms <= 0)
        return k;
    if (!key_wait_begin(px)) {
        *refused = true;
        return NULL;
    }
    until = clock_mono_ms() + px->up->queue_wait_ms;
    if (until > px->deadline_ms)
        until = px->deadline_ms;
    /* A new snapshot wakes the turn: no version check of its own. */
    while (k == NULL && *e == ERR_NO_AVAILABLE_KEY && key_wait_turn(px, until))
        k = proxy_reserve_key(px, e, false);
    key_wait_end(px);
    atomic_fetch_add(k != NULL ? &px->r->w->app->key_wait_served : &px->r->w->app->key_wait_expired,
                     1);
    return k;
}
