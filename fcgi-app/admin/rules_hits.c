/*
 * GET /api/admin/rules/hits: how often each rule acted in the last 24
 * hours, from what the gateway records anyway: the key events a rule wrote
 * (a disable or a ban names its rule) and the alerts it raised.  No counter
 * is kept on the proxy's path for this, so the count costs nothing there;
 * the price is that a rule whose only actions are retry or log leaves no
 * such record and shows no hits (its firings are in the request log's
 * "rules").  Both reads are range scans on the tables' time indexes.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "admin/handlers.h"
#include "admin/resource.h"
#include "app.h"
#include "core/clock.h"
#include "core/db.h"
#include "http.h"

#define HITS_WINDOW_MS (24LL * 3600 * 1000)

/* Adds the counts of one statement to the rule's object in by_rule under
 * name, making the object on first sight. */
static int add_counts(struct db *db, const char *sql, const char *since, const char *name,
                      struct json_object *by_rule)
{
    struct db_res res;
    unsigned i;
    int rc = db_query(db, sql, DB_ARGS(DB_STR(since)), &res);

    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        char id[24];
        struct json_object *o = NULL;
        snprintf(id, sizeof(id), "%lld", db_int(&res, i, 0));
        if (!json_object_object_get_ex(by_rule, id, &o)) {
            o = json_object_new_object();
            json_object_object_add(o, "rule_id", json_object_new_int64(db_int(&res, i, 0)));
            json_object_object_add(o, "key_events", json_object_new_int64(0));
            json_object_object_add(o, "alerts", json_object_new_int64(0));
            json_object_object_add(by_rule, id, o);
        }
        json_object_object_add(o, name, json_object_new_int64(db_int(&res, i, 1)));
    }
    db_res_free(&res);
    return rc;
}

void h_rules_hits(struct req *r, const struct route_args *a)
{
    long long from = clock_wall_ms() - HITS_WINDOW_MS;
    struct json_object *by_rule = json_object_new_object(), *items, *out;
    char since[32], iso[32];
    int rc;

    (void)a;
    clock_db_time(from, since, sizeof(since));
    rc = add_counts(r->w->db,
                    "SELECT rule_id, COUNT(*) FROM key_events"
                    " WHERE ts >= ? AND rule_id IS NOT NULL GROUP BY rule_id",
                    since, "key_events", by_rule);
    if (rc == DB_OK)
        rc = add_counts(r->w->db,
                        "SELECT rule_id, COUNT(*) FROM alerts"
                        " WHERE ts >= ? AND rule_id IS NOT NULL GROUP BY rule_id",
                        since, "alerts", by_rule);
    if (rc != DB_OK) {
        json_object_put(by_rule);
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    items = json_object_new_array();
    json_object_object_foreach(by_rule, id, o)
    {
        (void)id;
        json_object_array_add(items, json_object_get(o));
    }
    json_object_put(by_rule);
    out = json_object_new_object();
    json_object_object_add(out, "since",
                           json_object_new_string(clock_rfc3339(from / 1000, iso, sizeof(iso))));
    json_object_object_add(out, "items", items);
    reply_json(r, 200, out);
}
