/* GET /api/admin/stats: totals, by upstream, by key, by status class and a
 * time series, from the per-minute rollups that the log writer keeps (never
 * from raw logs, so that a day of a million requests answers at once).
 * Percentiles come from the latency histogram (core/latency.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "core/clock.h"
#include "core/latency.h"
#include "admin/handlers.h"
#include "http.h"
#include "admin/resource.h"
#include "admin/stats_reasons.h"

#define SERIES_MAX 2000

/* The range, rounded out to whole minutes (the rollups' grain). */
struct range {
    time_t from, to;
    long long upstream_id;
    long long bucket_s;
    char from_db[24], to_db[24];
    /* Whole hours [h0, h1) come from the hourly histogram, the minutes
     * before and after them from the per-minute one. */
    char h0_db[24], h1_db[24];
};

static void to_db(time_t t, char *out, size_t len)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static bool read_range(struct req *r, struct range *rg)
{
    char v[32];
    bool present, has_from, has_to;
    long long from_ms, to_ms;

    if (!rs_query_time_ms(r, "from", &from_ms, &has_from) ||
        !rs_query_time_ms(r, "to", &to_ms, &has_to) ||
        !rs_query_id(r, "upstream_id", &rg->upstream_id) ||
        !rs_query_text(r, "bucket_s", v, sizeof(v), &present))
        return false;
    /* By default up to now, and the day before `to`.  `to` is exclusive and
     * rows carry milliseconds: the default ends after the current second,
     * or a request logged in the first second of a minute would fall
     * outside a range that ends at that minute. */
    rg->to = has_to ? (time_t)(to_ms / 1000) : time(NULL) + 1;
    rg->from = has_from ? (time_t)(from_ms / 1000) : rg->to - 86400;
    rg->from -= rg->from % 60;
    rg->to += (60 - rg->to % 60) % 60;
    if (rg->to <= rg->from) {
        reply_error(r, ERR_INVALID_FIELD, "to: must be after from");
        return false;
    }
    rg->bucket_s = 0;
    if (present) {
        char *end;
        rg->bucket_s = strtoll(v, &end, 10);
        if (*end != '\0' || rg->bucket_s < 60 || rg->bucket_s % 60 != 0) {
            reply_error(r, ERR_INVALID_FIELD, "bucket_s: must be a multiple of 60 (seconds)");
            return false;
        }
    }
    /* About a hundred points by default (whole hours from 12 hours on, so
     * that long ranges read the hourly rollup); never more than SERIES_MAX. */
    if (rg->bucket_s == 0 && rg->to - rg->from >= 12 * 3600)
        rg->bucket_s = ((rg->to - rg->from) / 100 + 3599) / 3600 * 3600;
    else if (rg->bucket_s == 0)
        rg->bucket_s = ((rg->to - rg->from) / 100 + 59) / 60 * 60;
    if (rg->bucket_s < 60)
        rg->bucket_s = 60;
    if ((rg->to - rg->from) / rg->bucket_s > SERIES_MAX)
        rg->bucket_s = ((rg->to - rg->from) / SERIES_MAX + 59) / 60 * 60;
    to_db(rg->from, rg->from_db, sizeof(rg->from_db));
    to_db(rg->to, rg->to_db, sizeof(rg->to_db));
    {
        time_t h0 = (rg->from + 3599) / 3600 * 3600, h1 = rg->to / 3600 * 3600;
        if (h0 >= h1)
            h0 = h1 = rg->to; /* no whole hour: every minute from the minute table */
        to_db(h0, rg->h0_db, sizeof(rg->h0_db));
        to_db(h1, rg->h1_db, sizeof(rg->h1_db));
    }
    return true;
}

#define RANGE " minute >= ? AND minute < ? AND (? = 0 OR upstream_id = ?)"
#define RANGE_ARGS(rg)                                                                             \
    DB_STR((rg)->from_db), DB_STR((rg)->to_db), DB_INT((rg)->upstream_id), DB_INT((rg)->upstream_id)

static void add_percentiles(struct json_object *o, const long long *hist)
{
    json_object_object_add(o, "p50_ms",
                           json_object_new_double(latency_percentile(hist, LATENCY_BUCKETS, 50)));
    json_object_object_add(o, "p95_ms",
                           json_object_new_double(latency_percentile(hist, LATENCY_BUCKETS, 95)));
    json_object_object_add(o, "p99_ms",
                           json_object_new_double(latency_percentile(hist, LATENCY_BUCKETS, 99)));
}

