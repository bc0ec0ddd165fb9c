/* /api/admin/upstreams: the providers the gateway forwards to. */
#include <json-c/json.h>
#include <string.h>

#include "app.h"
#include "core/store.h"
#include "admin/handlers.h"
#include "http.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
#include "core/nelem.h"

static const char *check_template(const char *s)
{
    if (strstr(s, "{key}") == NULL)
        return "must contain {key}";
    return check_no_ctl(s);
}

static const char *check_strategy(const char *s)
{
    if (strcmp(s, "round_robin") != 0 && strcmp(s, "random") != 0 && strcmp(s, "weighted") != 0)
        return "must be round_robin, random or weighted";
    return NULL;
}

static const char *check_method(const char *s)
{
    static const char *const ok[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    size_t i;

    for (i = 0; i < NELEM(ok); i++)
        if (strcmp(s, ok[i]) == 0)
            return NULL;
    return "must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS";
}

static const struct vfield fields[] = {
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"name", VT_STRING, VF_REQUIRED, 1, 64, check_name_slug, NULL},
    {"base_url", VT_STRING, VF_REQUIRED, 8, 2048, check_http_url, NULL},
    {"auth_header", VT_STRING, 0, 1, 128, check_header_name, "\"Authorization\""},
    {"auth_template", VT_STRING, 0, 5, 512, check_template, "\"Bearer {key}\""},
    {"auth_query_param", VT_STRING, VF_NULLABLE, 1, 128, check_query_name, "null"},
    {"strategy", VT_STRING, 0, 1, 16, check_strategy, "\"round_robin\""},
    {"timeout_ms", VT_INT, 0, 1, 3600000, NULL, "30000"},
    {"connect_timeout_ms", VT_INT, 0, 1, 600000, NULL, "5000"},
    {"max_retries", VT_INT, 0, 0, 10, NULL, "2"},
    {"retry_backoff_ms", VT_INT, 0, 0, 60000, NULL, "100"},
    {"enabled", VT_BOOL, 0, 0, 0, NULL, "true"},
    {"public", VT_BOOL, 0, 0, 0, NULL, "false"},
    {"probe_method", VT_STRING, VF_NULLABLE, 1, 16, check_method, "null"},
    {"probe_path", VT_STRING, VF_NULLABLE, 1, 1024, check_url_path, "null"},
    {"auto_disable_max_pct", VT_INT, 0, 0, 100, NULL, "50"},
    {"created_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"updated_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
};

#define COLS                                                                                       \
    "id, name, base_url, auth_header, auth_template, auth_query_param, strategy, timeout_ms,"      \
    " connect_timeout_ms, max_retries, retry_backoff_ms, enabled, is_public, probe_method,"        \
    " probe_path, auto_disable_max_pct, " SQL_TIME("created_at") ", " SQL_TIME("updated_at")

static const struct resource upstreams = {
    "upstream",
    fields,
    NELEM(fields),
    "SELECT " COLS " FROM upstreams WHERE id = ?",
    "SELECT " COLS " FROM upstreams WHERE id = ? FOR UPDATE",
    "UPDATE upstreams SET name = ?, base_url = ?, auth_header = ?, auth_template = ?,"
    " auth_query_param = ?, strategy = ?, timeout_ms = ?, connect_timeout_ms = ?,"
    " max_retries = ?, retry_backoff_ms = ?, enabled = ?, is_public = ?, probe_method = ?,"
    " probe_path = ?, auto_disable_max_pct = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
    "DELETE FROM upstreams WHERE id = ?",
    true,
};

void h_upstreams_list(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_list(r, &upstreams, "SELECT " COLS " FROM upstreams ORDER BY id LIMIT ? OFFSET ?",
            "SELECT COUNT(*) FROM upstreams", NULL, 0);
}

void h_upstreams_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &upstreams, a->id);
}

void h_upstreams_create(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, fields, upstreams.nfields, true);
    struct db_param p[32];
    char tbuf[32][24];
    unsigned long long id = 0;
    unsigned n;
    int rc;

    (void)a;
    if (o == NULL)
        return;
    valid_defaults(o, fields, upstreams.nfields);
    n = rs_row_params(fields, upstreams.nfields, o, p, tbuf);
    rc = db_exec(r->w->db,
                 "INSERT INTO upstreams (name, base_url, auth_header, auth_template,"
                 " auth_query_param, strategy, timeout_ms, connect_timeout_ms, max_retries,"
                 " retry_backoff_ms, enabled, is_public, probe_method, probe_path,"
                 " auto_disable_max_pct, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                 " ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                 p, n, NULL, &id);
    if (rc == DB_OK)
        rc = store_bump_version(r->w->db);
    if (rc == DB_EDUP)
        reply_error(r, ERR_CONFLICT, "name: an upstream named %s already exists",
                    rs_jstr(o, "name"));
    else if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else
        rs_reply_created(r, &upstreams, (long long)id);
    json_object_put(o);
}

void h_upstreams_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &upstreams, a->id, NULL);
}

void h_upstreams_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &upstreams, a->id);
}
