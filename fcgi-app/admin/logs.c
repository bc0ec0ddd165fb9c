/* GET /api/admin/logs: the request log, newest first, with filters and a
 * cursor that stays right while rows arrive.
 *
 * The statement is made of fixed fragments, one per filter given, so that
 * the database uses the index of that filter; each of the combinations is
 * built once and kept, so that it is prepared like every other statement.
 * No value ever goes into the text. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "admin/handlers.h"
#include "http.h"
#include "admin/logs.h"
#include "admin/resource.h"
#include "core/nelem.h"

enum {
    F_UPSTREAM,
    F_KEY,
    F_TOKEN,
    F_CLASS,
    F_STATUS,
    F_FROM,
    F_TO,
    F_PATH,
    F_MODEL,
    F_CURSOR,
    F__MAX
};

static const char *const fragments[F__MAX] = {
    " AND upstream_id = ?",
    /* A key tried in any attempt (request_attempts holds the attempts of
     * requests where one failed; the row's key_id is the last one). */
    " AND (key_id = ? OR (ts, request_id) IN (SELECT ts, request_id FROM request_attempts"
    " WHERE key_id = ?))",
    " AND token_id = ?",
    " AND status_class = ?",
    " AND status = ?",
    " AND ts >= ?",
    " AND ts < ?",
    " AND path LIKE ?",
    " AND model = ?",
    " AND (ts < ? OR (ts = ? AND id < ?))",
};

static const char *sql_for(unsigned mask)
{
    static const char *_Atomic built[1u << F__MAX];
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    const char *sql = atomic_load(&built[mask]);
    struct buf b;
    int f;

    if (sql != NULL)
        return sql;
    pthread_mutex_lock(&lock);
    if ((sql = atomic_load(&built[mask])) == NULL) {
        buf_init(&b, 8192);
        buf_puts(&b, "SELECT " LOG_COLUMNS " FROM request_logs WHERE 1 = 1");
        for (f = 0; f < F__MAX; f++)
            if (mask & (1u << f))
                buf_puts(&b, fragments[f]);
        buf_puts(&b, " ORDER BY ts DESC, id DESC LIMIT ?");
        sql = buf_steal(&b); /* kept for the life of the process: it names a statement */
        atomic_store(&built[mask], sql);
    }
    pthread_mutex_unlock(&lock);
    return sql;
}

/* One parameter per filter, one more for the key, two more for the cursor
 * (three in all), and the limit. */
#define LOG_PARAMS_MAX (F__MAX + 4)

struct log_query {
    long long status_class, status; /* 0 when not filtered */
    unsigned mask;
    struct db_param p[LOG_PARAMS_MAX];
    unsigned n;
    long long limit;
    char from[32], to[32], pattern[620], cur_ts[32], model[132];
};

static void add(struct log_query *lq, int f, struct db_param v)
{
    lq->mask |= 1u << f;
    lq->p[lq->n++] = v;
}

/* The cursor is the last row's time and id, as "<ms>.<id>" in hex. */
static bool parse_cursor(const char *s, long long *ms, long long *id)
{
    char *end;

    errno = 0;
    *ms = strtoll(s, &end, 16);
    if (errno != 0 || end == s || *end != '.' || *ms < 0)
        return false;
    s = end + 1;
    *id = strtoll(s, &end, 16);
    return errno == 0 && end != s && *end == '\0' && *id > 0;
}

/* "429" filters one status, "5xx" a class. */
static bool status_param(struct req *r, struct log_query *lq)
{
    char v[16];
    bool present;

    if (!rs_query_text(r, "status", v, sizeof(v), &present))
        return false;
    if (!present)
        return true;
    if (strlen(v) == 3 && v[0] >= '1' && v[0] <= '5' && (v[1] == 'x' || v[1] == 'X') &&
        (v[2] == 'x' || v[2] == 'X')) {
        lq->status_class = v[0] - '0';
        return true;
    }
    if (strlen(v) == 3 && isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[1]) &&
        isdigit((unsigned char)v[2]) && v[0] >= '1' && v[0] <= '5') {
        lq->status = strtoll(v, NULL, 10);
        lq->status_class = lq->status / 100;
        return true;
    }
    reply_error(r, ERR_INVALID_FIELD,
                "status: must be a status such as 429 or a class such as "
                "5xx");
    return false;
}