static void add_counts(struct json_object *o, long long requests, long long errors,
                       long long retries, long long latency_sum)
{
    json_object_object_add(o, "requests", json_object_new_int64(requests));
    json_object_object_add(o, "errors", json_object_new_int64(errors));
    json_object_object_add(o, "retries", json_object_new_int64(retries));
    json_object_object_add(
        o, "avg_ms", json_object_new_double(requests ? (double)latency_sum / (double)requests : 0));
}

/* The four token sums: prompt, completion, cached, total. */
static void put_tokens(struct json_object *o, const long long v[4])
{
    static const char *const names[] = {"prompt_tokens", "completion_tokens", "cached_tokens",
                                        "total_tokens"};
    unsigned i;

    for (i = 0; i < 4; i++)
        json_object_object_add(o, names[i], json_object_new_int64(v[i]));
}

/* The four token sums of a row, from column col on. */
static void add_tokens(struct json_object *o, const struct db_res *res, unsigned row, unsigned col)
{
    long long v[4];
    unsigned i;

    for (i = 0; i < 4; i++)
        v[i] = db_int(res, row, col + i);
    put_tokens(o, v);
}

#define SUM_TOKENS                                                                                 \
    " SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(total_tokens)"
#define SUM_TOKENS_S                                                                               \
    " SUM(s.prompt_tokens), SUM(s.completion_tokens), SUM(s.cached_tokens), SUM(s.total_tokens)"

/* Histograms per group (upstream, or series point), keyed by a number. */
struct hists {
    long long *keys;
    long long (*h)[LATENCY_BUCKETS];
    size_t n;
};

static long long *hist_for(struct hists *hs, long long key)
{
    size_t i;

    for (i = 0; i < hs->n; i++)
        if (hs->keys[i] == key)
            return hs->h[i];
    return NULL;
}

/* Loads histograms from rows of (group, bucket, count): one histogram per
 * group (an upstream, a series point, or 0 for all). */
static int load_hists(struct req *r, const char *sql, const struct db_param *p, unsigned n,
                      struct hists *hs)
{
    struct db_res res;
    unsigned i;
    int rc = db_query(r->w->db, sql, p, n, &res);

    memset(hs, 0, sizeof(*hs));
    if (rc == DB_OK) {
        hs->keys = calloc(res.nrows + 1, sizeof(*hs->keys));
        hs->h = calloc(res.nrows + 1, sizeof(*hs->h));
        if (hs->keys == NULL || hs->h == NULL)
            rc = DB_EFAIL;
    }
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        long long key = db_int(&res, i, 0), *h = hist_for(hs, key);
        int b = (int)db_int(&res, i, 1);
        if (h == NULL) {
            hs->keys[hs->n] = key;
            h = hs->h[hs->n++];
        }
        if (b >= 0 && b < LATENCY_BUCKETS)
            h[b] += db_int(&res, i, 2);
    }
    db_res_free(&res);
    return rc;
}

static void free_hists(struct hists *hs)
{
    free(hs->keys);
    free(hs->h);
}

/* Latency histograms grouped by GROUP (a column expression over
 * upstream_id and t, the start of a row's hour or minute), over the range:
 * whole hours from the hourly table, the minutes before and after them from
 * the minute table. */
#define HOURS_AND_EDGES(GROUP)                                                                     \
    "SELECT " GROUP ", bucket, SUM(count) FROM ("                                                  \
    " SELECT upstream_id, hour AS t, bucket, count FROM stats_latency_hour"                        \
    " WHERE hour >= ? AND hour < ? AND (? = 0 OR upstream_id = ?)"                                 \
    " UNION ALL SELECT upstream_id, minute, bucket, count FROM stats_latency"                      \
    " WHERE ((minute >= ? AND minute < ?) OR (minute >= ? AND minute < ?))"                        \
    " AND (? = 0 OR upstream_id = ?)) x GROUP BY 1, bucket"
