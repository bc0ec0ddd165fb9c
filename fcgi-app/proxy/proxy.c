/* /proxy/{upstream}/{path...}: guards, client token, key choice and
 * reservation, attempts with back-off, and the request's log entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "core/clock.h"
#include "core/concurrency.h"
#include "core/db.h"
#include "core/pool.h"
#include "core/lease.h"
#include "core/quota.h"
#include "core/resettime.h"
#include "core/store.h"
#include "http.h"
#include "proxy/proxy.h"
#include "proxy/affinity.h"
#include "proxy/credential.h"
#include "proxy/answer_usage.h"
#include "proxy/fallback.h"
#include "proxy/hook.h"
#include "proxy/key_wait.h"
#include "proxy/model_rest.h"
#include "proxy/limit_check.h"
#include "proxy/path.h"
#include "proxy/rules.h"
#include "proxy/shape_req.h"
#include "proxy/trail.h"

#define PROXY_PREFIX "/proxy/"

/* Looks the upstream up (NULL when there is none), refreshing the pool
 * once on a miss.  Returns ERR_NO_AVAILABLE_KEY (answered) only when no
 * pool was ever loaded. */
static enum err find_upstream(struct proxy *px)
{
    if (px->pool != NULL && (px->up = pool_find_upstream(px->pool, px->name)) != NULL) {
        px->log->upstream_id = px->up->id;
        return ERR_OK;
    }
    if (!proxy_refresh_after_miss(px) && px->pool == NULL) {
        resp_header(px->r, "Retry-After", "1");
        reply_error(px->r, ERR_NO_AVAILABLE_KEY,
                    "the key pool is not loaded yet: the database is unreachable");
        return ERR_NO_AVAILABLE_KEY;
    }
    if (px->up != NULL)
        px->log->upstream_id = px->up->id;
    return ERR_OK;
}

static enum err token_limits(struct proxy *px, const struct pool_token *t)
{
    bool granted = false, daily = false;
    long long retry_after = 1;
    char ra[24];
    enum err e;
    int rc;

    if ((e = proxy_usage_token_admit(px, t)) != ERR_OK)
        return e;
    if (t->rpm_limit == 0 && t->daily_quota == 0) {
        /* Counted by the log writer, without a round trip of its own. */
        if (px->r->w->app->reqlog != NULL)
            reqlog_note_token(px->r->w->app->reqlog, t->id);
        return ERR_OK;
    }
    rc = lease_take(px->r->w->db, QUOTA_TOKEN, t->id, t->rpm_limit > 0, &granted);
    if (rc != DB_OK)
        return proxy_limits_unchecked(px);
    if (granted)
        return ERR_OK;
    quota_token_refusal(px->r->w->db, t->id, &daily, &retry_after);
    if (daily)
        retry_after = reset_schedule_wait_s(time(NULL));
    snprintf(ra, sizeof(ra), "%lld", retry_after_clamp_s(retry_after));
    resp_header(px->r, "Retry-After", ra);
    if (daily)
        reply_error(px->r, ERR_RATE_LIMITED,
                    "the client token used its daily quota of %lld requests", t->daily_quota);
    else
        reply_error(px->r, ERR_RATE_LIMITED,
                    "the client token is over its limit of %lld requests per minute", t->rpm_limit);
    return ERR_RATE_LIMITED;
}

/* Gives back the in-flight counts the request holds (none is fine). */
static void let_go(struct proxy *px)
{
    if (px->held_token != NULL)
        concurrency_leave(px->held_token);
    if (px->held_upstream != NULL)
        concurrency_leave(px->held_upstream);
    px->held_token = px->held_upstream = NULL;
}

/* Checks the client token.  It comes before saying whether an upstream
 * exists, so that callers without a token learn nothing about names. */
static enum err authenticate(struct proxy *px)
{
    const struct pool_token *t;
    bool presented;