static bool read_filters(struct req *r, struct log_query *lq, long long *cur_id)
{
    long long up, key, token, from, to, cur_ms;
    char q[300], cursor[64];
    bool has_q, has_cursor, has_from, has_to, has_model;

    if (!rs_query_id(r, "upstream_id", &up) || !rs_query_id(r, "key_id", &key) ||
        !rs_query_id(r, "token_id", &token) || !status_param(r, lq) ||
        !rs_query_time_ms(r, "from", &from, &has_from) ||
        !rs_query_time_ms(r, "to", &to, &has_to) || !rs_query_text(r, "q", q, sizeof(q), &has_q) ||
        !rs_query_text(r, "cursor", cursor, sizeof(cursor), &has_cursor) ||
        !rs_query_text(r, "model", lq->model, sizeof(lq->model), &has_model))
        return false;
    if (up > 0)
        add(lq, F_UPSTREAM, DB_INT(up));
    if (key > 0) {
        add(lq, F_KEY, DB_INT(key));
        lq->p[lq->n++] = DB_INT(key);
    }
    if (token > 0)
        add(lq, F_TOKEN, DB_INT(token));
    /* Parameters go in the order of the fragments (F_*), whatever the
     * order the query string had. */
    if (lq->status_class > 0)
        add(lq, F_CLASS, DB_INT(lq->status_class));
    if (lq->status > 0)
        add(lq, F_STATUS, DB_INT(lq->status));
    /* No row is older than the epoch: earlier times filter as the epoch. */
    if (has_from) {
        clock_db_time(from < 0 ? 0 : from, lq->from, sizeof(lq->from));
        add(lq, F_FROM, DB_STR(lq->from));
    }
    if (has_to) {
        clock_db_time(to < 0 ? 0 : to, lq->to, sizeof(lq->to));
        add(lq, F_TO, DB_STR(lq->to));
    }
    if (has_q) {
        size_t o = 0, i;
        lq->pattern[o++] = '%';
        for (i = 0; q[i] != '\0' && o + 4 < sizeof(lq->pattern); i++) {
            if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
                lq->pattern[o++] = '\\';
            lq->pattern[o++] = q[i];
        }
        lq->pattern[o++] = '%';
        lq->pattern[o] = '\0';
        add(lq, F_PATH, DB_STR(lq->pattern));
    }
    if (has_model)
        add(lq, F_MODEL, DB_STR(lq->model));
    if (has_cursor) {
        if (!parse_cursor(cursor, &cur_ms, cur_id)) {
            reply_error(r, ERR_INVALID_FIELD, "cursor: not one this API gave out");
            return false;
        }
        clock_db_time(cur_ms, lq->cur_ts, sizeof(lq->cur_ts));
        add(lq, F_CURSOR, DB_STR(lq->cur_ts));
        lq->p[lq->n++] = DB_STR(lq->cur_ts);
        lq->p[lq->n++] = DB_INT(*cur_id);
    }
    return true;
}

struct json_object *log_json_list(const char *text)
{
    struct json_object *o = text != NULL ? json_tokener_parse(text) : NULL;

    if (o == NULL || !json_object_is_type(o, json_type_array)) {
        json_object_put(o);
        return json_object_new_array();
    }
    return o;
}

static struct json_object *opt_int(const char *v)
{
    return v != NULL ? json_object_new_int64(strtoll(v, NULL, 10)) : NULL;
}

/* The model and token counts of a row, from column col on (null where the
 * answer reported nothing). */
