/* GET /healthz: is this process up, and can it reach its database?
 *
 * The check has a connection of its own with short timeouts, so that it
 * never waits behind the proxy for a worker's connection, nor longer than
 * about a second on a silent server; while the database breaker is open
 * it answers from the breaker at once (core/db.h).  One check runs at a
 * time: a request that arrives meanwhile takes that check's result. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "app.h"
#include "core/db.h"
#include "ops/ops.h"
#include "http.h"

#define HEALTH_TIMEOUT_S 1    /* connect, read and write */
#define HEALTH_WAIT_MS   1500 /* at most this long behind another check */

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db *health_db;            /* guarded by health_lock */
static const struct config *health_cfg; /* the one health_db was made with (a reference) */
static enum db_health health_last;      /* guarded by health_lock */
static atomic_ulong health_checks;      /* checks finished so far */

/* Makes the health connection again when the configuration changed. */
static void health_handle(struct app *app)
{
    const struct config *cfg = app_config_acquire(app);

    if (cfg == health_cfg && health_db != NULL) {
        app_config_release(cfg);
        return;
    }
    db_free(health_db);
    app_config_release(health_cfg);
    health_cfg = cfg;
    health_db = db_new(cfg, false);
    if (health_db != NULL)
        db_set_timeouts(health_db, HEALTH_TIMEOUT_S, HEALTH_TIMEOUT_S);
}

/* Checks the database, or takes the result of the check that ran while
 * this one waited for its turn. */
static enum db_health health_check(struct app *app)
{
    unsigned long seen = atomic_load(&health_checks);
    enum db_health h;
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(HEALTH_WAIT_MS % 1000) * 1000000L;
    until.tv_sec += HEALTH_WAIT_MS / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    if (pthread_mutex_timedlock(&health_lock, &until) != 0)
        return DB_HEALTH_TIMEOUT; /* the check in front has waited on the server all along */
    if (atomic_load(&health_checks) != seen) {
        h = health_last;
    } else {
        health_handle(app);
        h = health_db != NULL ? db_health(health_db) : DB_HEALTH_DOWN;
        health_last = h;
        atomic_fetch_add(&health_checks, 1);
    }
    pthread_mutex_unlock(&health_lock);
    return h;
}

void h_healthz(struct req *r, const struct route_args *a)
{
    enum db_health h = health_check(r->w->app);
    struct json_object *o = json_object_new_object();
    const char *db = h == DB_HEALTH_OK ? "ok" : h == DB_HEALTH_TIMEOUT ? "timeout" : "down";

    (void)a;
    json_object_object_add(o, "status",
                           json_object_new_string(h == DB_HEALTH_OK ? "ok" : "degraded"));
    json_object_object_add(o, "db", json_object_new_string(db));
    reply_json(r, h == DB_HEALTH_OK ? 200 : 503, o);
}
