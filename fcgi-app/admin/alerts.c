/* GET /api/admin/alerts: recorded alerts, newest first, with the outcome
 * of their webhook delivery. */
#include "admin/handlers.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
#include "core/nelem.h"

static const struct vfield fields[] = {
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"ts", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"rule_id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"key_id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"upstream_id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"message", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"webhook", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"delivered", VT_BOOL, VF_READONLY, 0, 0, NULL, NULL},
    {"delivery_error", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
};

static const struct resource alerts = {
    "alert", fields, NELEM(fields), NULL, NULL, NULL, NULL, false,
};

#define FILTER                                                                                     \
    " WHERE (? = 0 OR upstream_id = ?) AND (? = 0 OR rule_id = ?) AND (? = 0 OR key_id = ?)"

void h_alerts(struct req *r, const struct route_args *a)
{
    long long up, rule, key;

    (void)a;
    if (!rs_query_id(r, "upstream_id", &up) || !rs_query_id(r, "rule_id", &rule) ||
        !rs_query_id(r, "key_id", &key))
        return;
    rs_list(r, &alerts,
            "SELECT id, " SQL_TIME("ts") ", rule_id, key_id, upstream_id, message, webhook,"
                                         " delivered, delivery_error FROM alerts" FILTER
                                         " ORDER BY id DESC LIMIT ? OFFSET ?",
            "SELECT COUNT(*) FROM alerts" FILTER,
            DB_ARGS(DB_INT(up), DB_INT(up), DB_INT(rule), DB_INT(rule), DB_INT(key), DB_INT(key)));
}
