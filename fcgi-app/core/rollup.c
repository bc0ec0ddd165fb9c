#include "core/rollup.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/latency.h"
#include "core/reqlog_entry.h"

/* A group's key and its sums; which fields mean something depends on the
 * table (unused key parts are 0). */
#define SUMS_MAX 8
struct group {
    long long minute, upstream_id, key_id, part; /* part: status class, bucket, le or 0 */
    char name[132];                              /* the rule or model, for their tables */
    char currency[4];                            /* of the cost, for the model and token tables */
    long long sum[SUMS_MAX];
};

struct table {
    struct group *g;
    size_t n, cap;
};

enum {
    T_MINUTE,
    T_LATENCY,
    T_LATENCY_HOUR,
    T_TOTAL,
    T_LE,
    T_RULES,
    T_MODEL,
    T_TOKEN,
    T_MODEL_TOTAL,
    T__MAX
};

#define COLS_MAX 12 /* the most parameters a row of any table takes */

struct rollup {
    struct table t[T__MAX];
};

struct rollup *rollup_new(void)
{
    return calloc(1, sizeof(struct rollup));
}

void rollup_free(struct rollup *r)
{
    int i;

    if (r == NULL)
        return;
    for (i = 0; i < T__MAX; i++)
        free(r->t[i].g);
    free(r);
}

void rollup_reset(struct rollup *r)
{
    int i;

    for (i = 0; i < T__MAX; i++)
        r->t[i].n = 0;
}

static int cmp_group(const void *x, const void *y)
{
    const struct group *a = x, *b = y;

    if (a->minute != b->minute)
        return a->minute < b->minute ? -1 : 1;
    if (a->upstream_id != b->upstream_id)
        return a->upstream_id < b->upstream_id ? -1 : 1;
    if (a->key_id != b->key_id)
        return a->key_id < b->key_id ? -1 : 1;
    if (a->part != b->part)
        return a->part < b->part ? -1 : 1;
    if (strcmp(a->name, b->name) != 0)
        return strcmp(a->name, b->name);
    return strcmp(a->currency, b->currency);
}

/* The group with this key, added when new; NULL when memory runs out. */
static struct group *find(struct table *t, const struct group *key)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (cmp_group(&t->g[i], key) == 0)
            return &t->g[i];
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct group *g = realloc(t->g, cap * sizeof(*g));
        if (g == NULL)
            return NULL;
        t->g = g;
        t->cap = cap;
    }
    t->g[t->n] = *key;
    return &t->g[t->n++];
}

/* Adds the sums v (n of them) to the group of this key (currency: NULL
 * for the tables without one). */
static void add(struct table *t, long long minute, long long up, long long key, long long part,
                const char *name, const char *currency, const long long *v, size_t n)
{
    struct group k, *g;
    size_t i;

    memset(&k, 0, sizeof(k));
    if (currency != NULL)
        snprintf(k.currency, sizeof(k.currency), "%s", currency);
    k.minute = minute;
    k.upstream_id = up;
    k.key_id = key;
    k.part = part;
    if (name != NULL)
        snprintf(k.name, sizeof(k.name), "%s", name);
    if ((g = find(t, &k)) == NULL)
        return;
    for (i = 0; i < n && i < SUMS_MAX; i++)
        g->sum[i] += v[i];
}

#define ADD_IN(t, minute, up, key, part, name, currency, ...)                                      \
    do {                                                                                           \
        const long long v_[] = {__VA_ARGS__};                                                      \
        add(t, minute, up, key, part, name, currency, v_, sizeof(v_) / sizeof(v_[0]));             \
    } while (0)
#define ADD(t, minute, up, key, part, name, ...)                                                   \
    ADD_IN(t, minute, up, key, part, name, NULL, __VA_ARGS__)

/* A token count as the rollups add it: 0 when not reported. */
static long long tokens(const struct usage_counts *u, long long n)
{
    return u->source != USAGE_SOURCE_NONE && n > 0 ? n : 0;
}

bool rollup_model_listed(const char *list, const char *name)
{
    size_t n = strlen(name);

    while (list != NULL && *list != '\0') {
        size_t len = strcspn(list, ",");
        const char *p = list;
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && n > 0 && memcmp(p, name, n) == 0)
            return true;
        list += strcspn(list, ",");
        list += *list == ',';
    }
    return false;
}