#define HOURS_AND_EDGES_ARGS(rg)                                                                   \
    DB_STR((rg)->h0_db), DB_STR((rg)->h1_db), DB_INT((rg)->upstream_id),                           \
        DB_INT((rg)->upstream_id), DB_STR((rg)->from_db), DB_STR((rg)->h0_db),                     \
        DB_STR((rg)->h1_db), DB_STR((rg)->to_db), DB_INT((rg)->upstream_id),                       \
        DB_INT((rg)->upstream_id)

/* Histograms per upstream over the range, in one scan. */
static int range_hists(struct req *r, const struct range *rg, struct hists *hs)
{
    return load_hists(r, HOURS_AND_EDGES("upstream_id"), DB_ARGS(HOURS_AND_EDGES_ARGS(rg)), hs);
}

/* The cost object of an item, {"USD": 1.25, ...}, from the JSON object of
 * nanos by currency the query aggregated ("" for unpriced requests, left
 * out). */
static struct json_object *cost_object(const char *by_currency)
{
    struct json_object *in = by_currency != NULL ? json_tokener_parse(by_currency) : NULL;
    struct json_object *out = json_object_new_object();

    if (in != NULL && json_object_is_type(in, json_type_object)) {
        json_object_object_foreach(in, cur, v)
        {
            if (cur[0] != '\0')
                json_object_object_add(out, cur,
                                       json_object_new_double(json_object_get_double(v) / 1e9));
        }
    }
    json_object_put(in);
    return out;
}

/* The range's cost by currency, from the model rollup (only requests that
 * named a model can match a price). */
static int add_total_cost(struct req *r, const struct range *rg, struct json_object *totals)
{
    struct json_object *cost = json_object_new_object();
    struct db_res res;
    unsigned i;
    int rc;

    rc = db_query(r->w->db,
                  "SELECT currency, SUM(cost_nanos) FROM stats_model_minute WHERE" RANGE
                  " AND currency <> '' GROUP BY currency ORDER BY currency",
                  DB_ARGS(RANGE_ARGS(rg)), &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++)
        json_object_object_add(cost, db_val(&res, i, 0),
                               json_object_new_double((double)db_int(&res, i, 1) / 1e9));
    db_res_free(&res);
    json_object_object_add(totals, "cost", cost);
    return rc;
}

/* The sums of one upstream, or of all: requests, errors, retries,
 * latency_sum and the four token sums, in the order of the query. */
struct sums {
    long long upstream_id;
    const char *name; /* points into the result */
    long long v[8];
};

static void add_sums(struct json_object *o, const struct sums *s)
{
    add_counts(o, s->v[0], s->v[1], s->v[2], s->v[3]);
    put_tokens(o, &s->v[4]);
}

/* Most requests first; then by id, so that the order is stable. */
static int by_requests(const void *x, const void *y)
{
    const struct sums *a = x, *b = y;

    if (a->v[0] != b->v[0])
        return a->v[0] > b->v[0] ? -1 : 1;
    return a->upstream_id < b->upstream_id ? -1 : a->upstream_id > b->upstream_id;
}

static void add_upstream_list(const struct sums *ups, size_t n, const struct hists *hs,
                              struct json_object *out)
{
    struct json_object *list = json_object_new_array();
    static const long long none[LATENCY_BUCKETS];
    size_t k;

    for (k = 0; k < n; k++) {
        struct json_object *o = json_object_new_object();
        long long *h = hist_for((struct hists *)hs, ups[k].upstream_id);
        json_object_object_add(o, "upstream_id", json_object_new_int64(ups[k].upstream_id));
        json_object_object_add(o, "upstream",
                               ups[k].name ? json_object_new_string(ups[k].name) : NULL);
        add_sums(o, &ups[k]);
        add_percentiles(o, h != NULL ? h : none);
        json_object_array_add(list, o);
    }
    json_object_object_add(out, "by_upstream", list);
}

/* totals, by_status and by_upstream from one scan of the minute rollup,
 * grouped by upstream and status class (a few rows), summed here. */
static int add_totals_and_upstreams(struct req *r, const struct range *rg, const struct hists *hs,
                                    struct json_object *out)
{
    struct json_object *totals = json_object_new_object(), *by_status = json_object_new_object();
    struct sums all_sums, *ups = NULL;
    long long *all;
    struct db_res res;
    size_t g, n = 0;
    unsigned i, c;
    int b, rc;

