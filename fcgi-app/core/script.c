/* Upstream scripts on Duktape; see script.h for the model. */
#include "core/script.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/nelem.h"
#include "core/script_value.h"

/* Instances kept per thread (direct-mapped by script id). */
#define SCRIPT_CACHE_SLOTS 32
/* The longest message ctx.log passes on. */
#define SCRIPT_LOG_MAX 1024
/* An instance thread's stack holds the hooks at their enum's index, then
 * the ctx.log function, then the accessors of described arguments. */
#define SCRIPT_LOG_INDEX    SCRIPT_HOOK__MAX
#define SCRIPT_KIT_INDEX    (SCRIPT_LOG_INDEX + 1)
#define SCRIPT_INSTANCE_TOP (SCRIPT_KIT_INDEX + 3)

struct script {
    uint64_t id; /* unique in the process: the instance cache's key */
    enum script_form form;
    bool has[SCRIPT_HOOK__MAX];
    size_t len;
    unsigned char bytecode[]; /* from duk_dump_function */
};

struct slot {
    uint64_t id;         /* 0: empty */
    duk_context *thread; /* kept alive by the heap stash */
};

/* Blocks are preceded by a header that keeps their size. */
#define HDR 16

/* Small blocks the engine frees are kept for its next allocations, in
 * lists by size class (CLASS_STEP bytes each, up to CLASS_MAX): a call
 * makes and drops hundreds of objects and strings, and so many blocks
 * overflow malloc's own per-thread cache and reach its arenas.  What the
 * lists hold is bounded (CACHE_MAX bytes a thread) and not counted as the
 * context's memory. */
#define CLASS_STEP 16
#define CLASS_MAX  512
#define CLASSES    (CLASS_MAX / CLASS_STEP)
#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer every block goes back at once, so that a use
 * after free is still caught. */
#define CACHE_MAX 0
#else
#define CACHE_MAX (512 * 1024)
#endif

struct free_block {
    struct free_block *next;
};

struct block_cache {
    struct free_block *list[CLASSES];
    size_t bytes;
};

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

/* An engine context.  The allocator counts what the heap holds in used
 * and refuses to pass limit; the timeout hook compares the clock with
 * deadline_us (0: no limit), then the thread's CPU time with budget_us. */
struct engine {
    duk_context *heap;
    size_t used, limit;
    int64_t deadline_us;  /* wall clock: when to look at the CPU time */
    int64_t cpu_start_us; /* the thread's CPU time when it was first read (-1: not yet) */
    int64_t budget_us;    /* the CPU time the call may use */
    bool timed_out, refused;
    bool encoding;               /* turning a result into JSON (an error there: malformed) */
    struct script_call *current; /* the call that ctx.log belongs to */
    struct slot slots[SCRIPT_CACHE_SLOTS];
    struct block_cache cache;
    struct engine *next; /* in the idle list */
};

/* Engines no call holds, the one given back last first.  A Duktape heap
 * may serve one thread at a time, any thread: calls take the engine that
 * was used last rather than one per worker thread, so the few that run
 * at once stay in the cores' caches however many threads there are. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct engine *idle_engines;
/* The engine the calling thread holds, during a compile or a call. */
static _Thread_local struct engine *tl_engine;
static atomic_uint_fast64_t next_id = 1;

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

/* Takes an engine for one compile or call, with its memory limit set from
 * lim: the one given back last (its memory is the likeliest still in the
 * core's caches), or a new one; NULL when none can be made.  An engine
 * that holds more than half of a lowered limit (a new configuration, or
 * rule leaves compiled with the defaults) goes and a new one is made: one
 * that held more than its limit could not even make the error that says
 * so, and the engine crashed. */
static struct engine *engine_take(const struct script_limits *lim)
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

/* Gives back the engine the calling thread took; drop (after a memory
 * error) frees it instead: nothing a script left behind may fill the next
 * call's budget. */
static void engine_give(struct engine *e, bool drop)
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

const char *script_kind_name(enum script_kind kind)
{
    static const char *const names[SCRIPT_KIND__MAX] = {
        [SCRIPT_OK] = "ok",         [SCRIPT_COMPILE] = "compile",
        [SCRIPT_THROW] = "throw",   [SCRIPT_TIMEOUT] = "timeout",
        [SCRIPT_MEMORY] = "memory", [SCRIPT_MALFORMED] = "malformed"};

    return (unsigned)kind < NELEM(names) ? names[kind] : "?";
}

/* Returns the line of the innermost frame of the script's own code in an
 * error's traceback (Duktape's `stack`: "at onRequest (script:3)"), or of
 * a compile error's "(line 3)"; 0 when neither is there. */
