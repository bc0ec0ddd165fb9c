/*
 * Upstream scripts: a sandboxed JavaScript engine (Duktape, ES5.1) for
 * operators' hooks (`onRequest(req, ctx)`, `onResponse(res, req, ctx)`)
 * and for rule leaves (the body of a function of `(res, req)`).
 *
 * A source is compiled once (script_compile) into an immutable compiled
 * form (Duktape bytecode) that any thread may call at once; the pool
 * snapshot that holds an upstream owns its scripts and frees them with it.
 * Engine contexts are kept in a pool: a compile or a call takes the one
 * given back last (a new one when none is idle) and gives it back after,
 * so that as many exist as calls run at once, not one per worker thread.
 * In each, every script gets its own global environment (its own
 * builtins, so scripts cannot see or change each other's globals), made
 * on the script's first call in that context and kept in a small cache
 * keyed by the script's id (a miss costs one instantiation, never a
 * compilation).
 *
 * Every call is limited in CPU time (Duktape's execution-timeout hook) and
 * in memory (a counting allocator: the whole context may hold at most
 * memory_kb).  Errors come back as a kind and, where the
 * engine gives one, the line of the source.  After a timeout or a throw
 * the context stays as it is and serves further calls; after a memory
 * error it is dropped and made anew on the next call (nothing a script
 * left behind can fill the next call's budget).
 *
 * The sandbox: no file, network, process, timer or module access (the
 * engine has none); `eval`, the `Function` constructor (code from strings)
 * and the `Duktape` object (finalizers, error hooks, stack inspection) are
 * removed from every script's globals.
 */
#ifndef APIGW_SCRIPT_H
#define APIGW_SCRIPT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRIPT_TIMEOUT_MS_DEFAULT 10

/* The statuses an onRequest answer of its own may have: a final answer
 * (a 1xx cannot end a request).  The proxy and the test route both hold
 * a script to it. */
#define SCRIPT_ANSWER_STATUS_MIN 200
#define SCRIPT_ANSWER_STATUS_MAX 599
#define SCRIPT_MEMORY_KB_DEFAULT 16384
#define SCRIPT_SOURCE_MAX        (64 * 1024)
#define SCRIPT_MESSAGE_MAX       256
#define SCRIPT_RESULT_MAX        (4 * 1024 * 1024)

/* How a compilation or a call ended. */
enum script_kind {
    SCRIPT_OK,
    SCRIPT_COMPILE,   /* the source does not compile */
    SCRIPT_THROW,     /* the script threw (or the engine threw for it) */
    SCRIPT_TIMEOUT,   /* the call ran longer than timeout_ms */
    SCRIPT_MEMORY,    /* the context would have held more than memory_kb */
    SCRIPT_MALFORMED, /* the result cannot be turned into JSON (cycle, too big) */
    SCRIPT_KIND__MAX
};

/* What a source is: a program that may define the hooks, or the body of a
 * rule leaf's function of (res, req). */
enum script_form { SCRIPT_FORM_HOOKS, SCRIPT_FORM_LEAF };

/* What to call: each hook takes its arguments in the order shown. */
enum script_hook {
    SCRIPT_HOOK_REQUEST,  /* onRequest(req, ctx) */
    SCRIPT_HOOK_RESPONSE, /* onResponse(res, req, ctx) */
    SCRIPT_HOOK_LEAF,     /* the leaf's function (res, req) */
    SCRIPT_HOOK__MAX
};

struct script_limits {
    unsigned timeout_ms; /* CPU time of one call (the thread's, checked by the engine) */
    unsigned memory_kb;  /* the whole context of a thread */
};

struct script_error {
    enum script_kind kind;
    int line;                         /* 1-based line of the source; 0 when unknown */
    char message[SCRIPT_MESSAGE_MAX]; /* the engine's message, NUL-terminated */
};

/* One call: the inputs, then what the call gave back. */
struct script_obj;

struct script_call {
    enum script_hook hook;
    json_object *args[3]; /* borrowed; the hook's arguments in order (NULL: null) */
    /* Borrowed; where set, the argument described in C (script_obj.h)
     * instead of args[i]. */
    struct script_obj *objs[3];
    size_t nargs;
    /* Give back args[0] as the script left it (onRequest's changed req):
     * as c->arg0, or read back into objs[0]'s fields when described. */
    bool want_arg0;
    /* When set, the last argument (ctx) gets a `log(msg)` function that
     * passes each message (capped at 1 KiB) to log with log_udata. */
    void (*log)(void *log_udata, const char *msg);
    void *log_udata;
    /* Out: the returned value (NULL for undefined), args[0] after the call
     * when want_arg0; both owned by the caller (json_object_put). */
    json_object *result;
    json_object *arg0;
    struct script_error err;
};

struct script;

/* Compiles len bytes of source (at most SCRIPT_SOURCE_MAX) of the given
 * form and runs its top level once under lim, to find which hooks it
 * defines.  Returns the compiled script, owned by the caller (script_free),
 * or NULL with err filled (kind SCRIPT_COMPILE for a syntax error, or the
 * kind of what its top level did).  Thread-safe. */
struct script *script_compile(enum script_form form, const char *source, size_t len,
                              const struct script_limits *lim, struct script_error *err);

/* Frees a compiled script; NULL is ignored.  No call of it may be running. */
void script_free(struct script *s);

/* Returns whether the script defines hook (a leaf defines only
 * SCRIPT_HOOK_LEAF). */
bool script_has_hook(const struct script *s, enum script_hook hook);

/* Calls c->hook of s in the calling thread's context under lim.  Returns
 * SCRIPT_OK with c->result (and c->arg0) set, or the error's kind with
 * c->err filled and no result.  Calling a hook the script does not define
 * returns SCRIPT_OK with no result. */
enum script_kind script_call(const struct script *s, const struct script_limits *lim,
                             struct script_call *c);

/* Returns the name of a kind: "ok", "compile", "throw", "timeout",
 * "memory", "malformed". */
const char *script_kind_name(enum script_kind kind);

/* Frees the calling thread's scratch and the engine contexts no call
 * holds now (at a thread's exit; contexts are made again when needed). */
void script_thread_done(void);

#endif