    if (px->pool == NULL) {
        resp_header(px->r, "Retry-After", "1");
        reply_error(px->r, ERR_NO_AVAILABLE_KEY,
                    "the key pool is not loaded yet: the database is unreachable");
        return ERR_NO_AVAILABLE_KEY;
    }
    t = credential_find_token(px, &presented);
    if (t == NULL && presented && proxy_refresh_after_miss(px))
        t = credential_find_token(px, &presented);
    if (credential_mark_copies(px) != ERR_OK)
        return ERR_INVALID_REQUEST;
    if (px->up != NULL && px->up->is_public)
        return ERR_OK;
    if (t == NULL || !t->enabled || (t->expires_at != 0 && time(NULL) >= t->expires_at)) {
        resp_header(px->r, "WWW-Authenticate", "Bearer");
        reply_error(px->r, ERR_UNAUTHORIZED, "%s",
                    !presented    ? "send a client token: Authorization: Bearer <token>, X-Api-Key,"
                                    " X-Goog-Api-Key or ?key="
                    : t == NULL   ? "unknown client token"
                    : !t->enabled ? "the client token is disabled"
                                  : "the client token has expired");
        return ERR_UNAUTHORIZED;
    }
    /* The token stays valid while later steps take newer snapshots. */
    px->token = t;
    px->token_pool = pool_retain(px->pool);
    px->log->token_id = t->id;
    return ERR_OK;
}

/* What only a caller with a valid token (or any caller of a public
 * upstream) may learn: whether the upstream exists, may be used, is on. */
static enum err admit(struct proxy *px)
{
    if (px->up == NULL && px->name[0] == '\0') {
        reply_error(px->r, ERR_UNKNOWN_UPSTREAM,
                    "the path names no upstream: use /proxy/{upstream}/{path}");
        return ERR_UNKNOWN_UPSTREAM;
    }
    if (px->up == NULL) {
        reply_error(px->r, ERR_UNKNOWN_UPSTREAM, "no upstream is named %s", px->name);
        return ERR_UNKNOWN_UPSTREAM;
    }
    px->log->upstream_id = px->up->id;
    if (px->token != NULL && !px->up->is_public && !pool_token_allows(px->token, px->up->id)) {
        reply_error(px->r, ERR_FORBIDDEN, "the client token may not use upstream %s", px->name);
        return ERR_FORBIDDEN;
    }
    if (!px->up->enabled) {
        reply_error(px->r, ERR_UPSTREAM_DISABLED, "upstream %s is disabled", px->name);
        return ERR_UPSTREAM_DISABLED;
    }
    return ERR_OK;
}

/* Counts the request in flight on its token (unless the upstream is
 * public) and on its upstream, each under its max_concurrent.  Answers 429
 * concurrency_limited and holds nothing when either is at its limit.  On
 * success the request holds both counts until let_go. */
static enum err hold(struct proxy *px)
{
    const struct pool_token *t = px->token != NULL && !px->up->is_public ? px->token : NULL;
    enum concurrency_scope scope = CONCURRENCY_TOKEN;
    long long limit = 0;

    if (t != NULL && !concurrency_enter(t->inflight, t->max_concurrent)) {
        limit = t->max_concurrent;
    } else {
        px->held_token = t != NULL ? t->inflight : NULL;
        if (concurrency_enter(px->up->inflight, px->up->max_concurrent)) {
            px->held_upstream = px->up->inflight;
            return ERR_OK;
        }
        let_go(px);
        scope = CONCURRENCY_UPSTREAM;
        limit = px->up->max_concurrent;
    }
    concurrency_note_refusal(scope);
    resp_header(px->r, "Retry-After", "1");
    if (scope == CONCURRENCY_TOKEN)
        reply_error(px->r, ERR_CONCURRENCY_LIMITED,
                    "the client token is at its max_concurrent of %lld requests in flight", limit);
    else
        reply_error(px->r, ERR_CONCURRENCY_LIMITED,
                    "upstream %s is at its max_concurrent of %lld requests in flight", px->name,
                    limit);
    return ERR_CONCURRENCY_LIMITED;
}

