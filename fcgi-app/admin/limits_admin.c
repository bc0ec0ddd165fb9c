/* The limits field in the admin API (admin/limits_admin.h). */
#include "admin/limits_admin.h"

#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "admin/resource.h"
#include "app.h"
#include "core/db.h"
#include "core/limits.h"
#include "core/resetzone.h"
#include "http.h"

enum err limits_admin_check(struct json_object *row, char *msg, size_t len)
{
    struct json_object *v = NULL;
    struct limit_set *s = NULL;

    json_object_object_get_ex(row, "limits", &v);
    if (limits_parse(v, &s, msg, len) != 0)
        return ERR_INVALID_FIELD;
    limits_free(s);
    return ERR_OK;
}

/* An epoch time as the API writes times: RFC 3339 in UTC. */
static struct json_object *time_json(long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];

    gmtime_r(&tt, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_object_new_string(s);
}

/* The daily reset a key's day windows follow: its upstream's own
 * quota_reset_tz and quota_reset_hour where it has them (core/limits.h);
 * a token's stay the global one. */
static enum db_rc key_day(struct req *r, struct json_object *row, enum limit_owner kind,
                          struct limit_day *day, char tz[RESET_TZ_MAX + 1])
{
    struct db_res res;
    int rc;

    if (kind != LIMIT_OWNER_KEY)
        return DB_OK;
    rc = db_query(r->w->db,
                  "SELECT COALESCE(quota_reset_tz, ''), COALESCE(quota_reset_hour, -1)"
                  " FROM upstreams WHERE id = ?",
                  DB_ARGS(DB_INT(rs_jint(row, "upstream_id", 0))), &res);
    if (rc == DB_OK && res.nrows == 1) {
        snprintf(tz, RESET_TZ_MAX + 1, "%s", db_val(&res, 0, 0));
        day->tz = tz;
        day->hour = (int)db_int(&res, 0, 1);
    }
    db_res_free(&res);
    return rc;
}

/* limits_usage: one item per limit, in the list's order. */
static enum db_rc add_usage(struct req *r, struct json_object *row, enum limit_owner kind,
                            long long id)
{
    struct json_object *v = NULL, *items;
    struct limit_usage use[LIMITS_MAX];
    struct limit_set *s = NULL;
    struct limit_day day = {NULL, -1};
    char msg[160], tz[RESET_TZ_MAX + 1];
    size_t i;
    int rc;

    json_object_object_get_ex(row, "limits", &v);
    if (limits_parse(v, &s, msg, sizeof(msg)) != 0 || s == NULL)
        return DB_OK;
    rc = key_day(r, row, kind, &day, tz);
    if (rc == DB_OK)
        rc = limit_usage_read(r->w->db, kind, id, &day, s, use);
    if (rc == DB_OK && (items = json_object_new_array()) != NULL) {
        for (i = 0; i < s->n; i++) {
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "window",
                                   json_object_new_string(limit_window_name(s->v[i].window)));
            json_object_object_add(
                o, "model", s->v[i].model != NULL ? json_object_new_string(s->v[i].model) : NULL);
            json_object_object_add(o, "requests_used", json_object_new_int64(use[i].requests_used));
            json_object_object_add(o, "tokens_used", json_object_new_int64(use[i].tokens_used));
            json_object_object_add(o, "resets_at", time_json(use[i].resets_at));
            json_object_array_add(items, o);
        }
        json_object_object_add(row, "limits_usage", items);
    }
    limits_free(s);
    return rc;
}

void limits_admin_get(struct req *r, struct resource *rs, long long id, enum limit_owner kind)
{
    struct json_object *o;
    enum db_rc rc = rs_fetch(r, rs, id, &o);

    if (rc == DB_OK && o != NULL && (rc = add_usage(r, o, kind, id)) != DB_OK) {
        json_object_put(o);
        o = NULL;
    }
    rs_reply_row(r, rs, id, rc, o);
}
