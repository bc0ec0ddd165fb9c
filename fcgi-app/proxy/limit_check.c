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
#include "core/log.h"
#include "core/pool.h"
#include "core/resettime.h"
#include "http.h"
#include "proxy/model_rest.h"
#include "proxy/proxy.h"

/* The model the request sends upstream (after model_map and onRequest;
 * the model-scoped rests read the same, once per upstream), only when a
 * limit has a model pattern. */
static const char *request_model(struct proxy *px, bool needed)
{
    const struct pool_model *m = needed ? proxy_model(px, true) : NULL;

    return m != NULL ? m->name : NULL;
}

enum err proxy_limits_unchecked(struct proxy *px)
{
    resp_header(px->r, "Retry-After", "1");
    reply_error(px->r, ERR_NO_AVAILABLE_KEY,
                "the client token's limits cannot be checked: the database is unreachable");
    return ERR_NO_AVAILABLE_KEY;
}

/* The client token whose windows are still to be reserved, or NULL. */
static const struct pool_token *token_due(const struct proxy *px)
{
    const struct pool_token *t = px->token;

    return t != NULL && t->limits != NULL && !px->lim_token_done && !px->up->is_public ? t : NULL;
}

/* The key's refusal: set aside in this process until its window ends,
 * for every model when the limit holds for every model (window_until_ms),
 * else for the request's model alone, as a rest of the key for that model
 * made here (core/pool_blocks.c), so that it goes on serving the others.
 * Both count in the Retry-After of no_available_key. */
static void set_aside(struct proxy *px, struct pool_key *k, const struct limit_refusal *ref,
                      int64_t now_ms)
{
    const struct pool_model *m = proxy_model(px, true);
    int64_t until = now_ms + (int64_t)(ref->retry_s > 0 ? ref->retry_s : 1) * 1000;

    if (k->limits->v[ref->slot].model == NULL || m == NULL)
        atomic_store(&k->window_until_ms, until);
    else
        pool_key_block_here(px->up, k, m, until);
}

/* The daily reset k's day windows follow: its upstream's own (the global
 * one where the upstream has none, or is gone from the snapshot). */
static struct limit_day key_day(const struct proxy *px, const struct pool_key *k)
{
    const struct pool_upstream *u =
        k->upstream_id == px->up->id ? px->up : pool_upstream_by_id(px->pool, k->upstream_id);
    struct limit_day d = {NULL, -1};

    if (u != NULL) {
        d.tz = u->reset_tz;
        d.hour = u->reset_hour;
    }
    return d;
}

enum limits_verdict proxy_limits_key(struct proxy *px, struct pool_key *k, int64_t now_ms)
{
    const struct pool_token *t = token_due(px);
    struct limit_claim c[LIMIT_CLAIMS_MAX];
    size_t n = 0;
    bool granted = false;

    px->lim_counted_token.n = px->lim_counted_key.n = 0;
    if (t == NULL && k->limits == NULL)
        return LIMITS_GRANTED;
    memset(c, 0, sizeof(c));
    /* The token's rows first, then the key's: every request locks them in
     * that order. */
    if (t != NULL) {
        c[n].kind = LIMIT_OWNER_TOKEN;
        c[n].owner_id = t->id;
        c[n].s = t->limits;
        c[n].counted = &px->lim_counted_token;
        c[n++].held = &px->lim_token;
    }
    if (k->limits != NULL) {
        c[n].kind = LIMIT_OWNER_KEY;
        c[n].owner_id = k->id;
        c[n].day = key_day(px, k);
        c[n].s = k->limits;
        c[n].counted = &px->lim_counted_key;
        c[n++].held = &px->lim_key;
    }
    if (limit_reserve(px->r->w->db, c, n,
                      request_model(px, (t != NULL && t->limits->any_model) ||
                                            (k->limits != NULL && k->limits->any_model)),
                      &granted) != DB_OK) {
        atomic_store(&k->skip_until_ms, now_ms + 1000);
        return LIMITS_DB_DOWN;
    }
    if (granted) {
        px->lim_token_done = px->lim_token_done || t != NULL;
        if (k->limits != NULL)
            px->lim_key_id = k->id;
        return LIMITS_GRANTED;
    }
    if (t != NULL && c[0].refused) {
        px->lim_token_refused = true;
        px->lim_token_ref = c[0].ref;
        return LIMITS_TOKEN_FULL;
    }
    set_aside(px, k, &c[n - 1].ref, now_ms);
    return LIMITS_KEY_FULL;
}

void proxy_limits_undo(struct proxy *px, const struct pool_key *k)
{
    if (px->lim_counted_token.n == 0 && px->lim_counted_key.n == 0)
        return;
    if (px->lim_counted_token.n > 0) {
        /* The token's windows are reserved again with the next key. */
        px->lim_token_done = false;
        px->lim_token.n = 0;
    }
    if (px->lim_counted_key.n > 0 && px->lim_key_id == k->id) {
        px->lim_key_id = 0;
        px->lim_key.n = 0;
    }
    if (limit_release(px->r->w->db, &px->lim_counted_token) != DB_OK ||
        limit_release(px->r->w->db, &px->lim_counted_key) != DB_OK)
        log_warn("limit windows: a request refused by key %lld's lease stays counted", k->id);
}

bool proxy_limits_refused(const struct proxy *px)
{
    return px->lim_token_refused;
}

void proxy_limits_reply(struct proxy *px)
{
    const struct limit_refusal *ref = &px->lim_token_ref;
    const struct limit *l = &px->token->limits->v[ref->slot];
    char ra[24];

    snprintf(ra, sizeof(ra), "%lld", retry_after_clamp_s(ref->retry_s));
    resp_header(px->r, "Retry-After", ra);
    if (ref->by_tokens)
        reply_error(px->r, ERR_RATE_LIMITED,
                    "the client token used its limit of %lld tokens per %s (limits[%zu]%s%s)",
                    l->tokens, limit_window_name(l->window), ref->slot,
                    l->model != NULL ? ", model " : "", l->model != NULL ? l->model : "");
    else
        reply_error(px->r, ERR_RATE_LIMITED,
                    "the client token is over its limit of %lld requests per %s (limits[%zu]%s%s)",
                    l->requests, limit_window_name(l->window), ref->slot,
                    l->model != NULL ? ", model " : "", l->model != NULL ? l->model : "");
}

void proxy_limits_note_tokens(struct proxy *px, long long n)
{
    limit_tokens_note(&px->lim_token, n);
    if (px->last_key != NULL && px->last_key->id == px->lim_key_id)
        limit_tokens_note(&px->lim_key, n);
}
