/* GET /api/admin/alerts: recorded alerts, newest first, with the outcome
 * of their webhook delivery. */
#include "admin/handlers.h"
#include "admin/resource.h"
#include "core/nelem.h"

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "ts", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "rule_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "key_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "upstream_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "message", .type = VT_STRING, .flags = VF_READONLY},
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
    .list_filter =
        " WHERE (? = 0 OR upstream_id = ?) AND (? = 0 OR rule_id = ?) AND (? = 0 OR key_id = ?)",
    .list_order = "id DESC",
    .list_only = true,
};

void h_alerts(struct req *r, const struct route_args *a)
{
    long long up, rule, key;

    (void)a;
    if (!rs_query_id(r, "upstream_id", &up) || !rs_query_id(r, "rule_id", &rule) ||
        !rs_query_id(r, "key_id", &key))
        return;
    rs_list(r, &admin_alerts,
            DB_ARGS(DB_INT(up), DB_INT(up), DB_INT(rule), DB_INT(rule), DB_INT(key), DB_INT(key)));
}
