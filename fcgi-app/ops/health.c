/* GET /healthz: is this process up, and can it reach its database? */
#include <json-c/json.h>

#include "app.h"
#include "core/db.h"
#include "ops/ops.h"
#include "http.h"

void h_healthz(struct req *r, const struct route_args *a)
{
    bool db_ok = db_ping(r->w->db) == DB_OK;
    struct json_object *o = json_object_new_object();

    (void)a;
    json_object_object_add(o, "status", json_object_new_string(db_ok ? "ok" : "degraded"));
    json_object_object_add(o, "db", json_object_new_string(db_ok ? "ok" : "down"));
    reply_json(r, db_ok ? 200 : 503, o);
}
