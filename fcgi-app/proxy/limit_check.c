/* Limit windows of a request (proxy/limit_check.h). */
#include "proxy/limit_check.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/db.h"
#include "core/limit_store.h"
#include "core/limits.h"
#include "core/pool.h"
#include "core/resettime.h"
#include "core/usage_scan.h"
#include "http.h"
#include "proxy/proxy.h"

/* The model the request sends upstream (after model_map and onRequest),
 * read once and only when a limit has a model pattern. */
static const char *request_model(struct proxy *px, const struct limit_set *s)
{
    const char *rest = px->hook_rest != NULL ? px->hook_rest : px->rest;
    char path[2048];

    if (!s->any_model)
        return NULL;
    if (!px->lim_model_read) {
        /* The path as core/usage_paths.c reads it: "/" and the rest. */
        snprintf(path, sizeof(path), "/%s", rest != NULL ? rest : "");
        usage_request_model(path, px->r->body.data, px->r->body.len, px->lim_model,
                            sizeof(px->lim_model));
        px->lim_model_read = true;
    }
    return px->lim_model;
}

enum err proxy_limits_unchecked(struct proxy *px)
{
    resp_header(px->r, "Retry-After", "1");
    reply_error(px->r, ERR_NO_AVAILABLE_KEY,
                "the client token's limits cannot be checked: the database is unreachable");
    return ERR_NO_AVAILABLE_KEY;
}

enum err proxy_limits_token(struct proxy *px)
{
    const struct pool_token *t = px->token;
    struct limit_refusal ref = {.retry_s = 1};
    const struct limit *l;
    bool granted = false;
    char ra[24];

    if (t == NULL || t->limits == NULL || px->up->is_public)
        return ERR_OK;
    if (limit_reserve(px->r->w->db, LIMIT_OWNER_TOKEN, t->id, 0, t->limits,
                      request_model(px, t->limits), &granted, &px->lim_token, &ref) != DB_OK)
        return proxy_limits_unchecked(px);
    if (granted)
        return ERR_OK;
    l = &t->limits->v[ref.slot];
    snprintf(ra, sizeof(ra), "%lld", retry_after_clamp_s(ref.retry_s));
    resp_header(px->r, "Retry-After", ra);
    if (ref.by_tokens)
        reply_error(px->r, ERR_RATE_LIMITED,
                    "the client token used its limit of %lld tokens per %s (limits[%zu]%s%s)",
                    l->tokens, limit_window_name(l->window), ref.slot,
                    l->model != NULL ? ", model " : "", l->model != NULL ? l->model : "");
    else
        reply_error(px->r, ERR_RATE_LIMITED,
                    "the client token is over its limit of %lld requests per %s (limits[%zu]%s%s)",
                    l->requests, limit_window_name(l->window), ref.slot,
                    l->model != NULL ? ", model " : "", l->model != NULL ? l->model : "");
    return ERR_RATE_LIMITED;
}

bool proxy_limits_key(struct proxy *px, struct pool_key *k, int64_t now_ms, bool *db_down)
{
    struct limit_refusal ref = {.retry_s = 1};
    bool granted = false;

    if (k->limits == NULL)
        return true;
    if (limit_reserve(px->r->w->db, LIMIT_OWNER_KEY, k->id, k->upstream_id, k->limits,
                      request_model(px, k->limits), &granted, &px->lim_key, &ref) != DB_OK) {
        *db_down = true;
        atomic_store(&k->skip_until_ms, now_ms + 1000);
        return false;
    }
    if (granted) {
        px->lim_key_id = k->id;
        return true;
    }
    /* A limit of every model sets the key aside in this process until its
     * window ends; one of some models only sets it aside for this request
     * (as if tried, leaving a place in tried for the key that serves), so
     * that it goes on serving other models. */
    if (k->limits->v[ref.slot].model == NULL || px->ntried + 1 >= PROXY_MAX_TRIED)
        atomic_store(&k->skip_until_ms,
                     now_ms + (k->limits->v[ref.slot].model == NULL ? ref.retry_s * 1000 : 1000));
    else
        px->tried[px->ntried++] = k->id;
    return false;
}

void proxy_limits_note_tokens(struct proxy *px, long long n)
{
    limit_tokens_note(&px->lim_token, n);
    if (px->last_key != NULL && px->last_key->id == px->lim_key_id)
        limit_tokens_note(&px->lim_key, n);
}
