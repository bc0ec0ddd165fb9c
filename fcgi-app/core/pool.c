#include "core/pool.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/concurrency.h"
#include "core/db.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/pace_store.h"
#include "core/rule/rule.h"
#include "core/shape.h"
#include "core/upscript.h"

/* Round-robin cursors live here, one per upstream id, for the life of the
 * process, so that a new snapshot goes on where the old one was. */
#define CURSOR_SLOTS 4096

static struct {
    long long id;
    atomic_ullong cursor;
} cursors[CURSOR_SLOTS];
static pthread_mutex_t cursor_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong spare_cursor;

static atomic_ullong *cursor_for(long long id)
{
    size_t i, h = (size_t)id * 2654435761u % CURSOR_SLOTS;
    atomic_ullong *found = &spare_cursor;

    pthread_mutex_lock(&cursor_lock);
    for (i = 0; i < CURSOR_SLOTS; i++) {
        size_t s = (h + i) % CURSOR_SLOTS;
        if (cursors[s].id == id || cursors[s].id == 0) {
            cursors[s].id = id;
            found = &cursors[s].cursor;
            break;
        }
    }
    pthread_mutex_unlock(&cursor_lock);
    return found;
}

void pool_cache_init(struct pool_cache *c, const unsigned char *enc_key)
{
    pthread_condattr_t ca;

    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->build_lock, NULL);
    pthread_mutex_init(&c->fresh_lock, NULL);
    pthread_cond_init(&c->fresh_cv, NULL);
    c->enc_key = enc_key;
    c->script_lim.timeout_ms = SCRIPT_TIMEOUT_MS_DEFAULT;
    c->script_lim.memory_kb = SCRIPT_MEMORY_KB_DEFAULT;
}

static void pool_free(struct pool *p)
{
    size_t i, k;

    if (p == NULL)
        return;
    for (i = 0; i < p->nups; i++) {
        struct pool_upstream *u = &p->ups[i];
        for (k = 0; k < u->nkeys; k++) {
            crypto_wipe(u->keys[k].value, u->keys[k].value_len);
            free(u->keys[k].value);
            free(u->keys[k].name);
            egress_proxy_free(u->keys[k].proxy);
            pool_key_blocks_free(&u->keys[k]);
            limits_free(u->keys[k].limits);
        }
        free(u->keys);
        free(u->name);
        free(u->base_url);
        free(u->auth_header);
        free(u->auth_template);
        free(u->auth_query_param);
        free(u->probe_method);
        free(u->probe_path);
        upscript_release(u->script);
        free(u->usage_paths);
        free(u->fallbacks);
        shape_free(u->shape);
        pool_affinity_free(u);
        egress_set_free(&u->egress);
        pool_endpoints_free(u);
        header_rules_free(&u->header_rules);
    }
    for (i = 0; i < p->ntokens; i++) {
        free(p->tokens[i].upstreams);
        free(p->tokens[i].name);
        limits_free(p->tokens[i].limits);
    }
    for (i = 0; i < p->nrules; i++)
        rule_free(p->rules[i]);
    free(p->rules);
    price_free(p->prices, p->nprices);
    free(p->ups);
    free(p->tokens);
    free(p);
}

void pool_cache_free(struct pool_cache *c)
{
    pool_free(c->cur);
    c->cur = NULL;
}

struct pool *pool_acquire(struct pool_cache *c)
{
    struct pool *p;

    pthread_mutex_lock(&c->lock);
    p = c->cur;
    if (p != NULL)
        atomic_fetch_add(&p->refs, 1);
    pthread_mutex_unlock(&c->lock);
    return p;
}

struct pool *pool_retain(struct pool *p)
{
    if (p != NULL)
        atomic_fetch_add(&p->refs, 1);
    return p;
}

void pool_release(struct pool *p)
{
    if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1)
        pool_free(p);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static enum strategy parse_strategy(const char *s)
{
    if (s != NULL && strcmp(s, "random") == 0)
        return STRATEGY_RANDOM;
    if (s != NULL && strcmp(s, "weighted") == 0)
        return STRATEGY_WEIGHTED;
    return STRATEGY_ROUND_ROBIN;
}

