/*
 * Process-wide state and per-thread resources of the gateway.
 *
 * One struct app per process: the configuration (replaced whole on SIGHUP)
 * and the shared caches.  One struct worker per thread: its handle onto
 * the shared database pool, its reused CURL handle and its random-number
 * state.  Nothing
 * per request lives here; that is struct req (http.h).
 *
 * Configurations are reference-counted, like pool snapshots: whoever reads
 * one holds a reference to it (a request for its whole life, a thread for
 * as long as it keeps the pointer), and a replaced configuration is freed
 * when its last reference goes.
 */
#ifndef APIGW_APP_H
#define APIGW_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/pool.h"

struct db;
struct alerter;

struct app {
    pthread_mutex_t cfg_lock; /* guards cfg */
    const struct config *cfg; /* in force now; the app holds one reference */
    /* The configuration service_init started with: the pool cache, the
     * request log writer and the alert thread keep pointers into it, so
     * the service holds one reference until service_shutdown. */
    const struct config *service_cfg;
    atomic_bool stopping; /* set by SIGTERM/SIGINT */
    int listen_fd;        /* FastCGI listening socket, -1 in CGI mode */
    bool cgi;             /* true when serving one plain CGI request */
    /* The worker threads (threads.c): a list for the drain and the counts
     * that grow and shrink them, under threads_lock. */
    pthread_mutex_t threads_lock;
    pthread_cond_t threads_gone; /* signalled when a thread ends */
    struct worker *threads;
    long long nthreads;   /* alive */
    long long naccepting; /* waiting in accept() on the listening socket */
    long long threads_peak;
    struct db_pool *db_pool;  /* connections the threads share (core/db.h) */
    atomic_llong inflight;    /* proxied requests in flight */
    atomic_ullong overloaded; /* proxied requests refused by max_inflight */
    /* Requests waiting for a usable key (proxy/key_wait.h), and how the
     * waits ended: refused by max_waiting, served, given up. */
    atomic_llong key_waiting;
    atomic_ullong key_wait_refused, key_wait_served, key_wait_expired;
    struct pool_cache pool;  /* upstreams, keys and tokens (core/pool.h) */
    struct reqlog *reqlog;   /* the request log writer (core/reqlog.h) */
    struct alerter *alerter; /* webhook deliveries (core/alert.h) */
    pthread_t refresher;     /* keeps the pool cache fresh */
    bool refresher_started;
};

struct worker {
    struct app *app;
    int id;
    struct db *db; /* a handle onto app->db_pool (a connection of its own in CGI mode) */
    void *curl;    /* CURL *, created on first use */
    void *multi;   /* CURLM * that runs it and keeps its connections */
    uint64_t rng;
    /* A kept-alive FastCGI connection this thread waits on between
     * requests (-1 when none), so that the drain can close it; and the
     * list of threads.  Both under app->threads_lock. */
    int idle_fd;
    struct worker *prev, *next;
};

/* Reads the configuration file at path (NULL: $APIGW_CONFIG or the
 * default) into a new reference-counted configuration; the caller holds
 * its first reference.  Returns NULL, with the reason in err, when the
 * file is refused or memory runs out. */
const struct config *app_config_load(const char *path, char *err, size_t errlen);

/* Takes a reference to the configuration in force now (NULL before the
 * first app_config_set).  The pointer stays valid until the caller gives
 * it back with app_config_release, whatever reloads happen meanwhile. */
const struct config *app_config_acquire(struct app *app);

/* Drops one reference taken by app_config_acquire or app_config_load; the
 * last one frees the configuration.  NULL is ignored. */
void app_config_release(const struct config *c);

/* Puts c (from app_config_load) in force with a reference of the app's
 * own (the caller keeps its reference and releases it as usual), and
 * drops the app's reference to the configuration it replaces: that one
 * lives on until its last holder releases it.  NULL puts nothing in force
 * (at exit). */
void app_config_set(struct app *app, const struct config *c);

/* Counts a proxied request in flight when fewer than max are: returns
 * true, and the caller calls app_inflight_leave when it ends.  Otherwise
 * counts it as overloaded and returns false. */
bool app_inflight_enter(struct app *app, long long max);

/* Counts a request app_inflight_enter let in as ended. */
void app_inflight_leave(struct app *app);

/* A fresh 64-bit random number from the worker's generator. */
uint64_t worker_random(struct worker *w);

/* Seeds the worker's generator from the kernel. */
void worker_seed(struct worker *w);

#endif
