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
struct group {
    long long minute, upstream_id, key_id, part; /* part: status class, bucket, le or 0 */
    char name[132];                              /* the rule, for rule totals */
    long long a, b, c, d;                        /* the sums */
};

struct table {
    struct group *g;
    size_t n, cap;
};

enum { T_MINUTE, T_LATENCY, T_LATENCY_HOUR, T_TOTAL, T_LE, T_RULES, T__MAX };

#define COLS_MAX 8 /* the most parameters a row of any table takes */

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
    return strcmp(a->name, b->name);
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

static void add(struct table *t, long long minute, long long up, long long key, long long part,
                const char *name, long long a, long long b, long long c, long long d)
{
    struct group k, *g;

    memset(&k, 0, sizeof(k));
    k.minute = minute;
    k.upstream_id = up;
    k.key_id = key;
    k.part = part;
    if (name != NULL)
        snprintf(k.name, sizeof(k.name), "%s", name);
    if ((g = find(t, &k)) == NULL)
        return;
    g->a += a;
    g->b += b;
    g->c += c;
    g->d += d;
}

void rollup_add(struct rollup *r, const struct reqlog_entry *e)
{
    long long minute = e->ts_ms / 60000 * 60, cls = e->status / 100;
    long long retries = e->attempts > 1 ? e->attempts - 1 : 0;
    long long error = e->status >= 400 || e->status < 100;
    struct json_object *names;
    size_t i;

    add(&r->t[T_MINUTE], minute, e->upstream_id, e->key_id, cls, NULL, 1, error, retries,
        e->latency_ms);
    add(&r->t[T_LATENCY], minute, e->upstream_id, 0, latency_bucket(e->latency_ms), NULL, 1, 0, 0,
        0);
    add(&r->t[T_LATENCY_HOUR], e->ts_ms / 3600000 * 3600, e->upstream_id, 0,
        latency_bucket(e->latency_ms), NULL, 1, 0, 0, 0);
    add(&r->t[T_TOTAL], 0, e->upstream_id, 0, cls, NULL, 1, retries, e->latency_ms, 0);
    add(&r->t[T_LE], 0, e->upstream_id, 0, latency_le(e->latency_ms), NULL, 1, 0, 0, 0);
    if (e->rules == NULL || (names = json_tokener_parse(e->rules)) == NULL)
        return;
    for (i = 0; json_object_is_type(names, json_type_array) && i < json_object_array_length(names);
         i++)
        add(&r->t[T_RULES], 0, 0, 0, 0, json_object_get_string(json_object_array_get_idx(names, i)),
            1, 0, 0, 0);
    json_object_put(names);
}

static struct db_multirow minute_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_minute (minute, upstream_id, key_id, status_class, requests, errors,"
    " retries, latency_sum) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?)",
    "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),"
    " errors = errors + VALUES(errors), retries = retries + VALUES(retries),"
    " latency_sum = latency_sum + VALUES(latency_sum)");

static struct db_multirow latency_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_latency (minute, upstream_id, bucket, count) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?)", "ON DUPLICATE KEY UPDATE count = count + VALUES(count)");

static struct db_multirow latency_hour_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_latency_hour (hour, upstream_id, bucket, count) VALUES ",
    "(FROM_UNIXTIME(?), ?, ?, ?)", "ON DUPLICATE KEY UPDATE count = count + VALUES(count)");

static struct db_multirow total_sql = DB_MULTIROW_INIT_TAIL(
    "INSERT INTO stats_total (upstream_id, status_class, requests, retries, latency_sum) VALUES ",
    "(?, ?, ?, ?, ?)",
    "ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),"
    " retries = retries + VALUES(retries), latency_sum = latency_sum + VALUES(latency_sum)");

static struct db_multirow le_sql =
    DB_MULTIROW_INIT_TAIL("INSERT INTO stats_total_latency (upstream_id, le_ms, count) VALUES ",
                          "(?, ?, ?)", "ON DUPLICATE KEY UPDATE count = count + VALUES(count)");

static struct db_multirow rules_sql =
    DB_MULTIROW_INIT_TAIL("INSERT INTO stats_rules_total (rule, fired) VALUES ", "(?, ?)",
                          "ON DUPLICATE KEY UPDATE fired = fired + VALUES(fired)");

/* The parameters of one group for its table. */
static unsigned params(int table, const struct group *g, struct db_param *p)
{
    switch (table) {
    case T_MINUTE:
        p[0] = DB_INT(g->minute), p[1] = DB_INT(g->upstream_id), p[2] = DB_INT(g->key_id);
        p[3] = DB_INT(g->part), p[4] = DB_INT(g->a), p[5] = DB_INT(g->b);
        p[6] = DB_INT(g->c), p[7] = DB_INT(g->d);
        return 8;
    case T_LATENCY:
    case T_LATENCY_HOUR:
        p[0] = DB_INT(g->minute), p[1] = DB_INT(g->upstream_id), p[2] = DB_INT(g->part);
        p[3] = DB_INT(g->a);
        return 4;
    case T_TOTAL:
        p[0] = DB_INT(g->upstream_id), p[1] = DB_INT(g->part), p[2] = DB_INT(g->a);
        p[3] = DB_INT(g->b), p[4] = DB_INT(g->c);
        return 5;
    case T_LE:
        p[0] = DB_INT(g->upstream_id), p[1] = DB_INT(g->part), p[2] = DB_INT(g->a);
        return 3;
    default:
        p[0] = DB_STR(g->name), p[1] = DB_INT(g->a);
        return 2;
    }
}

int rollup_write(struct rollup *r, struct db *db)
{
    static struct db_multirow *const sql[T__MAX] = {&minute_sql, &latency_sql, &latency_hour_sql,
                                                    &total_sql,  &le_sql,      &rules_sql};
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