/* Reads an upstream's usage_format and usage_paths as stored (checked
 * when they were written; an unknown format reads as none, so that an
 * older binary's view of a newer format is "not read").  Returns -1 when
 * memory runs out. */
static int load_usage(struct pool_upstream *u, const char *format, const char *paths)
{
    if (format == NULL || usage_format_parse(format, &u->usage_format) != 0)
        u->usage_format = USAGE_FORMAT_NONE;
    if (u->usage_format != USAGE_FORMAT_CUSTOM)
        return 0;
    if ((u->usage_paths = calloc(1, sizeof(*u->usage_paths))) == NULL)
        return -1;
    if (paths == NULL || usage_paths_parse(paths, u->usage_paths) != NULL)
        u->usage_format = USAGE_FORMAT_NONE;
    return 0;
}

/* Reads fallback_upstreams as stored (a JSON array of ids, checked when
 * written; anything else reads as none).  Returns -1 when memory runs out. */
static int load_fallbacks(struct pool_upstream *u, const char *json)
{
    struct json_object *a = json != NULL ? json_tokener_parse(json) : NULL;
    size_t i,
        n = a != NULL && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
    int rc = 0;

    if (n > 0 && (u->fallbacks = calloc(n, sizeof(*u->fallbacks))) == NULL)
        rc = -1;
    for (i = 0; rc == 0 && i < n; i++) {
        struct json_object *v = json_object_array_get_idx(a, i);
        if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) != u->id)
            u->fallbacks[u->nfallbacks++] = json_object_get_int64(v);
    }
    json_object_put(a);
    return rc;
}

/* The admin API refused rules it could not load; rules the database got
 * another way are left out whole, and said so, rather than half applied. */
static void load_header_rules(struct pool_upstream *u, const char *text)
{
    char msg[256];

    if (header_rules_parse_text(text, u->auth_query_param == NULL ? u->auth_header : NULL,
                                &u->header_rules, msg, sizeof(msg)) != 0)
        log_error("upstream %s: header rules not applied: %s", u->name, msg);
}