    memset(&all_sums, 0, sizeof(all_sums));
    rc = db_query(r->w->db,
                  "SELECT x.upstream_id, u.name, x.status_class, x.rq, x.er, x.rt, x.lat, x.p,"
                  " x.c, x.k, x.t FROM (SELECT upstream_id, status_class, SUM(requests) rq,"
                  " SUM(errors) er, SUM(retries) rt, SUM(latency_sum) lat, SUM(prompt_tokens) p,"
                  " SUM(completion_tokens) c, SUM(cached_tokens) k, SUM(total_tokens) t"
                  " FROM stats_minute WHERE" RANGE " GROUP BY upstream_id, status_class) x"
                  " LEFT JOIN upstreams u ON u.id = x.upstream_id ORDER BY x.upstream_id",
                  DB_ARGS(RANGE_ARGS(rg)), &res);
    if (rc == DB_OK && (ups = calloc(res.nrows + 1, sizeof(*ups))) == NULL)
        rc = DB_EFAIL;
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        long long up = db_int(&res, i, 0), requests = db_int(&res, i, 3);
        char cls[8];
        struct json_object *seen;
        if (n == 0 || ups[n - 1].upstream_id != up) {
            ups[n].upstream_id = up;
            ups[n++].name = db_val(&res, i, 1);
        }
        for (c = 0; c < 8; c++) {
            ups[n - 1].v[c] += db_int(&res, i, 3 + c);
            all_sums.v[c] += db_int(&res, i, 3 + c);
        }
        snprintf(cls, sizeof(cls), "%lldxx", db_int(&res, i, 2));
        if (json_object_object_get_ex(by_status, cls, &seen))
            requests += json_object_get_int64(seen);
        json_object_object_add(by_status, cls, json_object_new_int64(requests));
    }
    add_sums(totals, &all_sums);
    if (rc == DB_OK)
        rc = add_total_cost(r, rg, totals);
    all = calloc(LATENCY_BUCKETS, sizeof(*all));
    for (g = 0; all != NULL && g < hs->n; g++)
        for (b = 0; b < LATENCY_BUCKETS; b++)
            all[b] += hs->h[g][b];
    if (all != NULL)
        add_percentiles(totals, all);
    free(all);
    json_object_object_add(out, "totals", totals);
    json_object_object_add(out, "by_status", by_status);
    if (ups != NULL) {
        qsort(ups, n, sizeof(*ups), by_requests);
        add_upstream_list(ups, n, hs, out);
    }
    free(ups);
    db_res_free(&res);
    return all != NULL ? rc : DB_EFAIL;
}

static int add_by_key(struct req *r, const struct range *rg, struct json_object *out)
{
    struct json_object *list = json_object_new_array();
    struct db_res res;
    unsigned i;
    int rc;

    rc =
        db_query(r->w->db,
                 "SELECT s.key_id, s.upstream_id, k.key_masked, k.name, k.status,"
                 " SUM(s.requests), SUM(s.errors), SUM(s.retries), SUM(s.latency_sum)," SUM_TOKENS_S
                 ", k.priority FROM stats_minute s LEFT JOIN api_keys k ON k.id = s.key_id"
                 " WHERE s.key_id <> 0 AND s.minute >= ? AND s.minute < ?"
                 " AND (? = 0 OR s.upstream_id = ?)"
                 " GROUP BY s.key_id, s.upstream_id, k.key_masked, k.name, k.status, k.priority"
                 " ORDER BY SUM(s.requests) DESC LIMIT 100",
                 DB_ARGS(RANGE_ARGS(rg)), &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct json_object *o = json_object_new_object();
        const char *masked = db_val(&res, i, 2), *name = db_val(&res, i, 3),
                   *status = db_val(&res, i, 4);
        json_object_object_add(o, "key_id", json_object_new_int64(db_int(&res, i, 0)));
        json_object_object_add(o, "upstream_id", json_object_new_int64(db_int(&res, i, 1)));
        json_object_object_add(o, "key_masked", masked ? json_object_new_string(masked) : NULL);
        json_object_object_add(o, "name", name ? json_object_new_string(name) : NULL);
        json_object_object_add(o, "status", status ? json_object_new_string(status) : NULL);
        add_counts(o, db_int(&res, i, 5), db_int(&res, i, 6), db_int(&res, i, 7),
                   db_int(&res, i, 8));
        add_tokens(o, &res, i, 9);
        /* The key's tier now (null when it was deleted). */
        json_object_object_add(
            o, "priority", db_val(&res, i, 13) ? json_object_new_int64(db_int(&res, i, 13)) : NULL);
        json_object_array_add(list, o);
    }
    db_res_free(&res);
    json_object_object_add(out, "by_key", list);
    return rc;
}