bool proxy_can_retry(struct proxy *px, int attempt_no)
{
    int64_t now = clock_mono_ms();

    /* attempt_no counts the request's attempts; the retries are the
     * upstream's own. */
    if (attempt_no - px->fb.attempts_before <= px->up->max_retries && now < px->deadline_ms &&
        px->ntried < PROXY_MAX_TRIED &&
        pool_has_untried(px->up, proxy_model(px, false), px->tried, px->ntried, now))
        return true;
    /* A fallback upstream may still take the request. */
    return proxy_fallback_left(px);
}

/* Whether the status of an upstream answer counts against the key. */
static bool status_is_key_failure(int status)
{
    return status == 401 || status == 403 || status == 429 || status >= 500;
}

/* Full jitter: a random wait up to retry_backoff_ms * 2^n, never past the
 * deadline.  Returns false when no time is left for another attempt. */
static bool back_off(struct proxy *px, int n)
{
    long long cap = px->up->retry_backoff_ms << (n < 20 ? n : 20);
    long long wait =
        cap > 0 ? (long long)(worker_random(px->r->w) % (unsigned long long)(cap + 1)) : 0;
    long long left = px->deadline_ms - clock_mono_ms();

    if (left <= 0)
        return false;
    if (wait >= left)
        return false;
    if (wait > 0)
        usleep((useconds_t)(wait * 1000));
    return true;
}

/* 503 no_available_key.  Retry-After says when a key may be usable
 * (proxy/key_wait.h); 1 when the database could not be asked. */
static void reply_no_key(struct proxy *px, enum err e, bool wait_refused, long long retry_after_s)
{
    char ra[24];

    snprintf(ra, sizeof(ra), "%lld", e == ERR_DB_UNAVAILABLE ? 1 : retry_after_s);
    resp_header(px->r, "Retry-After", ra);
    if (e == ERR_DB_UNAVAILABLE)
        reply_error(px->r, ERR_NO_AVAILABLE_KEY,
                    "no key can be reserved: the database is unreachable; retry shortly");
    else if (wait_refused)
        reply_error(px->r, ERR_NO_AVAILABLE_KEY,
                    "upstream %s has no usable key, and this gateway process already has "
                    "max_waiting (%lld) requests waiting for one",
                    px->name, px->r->cfg->max_waiting);
    else
        reply_error(px->r, ERR_NO_AVAILABLE_KEY,
                    "upstream %s has no usable key (all are disabled, banned, exhausted or at "
                    "their rpm limit)",
                    px->name);
}

static void reply_failed(struct proxy *px, const struct attempt_error *last, int attempts)
{
    proxy_answer_headers(px, attempts);
    if (last->code == ERR_UPSTREAM_TIMEOUT)
        reply_error(px->r, ERR_UPSTREAM_TIMEOUT,
                    "upstream %s did not answer in time (%d attempts): %s", px->name, attempts,
                    last->text);
    else
        reply_error(px->r, ERR_UPSTREAM_ERROR, "upstream %s failed (%d attempts): %s", px->name,
                    attempts, last->text);
}

/* Every attempt was retried away by rules: the client gets the last
 * upstream answer, unchanged. */
static void reply_saved(struct proxy *px, int attempts)
{
    struct req *r = px->r;

    resp_status(r, px->saved_status);
    buf_append(&r->head, px->saved_head.data, px->saved_head.len);
    proxy_answer_headers(px, attempts);
    resp_write(r, px->saved_body.data, px->saved_body.len);
}

_Static_assert(sizeof(((struct reqlog_entry *)0)->proxy) >= EGRESS_MASKED_MAX,
               "reqlog_entry.proxy holds a masked proxy URL");