void rollup_add(struct rollup *r, const struct reqlog_entry *e, const char *metrics_models)
{
    long long minute = e->ts_ms / 60000 * 60, cls = e->status / 100;
    long long retries = e->attempts > 1 ? e->attempts - 1 : 0;
    long long error = e->status >= 400 || e->status < 100;
    const struct usage_counts *u = &e->usage;
    long long p = tokens(u, u->prompt), c = tokens(u, u->completion);
    long long cached = tokens(u, u->cached), total = tokens(u, u->total);
    long long cost = e->currency[0] != '\0' && e->cost_nanos > 0 ? e->cost_nanos : 0;
    struct json_object *names;
    size_t i;

    ADD(&r->t[T_MINUTE], minute, e->upstream_id, e->key_id, cls, NULL, 1, error, retries,
        e->latency_ms, p, c, cached, total);
    ADD(&r->t[T_LATENCY], minute, e->upstream_id, 0, latency_bucket(e->latency_ms), NULL, 1);
    ADD(&r->t[T_LATENCY_HOUR], e->ts_ms / 3600000 * 3600, e->upstream_id, 0,
        latency_bucket(e->latency_ms), NULL, 1);
    ADD(&r->t[T_TOTAL], 0, e->upstream_id, 0, cls, NULL, 1, retries, e->latency_ms, p, c, cached,
        total);
    ADD(&r->t[T_LE], 0, e->upstream_id, 0, latency_le(e->latency_ms), NULL, 1);
    /* By model only the requests that named one; by client token only the
     * requests that came with one. */
    if (u->model[0] != '\0') {
        ADD_IN(&r->t[T_MODEL], minute, e->upstream_id, 0, 0, u->model, e->currency, 1, error, p, c,
               cached, total, cost);
        if (rollup_model_listed(metrics_models, u->model))
            ADD(&r->t[T_MODEL_TOTAL], 0, e->upstream_id, 0, 0, u->model, 1);
    }
    if (e->token_id > 0)
        ADD_IN(&r->t[T_TOKEN], minute, e->upstream_id, e->token_id, 0, NULL, e->currency, 1, error,
               p, c, cached, total, cost);
    if (e->rules == NULL || (names = json_tokener_parse(e->rules)) == NULL)
        return;
    for (i = 0; json_object_is_type(names, json_type_array) && i < json_object_array_length(names);
         i++)
        ADD(&r->t[T_RULES], 0, 0, 0, 0, json_object_get_string(json_object_array_get_idx(names, i)),
            1);
    json_object_put(names);
}

/* The token columns' part of an upsert. */
#define TOKENS_UPDATE                                                                              \
    " prompt_tokens = prompt_tokens + VALUES(prompt_tokens),"                                      \
    " completion_tokens = completion_tokens + VALUES(completion_tokens),"                          \
    " cached_tokens = cached_tokens + VALUES(cached_tokens),"                                      \
    " total_tokens = total_tokens + VALUES(total_tokens)"

static struct db_multirow minute_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_minute (minute, upstream_id, key_id, status_class, requests, errors,"
    " retries, latency_sum, prompt_tokens, completion_tokens, cached_tokens, total_tokens) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),"
    " errors = errors + VALUES(errors), retries = retries + VALUES(retries),"
    " latency_sum = latency_sum + VALUES(latency_sum)," TOKENS_UPDATE);

static struct db_multirow latency_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_latency (minute, upstream_id, bucket, count) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?)", "ON DUPLICATE KEY UPDATE count = count + VALUES(count)");

static struct db_multirow latency_hour_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_latency_hour (hour, upstream_id, bucket, count) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?)", "ON DUPLICATE KEY UPDATE count = count + VALUES(count)");

static struct db_multirow total_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_total (upstream_id, status_class, requests, retries, latency_sum,"
    " prompt_tokens, completion_tokens, cached_tokens, total_tokens) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),"
    " retries = retries + VALUES(retries), latency_sum = latency_sum + VALUES(latency_sum)," TOKENS_UPDATE);

static struct db_multirow le_sql =
    DB_MULTIROW_INIT_TAIL("INSERT INTO stats_total_latency (upstream_id, le_ms, count) VALUES ",
                          "(?, ?, ?)", "ON DUPLICATE KEY UPDATE count = count + VALUES(count)");