static int add_series(struct req *r, const struct range *rg, struct json_object *out)
{
    struct json_object *list = json_object_new_array();
    static const long long none[LATENCY_BUCKETS];
    struct hists hs;
    struct db_res res;
    unsigned i = 0;
    time_t t;
    int rc;

    memset(&hs, 0, sizeof(hs));
    rc = db_query(r->w->db,
                  "SELECT UNIX_TIMESTAMP(minute) DIV ? * ?, SUM(requests), SUM(errors)," SUM_TOKENS
                  " FROM stats_minute WHERE" RANGE " GROUP BY 1 ORDER BY 1",
                  DB_ARGS(DB_INT(rg->bucket_s), DB_INT(rg->bucket_s), RANGE_ARGS(rg)), &res);
    /* Whole-hour points read the hourly histogram for the whole hours of
     * the range and the minute one for its edges, so that a point counts
     * exactly the requests inside the range. */
    if (rc == DB_OK && rg->bucket_s % 3600 == 0)
        rc = load_hists(
            r, HOURS_AND_EDGES("UNIX_TIMESTAMP(t) DIV ? * ?"),
            DB_ARGS(DB_INT(rg->bucket_s), DB_INT(rg->bucket_s), HOURS_AND_EDGES_ARGS(rg)), &hs);
    else if (rc == DB_OK)
        rc = load_hists(r,
                        "SELECT UNIX_TIMESTAMP(minute) DIV ? * ?, bucket, SUM(count)"
                        " FROM stats_latency WHERE" RANGE " GROUP BY 1, bucket",
                        DB_ARGS(DB_INT(rg->bucket_s), DB_INT(rg->bucket_s), RANGE_ARGS(rg)), &hs);
    /* Every point of the range, zero where nothing happened. */
    for (t = rg->from / rg->bucket_s * rg->bucket_s; rc == DB_OK && t < rg->to;
         t += (time_t)rg->bucket_s) {
        struct json_object *o = json_object_new_object();
        long long req = 0, err = 0, tok[4] = {0, 0, 0, 0}, *h = hist_for(&hs, (long long)t);
        char stamp[32];
        unsigned k;
        if (i < res.nrows && db_int(&res, i, 0) == (long long)t) {
            req = db_int(&res, i, 1);
            err = db_int(&res, i, 2);
            for (k = 0; k < 4; k++)
                tok[k] = db_int(&res, i, 3 + k);
            i++;
        }
        json_object_object_add(o, "ts",
                               json_object_new_string(clock_rfc3339(t, stamp, sizeof(stamp))));
        json_object_object_add(o, "requests", json_object_new_int64(req));
        json_object_object_add(o, "errors", json_object_new_int64(err));
        put_tokens(o, tok);
        json_object_object_add(
            o, "p50_ms",
            json_object_new_double(latency_percentile(h ? h : none, LATENCY_BUCKETS, 50)));
        json_object_array_add(list, o);
    }
    db_res_free(&res);
    free_hists(&hs);
    json_object_object_add(out, "series", list);
    json_object_object_add(out, "bucket_s", json_object_new_int64(rg->bucket_s));
    return rc;
}

/* Requests and tokens by model (the model the answer named, else the one
 * the request named; requests that named none are left out). */