static void add_usage(struct json_object *o, const struct db_res *res, unsigned i, unsigned col)
{
    static const char *const names[] = {"model",         "prompt_tokens", "completion_tokens",
                                        "cached_tokens", "total_tokens",  "usage_source"};
    unsigned c;

    for (c = 0; c < NELEM(names); c++) {
        const char *v = db_val(res, i, col + c);
        bool numeric = c > 0 && c < 5;
        json_object_object_add(o, names[c],
                               numeric ? opt_int(v)
                               : v     ? json_object_new_string(v)
                                       : NULL);
    }
}

/* A text column as a member: its value, or null. */
static void add_str(struct json_object *o, const char *name, const struct db_res *res, unsigned i,
                    unsigned col)
{
    const char *v = db_val(res, i, col);

    json_object_object_add(o, name, v != NULL ? json_object_new_string(v) : NULL);
}

struct json_object *log_item(const struct db_res *res, unsigned i)
{
    static const char *const names[] = {"id",          "request_id", "ts",         "method",
                                        "upstream_id", "upstream",   "path",       "key_id",
                                        "token_id",    "status",     "latency_ms", "attempts",
                                        "req_bytes",   "resp_bytes", "error"};
    static const bool numeric[] = {true, false, false, false, true, false, false, true,
                                   true, true,  true,  true,  true, true,  false};
    struct json_object *o = json_object_new_object();
    unsigned c;

    for (c = 0; c < NELEM(names); c++) {
        const char *v = db_val(res, i, c);
        json_object_object_add(o, names[c],
                               numeric[c] ? opt_int(v)
                               : v        ? json_object_new_string(v)
                                          : NULL);
    }
    json_object_object_add(o, "rules", log_json_list(db_val(res, i, 15)));
    json_object_object_add(o, "messages", log_json_list(db_val(res, i, 16)));
    add_usage(o, res, i, 18);
    /* The cost as recorded when the row was made (core/price.h). */
    json_object_object_add(o, "cost",
                           db_val(res, i, 24) != NULL
                               ? json_object_new_double((double)db_int(res, i, 24) / 1e9)
                               : NULL);
    add_str(o, "currency", res, i, 25);
    /* The upstream the request named, when a fallback served it. */
    add_str(o, "fallback_from", res, i, 26);
    /* Sticky keys: null without an affinity id, else whether the id's
     * preferred key served. */
    json_object_object_add(o, "affinity",
                           db_val(res, i, 27) ? json_object_new_boolean(db_int(res, i, 27) != 0)
                                              : NULL);
    /* The masked egress proxy and the origin of the endpoint of the final
     * attempt; the model the request named before the model_map. */
    add_str(o, "proxy", res, i, 28);
    add_str(o, "endpoint", res, i, 29);
    add_str(o, "model_requested", res, i, 30);
    return o;
}

void h_logs(struct req *r, const struct route_args *a)
{
    struct log_query lq;
    struct json_object *out, *items;
    struct db_res res;
    long long offset, cur_id = 0;
    unsigned i, shown;
    int rc;

    (void)a;
    memset(&lq, 0, sizeof(lq));
    if (!rs_page_params(r, &lq.limit, &offset) || !read_filters(r, &lq, &cur_id))
        return;
    /* One row more than asked says whether there is a next page. */
    lq.p[lq.n++] = DB_INT(lq.limit + 1);
    rc = db_query(r->w->db, sql_for(lq.mask), lq.p, lq.n, &res);
    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        db_res_free(&res);
        return;
    }
    items = json_object_new_array();
    shown = res.nrows > (unsigned)lq.limit ? (unsigned)lq.limit : res.nrows;
    for (i = 0; i < shown; i++)
        json_object_array_add(items, log_item(&res, i));
    out = json_object_new_object();
    json_object_object_add(out, "items", items);
    if (res.nrows > shown) {
        char cursor[64];
        snprintf(cursor, sizeof(cursor), "%llx.%llx",
                 (unsigned long long)strtoll(db_val(&res, shown - 1, 17), NULL, 10),
                 (unsigned long long)db_int(&res, shown - 1, 0));
        json_object_object_add(out, "next_cursor", json_object_new_string(cursor));
    } else {
        json_object_object_add(out, "next_cursor", NULL);
    }
    reply_json(r, 200, out);
    db_res_free(&res);
}
