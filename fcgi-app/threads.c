#include "threads.h"

#include <errno.h>
#include <fcgiapp.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "app.h"
#include "core/db.h"
#include "core/log.h"
#include "core/script.h"
#include "http.h"
#include "service.h"

/* A thread that takes a request starts another while fewer than this
 * many others wait in accept(). */
#define THREADS_SPARE_MIN 2

static long fcgx_read(void *ctx, char *p, size_t n)
{
    FCGX_Request *fr = ctx;

    return FCGX_GetStr(p, n > (1u << 30) ? 1 << 30 : (int)n, fr->in);
}

static int fcgx_write(void *ctx, const char *p, size_t n)
{
    FCGX_Request *fr = ctx;

    while (n > 0) {
        int part = n > (1u << 30) ? 1 << 30 : (int)n;
        if (FCGX_PutStr(p, part, fr->out) != part)
            return -1;
        p += part;
        n -= (size_t)part;
    }
    return 0;
}

static int fcgx_flush(void *ctx)
{
    FCGX_Request *fr = ctx;

    return FCGX_FFlush(fr->out) == 0 ? 0 : -1;
}

static void *worker_main(void *arg);

/* Starts one more thread; called with threads_lock held.  Returns 0 or -1. */
static int spawn(struct app *app)
{
    static int next_id;
    struct worker *w = calloc(1, sizeof(*w));
    pthread_attr_t attr;
    pthread_t t;
    int rc;

    if (w == NULL)
        return -1;
    w->app = app;
    w->id = next_id++;
    w->idle_fd = -1;
    worker_seed(w);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREADS_STACK_BYTES);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(w);
        return -1;
    }
    w->next = app->threads;
    if (app->threads != NULL)
        app->threads->prev = w;
    app->threads = w;
    app->nthreads++;
    if (app->nthreads > app->threads_peak)
        app->threads_peak = app->nthreads;
    return 0;
}