static int line_of(const char *stack, const char *msg)
{
    const char *at = stack != NULL ? strstr(stack, "(script:") : NULL;

    if (at != NULL)
        return (int)strtol(at + 8, NULL, 10);
    at = strstr(msg, "(line ");
    return at != NULL ? (int)strtol(at + 6, NULL, 10) : 0;
}

/* Fills err from the error value on top of ctx's stack (after a failed
 * protected call), classed by what the engine saw during the call.  Runs
 * while the call's deadline still holds, so that a toString of the
 * script's own cannot hang. */
static void error_from_top(struct engine *e, duk_context *ctx, enum script_kind kind,
                           struct script_error *err)
{
    const char *stack = NULL, *msg;

    if (duk_is_error(ctx, -1)) {
        duk_get_prop_string(ctx, -1, "stack");
        stack = duk_get_string(ctx, -1);
    } else {
        duk_push_undefined(ctx);
    }
    msg = duk_safe_to_string(ctx, -2);
    /* Classed last: the script's toString may have run out of time. */
    if (e->timed_out)
        kind = SCRIPT_TIMEOUT;
    else if (e->refused)
        kind = SCRIPT_MEMORY;
    else if (e->encoding)
        kind = SCRIPT_MALFORMED;
    err->kind = kind;
    err->line = line_of(stack, msg);
    snprintf(err->message, sizeof(err->message), "%s", msg);
    duk_pop(ctx);
}

/* Starts the limits of one call. */
static void limits_start(struct engine *e, const struct script_limits *lim)
{
    e->timed_out = e->refused = e->encoding = false;
    e->budget_us = (int64_t)lim->timeout_ms * 1000;
    e->cpu_start_us = -1;
    e->deadline_us = clock_mono_us() + e->budget_us / 2 + 1;
}

/* Run in every script's fresh global environment before its code: takes
 * away code from strings and the Duktape object.  `no` is native_refused,
 * so that its error names the line of the script that called it. */
static const char sandbox_js[] =
    "(function (g, no) {"
    " no.prototype = Function.prototype;"
    " Object.defineProperty(Function.prototype, 'constructor',"
    "  {value: no, writable: false, enumerable: false, configurable: false});"
    " Object.defineProperty(g, 'Function',"
    "  {value: no, writable: false, enumerable: false, configurable: false});"
    " delete g.eval; delete g.Duktape;"
    "})";

/* What scripts get in place of the Function constructor. */
static duk_ret_t native_refused(duk_context *t)
{
    return duk_type_error(t, "not available in scripts");
}

/* ctx.log(msg): passes msg, capped, to the current call's log. */
static duk_ret_t native_log(duk_context *t)
{
    struct engine *e = tl_engine;
    char msg[SCRIPT_LOG_MAX + 1];
    duk_size_t len = 0;
    const char *text = duk_safe_to_lstring(t, 0, &len);

    if (e == NULL || e->current == NULL || e->current->log == NULL)
        return 0;
    if (len > SCRIPT_LOG_MAX)
        len = SCRIPT_LOG_MAX;
    memcpy(msg, text, len);
    msg[len] = '\0';
    e->current->log(e->current->log_udata, msg);
    return 0;
}

/* Makes a script's instance on the stack of a fresh thread t: the hooks at
 * their enum's index (undefined where missing), ctx.log, the accessors. */
static duk_ret_t instance_body(duk_context *t, void *udata)
{
    const struct script *s = udata;
    static const char *const names[] = {"onRequest", "onResponse"};
    size_t i;

    duk_eval_string(t, sandbox_js);
    duk_push_global_object(t);
    duk_push_c_function(t, native_refused, DUK_VARARGS);
    duk_call(t, 2);
    duk_pop(t);
    duk_push_external_buffer(t);
    duk_config_buffer(t, -1, (void *)s->bytecode, s->len);
    duk_load_function(t);
    if (s->form == SCRIPT_FORM_LEAF) {
        duk_push_undefined(t);
        duk_push_undefined(t);
        duk_pull(t, -3);
    } else {
        duk_call(t, 0);
        duk_pop(t);
        for (i = 0; i < NELEM(names); i++)
            if (!duk_get_global_string(t, names[i]) || !duk_is_function(t, -1)) {
                duk_pop(t);
                duk_push_undefined(t);
            }
        duk_push_undefined(t);
    }
    duk_push_c_function(t, native_log, 1);
    script_obj_kit(t);
    return SCRIPT_INSTANCE_TOP;
}

/* Pushes a thread with a fresh global environment and keeps it in the
 * heap stash under the slot number in udata; leaves it on the stack. */