/* Runs the attempt with key k through the egress proxy it would use
 * (core/egress.h).  A proxy that fails to connect or hand over counts
 * towards its rest and the same key goes on through the next proxy: the
 * key is not to blame.  Returns the last attempt's outcome; after a proxy
 * failure with none left, OUTCOME_RETRY with px->egress.cause set, and
 * *exhausted when the upstream has no proxy left for this request. */
static enum outcome attempt_egress(struct proxy *px, struct pool_key *k, int attempt,
                                   struct attempt_error *err, bool *exhausted)
{
    struct egress_try *t = &px->egress;

    for (;;) {
        bool none_left;
        enum outcome out;

        t->cause = false;
        t->cur = egress_choose(&px->up->egress, k->proxy, k->id, t, clock_mono_ms(), &none_left);
        if (none_left) {
            proxy_endpoint_done(px, 0, false, false); /* nothing went to it */
            t->cause = true;
            *exhausted = k->proxy == NULL;
            if (err->text[0] == '\0')
                snprintf(err->text, sizeof(err->text), "no egress proxy of upstream %s is left",
                         px->name);
            return OUTCOME_RETRY;
        }
        snprintf(px->log->proxy, sizeof(px->log->proxy), "%s",
                 t->cur != NULL ? t->cur->masked : "");
        out = proxy_attempt(px, k, attempt, err);
        if (out != OUTCOME_RETRY || !t->cause)
            return out;
        egress_note_failure(t->cur->id, clock_mono_ms());
        /* A proxy that cannot be set aside could be chosen again at once. */
        if (t->nfailed == EGRESS_PROXIES_MAX)
            return out;
        t->failed[t->nfailed++] = t->cur->id;
        if (clock_mono_ms() >= px->deadline_ms)
            return out;
    }
}

/* How a run of attempts on one upstream ended. */
enum run_end {
    RUN_ANSWERED, /* the client has its answer */
    RUN_NO_KEY,   /* no key was usable for the first attempt */
    RUN_FAILED    /* every attempt failed before any byte went to the client */
};

struct run_result {
    enum run_end end;
    enum err no_key; /* RUN_NO_KEY: ERR_NO_AVAILABLE_KEY or ERR_DB_UNAVAILABLE */
    bool wait_refused;
    long long retry_after_s;   /* RUN_NO_KEY: when a key of the upstream may be usable */
    struct attempt_error last; /* RUN_FAILED: the last attempt's error */
    char upstream[65];         /* the upstream the run was on */
};

/* Tries keys of px->up until an answer goes to the client or attempts run
 * out; answers the client only in the first case. */