/* Takes the thread off the list and frees it; the last one wakes the drain. */
static void thread_gone(struct worker *w)
{
    struct app *app = w->app;

    pthread_mutex_lock(&app->threads_lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        app->threads = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    app->nthreads--;
    pthread_cond_broadcast(&app->threads_gone);
    pthread_mutex_unlock(&app->threads_lock);
    free(w);
}

/* Waits for the next request on a kept-alive FastCGI connection.  Returns
 * true when one comes; false when the web server closed the connection
 * (it is then closed here too) or the drain began. */
static bool kept_request_comes(struct worker *w, FCGX_Request *fr)
{
    struct app *app = w->app;
    struct pollfd p = {fr->ipcFd, POLLIN | POLLRDHUP, 0};
    char c;

    pthread_mutex_lock(&app->threads_lock);
    if (atomic_load(&app->stopping)) {
        pthread_mutex_unlock(&app->threads_lock);
        return false;
    }
    w->idle_fd = fr->ipcFd;
    pthread_mutex_unlock(&app->threads_lock);
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&app->threads_lock);
    w->idle_fd = -1;
    pthread_mutex_unlock(&app->threads_lock);
    /* Data without a hang-up is the next request; after a hang-up, a peek
     * tells a request sent before the close from the close alone. */
    if (!atomic_load(&app->stopping) &&
        (p.revents == POLLIN || recv(fr->ipcFd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0))
        return true;
    FCGX_Free(fr, 1);
    return false;
}

/* Whether this thread should end rather than wait in accept(): enough
 * others wait already.  Otherwise counts it as waiting. */
static bool surplus(struct worker *w, const struct config *cfg)
{
    struct app *app = w->app;
    bool leave;

    pthread_mutex_lock(&app->threads_lock);
    leave = atomic_load(&app->stopping) || app->naccepting >= cfg->workers;
    if (!leave)
        app->naccepting++;
    pthread_mutex_unlock(&app->threads_lock);
    return leave;
}

/* After accept(): starts another thread when too few are left waiting. */
static void accepted(struct worker *w, const struct config *cfg)
{
    struct app *app = w->app;
    static int64_t last_warn;

    pthread_mutex_lock(&app->threads_lock);
    app->naccepting--;
    if (app->naccepting < THREADS_SPARE_MIN && !atomic_load(&app->stopping)) {
        if (app->nthreads < cfg->max_threads) {
            if (spawn(app) != 0 && time(NULL) != last_warn) {
                last_warn = time(NULL);
                log_warn("cannot start another worker thread (%lld running)", app->nthreads);
            }
        } else if (time(NULL) != last_warn) {
            last_warn = time(NULL);
            log_warn("all %lld worker threads (max_threads) are busy", app->nthreads);
        }
    }
    pthread_mutex_unlock(&app->threads_lock);
}

/* Takes the next request, on the kept-alive connection or from accept().
 * Returns 0, or -1 when the thread is to end. */
static int next_request(struct worker *w, FCGX_Request *fr)
{
    const struct config *cfg;
    int rc;

    if (fr->ipcFd >= 0 && kept_request_comes(w, fr))
        return FCGX_Accept_r(fr) < 0 ? -1 : 0;
    if (atomic_load(&w->app->stopping))
        return -1;
    cfg = app_config_acquire(w->app);
    if (surplus(w, cfg)) {
        app_config_release(cfg);
        return -1;
    }
    rc = FCGX_Accept_r(fr);
    accepted(w, cfg);
    app_config_release(cfg);
    return rc < 0 ? -1 : 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    FCGX_Request fr;
    struct http_io io = {fcgx_read, fcgx_write, fcgx_flush, -1, &fr, true};

    /* The thread's own C locale (glibc's static C object, nothing to free):
     * json-c duplicates the current locale at every parse, and duplicating
     * the global one takes a process-wide write lock that the threads then
     * fight over; the C object is duplicated without it. */
    uselocale(newlocale(LC_ALL_MASK, "C", (locale_t)0));
    db_thread_init();
    w->db = db_pool_handle(w->app->db_pool);
    FCGX_InitRequest(&fr, w->app->listen_fd, 0);
    while (w->db != NULL && next_request(w, &fr) == 0) {
        io.fd = fr.ipcFd;
        service_request(w, &io, fr.envp);
        FCGX_Finish_r(&fr);
    }
    FCGX_Free(&fr, 1);
    service_worker_end(w);
    db_free(w->db);
    db_thread_end();
    script_thread_done();
    thread_gone(w);
    return NULL;
}

long long threads_start(struct app *app, const struct config *cfg)
{
    pthread_condattr_t ca;
    long long i;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&app->threads_gone, &ca);
    pthread_condattr_destroy(&ca);
    app->db_pool = db_pool_new(cfg, (unsigned)cfg->db_pool_size, cfg->db_pool_wait_ms);
    if (app->db_pool == NULL)
        return 0;
    pthread_mutex_lock(&app->threads_lock);
    for (i = 0; i < cfg->workers; i++)
        if (spawn(app) != 0)
            break;
    pthread_mutex_unlock(&app->threads_lock);
    return i;
}

void threads_wake_idle(struct app *app)
{
    struct worker *w;

    pthread_mutex_lock(&app->threads_lock);
    for (w = app->threads; w != NULL; w = w->next)
        if (w->idle_fd >= 0)
            shutdown(w->idle_fd, SHUT_RDWR);
    pthread_mutex_unlock(&app->threads_lock);
}

bool threads_wait_all(struct app *app, int64_t deadline_ms)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
    bool none;

    pthread_mutex_lock(&app->threads_lock);
    while (app->nthreads > 0)
        if (pthread_cond_timedwait(&app->threads_gone, &app->threads_lock, &ts) == ETIMEDOUT)
            break;
    none = app->nthreads == 0;
    pthread_mutex_unlock(&app->threads_lock);
    if (none) {
        db_pool_free(app->db_pool);
        app->db_pool = NULL;
    }
    return none;
}