static duk_ret_t thread_body(duk_context *ctx, void *udata)
{
    duk_uarridx_t slot = *(const duk_uarridx_t *)udata;

    duk_push_thread_new_globalenv(ctx);
    duk_push_global_stash(ctx);
    duk_dup(ctx, -2);
    duk_put_prop_index(ctx, -2, slot);
    duk_pop(ctx);
    return 1;
}

/* Forgets the instance in slot: the stash entry goes, the thread with it. */
static duk_ret_t forget_body(duk_context *ctx, void *udata)
{
    duk_push_global_stash(ctx);
    duk_del_prop_index(ctx, -1, *(const duk_uarridx_t *)udata);
    return 0;
}

/* Returns the thread of s's instance in e, made when the cache lacks it
 * (its top level runs under lim); NULL with err filled when it fails. */
static duk_context *instance_get(struct engine *e, const struct script *s,
                                 const struct script_limits *lim, struct script_error *err)
{
    duk_uarridx_t n = (duk_uarridx_t)(s->id % SCRIPT_CACHE_SLOTS);
    struct slot *slot = &e->slots[n];
    duk_context *t;
    duk_int_t rc;

    if (slot->id == s->id)
        return slot->thread;
    slot->id = 0;
    limits_start(e, lim);
    if (duk_safe_call(e->heap, thread_body, &n, 0, 1) != DUK_EXEC_SUCCESS) {
        error_from_top(e, e->heap, SCRIPT_MEMORY, err);
        duk_pop(e->heap);
        e->deadline_us = 0;
        return NULL;
    }
    t = duk_get_context(e->heap, -1);
    duk_pop(e->heap);
    rc = duk_safe_call(t, instance_body, (void *)s, 0, SCRIPT_INSTANCE_TOP);
    if (rc != DUK_EXEC_SUCCESS) {
        duk_set_top(t, 1);
        error_from_top(e, t, SCRIPT_THROW, err);
        e->deadline_us = 0;
        duk_safe_call(e->heap, forget_body, &n, 0, 1);
        duk_pop(e->heap);
        return NULL;
    }
    e->deadline_us = 0;
    slot->id = s->id;
    slot->thread = t;
    return t;
}

struct compile_args {
    enum script_form form;
    const char *source;
    size_t len;
    struct script *out; /* made by compile_body */
};

/* Compiles the source and copies its bytecode into a new struct script. */
static duk_ret_t compile_body(duk_context *ctx, void *udata)
{
    struct compile_args *a = udata;
    duk_size_t n = 0;
    const void *code;

    if (a->form == SCRIPT_FORM_LEAF) {
        /* The prefix keeps the body's first line as line 1. */
        duk_push_string(ctx, "function (res, req) {");
        duk_push_lstring(ctx, a->source, a->len);
        duk_push_string(ctx, "\n}");
        duk_concat(ctx, 3);
    } else {
        duk_push_lstring(ctx, a->source, a->len);
    }
    duk_push_string(ctx, "script");
    duk_compile(ctx, a->form == SCRIPT_FORM_LEAF ? DUK_COMPILE_FUNCTION : 0);
    duk_dump_function(ctx);
    code = duk_get_buffer(ctx, -1, &n);
    a->out = malloc(sizeof(*a->out) + n);
    if (a->out == NULL)
        return DUK_RET_RANGE_ERROR;
    memset(a->out, 0, sizeof(*a->out));
    memcpy(a->out->bytecode, code, n);
    a->out->len = n;
    a->out->form = a->form;
    a->out->id = atomic_fetch_add(&next_id, 1);
    return 0;
}

/* Fills err with kind and a message of our own. */
static void error_set(struct script_error *err, enum script_kind kind, const char *msg)
{
    err->kind = kind;
    err->line = 0;
    snprintf(err->message, sizeof(err->message), "%s", msg);
}

struct script *script_compile(enum script_form form, const char *source, size_t len,
                              const struct script_limits *lim, struct script_error *err)
{
    struct compile_args a = {form, source, len, NULL};
    struct engine *e;
    duk_context *t;
    int h;

    memset(err, 0, sizeof(*err));
    if (len > SCRIPT_SOURCE_MAX) {
        error_set(err, SCRIPT_COMPILE, "the script is longer than 64 KiB");
        return NULL;
    }
    e = engine_take(lim);
    if (e == NULL) {
        error_set(err, SCRIPT_MEMORY, "cannot make the script context");
        return NULL;
    }
    e->timed_out = e->refused = e->encoding = false;
    if (duk_safe_call(e->heap, compile_body, &a, 0, 1) != DUK_EXEC_SUCCESS) {
        error_from_top(e, e->heap, SCRIPT_COMPILE, err);
        duk_pop(e->heap);
        free(a.out);
        engine_give(e, err->kind == SCRIPT_MEMORY);
        return NULL;
    }
    duk_pop(e->heap);
    t = instance_get(e, a.out, lim, err);
    if (t == NULL) {
        free(a.out);
        engine_give(e, err->kind == SCRIPT_MEMORY);
        return NULL;
    }
    for (h = 0; h < SCRIPT_HOOK__MAX; h++)
        a.out->has[h] = duk_is_function(t, h);
    engine_give(e, false);
    return a.out;
}

