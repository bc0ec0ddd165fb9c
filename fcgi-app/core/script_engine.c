/* The engine contexts of upstream scripts; see script_engine.h. */
#include "core/script_engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/script_value.h"

/* Engines no call holds, the one given back last first.  A Duktape heap
 * may serve one thread at a time, any thread: calls take the engine that
 * was used last rather than one per worker thread, so the few that run
 * at once stay in the cores' caches however many threads there are. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct engine *idle_engines;
/* The engine the calling thread holds, during a compile or a call. */
static _Thread_local struct engine *tl_engine;

/* The class of a block of size bytes, or -1 for one too large to keep. */
static int class_of(size_t size)
{
    return size > 0 && size <= CLASS_MAX ? (int)((size - 1) / CLASS_STEP) : -1;
}

static void *block_get(struct block_cache *c, size_t size)
{
    int k = class_of(size);
    struct free_block *b;

    if (k < 0)
        return malloc(HDR + size);
    if ((b = c->list[k]) != NULL) {
        c->list[k] = b->next;
        c->bytes -= HDR + (size_t)(k + 1) * CLASS_STEP;
        return b;
    }
    /* A block of the class's full size, so that any size of it fits later. */
    return malloc(HDR + (size_t)(k + 1) * CLASS_STEP);
}

static void block_put(struct block_cache *c, void *p, size_t size)
{
    int k = class_of(size);
    size_t full = HDR + (size_t)(k + 1) * CLASS_STEP;
    struct free_block *b = p;

    if (k < 0 || c->bytes + full > CACHE_MAX) {
        free(p);
        return;
    }
    b->next = c->list[k];
    c->list[k] = b;
    c->bytes += full;
}

static void block_cache_free(struct block_cache *c)
{
    struct free_block *b;
    int k;

    for (k = 0; k < CLASSES; k++) {
        while ((b = c->list[k]) != NULL) {
            c->list[k] = b->next;
            free(b);
        }
    }
    c->bytes = 0;
}

/* Returns the CPU time the calling thread has used, in microseconds: the
 * time limit counts what a script costs, not time the thread spent
 * waiting for a core. */
static int64_t thread_cpu_us(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The timeout hook named in duk_config.h (scripts/duktape.sh). */
duk_bool_t apigw_script_timed_out(void *udata);

duk_bool_t apigw_script_timed_out(void *udata)
{
    struct engine *e = udata;
    int64_t used;

    if (e->deadline_us == 0 || (!e->timed_out && clock_mono_us() < e->deadline_us))
        return 0;
    if (e->timed_out)
        return 1;
    /* The thread's CPU clock is a system call, not a vDSO read: it is
     * first read when the call has run half its budget on the wall clock
     * (which almost no call does).  What the call used until then, at
     * most that half, is not counted: no call is stopped before it used
     * its budget, and a runaway one is stopped after one and a half. */
    if (e->cpu_start_us < 0) {
        e->cpu_start_us = thread_cpu_us();
        e->deadline_us = clock_mono_us() + e->budget_us;
        return 0;
    }
    /* From then on only the thread's CPU time counts, so time spent
     * waiting for a core moves the deadline on. */
    used = thread_cpu_us() - e->cpu_start_us;
    if (used < e->budget_us) {
        e->deadline_us = clock_mono_us() + (e->budget_us - used);
        return 0;
    }
    e->timed_out = true;
    return 1;
}

static void *eng_alloc(void *udata, duk_size_t size)
{
    struct engine *e = udata;
    unsigned char *p;

    if (size > e->limit || e->used + size > e->limit) {
        e->refused = true;
        return NULL;
    }
    p = block_get(&e->cache, size);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof(size));
    e->used += size;
    return p + HDR;
}

static void eng_free(void *udata, void *ptr)
{
    struct engine *e = udata;
    unsigned char *p = ptr;
    duk_size_t size;

    if (p == NULL)
        return;
    p -= HDR;
    memcpy(&size, p, sizeof(size));
    e->used -= size;
    block_put(&e->cache, p, size);
}