static int add_by_model(struct req *r, const struct range *rg, struct json_object *out)
{
    struct json_object *list = json_object_new_array();
    struct db_res res;
    unsigned i;
    int rc;

    rc = db_query(r->w->db,
                  "SELECT model, SUM(requests), SUM(errors), SUM(p), SUM(c), SUM(k), SUM(t),"
                  " JSON_OBJECTAGG(currency, cost) FROM (SELECT model, currency,"
                  " SUM(requests) requests, SUM(errors) errors, SUM(prompt_tokens) p,"
                  " SUM(completion_tokens) c, SUM(cached_tokens) k, SUM(total_tokens) t,"
                  " SUM(cost_nanos) cost FROM stats_model_minute WHERE" RANGE
                  " GROUP BY model, currency) x"
                  " GROUP BY model ORDER BY SUM(t) DESC, SUM(requests) DESC LIMIT 100",
                  DB_ARGS(RANGE_ARGS(rg)), &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "model", json_object_new_string(db_val(&res, i, 0)));
        json_object_object_add(o, "requests", json_object_new_int64(db_int(&res, i, 1)));
        json_object_object_add(o, "errors", json_object_new_int64(db_int(&res, i, 2)));
        add_tokens(o, &res, i, 3);
        json_object_object_add(o, "cost", cost_object(db_val(&res, i, 7)));
        json_object_array_add(list, o);
    }
    db_res_free(&res);
    json_object_object_add(out, "by_model", list);
    return rc;
}

/* Requests and tokens by client token (requests without one left out). */
static int add_by_token(struct req *r, const struct range *rg, struct json_object *out)
{
    struct json_object *list = json_object_new_array();
    struct db_res res;
    unsigned i;
    int rc;

    rc = db_query(r->w->db,
                  "SELECT s.token_id, t.name, SUM(s.requests), SUM(s.errors), SUM(s.p), SUM(s.c),"
                  " SUM(s.k), SUM(s.t), JSON_OBJECTAGG(s.currency, s.cost) FROM (SELECT token_id,"
                  " currency, SUM(requests) requests, SUM(errors) errors, SUM(prompt_tokens) p,"
                  " SUM(completion_tokens) c, SUM(cached_tokens) k, SUM(total_tokens) t,"
                  " SUM(cost_nanos) cost FROM stats_token_minute WHERE" RANGE
                  " GROUP BY token_id, currency) s LEFT JOIN client_tokens t ON t.id = s.token_id"
                  " GROUP BY s.token_id, t.name ORDER BY SUM(s.t) DESC, SUM(s.requests) DESC"
                  " LIMIT 100",
                  DB_ARGS(RANGE_ARGS(rg)), &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct json_object *o = json_object_new_object();
        const char *name = db_val(&res, i, 1);
        json_object_object_add(o, "token_id", json_object_new_int64(db_int(&res, i, 0)));
        json_object_object_add(o, "name", name ? json_object_new_string(name) : NULL);
        json_object_object_add(o, "requests", json_object_new_int64(db_int(&res, i, 2)));
        json_object_object_add(o, "errors", json_object_new_int64(db_int(&res, i, 3)));
        add_tokens(o, &res, i, 4);
        json_object_object_add(o, "cost", cost_object(db_val(&res, i, 8)));
        json_object_array_add(list, o);
    }
    db_res_free(&res);
    json_object_object_add(out, "by_token", list);
    return rc;
}

void h_stats(struct req *r, const struct route_args *a)
{
    struct json_object *out;
    struct hists hs;
    struct range rg;
    char stamp[32];
    int rc;

    (void)a;
    memset(&rg, 0, sizeof(rg));
    if (!read_range(r, &rg))
        return;
    out = json_object_new_object();
    json_object_object_add(out, "from",
                           json_object_new_string(clock_rfc3339(rg.from, stamp, sizeof(stamp))));
    json_object_object_add(out, "to",
                           json_object_new_string(clock_rfc3339(rg.to, stamp, sizeof(stamp))));
    rc = range_hists(r, &rg, &hs);
    if (rc == DB_OK)
        rc = add_totals_and_upstreams(r, &rg, &hs, out);
    free_hists(&hs);
    if (rc == DB_OK)
        rc = add_by_key(r, &rg, out);
    if (rc == DB_OK)
        rc = add_series(r, &rg, out);
    if (rc == DB_OK)
        rc = add_by_model(r, &rg, out);
    if (rc == DB_OK)
        rc = add_by_token(r, &rg, out);
    if (rc == DB_OK)
        rc = stats_add_error_reasons(r, rg.from_db, rg.to_db, rg.upstream_id, out);
    if (rc != DB_OK) {
        json_object_put(out);
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    reply_json(r, 200, out);
}
