#include "proxy/answer_usage.h"

#include <string.h>
#include <strings.h>

#include "http.h"
#include "core/pool.h"
#include "core/usage_scan.h"
#include "proxy/proxy.h"
#include "proxy/upstream_head.h"

/* The kind of the answer by its Content-Type (none: not scanned). */
static enum usage_body answer_kind(const struct upstream_head *h)
{
    const char *cursor = buf_str(&h->fields);
    struct upstream_field f;

    while (upstream_head_next(&cursor, &f))
        if (f.name_len == 12 && strncasecmp(f.name, "Content-Type", 12) == 0)
            return usage_body_kind(f.value, f.value_len);
    return USAGE_BODY_OTHER;
}

static void mark_absent(struct usage_counts *u)
{
    u->prompt = u->completion = u->cached = u->total = -1;
    u->source = USAGE_SOURCE_ABSENT;
}

struct usage_scan *proxy_usage_begin(struct proxy *px, const struct upstream_head *h)
{
    struct pool_upstream *up = px->up;
    enum usage_body kind;

    if (up == NULL || up->usage_format == USAGE_FORMAT_NONE || px->log == NULL)
        return NULL;
    kind = answer_kind(h);
    if (kind == USAGE_BODY_OTHER) {
        mark_absent(&px->log->usage);
        return NULL;
    }
    return usage_scan_new(up->usage_format, up->usage_paths, kind);
}

void proxy_usage_end(struct proxy *px, struct usage_scan *s, bool complete)
{
    if (s == NULL)
        return;
    if (px->log != NULL)
        usage_scan_end(s, complete, &px->log->usage);
    usage_scan_free(s);
}

void proxy_usage_request_model(struct proxy *px)
{
    const char *path = px->hook_rest != NULL ? px->hook_rest : px->rest;
    struct req *r = px->r;

    if (px->up == NULL || px->up->usage_format == USAGE_FORMAT_NONE || px->log == NULL ||
        px->log->usage.model[0] != '\0')
        return;
    usage_request_model(path != NULL ? path : "", r->body.data, r->body.len, px->log->usage.model,
                        sizeof(px->log->usage.model));
}
