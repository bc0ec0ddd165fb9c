/* An upstream's script, shared between pool snapshots (upscript.h). */
#include "core/upscript.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/pool.h"

struct upscript *upscript_get(struct upscript *prev, const char *name, const char *source,
                              size_t len, const struct script_limits *lim)
{
    struct upscript *s;

    if (prev != NULL && prev->len == len && memcmp(prev->source, source, len) == 0) {
        atomic_fetch_add(&prev->refs, 1);
        return prev;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->source = malloc(len + 1)) == NULL) {
        free(s);
        return NULL;
    }
    memcpy(s->source, source, len);
    s->source[len] = '\0';
    s->len = len;
    atomic_init(&s->refs, 1);
    s->compiled = script_compile(SCRIPT_FORM_HOOKS, source, len, lim, &s->err);
    if (s->compiled == NULL)
        log_warn("upstream %s: its script fails (%s at line %d: %s); it acts as a failing script",
                 name, script_kind_name(s->err.kind), s->err.line, s->err.message);
    return s;
}

void upscript_release(struct upscript *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    script_free(s->compiled);
    free(s->source);
    free(s);
}

int upscript_attach(struct pool_upstream *u, const struct pool *prev, const char *src, size_t len,
                    const struct script_limits *lim)
{
    struct upscript *was = NULL;
    size_t i;

    if (src == NULL)
        return 0;
    for (i = 0; prev != NULL && i < prev->nups; i++)
        if (prev->ups[i].id == u->id)
            was = prev->ups[i].script;
    u->script = upscript_get(was, u->name, src, len, lim);
    return u->script != NULL ? 0 : -1;
}