static void run_attempts(struct proxy *px, struct run_result *res)
{
    struct pool_key *again = NULL;
    int attempt;

    res->end = RUN_FAILED;
    res->retry_after_s = RETRY_AFTER_MAX_S;
    snprintf(res->upstream, sizeof(res->upstream), "%s", px->up->name);
    res->last.code = ERR_UPSTREAM_ERROR;
    snprintf(res->last.text, sizeof(res->last.text), "no attempt was made");
    px->deadline_ms = clock_mono_ms() + px->up->timeout_ms * (px->up->max_retries + 1);
    px->fb.attempts_before = px->log->attempts;
    proxy_affinity_find(px);
    px->log->affine = px->affine;
    for (attempt = 1; attempt <= px->up->max_retries + 1; attempt++) {
        struct attempt_error err = {ERR_UPSTREAM_ERROR, ""};
        enum err e = ERR_OK;
        struct pool_key *k;
        enum outcome out;
        bool exhausted = false;

        if (attempt > 1 && !back_off(px, attempt - 2))
            break;
        k = again != NULL  ? again
            : attempt == 1 ? proxy_first_key(px, &e, &res->wait_refused)
                           : proxy_reserve_key(px, &e, true);
        if (k == NULL) {
            if (attempt == 1) {
                res->end = RUN_NO_KEY;
                res->no_key = e;
                res->retry_after_s =
                    px->up != NULL ? key_wait_retry_after_s(px->up, proxy_model(px, false)) : 1;
                return;
            }
            break;
        }
        if (again == NULL)
            px->tried[px->ntried++] = k->id;
        again = NULL;
        /* After the key: taking one may move px to a newer snapshot, and
         * the endpoint (a breaker's trial, perhaps) is px->up's. */
        if (proxy_endpoint_choose(px) != ERR_OK) {
            res->end = RUN_ANSWERED;
            return;
        }
        px->log->key_id = k->id;
        px->log->attempts++;
        px->log->affine_home =
            px->affine && pool_affinity_is_home(px->up, px->affinity_hash, k->id);
        if (px->ep >= 0)
            snprintf(px->log->endpoint, sizeof(px->log->endpoint), "%s",
                     px->up->eps[px->ep].origin);
        px->last_key = k;
        out = attempt_egress(px, k, px->log->attempts, &err, &exhausted);
        /* A failure of the egress proxy is never the key's. */
        if (px->r->w->app->reqlog != NULL)
            reqlog_note_key(px->r->w->app->reqlog, k->id, proxy_key_is_limited(k),
                            !px->ep_fault &&
                                ((out == OUTCOME_RETRY && !px->egress.cause) ||
                                 (out == OUTCOME_DONE && status_is_key_failure(px->r->status))));
        if (out == OUTCOME_CLIENT_GONE) {
            px->r->status = 499;
            px->log->error = strdup("the client closed the connection");
            res->end = RUN_ANSWERED;
            return;
        }
        if (out == OUTCOME_DONE) {
            /* An error here means the answer was cut off after it began. */
            if (err.text[0] != '\0')
                px->log->error = strdup(err.text);
            res->end = RUN_ANSWERED;
            return;
        }
        res->last = err;
        if (px->hook_failed) {
            /* onResponse failed and script_fail is closed. */
            proxy_hook_reply_failed(px);
            res->end = RUN_ANSWERED;
            return;
        }
        if (px->ep_fault && proxy_endpoint_left(px))
            again = k;
        else if (px->ntried == PROXY_MAX_TRIED || exhausted)
            break;
    }
}

/* Runs the attempts on the upstream the request named, then on its
 * fallbacks while none answered (proxy/fallback.h), and answers the
 * failure that is left.  A fallback without a usable key does not hide an
 * earlier upstream's failure; when no upstream had a key, Retry-After is
 * the soonest any of them may have one. */
static void serve(struct proxy *px)
{
    struct run_result res, kept;
    long long soonest;

    run_attempts(px, &res);
    kept = res;
    soonest = res.retry_after_s;
    /* A full window of the client token ends the request (429). */
    while (res.end != RUN_ANSWERED && !proxy_limits_refused(px) && px->up != NULL &&
           proxy_fallback_next(px)) {
        run_attempts(px, &res);
        if (res.retry_after_s < soonest)
            soonest = res.retry_after_s;
        if (res.end != RUN_NO_KEY || kept.end == RUN_NO_KEY)
            kept = res;
    }
    if (res.end == RUN_ANSWERED)
        return;
    if (proxy_limits_refused(px)) {
        proxy_limits_reply(px);
        return;
    }
    if (kept.end == RUN_NO_KEY) {
        reply_no_key(px, kept.no_key, kept.wait_refused, soonest);
        return;
    }
    px->log->error = strdup(kept.last.text);
    if (px->saved_status != 0) {
        px->answer_from = px->saved_from;
        reply_saved(px, px->log->attempts);
    } else {
        px->answer_from = kept.upstream;
        reply_failed(px, &kept.last, px->log->attempts);
    }
    px->answer_from = NULL;
}

static struct reqlog_entry *new_entry(struct req *r)
{
    struct reqlog_entry *e = calloc(1, sizeof(*e));
    const char *p = r->path;

