/*
 * Process-wide state and per-thread resources of the gateway.
 *
 * One struct app per process: the configuration (replaced whole on SIGHUP)
 * and the shared caches.  One struct worker per thread: its MariaDB
 * connection, its reused CURL handle and its random-number state.  Nothing
 * per request lives here; that is struct req (http.h).
 */
#ifndef APIGW_APP_H
#define APIGW_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/pool.h"

struct db;
struct alerter;

struct app {
    _Atomic(struct config *) cfg; /* current configuration */
    atomic_bool stopping;         /* set by SIGTERM/SIGINT */
    int listen_fd;                /* FastCGI listening socket, -1 in CGI mode */
    bool cgi;                     /* true when serving one plain CGI request */
    struct worker *workers;       /* the worker threads, for the drain */
    long long nworkers;
    struct pool_cache pool;  /* upstreams, keys and tokens (core/pool.h) */
    struct reqlog *reqlog;   /* the request log writer (core/reqlog.h) */
    struct alerter *alerter; /* webhook deliveries (core/alert.h) */
    pthread_t refresher;     /* keeps the pool cache fresh */
    bool refresher_started;
};

struct worker {
    struct app *app;
    int id;
    struct db *db;
    void *curl;  /* CURL *, created on first use */
    void *multi; /* CURLM * that runs it and keeps its connections */
    uint64_t rng;
    pthread_t thread;
    /* A kept-alive FastCGI connection this thread waits on between
     * requests (-1 when none), so that the drain can close it. */
    pthread_mutex_t idle_lock;
    int idle_fd;
};

/* The configuration in force now.  It stays valid for the life of the
 * process (replaced configurations are kept until exit). */
const struct config *app_config(struct app *app);

/* A fresh 64-bit random number from the worker's generator. */
uint64_t worker_random(struct worker *w);

/* Seeds the worker's generator from the kernel. */
void worker_seed(struct worker *w);

#endif
