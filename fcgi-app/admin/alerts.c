/* GET /api/admin/alerts: recorded alerts, newest first, with the outcome
 * of their webhook delivery.  GET /api/admin/capacity: each upstream's
 * capacity state and the capacity alerts in force (core/capacity.h). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/resource.h"
#include "core/clock.h"
#include "core/nelem.h"
#include "http.h"

#define KIND_MAX 32

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "ts", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "kind", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "rule_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "key_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "upstream_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "message", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "request_id", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "webhook", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "delivered", .type = VT_BOOL, .flags = VF_READONLY},
    {.name = "delivery_error", .type = VT_STRING, .flags = VF_READONLY},
};

_Static_assert(NELEM(fields) <= RS_FIELDS_MAX, "alerts: raise RS_FIELDS_MAX");

struct resource admin_alerts = {
    .noun = "alert",
    .table = "alerts",
    .fields = fields,
    .nfields = NELEM(fields),
    .list_filter = " WHERE (? = 0 OR upstream_id = ?) AND (? = 0 OR rule_id = ?) AND (? = 0 OR"
                   " key_id = ?) AND (? = '' OR kind = ?)",
    .list_order = "id DESC",
    .list_only = true,
};

void h_alerts(struct req *r, const struct route_args *a)
{
    char kind[KIND_MAX + 1] = "";
    long long up, rule, key;
    bool has_kind;

    (void)a;
    if (!rs_query_id(r, "upstream_id", &up) || !rs_query_id(r, "rule_id", &rule) ||
        !rs_query_id(r, "key_id", &key) || !rs_query_text(r, "kind", kind, sizeof(kind), &has_kind))
        return;
    rs_list(r, &admin_alerts,
            DB_ARGS(DB_INT(up), DB_INT(up), DB_INT(rule), DB_INT(rule), DB_INT(key), DB_INT(key),
                    DB_STR(kind), DB_STR(kind)));
}

/* A Unix time column as RFC 3339, or null. */
static struct json_object *time_json(const struct db_res *res, unsigned row, unsigned col)
{
    char stamp[32];
    const char *v = db_val(res, row, col);

    return v == NULL ? NULL
                     : json_object_new_string(
                           clock_rfc3339((time_t)strtoll(v, NULL, 10), stamp, sizeof(stamp)));
}

/* Every capacity_state row: the upstreams' (key_id 0, state ok, low or
 * dry, "unknown" before the first check) and the keys' (probe_failing). */
void h_capacity(struct req *r, const struct route_args *a)
{
    struct json_object *ups, *active, *body;
    struct db_res res;
    enum db_rc rc;
    unsigned i;

    (void)a;
    rc = db_query(r->w->db,
                  "SELECT u.id, u.name, COALESCE(s.state, 'unknown'), s.usable, s.total,"
                  " UNIX_TIMESTAMP(s.since), UNIX_TIMESTAMP(s.checked_at), COALESCE(s.key_id, 0),"
                  " k.key_masked, u.enabled"
                  " FROM upstreams u LEFT JOIN capacity_state s ON s.upstream_id = u.id"
                  " LEFT JOIN api_keys k ON k.id = s.key_id"
                  " ORDER BY u.id, COALESCE(s.key_id, 0) LIMIT 10000",
                  DB_NOARGS, &res);
    if (rc != DB_OK) {
        db_res_free(&res);
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    ups = json_object_new_array();
    active = json_object_new_array();
    for (i = 0; i < res.nrows; i++) {
        struct json_object *o = json_object_new_object();
        long long key = db_int(&res, i, 7);
        const char *state = db_val(&res, i, 2);

        json_object_object_add(o, "upstream_id", json_object_new_int64(db_int(&res, i, 0)));
        json_object_object_add(o, "upstream", json_object_new_string(db_val(&res, i, 1)));
        if (key > 0) {
            json_object_object_add(o, "kind", json_object_new_string(state));
            json_object_object_add(o, "key_id", json_object_new_int64(key));
            /* A key deleted since the last check has no masked form. */
            json_object_object_add(
                o, "key_masked",
                db_val(&res, i, 8) != NULL ? json_object_new_string(db_val(&res, i, 8)) : NULL);
            json_object_object_add(o, "since", time_json(&res, i, 5));
            json_object_array_add(active, o);
            continue;
        }
        json_object_object_add(o, "enabled", json_object_new_boolean(db_int(&res, i, 9) != 0));
        json_object_object_add(o, "state", json_object_new_string(state));
        json_object_object_add(
            o, "usable", db_val(&res, i, 3) ? json_object_new_int64(db_int(&res, i, 3)) : NULL);
        json_object_object_add(
            o, "total", db_val(&res, i, 4) ? json_object_new_int64(db_int(&res, i, 4)) : NULL);
        json_object_object_add(o, "since", time_json(&res, i, 5));
        json_object_object_add(o, "checked_at", time_json(&res, i, 6));
        if (strcmp(state, "low") == 0 || strcmp(state, "dry") == 0) {
            struct json_object *al = json_object_new_object();
            json_object_object_add(al, "upstream_id", json_object_new_int64(db_int(&res, i, 0)));
            json_object_object_add(al, "upstream", json_object_new_string(db_val(&res, i, 1)));
            json_object_object_add(al, "kind", json_object_new_string(state));
            json_object_object_add(al, "since", time_json(&res, i, 5));
            json_object_array_add(active, al);
        }
        json_object_array_add(ups, o);
    }
    db_res_free(&res);
    body = json_object_new_object();
    json_object_object_add(body, "upstreams", ups);
    json_object_object_add(body, "active", active);
    reply_json(r, 200, body);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_alerts = {fields, NELEM(fields)};
