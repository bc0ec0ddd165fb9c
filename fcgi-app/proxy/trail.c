#include "proxy/trail.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mask.h"
#include "core/pool.h"
#include "core/reqlog.h"
#include "proxy/path.h"
#include "proxy/proxy.h"

/* The first bytes of a failed answer kept, as key_events.excerpt keeps. */
#define TRAIL_EXCERPT_MAX 512

static void add_str(struct json_object *o, const char *k, const char *v)
{
    if (v != NULL && v[0] != '\0')
        json_object_object_add(o, k, json_object_new_string(v));
}

void proxy_trail_note(struct proxy *px, const struct pool_key *k, int attempt_no,
                      int64_t started_ms, int status, const char *error, const struct buf *held,
                      const struct mask_secret *secret)
{
    bool failed = status >= 400 || error[0] != '\0';
    struct json_object *o;
    size_t nfired;

    if (!failed && px->trail == NULL) {
        /* Nothing failed so far: the log row tells this attempt. */
        px->trail_fired = px->fired != NULL ? json_object_array_length(px->fired) : 0;
        return;
    }
    if (px->trail == NULL)
        px->trail = json_object_new_array();
    if (json_object_array_length(px->trail) >= PROXY_TRAIL_MAX)
        return;
    o = json_object_new_object();
    /* q orders the notes: one attempt_no may note several egress proxies. */
    json_object_object_add(o, "q",
                           json_object_new_int((int)json_object_array_length(px->trail) + 1));
    json_object_object_add(o, "n", json_object_new_int(attempt_no));
    json_object_object_add(o, "k", json_object_new_int64(k->id));
    add_str(o, "ep", px->ep >= 0 && px->up != NULL ? px->up->eps[px->ep].origin : NULL);
    add_str(o, "px", px->egress.cur != NULL ? px->egress.cur->masked : NULL);
    json_object_object_add(o, "s", json_object_new_int(status));
    add_str(o, "e", error);
    json_object_object_add(o, "ms", json_object_new_int64(clock_mono_ms() - started_ms));
    nfired = px->fired != NULL ? json_object_array_length(px->fired) : 0;
    if (nfired > px->trail_fired) {
        struct json_object *names = json_object_new_array();
        size_t i;

        for (i = px->trail_fired; i < nfired; i++)
            json_object_array_add(names, json_object_get(json_object_array_get_idx(px->fired, i)));
        add_str(o, "r",
                json_object_to_json_string_ext(names, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(names);
    }
    px->trail_fired = nfired;
    if (failed && held->data != NULL && held->len > 0) {
        char excerpt[TRAIL_EXCERPT_MAX + 1];

        /* Masked as key_events.excerpt: the answer is read past the cut so
         * that a key straddling it is masked too. */
        mask_text(excerpt, sizeof(excerpt), held->data, held->len, secret, true);
        add_str(o, "x", excerpt);
    }
    json_object_array_add(px->trail, o);
}

char *proxy_trail_query(const char *query)
{
    struct buf b;
    char *out = NULL;

    if (query == NULL || query[0] == '\0')
        return NULL;
    buf_init(&b, REQLOG_QUERY_MAX + 1024);
    /* Every copy of `key` goes, whether it held a token or not: the log
     * never holds a credential.  A query too long keeps what fitted. */
    proxy_build_url(&b, "", NULL, query, "key", NULL);
    if (b.len > 0)
        out = strndup(buf_str(&b), REQLOG_QUERY_MAX);
    buf_free(&b);
    return out;
}

void proxy_trail_log(struct proxy *px)
{
    const char *text;

    if (px->trail != NULL && px->log != NULL) {
        text = json_object_to_json_string_ext(px->trail, JSON_C_TO_STRING_PLAIN);
        /* Cut JSON would be no JSON: past the cap (16 attempts at their
         * caps cannot reach it) the attempts are left out. */
        if (strlen(text) <= REQLOG_TRAIL_MAX)
            px->log->trail = strdup(text);
    }
    json_object_put(px->trail);
    px->trail = NULL;
}
