/* GET /api/admin/logs/{request_id}: one request of the log, found by the
 * X-Gateway-Request-Id its client received, with the names of its key,
 * client token and upstream, its query string (never a client token) and
 * its attempts (request_attempts, sql/024) as a timeline. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/handlers.h"
#include "admin/logs.h"
#include "admin/resource.h"
#include "app.h"
#include "core/clock.h"
#include "core/reqid.h"
#include "http.h"

/* A log row's ts is its id's time to the millisecond (proxy.c); the slack
 * only covers a clock read twice. */
#define ID_SLACK_MS 2000
/* Ids of the older form carry no time: they are looked for this far back,
 * along the time index (a documented limit of the route). */
#define OLD_ID_DAYS 7

/* Finds the log row of request id rid into res (LOG_COLUMNS, then the
 * query).  The one place that knows how a row is found by its id. */
static int find_row(struct db *db, const char *rid, struct db_res *res)
{
    char lo[32], hi[32];
    int64_t ms;

    if (reqid_time_ms(rid, &ms)) {
        clock_db_time(ms - ID_SLACK_MS, lo, sizeof(lo));
        clock_db_time(ms + ID_SLACK_MS, hi, sizeof(hi));
    } else {
        ms = clock_wall_ms();
        clock_db_time(ms - (int64_t)OLD_ID_DAYS * 86400000, lo, sizeof(lo));
        clock_db_time(ms + 60000, hi, sizeof(hi));
    }
    return db_query(db,
                    "SELECT " LOG_COLUMNS ", query FROM request_logs"
                    " WHERE ts BETWEEN ? AND ? AND request_id = ? LIMIT 1",
                    DB_ARGS(DB_STR(lo), DB_STR(hi), DB_STR(rid)), res);
}

static void add_text(struct json_object *o, const char *name, const char *v)
{
    json_object_object_add(o, name, v != NULL ? json_object_new_string(v) : NULL);
}

/* The names of the row's key (masked value and name), client token and
 * upstream, as they are now; null for what is gone or was never set. */
static int add_names(struct db *db, struct json_object *o, const struct db_res *row)
{
    long long key = db_int(row, 0, 7), token = db_int(row, 0, 8), up = db_int(row, 0, 4);
    struct db_res res;
    int rc = db_query(db,
                      "SELECT (SELECT key_masked FROM api_keys WHERE id = ?),"
                      " (SELECT name FROM api_keys WHERE id = ?),"
                      " (SELECT name FROM client_tokens WHERE id = ?),"
                      " (SELECT name FROM upstreams WHERE id = ?)",
                      DB_ARGS(DB_INT(key), DB_INT(key), DB_INT(token), DB_INT(up)), &res);

    if (rc == DB_OK && res.nrows == 1) {
        add_text(o, "key_masked", db_val(&res, 0, 0));
        add_text(o, "key_name", db_val(&res, 0, 1));
        add_text(o, "token_name", db_val(&res, 0, 2));
        add_text(o, "upstream_name", db_val(&res, 0, 3));
    }
    db_res_free(&res);
    return rc;
}

static struct json_object *opt_int(const struct db_res *res, unsigned i, unsigned c)
{
    return db_val(res, i, c) != NULL ? json_object_new_int64(db_int(res, i, c)) : NULL;
}

/* The attempts recorded for the row with id row_id, in their order. */
static int add_timeline(struct db *db, struct json_object *o, long long row_id)
{
    struct json_object *list = json_object_new_array();
    struct db_res res;
    unsigned i;
    int rc = db_query(db,
                      "SELECT a.seq, a.attempt, a.key_id, k.key_masked, k.name, a.endpoint,"
                      " a.proxy, a.status, a.error, a.latency_ms, a.rules, a.excerpt"
                      " FROM request_logs l JOIN request_attempts a ON a.ts = l.ts"
                      " AND a.request_id = l.request_id LEFT JOIN api_keys k ON k.id = a.key_id"
                      " WHERE l.id = ? ORDER BY a.seq",
                      DB_ARGS(DB_INT(row_id)), &res);

    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "seq", opt_int(&res, i, 0));
        json_object_object_add(a, "attempt", opt_int(&res, i, 1));
        json_object_object_add(a, "key_id", opt_int(&res, i, 2));
        add_text(a, "key_masked", db_val(&res, i, 3));
        add_text(a, "key_name", db_val(&res, i, 4));
        add_text(a, "endpoint", db_val(&res, i, 5));
        add_text(a, "proxy", db_val(&res, i, 6));
        json_object_object_add(a, "status", opt_int(&res, i, 7));
        add_text(a, "error", db_val(&res, i, 8));
        json_object_object_add(a, "latency_ms", opt_int(&res, i, 9));
        json_object_object_add(a, "rules", log_json_list(db_val(&res, i, 10)));
        add_text(a, "excerpt", db_val(&res, i, 11));
        json_object_array_add(list, a);
    }
    db_res_free(&res);
    json_object_object_add(o, "timeline", list);
    return rc;
}

void h_log_detail(struct req *r, const struct route_args *a)
{
    struct json_object *out;
    struct db_res res;
    int rc = find_row(r->w->db, a->rid, &res);

    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        db_res_free(&res);
        return;
    }
    if (res.nrows == 0) {
        reply_error(r, ERR_NOT_FOUND,
                    "no logged request has this id (ids of the older form are"
                    " looked for in the last %d days)",
                    OLD_ID_DAYS);
        db_res_free(&res);
        return;
    }
    out = log_item(&res, 0);
    add_text(out, "query", db_val(&res, 0, LOG_NCOLUMNS));
    rc = add_names(r->w->db, out, &res);
    if (rc == DB_OK)
        rc = add_timeline(r->w->db, out, db_int(&res, 0, 0));
    db_res_free(&res);
    if (rc != DB_OK) {
        json_object_put(out);
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    reply_json(r, 200, out);
}