static int load_upstreams(struct db *db, struct pool *p, const struct pool *prev,
                          const struct script_limits *lim)
{
    struct db_res res;
    const char *shaped;
    unsigned i;
    int rc;

    rc = db_query(db,
                  "SELECT id, name, base_url, auth_header, auth_template, auth_query_param,"
                  " strategy, timeout_ms, connect_timeout_ms, max_retries, retry_backoff_ms,"
                  " enabled, is_public, probe_method, probe_path, auto_disable_max_pct,"
                  " COALESCE(max_concurrent, 0), script, usage_format, usage_paths,"
                  " COALESCE(JSON_VALUE(stream_peek, '$.bytes'), 0),"
                  " COALESCE(JSON_VALUE(stream_peek, '$.ms'), 0), queue_wait_ms,"
                  " fallback_upstreams, affinity, affinity_path, endpoints,"
                  " endpoint_fail_threshold, endpoint_window_s, endpoint_cooldown_s,"
                  " header_rules, strip_forwarding_headers, model_allow, model_map, body_set,"
                  " COALESCE(quota_reset_hour, -1), COALESCE(quota_reset_tz, ''), pace_by_headers"
                  " FROM upstreams ORDER BY name",
                  DB_NOARGS, &res);
    if (rc != DB_OK)
        goto out;
    p->ups = calloc(res.nrows + 1, sizeof(*p->ups));
    if (p->ups == NULL) {
        rc = DB_EFAIL;
        goto out;
    }
    for (i = 0; i < res.nrows; i++) {
        struct pool_upstream *u = &p->ups[i];
        u->id = db_int(&res, i, 0);
        u->name = dup_or_null(db_val(&res, i, 1));
        u->base_url = dup_or_null(db_val(&res, i, 2));
        u->auth_header = dup_or_null(db_val(&res, i, 3));
        u->auth_template = dup_or_null(db_val(&res, i, 4));
        u->auth_query_param = dup_or_null(db_val(&res, i, 5));
        u->strategy = parse_strategy(db_val(&res, i, 6));
        u->timeout_ms = db_int(&res, i, 7);
        u->connect_timeout_ms = db_int(&res, i, 8);
        u->max_retries = db_int(&res, i, 9);
        u->retry_backoff_ms = db_int(&res, i, 10);
        u->enabled = db_int(&res, i, 11) != 0;
        u->is_public = db_int(&res, i, 12) != 0;
        u->probe_method = dup_or_null(db_val(&res, i, 13));
        u->probe_path = dup_or_null(db_val(&res, i, 14));
        u->auto_disable_max_pct = db_int(&res, i, 15);
        u->rr = cursor_for(u->id);
        u->max_concurrent = db_int(&res, i, 16);
        u->peek_bytes = db_int(&res, i, 20);
        u->peek_ms = db_int(&res, i, 21);
        u->queue_wait_ms = db_int(&res, i, 22);
        u->inflight = concurrency_counter(CONCURRENCY_UPSTREAM, u->id);
        p->nups++;
        pool_affinity_load(u, db_val(&res, i, 24), db_val(&res, i, 25));
        load_header_rules(u, db_val(&res, i, 30));
        u->strip_forwarding = db_int(&res, i, 31) != 0;
        u->reset_hour = (int)db_int(&res, i, 35);
        snprintf(u->reset_tz, sizeof(u->reset_tz), "%s", db_val(&res, i, 36));
        u->pace_by_headers = db_int(&res, i, 37) != 0;
        /* Checked when saved: what does not parse reads as no shaping, but
         * a snapshot without memory for an allow-list is no snapshot. */
        shaped =
            shape_parse(db_val(&res, i, 32), db_val(&res, i, 33), db_val(&res, i, 34), &u->shape);
        if (shaped != NULL && strstr(shaped, "out of memory") != NULL) {
            rc = DB_EFAIL;
            break;
        }
        if (load_usage(u, db_val(&res, i, 18), db_val(&res, i, 19)) != 0 || u->inflight == NULL ||
            upscript_attach(u, prev, db_val(&res, i, 17), db_len(&res, i, 17), lim) != 0 ||
            load_fallbacks(u, db_val(&res, i, 23)) != 0 ||
            pool_endpoints_load(u, db_val(&res, i, 26), db_int(&res, i, 27), db_int(&res, i, 28),
                                db_int(&res, i, 29)) != 0) {
            rc = DB_EFAIL;
            break;
        }
    }
out:
    db_res_free(&res);
    return rc;
}

/* Decrypts one key row into the next free slot of its upstream. */
static void add_key(struct pool_upstream *u, const struct db_res *res, unsigned row,
                    const unsigned char *enc_key)
{
    struct pool_key *pk = &u->keys[u->nkeys];
    unsigned long n = db_len(res, row, 2);
    char *plain = malloc(n + 1);
    long len = -1;

    if (plain != NULL)
        len = crypto_open(enc_key, (const unsigned char *)db_val(res, row, 2), n, plain);
    if (len < 0) {
        log_error("key %lld cannot be decrypted: is encryption_key the one it was stored with?",
                  db_int(res, row, 0));
        free(plain);
        return;
    }
    pk->id = db_int(res, row, 0);
    pk->upstream_id = u->id;
    pk->value = plain;
    pk->value_len = (size_t)len;
    snprintf(pk->masked, sizeof(pk->masked), "%s", db_val(res, row, 3));
    pk->weight = db_int(res, row, 4);
    pk->daily_quota = db_int(res, row, 5);
    pk->used_today = db_int(res, row, 6);
    pk->rpm_limit = db_int(res, row, 7);
    pk->name = dup_or_null(db_val(res, row, 9));
    pk->daily_token_quota = db_int(res, row, 10);
    pk->priority = db_int(res, row, 11);
    pk->limits = limits_parse_text(db_val(res, row, 12));
    pk->paced = u->pace_by_headers;
    pace_state_init(&pk->pace);
    if (db_int(res, row, 8) >= 0)
        pk->rest_until_ms = clock_mono_ms() + db_int(res, row, 8) / 1000;
    u->nkeys++;
}

