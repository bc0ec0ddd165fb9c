#include "service.h"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "core/alert.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/pace_store.h"
#include "core/reqlog.h"
#include "http.h"
#include "core/limit_store.h"
#include "route.h"

/* Shares the budgets pacing learned with the other processes (core/pace_store.h). */
static void pace_sync(struct app *app, struct db *db)
{
    struct pool *p = pool_acquire(&app->pool);

    pace_store_sync(db, p);
    pool_release(p);
}

/* Checks the pool version every pool_refresh_ms, with its own connection,
 * and settles this process's quota leases every LEASE_TICK_MS.
 * The connection keeps the configuration it was made with; the interval
 * is read from the one in force at each turn. */
static void *refresher_main(void *arg)
{
    struct app *app = arg;
    const struct config *start = app_config_acquire(app);
    struct db *db = db_new(start, false);
    int64_t ticked = 0;

    db_thread_init();
    while (db != NULL && !atomic_load(&app->stopping)) {
        const struct config *cfg = app_config_acquire(app);
        long long every = cfg->pool_refresh_ms;
        int64_t until = clock_mono_ms() + every;
        app_config_release(cfg);
        /* A new snapshot may lack keys this process leased: give back. */
        if (pool_refresh(&app->pool, db, every) == 1)
            lease_return_all(db);
        while (!atomic_load(&app->stopping) && clock_mono_ms() < until) {
            if (clock_mono_ms() - ticked >= LEASE_TICK_MS) {
                lease_tick(db);
                limit_tokens_flush(db);
                pace_sync(app, db);
                ticked = clock_mono_ms();
            }
            usleep(20000);
        }
    }
    db_free(db);
    app_config_release(start);
    db_thread_end();
    return NULL;
}

void service_init(struct app *app)
{
    const struct config *cfg = app_config_acquire(app);
    struct db *db;

    app->service_cfg = cfg;
    pool_cache_init(&app->pool, cfg->enc_key);
    app->pool.script_lim.timeout_ms = (unsigned)cfg->script_timeout_ms;
    app->pool.script_lim.memory_kb = (unsigned)cfg->script_memory_kb;
    app->reqlog = reqlog_start(cfg);
    app->alerter = alerter_start(cfg);
    if (app->alerter == NULL)
        log_error("the alert delivery thread did not start: webhooks will not be sent");
    if (app->reqlog == NULL)
        log_error("the request log writer did not start: requests will not be logged");
    /* The first load happens now, so that the first request finds a pool. */
    db = db_new(cfg, false);
    if (db != NULL && pool_refresh(&app->pool, db, 0) < 0)
        log_warn("the key pool could not be loaded yet; retrying in the background");
    db_free(db);
    if (!app->cgi)
        app->refresher_started = pthread_create(&app->refresher, NULL, refresher_main, app) == 0;
}

void service_request(struct worker *w, const struct http_io *io, char **env)
{
    /* The request holds the configuration in force when it started until
     * it ends, whatever reloads happen meanwhile. */
    const struct config *cfg = app_config_acquire(w->app);
    struct req r;
    enum err e;

    /* A client that reads nothing for client_send_timeout_ms (the web
     * server stops reading from us) fails our next write: the request
     * ends and its thread is free. */
    if (io->fd >= 0) {
        struct timeval tv = {(time_t)(cfg->client_send_timeout_ms / 1000),
                             (suseconds_t)(cfg->client_send_timeout_ms % 1000) * 1000};
        setsockopt(io->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    e = req_init(&r, w, cfg, io, env);
    if (e == ERR_BODY_TOO_LARGE)
        reply_error(&r, e, "request body is larger than max_body_bytes (%lld bytes)",
                    cfg->max_body_bytes);
    else if (e == ERR_INVALID_FIELD)
        reply_error(&r, ERR_INVALID_FIELD, "Content-Length: not a number");
    else if (e != ERR_OK)
        reply_error(&r, e, "the request could not be read");
    else
        route_dispatch(&r);
    req_finish(&r);
    app_config_release(cfg);
}

void service_worker_end(struct worker *w)
{
    if (w->curl != NULL)
        curl_easy_cleanup(w->curl);
    if (w->multi != NULL)
        curl_multi_cleanup(w->multi);
    w->curl = NULL;
    w->multi = NULL;
}

/* At a clean stop (the workers are done): every unused unit of this
 * process's leases goes back, and what was spent is settled; the tokens
 * noted for limit windows are written (CGI mode has no refresher to). */
static void return_leases(struct app *app)
{
    struct db *db;

    if (lease_idle() && limit_tokens_idle())
        return;
    db = db_new(app->service_cfg, false);
    if (db == NULL || lease_return_all(db) != DB_OK)
        log_warn("the unused quota leases of this process could not be given back: they are"
                 " lost to today's budgets");
    if (db == NULL || limit_tokens_flush(db) != DB_OK)
        log_warn("the tokens of answers noted for limit windows could not be written");
    db_free(db);
}

void service_shutdown(struct app *app)
{
    atomic_store(&app->stopping, true);
    if (app->refresher_started)
        pthread_join(app->refresher, NULL);
    app->refresher_started = false;
    return_leases(app);
    reqlog_stop(app->reqlog);
    app->reqlog = NULL;
    alerter_stop(app->alerter);
    app->alerter = NULL;
    pool_cache_free(&app->pool);
    app_config_release(app->service_cfg);
    app->service_cfg = NULL;
}