static void *eng_realloc(void *udata, void *ptr, duk_size_t size)
{
    struct engine *e = udata;
    unsigned char *p = ptr, *q;
    duk_size_t old;
    int k;

    if (p == NULL)
        return eng_alloc(udata, size);
    if (size == 0) {
        eng_free(udata, ptr);
        return NULL;
    }
    p -= HDR;
    memcpy(&old, p, sizeof(old));
    if (size > old && (size - old > e->limit || e->used + (size - old) > e->limit)) {
        e->refused = true;
        return NULL;
    }
    k = class_of(old);
    if (k >= 0 && class_of(size) == k) {
        /* The block already has the room. */
        q = p;
    } else if (k >= 0 || class_of(size) >= 0) {
        /* Into or out of the classes: a new block and a copy. */
        if ((q = block_get(&e->cache, size)) == NULL)
            return NULL;
        memcpy(q + HDR, p + HDR, old < size ? old : size);
        block_put(&e->cache, p, old);
    } else if ((q = realloc(p, HDR + size)) == NULL) {
        return NULL;
    }
    memcpy(q, &size, sizeof(size));
    e->used = e->used - old + size;
    return q + HDR;
}

/* Duktape calls this only for an error outside every protected call, which
 * this module never makes; it must not return. */
static void eng_fatal(void *udata, const char *msg)
{
    (void)udata;
    log_msg(LOG_ERROR, "script: fatal engine error: %s", msg != NULL ? msg : "?");
    abort();
}

/* Frees an engine (no call holds it). */
static void engine_destroy(struct engine *e)
{
    duk_destroy_heap(e->heap);
    block_cache_free(&e->cache);
    free(e);
}

void script_thread_done(void)
{
    struct engine *idle, *next;

    script_obj_thread_done();
    pthread_mutex_lock(&idle_lock);
    idle = idle_engines;
    idle_engines = NULL;
    pthread_mutex_unlock(&idle_lock);
    for (; idle != NULL; idle = next) {
        next = idle->next;
        engine_destroy(idle);
    }
}

/* An engine that holds more than half of a lowered limit (a new
 * configuration, or rule leaves compiled with the defaults) goes and a new
 * one is made: one that held more than its limit could not even make the
 * error that says so, and the engine crashed. */
struct engine *engine_take(const struct script_limits *lim)
{
    size_t limit = (size_t)lim->memory_kb * 1024;
    struct engine *e;

    pthread_mutex_lock(&idle_lock);
    if ((e = idle_engines) != NULL)
        idle_engines = e->next;
    pthread_mutex_unlock(&idle_lock);
    if (e != NULL && e->used > limit / 2) {
        engine_destroy(e);
        e = NULL;
    }
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return NULL;
        e->limit = limit;
        e->heap = duk_create_heap(eng_alloc, eng_realloc, eng_free, e, eng_fatal);
        if (e->heap == NULL) {
            free(e);
            return NULL;
        }
    }
    e->limit = limit;
    e->next = NULL;
    tl_engine = e;
    return e;
}

void engine_give(struct engine *e, bool drop)
{
    tl_engine = NULL;
    if (drop) {
        engine_destroy(e);
        return;
    }
    pthread_mutex_lock(&idle_lock);
    e->next = idle_engines;
    idle_engines = e;
    pthread_mutex_unlock(&idle_lock);
}

struct engine *engine_current(void)
{
    return tl_engine;
}

void engine_limits_start(struct engine *e, const struct script_limits *lim)
{
    e->timed_out = e->refused = e->encoding = false;
    e->budget_us = (int64_t)lim->timeout_ms * 1000;
    e->cpu_start_us = -1;
    e->deadline_us = clock_mono_us() + e->budget_us / 2 + 1;
}