/* Loads the active keys of every upstream, and how many keys each has in
 * all (for the failure guard).  A key disabled until a time, on an upstream
 * without a probe, is loaded too, with the time left on the database's
 * clock: it serves again once that time is over, without a job.  Keys of
 * upstreams with a probe wait for apigw-recover. */
static int load_keys(struct db *db, struct pool *p, const unsigned char *enc_key)
{
    struct db_res res, counts;
    struct pool_upstream *u;
    unsigned i;
    int rc;

    memset(&counts, 0, sizeof(counts));
    rc = db_query(db,
                  "SELECT upstream_id, COUNT(*), SUM(status = 'active' OR (status = 'disabled'"
                  " AND disabled_until IS NOT NULL)), SUM(status = 'exhausted'),"
                  " COALESCE(MIN(IF(status = 'disabled', GREATEST(0, TIMESTAMPDIFF(MICROSECOND,"
                  " UTC_TIMESTAMP(6), disabled_until)), NULL)), -1)"
                  " FROM api_keys GROUP BY upstream_id",
                  DB_NOARGS, &counts);
    if (rc != DB_OK)
        goto out_counts;
    for (i = 0; i < counts.nrows; i++) {
        if ((u = pool_upstream_by_id(p, db_int(&counts, i, 0))) == NULL)
            continue;
        u->keys_total = db_int(&counts, i, 1);
        u->keys_cap = (size_t)db_int(&counts, i, 2);
        u->keys_exhausted = db_int(&counts, i, 3);
        if (db_int(&counts, i, 4) >= 0)
            u->next_rest_end_ms = clock_mono_ms() + db_int(&counts, i, 4) / 1000;
        u->keys = calloc(u->keys_cap + 1, sizeof(*u->keys));
        if (u->keys == NULL) {
            rc = DB_EFAIL;
            goto out_counts;
        }
    }
    rc = db_query(db,
                  "SELECT id, upstream_id, key_enc, key_masked, weight, daily_quota, used_today,"
                  " rpm_limit, IF(status = 'active', -1, GREATEST(0, TIMESTAMPDIFF(MICROSECOND,"
                  " UTC_TIMESTAMP(6), disabled_until))), name, COALESCE(daily_token_quota, 0),"
                  " priority, limits FROM api_keys WHERE status = 'active' OR"
                  " (status = 'disabled' AND disabled_until IS NOT NULL)"
                  " ORDER BY upstream_id, priority DESC, id",
                  DB_NOARGS, &res);
    /* A key added between the two statements has no slot; the next load has it. */
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        u = pool_upstream_by_id(p, db_int(&res, i, 1));
        if (u != NULL && db_int(&res, i, 8) >= 0 && u->probe_method != NULL &&
            u->probe_path != NULL)
            continue; /* resting on an upstream with a probe: apigw-recover decides */
        if (u != NULL && u->keys != NULL && u->nkeys < u->keys_cap)
            add_key(u, &res, i, enc_key);
    }
    db_res_free(&res);
out_counts:
    db_res_free(&counts);
    return rc;
}

static int cmp_token(const void *a, const void *b)
{
    return memcmp(((const struct pool_token *)a)->hash, ((const struct pool_token *)b)->hash,
                  SHA256_LEN);
}

static void parse_token_upstreams(struct pool_token *t, const char *json)
{
    struct json_object *o = json_tokener_parse(json != NULL ? json : "[]");
    size_t i, n;

    if (o != NULL && json_object_is_type(o, json_type_array)) {
        n = json_object_array_length(o);
        t->upstreams = calloc(n + 1, sizeof(long long));
        for (i = 0; t->upstreams != NULL && i < n; i++)
            t->upstreams[t->nupstreams++] = json_object_get_int64(json_object_array_get_idx(o, i));
    }
    json_object_put(o);
}

