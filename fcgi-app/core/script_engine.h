/*
 * The engine contexts of upstream scripts (Duktape heaps), for the script
 * modules alone (core/script*.c): a pool of contexts that a compile or a
 * call takes and gives back, their counting allocator with a cache of small
 * blocks, and the per-call limits the execution-timeout hook enforces.
 * script.c runs scripts in them; see script.h for the model.
 */
#ifndef APIGW_SCRIPT_ENGINE_H
#define APIGW_SCRIPT_ENGINE_H

#include <duktape.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/script.h"

/* Instances kept per context (direct-mapped by script id). */
#define SCRIPT_CACHE_SLOTS 32

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

/* Takes a context for one compile or call, with its memory limit set from
 * lim: the one given back last (its memory is the likeliest still in the
 * core's caches), or a new one; NULL when none can be made.  The calling
 * thread holds it (engine_current) until engine_give. */
struct engine *engine_take(const struct script_limits *lim);

/* Gives back the context the calling thread took; drop (after a memory
 * error) frees it instead: nothing a script left behind may fill the next
 * call's budget. */
void engine_give(struct engine *e, bool drop);

/* The context the calling thread holds now, or NULL. */
struct engine *engine_current(void);

/* Starts the limits of one call (or top-level run) in e. */
void engine_limits_start(struct engine *e, const struct script_limits *lim);

#endif