static struct db_multirow rules_sql =
    DB_MULTIROW_INIT_TAIL("INSERT INTO stats_rules_total (rule, fired) VALUES ", "(?, ?)",
                          "ON DUPLICATE KEY UPDATE fired = fired + VALUES(fired)");

static struct db_multirow model_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_model_minute (minute, upstream_id, model, currency, requests, errors,"
    " prompt_tokens, completion_tokens, cached_tokens, total_tokens, cost_nanos) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),"
    " errors = errors + VALUES(errors), cost_nanos = cost_nanos + VALUES(cost_nanos)," TOKENS_UPDATE);

static struct db_multirow token_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_token_minute (minute, upstream_id, token_id, currency, requests, errors,"
    " prompt_tokens, completion_tokens, cached_tokens, total_tokens, cost_nanos) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),"
    " errors = errors + VALUES(errors), cost_nanos = cost_nanos + VALUES(cost_nanos)," TOKENS_UPDATE);

static struct db_multirow model_total_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_model_total (upstream_id, model, requests) VALUES ", "(?, ?, ?)",
    "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests)");

/* Appends the first n sums of g as parameters from p on; returns the
 * count of parameters so far (k + n). */
static unsigned sums(const struct group *g, struct db_param *p, unsigned k, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        p[k + i] = DB_INT(g->sum[i]);
    return k + n;
}

/* The parameters of one group for its table. */
static unsigned params(int table, const struct group *g, struct db_param *p)
{
    switch (table) {
    case T_MINUTE:
        p[0] = DB_INT(g->minute), p[1] = DB_INT(g->upstream_id), p[2] = DB_INT(g->key_id);
        p[3] = DB_INT(g->part);
        return sums(g, p, 4, 8);
    case T_LATENCY:
    case T_LATENCY_HOUR:
        p[0] = DB_INT(g->minute), p[1] = DB_INT(g->upstream_id), p[2] = DB_INT(g->part);
        return sums(g, p, 3, 1);
    case T_TOTAL:
        p[0] = DB_INT(g->upstream_id), p[1] = DB_INT(g->part);
        return sums(g, p, 2, 7);
    case T_LE:
        p[0] = DB_INT(g->upstream_id), p[1] = DB_INT(g->part);
        return sums(g, p, 2, 1);
    case T_MODEL:
        p[0] = DB_INT(g->minute), p[1] = DB_INT(g->upstream_id), p[2] = DB_STR(g->name);
        p[3] = DB_STR(g->currency);
        return sums(g, p, 4, 7);
    case T_TOKEN:
        p[0] = DB_INT(g->minute), p[1] = DB_INT(g->upstream_id), p[2] = DB_INT(g->key_id);
        p[3] = DB_STR(g->currency);
        return sums(g, p, 4, 7);
    case T_MODEL_TOTAL:
        p[0] = DB_INT(g->upstream_id), p[1] = DB_STR(g->name);
        return sums(g, p, 2, 1);
    default:
        p[0] = DB_STR(g->name);
        return sums(g, p, 1, 1);
    }
}

int rollup_write(struct rollup *r, struct db *db)
{
    static struct db_multirow *const sql[T__MAX] = {&minute_sql, &latency_sql, &latency_hour_sql,
                                                    &total_sql,  &le_sql,      &rules_sql,
                                                    &model_sql,  &token_sql,   &model_total_sql};
    int i, rc = DB_OK;

    for (i = 0; rc == DB_OK && i < T__MAX; i++) {
        struct table *t = &r->t[i];
        struct db_param *p;
        unsigned ncols = 0;
        size_t k;
        if (t->n == 0)
            continue;
        qsort(t->g, t->n, sizeof(*t->g), cmp_group);
        p = calloc(t->n * COLS_MAX, sizeof(*p));
        if (p == NULL)
            return DB_EFAIL;
        for (k = 0; k < t->n; k++)
            ncols = params(i, &t->g[k], &p[k * COLS_MAX]);
        /* Rows were laid out COLS_MAX apart; close the gaps. */
        for (k = 1; k < t->n && ncols < COLS_MAX; k++)
            memmove(&p[k * ncols], &p[k * COLS_MAX], ncols * sizeof(*p));
        rc = db_insert_rows(db, sql[i], p, ncols, (unsigned)t->n, NULL);
        free(p);
    }
    rollup_reset(r);
    return rc;
}