static int load_tokens(struct db *db, struct pool *p)
{
    struct db_res res;
    unsigned i;
    int rc;

    rc = db_query(db,
                  "SELECT id, token_hash, upstreams, rpm_limit, daily_quota,"
                  " COALESCE(UNIX_TIMESTAMP(expires_at), 0), enabled, COALESCE(max_concurrent, 0),"
                  " name, COALESCE(daily_token_quota, 0), limits FROM client_tokens",
                  DB_NOARGS, &res);
    if (rc != DB_OK)
        goto out;
    p->tokens = calloc(res.nrows + 1, sizeof(*p->tokens));
    if (p->tokens == NULL) {
        rc = DB_EFAIL;
        goto out;
    }
    for (i = 0; i < res.nrows; i++) {
        struct pool_token *t = &p->tokens[p->ntokens];
        if (db_len(&res, i, 1) != SHA256_LEN)
            continue;
        t->id = db_int(&res, i, 0);
        memcpy(t->hash, db_val(&res, i, 1), SHA256_LEN);
        parse_token_upstreams(t, db_val(&res, i, 2));
        t->rpm_limit = db_int(&res, i, 3);
        t->daily_quota = db_int(&res, i, 4);
        t->expires_at = (time_t)db_int(&res, i, 5);
        t->enabled = db_int(&res, i, 6) != 0;
        t->max_concurrent = db_int(&res, i, 7);
        t->name = dup_or_null(db_val(&res, i, 8));
        t->daily_token_quota = db_int(&res, i, 9);
        t->limits = limits_parse_text(db_val(&res, i, 10));
        t->inflight = concurrency_counter(CONCURRENCY_TOKEN, t->id);
        p->ntokens++;
        if (t->inflight == NULL) {
            rc = DB_EFAIL;
            break;
        }
    }
    qsort(p->tokens, p->ntokens, sizeof(*p->tokens), cmp_token);
out:
    db_res_free(&res);
    return rc;
}

/* A stored rule as the JSON the compiler reads. */
static struct json_object *rule_json(const struct db_res *res, unsigned i)
{
    struct json_object *o = json_object_new_object();
    long long up = db_int(res, i, 1);

    json_object_object_add(o, "name", json_object_new_string(db_val(res, i, 2)));
    json_object_object_add(o, "upstream_id", up > 0 ? json_object_new_int64(up) : NULL);
    json_object_object_add(o, "enabled", json_object_new_boolean(db_int(res, i, 3) != 0));
    json_object_object_add(o, "priority", json_object_new_int64(db_int(res, i, 4)));
    json_object_object_add(o, "condition", json_tokener_parse(db_val(res, i, 5)));
    json_object_object_add(o, "actions", json_tokener_parse(db_val(res, i, 6)));
    json_object_object_add(o, "threshold", json_object_new_int64(db_int(res, i, 7)));
    json_object_object_add(o, "window_s", json_object_new_int64(db_int(res, i, 8)));
    json_object_object_add(o, "cooldown_s", json_object_new_int64(db_int(res, i, 9)));
    json_object_object_add(o, "stop", json_object_new_boolean(db_int(res, i, 10) != 0));
    return o;
}

struct rule *pool_rule_compile(const struct db_res *res, unsigned i)
{
    struct json_object *o = rule_json(res, i);
    char err[256];
    struct rule *r = rule_compile(o, err, sizeof(err));

    json_object_put(o);
    if (r == NULL)
        log_warn("rule %lld is skipped: %s", db_int(res, i, 0), err);
    else
        r->id = db_int(res, i, 0);
    return r;
}

/* Compiles every rule once per snapshot; a rule that no longer compiles
 * (edited by hand in the database) is skipped and logged. */
