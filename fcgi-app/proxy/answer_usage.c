#include "proxy/answer_usage.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "http.h"
#include "core/db.h"
#include "core/pool.h"
#include "core/price.h"
#include "core/reqlog.h"
#include "core/resettime.h"
#include "core/usage_scan.h"
#include "proxy/limit_check.h"
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

/* The tokens an answer counts for: its total, else prompt + completion. */
static long long billable(const struct usage_counts *u)
{
    if (u->source == USAGE_SOURCE_NONE)
        return 0;
    if (u->total >= 0)
        return u->total;
    return (u->prompt > 0 ? u->prompt : 0) + (u->completion > 0 ? u->completion : 0);
}

/* The cost of the answer at its model's price in the request's pool
 * snapshot (none when no price matches or nothing was reported). */
static void price_entry(struct proxy *px)
{
    struct reqlog_entry *e = px->log;
    const struct price *p;
    long long nanos;

    if (px->pool == NULL)
        return;
    p = price_match(px->pool->prices, px->pool->nprices, e->usage.model);
    if (p == NULL || (nanos = price_cost_nanos(p, &e->usage)) < 0)
        return;
    e->cost_nanos = nanos;
    snprintf(e->currency, sizeof(e->currency), "%s", p->currency);
}

void proxy_usage_retried(struct proxy *px, const struct pool_key *k, const struct upstream_head *h,
                         const char *body, size_t n)
{
    struct reqlog *q = px->r->w->app->reqlog;
    struct usage_counts u;
    struct usage_scan *s;
    enum usage_body kind;
    long long tokens;

    if (px->up == NULL || px->up->usage_format == USAGE_FORMAT_NONE || q == NULL || n == 0 ||
        (kind = answer_kind(h)) == USAGE_BODY_OTHER ||
        (s = usage_scan_new(px->up->usage_format, px->up->usage_paths, kind)) == NULL)
        return;
    usage_scan_feed(s, body, n);
    /* The held part may be the whole answer or its start: what it reported. */
    usage_scan_end(s, false, &u);
    usage_scan_free(s);
    if ((tokens = billable(&u)) > 0)
        reqlog_note_tokens(q, k->id, k->daily_token_quota > 0, 0, tokens);
}

void proxy_usage_note(struct proxy *px)
{
    struct reqlog *q = px->r->w->app->reqlog;
    long long n;

    if (px->log == NULL)
        return;
    price_entry(px);
    if (q == NULL || (n = billable(&px->log->usage)) <= 0)
        return;
    reqlog_note_tokens(q, px->log->key_id,
                       px->last_key != NULL && px->last_key->daily_token_quota > 0,
                       px->log->token_id, n);
    proxy_limits_note_tokens(px, n);
}

enum err proxy_usage_token_admit(struct proxy *px, const struct pool_token *t)
{
    struct reqlog *q = px->r->w->app->reqlog;
    struct db_res res;
    long long used;
    char ra[24];

    if (t->daily_token_quota <= 0)
        return ERR_OK;
    if (db_query(px->r->w->db, "SELECT tokens_today FROM client_tokens WHERE id = ?",
                 DB_ARGS(DB_INT(t->id)), &res) != DB_OK)
        return proxy_limits_unchecked(px);
    used = res.nrows > 0 ? db_int(&res, 0, 0) : 0;
    db_res_free(&res);
    used += q != NULL ? reqlog_pending_tokens(q, t->id) : 0;
    if (used < t->daily_token_quota)
        return ERR_OK;
    snprintf(ra, sizeof(ra), "%lld", retry_after_clamp_s(reset_schedule_wait_s(time(NULL))));
    resp_header(px->r, "Retry-After", ra);
    reply_error(px->r, ERR_RATE_LIMITED,
                "the client token used its daily token quota of %lld tokens (%lld used)",
                t->daily_token_quota, used);
    return ERR_RATE_LIMITED;
}
