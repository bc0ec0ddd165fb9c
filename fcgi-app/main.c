/*
 * apigw-fcgi: start-up, signals, worker threads and the accept loop.
 *
 * FastCGI mode: the listening socket is `fcgi_socket` (or -s PATH), or
 * file descriptor 0 when a process manager (spawn-fcgi, systemd socket
 * activation, mod_fcgid) hands one over.  Otherwise the binary answers one
 * plain CGI request from its environment and standard input.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/log.h"
#include "core/resettime.h"
#include "http.h"
#include "listener.h"
#include "service.h"
#include "threads.h"

extern char **environ;

static struct app the_app = {.cfg_lock = PTHREAD_MUTEX_INITIALIZER,
                             .threads_lock = PTHREAD_MUTEX_INITIALIZER};

static void usage(FILE *f)
{
    fputs("usage: apigw-fcgi [-c CONFIG] [-s SOCKET] [--check-config] [--get KEY]\n"
          "  -c CONFIG       configuration file (default $APIGW_CONFIG or var/apigw.conf)\n"
          "  -s SOCKET       listen on this unix socket (overrides fcgi_socket)\n"
          "  --check-config  check the configuration, print one line, exit\n"
          "  --get KEY       print the effective value of one configuration key\n"
          "Without a socket and without a FastCGI listener on fd 0 it serves one CGI request.\n",
          f);
}

static long stdio_read(void *ctx, char *p, size_t n)
{
    (void)ctx;
    return (long)fread(p, 1, n, stdin);
}

static int stdio_write(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int stdio_flush(void *ctx)
{
    (void)ctx;
    return fflush(stdout) == 0 ? 0 : -1;
}

/* Reads the configuration file again and puts it in force; requests that
 * started before keep the one they hold. */
static void reload_config(struct app *app)
{
    const struct config *old = app_config_acquire(app), *fresh;
    char err[512];

    fresh = app_config_load(old->path, err, sizeof(err));
    if (fresh == NULL) {
        log_error("reload refused, keeping the running configuration: %s", err);
        app_config_release(old);
        return;
    }
    app_config_set(app, fresh);
    if (strcmp(old->quota_reset_tz, fresh->quota_reset_tz) != 0 ||
        old->quota_reset_hour != fresh->quota_reset_hour)
        log_warn("quota_reset_tz and quota_reset_hour take effect after a restart");
    app_config_release(old);
    log_set_level(log_level_from_name(fresh->log_level));
    log_info("configuration reloaded from %s (db_*, workers and fcgi_socket need a restart)",
             fresh->path);
    app_config_release(fresh);
}

/* Waits for signals: SIGHUP reloads, SIGTERM and SIGINT begin the drain. */
static void *signal_main(void *arg)
{
    struct app *app = arg;
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload_config(app);
            continue;
        }
        log_info("signal %d: finishing requests in flight, then exiting", sig);
        atomic_store(&app->stopping, true);
        FCGX_ShutdownPending();
        /* Wakes every thread blocked in accept() or waiting on a kept-alive
         * connection for its next request; in-flight requests go on. */
        shutdown(app->listen_fd, SHUT_RDWR);
        threads_wake_idle(app);
        return NULL;
    }
}

static int open_listener(struct app *app, const char *sock_path)
{
    if (sock_path != NULL && *sock_path != '\0') {
        const struct config *cfg = app_config_acquire(app);
        char err[512];

        app->listen_fd = listener_open(sock_path, cfg->fcgi_socket_group, err, sizeof(err));
        app_config_release(cfg);
        if (app->listen_fd < 0) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
        return 0;
    }
    if (FCGX_IsCGI()) {
        app->cgi = true;
        app->listen_fd = -1;
        return 0;
    }
    app->listen_fd = 0;
    return 0;
}

static int run_cgi(struct app *app)
{
    struct worker w = {.app = app, .id = 0};
    struct http_io io = {stdio_read, stdio_write, stdio_flush, -1, NULL, false};
    const struct config *cfg = app_config_acquire(app); /* for the connection */

    worker_seed(&w);
    w.db = db_new(cfg, false);
    if (w.db == NULL) {
        app_config_release(cfg);
        return 1;
    }
    service_init(app);
    service_request(&w, &io, environ);
    fflush(stdout);
    service_worker_end(&w);
    service_shutdown(app);
    db_free(w.db);
    app_config_release(cfg);
    return 0;
}

static int run_fcgi(struct app *app)
{
    /* The threads and the database pool keep this configuration: it is
     * held until they are gone. */
    const struct config *cfg = app_config_acquire(app);
    pthread_t sig_thread;
    long long started;
    bool all_gone;

    service_init(app);
    started = threads_start(app, cfg);
    if (started == 0)
        log_error("no worker thread could start");
    pthread_create(&sig_thread, NULL, signal_main, app);
    log_info("serving FastCGI with %lld waiting threads (at most %lld, %lld proxied requests "
             "in flight, %lld database connections)",
             started, (long long)cfg->max_threads, (long long)cfg->max_inflight,
             (long long)cfg->db_pool_size);
    pthread_join(sig_thread, NULL);
    all_gone = threads_wait_all(app, clock_mono_ms() + cfg->drain_timeout_s * 1000);
    if (!all_gone)
        log_warn("requests still running after %lld s; exiting anyway",
                 (long long)cfg->drain_timeout_s);
    service_shutdown(app);
    log_info("stopped");
    /* Threads still running keep their configuration. */
    if (all_gone)
        app_config_release(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL, *sock = NULL, *get_key = NULL;
    bool check_only = false;
    const struct config *cfg;
    char err[512];
    sigset_t set;
    int i, rc;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            cfg_path = argv[++i];
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            sock = argv[++i];
        else if (strcmp(argv[i], "--check-config") == 0)
            check_only = true;
        else if (strcmp(argv[i], "--get") == 0 && i + 1 < argc)
            get_key = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    cfg = app_config_load(cfg_path, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (get_key != NULL || check_only) {
        char val[4096];
        rc = 0;
        if (check_only) {
            printf("%s: configuration is valid\n", cfg->path);
        } else if (config_get_text(cfg, get_key, val, sizeof(val)) != 0) {
            fprintf(stderr, "apigw-fcgi: %s: unknown key\n", get_key);
            rc = 2;
        } else {
            printf("%s\n", val);
        }
        app_config_release(cfg);
        return rc;
    }
    log_set_level(log_level_from_name(cfg->log_level));
    app_config_set(&the_app, cfg);
    /* Changing the time zone is not thread-safe: work out the quota resets
     * now, before any thread starts. */
    reset_schedule_init(cfg->quota_reset_tz, (int)cfg->quota_reset_hour, time(NULL));
    if (sock == NULL)
        sock = cfg->fcgi_socket;

    /* Signals go to the signal thread only: block them before any thread. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    db_library_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (FCGX_Init() != 0 || open_listener(&the_app, sock) != 0)
        return 1;
    rc = the_app.cgi ? run_cgi(&the_app) : run_fcgi(&the_app);
    curl_global_cleanup();
    db_library_end();
    /* Requests still running (after the drain timed out) keep theirs. */
    app_config_set(&the_app, NULL);
    app_config_release(cfg);
    return rc;
}