static int load_rules(struct db *db, struct pool *p)
{
    struct db_res res;
    unsigned i;
    size_t u, k;
    int rc;

    rc =
        db_query(db, "SELECT " POOL_RULE_COLS " FROM rules ORDER BY priority, id", DB_NOARGS, &res);
    if (rc == DB_OK && (p->rules = calloc(res.nrows + 1, sizeof(*p->rules))) == NULL)
        rc = DB_EFAIL;
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct rule *r = pool_rule_compile(&res, i);
        if (r != NULL)
            p->rules[p->nrules++] = r;
    }
    db_res_free(&res);
    for (u = 0; rc == DB_OK && u < p->nups; u++)
        for (k = 0; k < p->nrules; k++)
            if (p->rules[k]->enabled && p->rules[k]->needs_body &&
                (p->rules[k]->upstream_id == 0 || p->rules[k]->upstream_id == p->ups[u].id)) {
                p->ups[u].body_rules = true;
                p->ups[u].script_rules |= rule_has_script(p->rules[k]);
            }
    return rc;
}

static int read_version(struct pool_cache *c, struct db *db, unsigned long long *version)
{
    struct db_res res;
    int rc = db_query(db, "SELECT version FROM pool_version WHERE id = 1", DB_NOARGS, &res);

    atomic_fetch_add(&c->version_checks, 1);
    if (rc == DB_OK)
        *version = (unsigned long long)db_int(&res, 0, 0);
    db_res_free(&res);
    return rc;
}

static int build(struct pool_cache *c, struct db *db, unsigned long long version)
{
    struct pool *p = calloc(1, sizeof(*p)), *old, *prev;
    int rc;

    if (p == NULL)
        return DB_EFAIL;
    atomic_init(&p->refs, 1);
    p->version = version;
    p->loaded_ms = clock_mono_ms();
    prev = pool_acquire(c);
    rc = load_upstreams(db, p, prev, &c->script_lim);
    if (rc == DB_OK)
        rc = load_keys(db, p, c->enc_key);
    /* What the old snapshot learned goes to key_pace before the new one
     * reads it (pace_store.c); a failure there costs pacing, not the pool. */
    if (rc == DB_OK)
        pace_store_load(db, p, prev);
    pool_release(prev);
    if (rc == DB_OK)
        rc = pool_load_blocks(db, p);
    if (rc == DB_OK)
        rc = pool_affinity_load_homes(db, p);
    if (rc == DB_OK)
        rc = pool_load_egress(db, p, c->enc_key);
    if (rc == DB_OK)
        rc = load_tokens(db, p);
    if (rc == DB_OK)
        rc = load_rules(db, p);
    if (rc == DB_OK)
        rc = price_load(db, &p->prices, &p->nprices);
    if (rc != DB_OK) {
        pool_free(p);
        return rc;
    }
    pthread_mutex_lock(&c->lock);
    old = c->cur;
    c->cur = p;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
    pool_release(old);
    return 1;
}

int pool_refresh(struct pool_cache *c, struct db *db, long long min_interval_ms)
{
    int64_t now = clock_mono_ms();
    unsigned long long version = 0;
    struct pool *cur;
    int rc;

    if (now - atomic_load(&c->checked_ms) < min_interval_ms)
        return 0;
    pthread_mutex_lock(&c->build_lock);
    /* Another thread may have checked while this one waited. */
    if (now - atomic_load(&c->checked_ms) < min_interval_ms) {
        pthread_mutex_unlock(&c->build_lock);
        return 0;
    }
    rc = read_version(c, db, &version);
    if (rc == DB_OK) {
        atomic_store(&c->checked_ms, clock_mono_ms());
        cur = pool_acquire(c);
        if (cur == NULL || cur->version != version || now - cur->loaded_ms > POOL_MAX_AGE_MS)
            rc = build(c, db, version);
        pool_release(cur);
    }
    pthread_mutex_unlock(&c->build_lock);
    return rc;
}

bool pool_key_wake_due(struct pool_key *k)
{
    if (k->rest_until_ms == 0 || k->rest_until_ms > clock_mono_ms())
        return false;
    return !atomic_exchange(&k->woken, true);
}
