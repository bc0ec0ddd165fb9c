/* Errors by reason for GET /api/admin/stats.  The rollups count errors by
 * status class only, so this reads the request log itself: the newest
 * REASON_SAMPLE rows of each error class in the range (the index
 * ix_logs_class (status_class, ts) gives them newest first and the LIMIT
 * bounds the work on a busy day), grouped by status and by the first part
 * of the error text (up to its first colon), which names what failed
 * without the details that differ per request. */
#include "admin/stats_reasons.h"

#include <json-c/json.h>

#include "app.h"
#include "core/db.h"
#include "http.h"

#define REASON_SAMPLE 5000 /* rows per class */
#define REASONS_MAX   20

#define ONE_CLASS(c)                                                                               \
    "(SELECT status, LEFT(SUBSTRING_INDEX(COALESCE(error, ''), ':', 1), 80) AS reason"             \
    " FROM request_logs WHERE status_class = " c " AND ts >= ? AND ts < ?"                         \
    " AND (? = 0 OR upstream_id = ?) ORDER BY ts DESC LIMIT 5000)"

_Static_assert(REASON_SAMPLE == 5000, "stats_reasons: the LIMIT of ONE_CLASS is REASON_SAMPLE");

int stats_add_error_reasons(struct req *r, const char *from_db, const char *to_db,
                            long long upstream_id, struct json_object *out)
{
    struct json_object *list = json_object_new_array();
    long long sampled = 0;
    struct db_res res;
    unsigned i;
    int rc;

    rc = db_query(r->w->db,
                  "SELECT status, reason, COUNT(*) FROM (" ONE_CLASS("4") " UNION ALL " ONE_CLASS(
                      "5") ") x GROUP BY status, reason ORDER BY COUNT(*) DESC, status LIMIT 1000",
                  DB_ARGS(DB_STR(from_db), DB_STR(to_db), DB_INT(upstream_id), DB_INT(upstream_id),
                          DB_STR(from_db), DB_STR(to_db), DB_INT(upstream_id), DB_INT(upstream_id)),
                  &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct json_object *o;

        sampled += db_int(&res, i, 2);
        if (i >= REASONS_MAX)
            continue;
        o = json_object_new_object();
        json_object_object_add(o, "status", json_object_new_int64(db_int(&res, i, 0)));
        json_object_object_add(o, "reason", json_object_new_string(db_val(&res, i, 1)));
        json_object_object_add(o, "requests", json_object_new_int64(db_int(&res, i, 2)));
        json_object_array_add(list, o);
    }
    db_res_free(&res);
    json_object_object_add(out, "errors_by_reason", list);
    json_object_object_add(out, "errors_sampled", json_object_new_int64(sampled));
    return rc;
}