void script_free(struct script *s)
{
    free(s);
}

bool script_has_hook(const struct script *s, enum script_hook hook)
{
    return s != NULL && (unsigned)hook < SCRIPT_HOOK__MAX && s->has[hook];
}

/* Calls the hook with the call's arguments, ctx.log set on the last one
 * when asked; leaves the result's and args[0]'s JSON texts.  A safe call
 * shares its caller's stack frame: the hook and ctx.log are the two values
 * on top at entry. */
static duk_ret_t call_body(duk_context *t, void *udata)
{
    struct script_call *c = udata;
    duk_idx_t base = duk_get_top(t) - 2;
    size_t i;

    for (i = 0; i < c->nargs; i++) {
        if (c->objs[i] != NULL)
            script_obj_push(t, c->objs[i], SCRIPT_KIT_INDEX, SCRIPT_LOG_INDEX);
        else
            script_value_push(t, c->args[i]);
    }
    /* A described ctx has log on its prototype. */
    if (c->log != NULL && c->nargs > 0 && c->objs[c->nargs - 1] == NULL && duk_is_object(t, -1)) {
        duk_dup(t, base + 1);
        duk_put_prop_string(t, -2, "log");
    }
    if (c->want_arg0 && c->nargs > 0)
        duk_dup(t, base + 2);
    else
        duk_push_undefined(t);
    duk_insert(t, base);
    /* [ ... arg0 fn log args... ] */
    duk_remove(t, base + 2);
    duk_call(t, (duk_idx_t)c->nargs);
    tl_engine->encoding = true;
    if (c->objs[0] != NULL && c->want_arg0) {
        /* Read back in place: only what the script touched. */
        script_obj_read_back(t, base, c->objs[0]);
        duk_push_undefined(t);
        duk_replace(t, base);
    }
    script_value_encode(t, -1);
    script_value_encode(t, base);
    duk_swap(t, base, base + 1);
    /* [ ... result arg0 ] */
    return 2;
}

/* Runs the hook of instance t under lim and takes its outputs into c. */
static enum script_kind call_run(struct engine *e, duk_context *t, const struct script_limits *lim,
                                 struct script_call *c)
{
    duk_int_t rc;

    if (!duk_check_stack(t, 8)) {
        error_set(&c->err, SCRIPT_MEMORY, "out of memory");
        return SCRIPT_MEMORY;
    }
    duk_dup(t, c->hook);
    duk_dup(t, SCRIPT_LOG_INDEX);
    e->current = c;
    limits_start(e, lim);
    script_obj_begin();
    rc = duk_safe_call(t, call_body, c, 2, 2);
    script_obj_end();
    if (rc != DUK_EXEC_SUCCESS) {
        duk_pop(t);
        error_from_top(e, t, SCRIPT_THROW, &c->err);
    } else if (script_value_take(t, -2, SCRIPT_RESULT_MAX, &c->result) != 0 ||
               script_value_take(t, -1, SCRIPT_RESULT_MAX, &c->arg0) != 0) {
        error_set(&c->err, SCRIPT_MALFORMED, "the result is not JSON of at most 4 MiB");
    }
    e->deadline_us = 0;
    e->current = NULL;
    duk_set_top(t, SCRIPT_INSTANCE_TOP);
    return c->err.kind;
}

enum script_kind script_call(const struct script *s, const struct script_limits *lim,
                             struct script_call *c)
{
    struct engine *e;
    duk_context *t;

    c->result = c->arg0 = NULL;
    memset(&c->err, 0, sizeof(c->err));
    if (c->nargs > NELEM(c->args)) {
        error_set(&c->err, SCRIPT_MALFORMED, "too many arguments");
        return SCRIPT_MALFORMED;
    }
    if (!script_has_hook(s, c->hook))
        return SCRIPT_OK;
    e = engine_take(lim);
    if (e == NULL) {
        error_set(&c->err, SCRIPT_MEMORY, "cannot make the script context");
        return SCRIPT_MEMORY;
    }
    t = instance_get(e, s, lim, &c->err);
    if (t != NULL && call_run(e, t, lim, c) == SCRIPT_OK) {
        engine_give(e, false);
        return SCRIPT_OK;
    }
    json_object_put(c->result);
    json_object_put(c->arg0);
    c->result = c->arg0 = NULL;
    engine_give(e, c->err.kind == SCRIPT_MEMORY);
    return c->err.kind;
}
