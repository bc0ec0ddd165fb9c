/* Version checks for lookups that missed (pool_refresh_fresh in
 * core/pool.h): single-flight with a generation count, so that a request
 * is answered from a snapshot at least as new as the database was when it
 * arrived, while a flood of misses sends one version query at a time. */
#include <unistd.h>

#include "core/clock.h"
#include "core/pool.h"

/* Runs check number fresh_started, which the caller (holding fresh_lock)
 * has just claimed: waits out the gap since the previous query, then lets
 * no one else join, sends the query and publishes the outcome. */
static void run_fresh_check(struct pool_cache *c, struct db *db, long long min_gap_ms)
{
    int64_t wait_us = c->fresh_query_us + min_gap_ms * 1000 - clock_mono_us();
    int rc;

    pthread_mutex_unlock(&c->fresh_lock);
    if (wait_us > 0)
        usleep((useconds_t)(wait_us > 1000000 ? 1000000 : wait_us));
    pthread_mutex_lock(&c->fresh_lock);
    c->fresh_begun = true;
    c->fresh_query_us = clock_mono_us();
    pthread_mutex_unlock(&c->fresh_lock);
    rc = pool_refresh(c, db, 0);
    pthread_mutex_lock(&c->fresh_lock);
    c->fresh_running = false;
    c->fresh_done = c->fresh_started;
    c->fresh_rc = rc < 0 ? rc : 0;
    pthread_cond_broadcast(&c->fresh_cv);
}

int pool_refresh_fresh(struct pool_cache *c, struct db *db, long long min_gap_ms)
{
    unsigned long long target;
    int rc;

    pthread_mutex_lock(&c->fresh_lock);
    /* A running check whose query is not out yet will see what committed
     * before now; one whose query is out may not, so the next one must. */
    target = c->fresh_started + (c->fresh_running && !c->fresh_begun ? 0 : 1);
    while (c->fresh_done < target) {
        if (c->fresh_running) {
            pthread_cond_wait(&c->fresh_cv, &c->fresh_lock);
            continue;
        }
        c->fresh_running = true;
        c->fresh_begun = false;
        c->fresh_started++;
        run_fresh_check(c, db, min_gap_ms);
    }
    rc = c->fresh_rc;
    pthread_mutex_unlock(&c->fresh_lock);
    return rc;
}
