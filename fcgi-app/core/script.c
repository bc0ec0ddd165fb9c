/* Upstream scripts on Duktape; see script.h for the model. */
#include "core/script.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/nelem.h"
#include "core/script_engine.h"
#include "core/script_value.h"

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

static atomic_uint_fast64_t next_id = 1;

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
    struct engine *e = engine_current();
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
    engine_limits_start(e, lim);
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
    engine_current()->encoding = true;
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
    engine_limits_start(e, lim);
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
