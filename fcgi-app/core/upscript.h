/*
 * An upstream's script as the pool holds it: the source, and its compiled
 * form (core/script.h), shared by reference between pool snapshots.  A
 * snapshot whose upstream has the same source as in the previous snapshot
 * takes the previous compiled script (one more reference) instead of
 * compiling it again, so that the worker threads' instance caches, keyed by
 * the compiled script, keep hitting across pool refreshes.
 */
#ifndef APIGW_UPSCRIPT_H
#define APIGW_UPSCRIPT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/script.h"

struct upscript {
    atomic_int refs;
    char *source;
    size_t len;
    /* The compiled script; NULL when the source does not compile (err then
     * says why: its kind, line and message). */
    struct script *compiled;
    struct script_error err;
};

/* Returns the script for source (len bytes) of the upstream named name:
 * prev (one more reference) when prev holds the same source, else a new
 * one compiled under lim, a failure to compile logged with its line.
 * Returns NULL only when out of memory.  The caller owns one reference
 * (upscript_release). */
struct upscript *upscript_get(struct upscript *prev, const char *name, const char *source,
                              size_t len, const struct script_limits *lim);

struct pool;
struct pool_upstream;

/* Gives u (just loaded into a new snapshot) the script whose source is src
 * (len bytes; NULL: none), taking the one of the same upstream in prev (the
 * snapshot being replaced, may be NULL) when its source is the same.
 * Returns 0, or -1 when out of memory. */
int upscript_attach(struct pool_upstream *u, const struct pool *prev, const char *src, size_t len,
                    const struct script_limits *lim);

/* Drops one reference; the last frees the script.  NULL is ignored. */
void upscript_release(struct upscript *s);

#endif