    if (e == NULL)
        return NULL;
    snprintf(e->request_id, sizeof(e->request_id), "%s", r->id);
    /* The id's own time, so that the row is found by its id (core/reqid.h). */
    e->ts_ms = r->start_ms;
    snprintf(e->method, sizeof(e->method), "%s", r->method);
    e->req_bytes = (long long)r->body.len;
    e->path = strndup(p, REQLOG_PATH_MAX);
    e->query = proxy_trail_query(r->query);
    return e;
}

/* Completes the entry from the response and hands it to the logger. */
static void log_request(struct proxy *px)
{
    struct reqlog_entry *e = px->log;
    struct req *r = px->r;

    if (e == NULL)
        return;
    if (px->up != NULL)
        snprintf(e->upstream, sizeof(e->upstream), "%s", px->up->name);
    if (e->status == 0)
        e->status = r->status;
    e->latency_ms = (clock_mono_us() - r->start_us) / 1000;
    e->resp_bytes = r->resp_bytes;
    if (r->w->app->reqlog != NULL)
        reqlog_push(r->w->app->reqlog, e);
    else
        reqlog_entry_free(e);
    px->log = NULL;
}

static enum err prepare(struct proxy *px)
{
    const char *after = px->r->path + strlen(PROXY_PREFIX), *why;
    enum err e;

    why = proxy_path_check(after, px->r->query);
    if (why != NULL) {
        reply_error(px->r, ERR_INVALID_PATH, "%s", why);
        return ERR_INVALID_PATH;
    }
    /* An invalid name is an unknown upstream, said after the token check. */
    if (!proxy_split(after, px->name, sizeof(px->name), &px->rest))
        snprintf(px->name, sizeof(px->name), "%.*s",
                 (int)strcspn(after, "/") > 64 ? 64 : (int)strcspn(after, "/"), after);
    else if ((e = find_upstream(px)) != ERR_OK)
        return e;
    if ((e = authenticate(px)) != ERR_OK)
        return e;
    return admit(px);
}

void h_proxy(struct req *r, const struct route_args *a)
{
    struct proxy px;

    (void)a;
    memset(&px, 0, sizeof(px));
    px.r = r;
    px.log = new_entry(r);
    buf_init(&px.url, PROXY_URL_MAX);
    buf_init(&px.saved_head, HTTP_HEAD_MAX);
    buf_init(&px.saved_body, (size_t)r->cfg->rule_body_limit);
    px.pool = pool_acquire(&r->w->app->pool);
    if (px.log == NULL) {
        reply_error(r, ERR_INTERNAL, "out of memory");
    } else if (!app_inflight_enter(r->w->app, r->cfg->max_inflight)) {
        resp_header(r, "Retry-After", "1");
        reply_error(r, ERR_OVERLOADED,
                    "this gateway process has %lld proxied requests in flight "
                    "(max_inflight); try again shortly",
                    r->cfg->max_inflight);
    } else {
        if (prepare(&px) == ERR_OK && hold(&px) == ERR_OK) {
            /* The one way out after hold, however the request ends, is
             * let_go.  The token's exact limits come after it, so that a
             * request the concurrency limit refuses costs no database round
             * trip. */
            if ((px.token == NULL || px.up->is_public || token_limits(&px, px.token) == ERR_OK) &&
                proxy_hook_request(&px) == HOOK_GO_ON && proxy_shape_request(&px) == ERR_OK)
                serve(&px);
            let_go(&px);
        }
        app_inflight_leave(r->w->app);
    }
    if (px.log != NULL && px.log->error == NULL && r->error[0] != '\0')
        px.log->error = strdup(r->error);
    proxy_trail_log(&px);
    proxy_rules_log(&px);
    proxy_usage_request_model(&px);
    proxy_usage_note(&px);
    proxy_affinity_count(&px);
    log_request(&px);
    buf_free(&px.url);
    buf_free(&px.saved_head);
    buf_free(&px.saved_body);
    proxy_hook_done(&px);
    pool_release(px.token_pool);
    pool_release(px.pool);
}
