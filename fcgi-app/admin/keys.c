/* /api/admin/keys: the key pool.  Values are write-only: encrypted at rest,
 * shown masked, and never returned. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/store.h"
#include "admin/handlers.h"
#include "http.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
#include "core/nelem.h"

static const char *check_key_value(const char *s)
{
    return key_value_check(s, strlen(s));
}

static const char *check_status(const char *s)
{
    return key_status_parse(s) < 0 ? "must be active, disabled, banned or exhausted" : NULL;
}

static const struct vfield fields[] = {
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"upstream_id", VT_INT, VF_REQUIRED | VF_NOUPDATE, 1, INT64_MAX, NULL, NULL},
    {"name", VT_STRING, VF_NULLABLE, 0, 255, check_no_ctl, "null"},
    {"key_value", VT_STRING, VF_REQUIRED | VF_WRITEONLY | VF_NOUPDATE, 1, KEY_VALUE_MAX,
     check_key_value, NULL},
    {"key_masked", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"status", VT_STRING, 0, 1, 16, check_status, "\"active\""},
    {"weight", VT_INT, 0, 1, 1000000, NULL, "1"},
    {"daily_quota", VT_INT, 0, 0, 1000000000000LL, NULL, "0"},
    {"rpm_limit", VT_INT, 0, 0, 1000000, NULL, "0"},
    {"used_today", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"total_requests", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"total_failures", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"disabled_until", VT_TIME, VF_NULLABLE, 0, 0, NULL, "null"},
    {"status_reason", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"last_used_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"created_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"updated_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
};

#define COLS                                                                                       \
    "id, upstream_id, name, key_masked, status, weight, daily_quota, rpm_limit, used_today,"       \
    " total_requests, total_failures, " SQL_TIME("disabled_until") ", status_reason, " SQL_TIME(   \
        "last_used_at") ", " SQL_TIME("created_at") ", " SQL_TIME("updated_at")

static const struct resource keys = {
    "key",
    fields,
    NELEM(fields),
    "SELECT " COLS " FROM api_keys WHERE id = ?",
    "SELECT " COLS " FROM api_keys WHERE id = ? FOR UPDATE",
    "UPDATE api_keys SET upstream_id = ?, name = ?, status = ?, weight = ?, daily_quota = ?,"
    " rpm_limit = ?, disabled_until = ?, status_reason = ?, updated_at = UTC_TIMESTAMP()"
    " WHERE id = ?",
    "DELETE FROM api_keys WHERE id = ?",
    true,
};

/* Escapes LIKE wildcards so that q matches as plain text. */
static void like_pattern(const char *q, char *out, size_t outlen)
{
    size_t o = 0;

    out[o++] = '%';
    for (; *q != '\0' && o + 4 < outlen; q++) {
        if (*q == '%' || *q == '_' || *q == '\\')
            out[o++] = '\\';
        out[o++] = *q;
    }
    out[o++] = '%';
    out[o] = '\0';
}

void h_keys_list(struct req *r, const struct route_args *a)
{
    char status[32] = "", q[300] = "", pattern[620];
    bool has_status, has_q;
    long long upstream_id;

    (void)a;
    if (!rs_query_id(r, "upstream_id", &upstream_id) ||
        !rs_query_text(r, "status", status, sizeof(status), &has_status) ||
        !rs_query_text(r, "q", q, sizeof(q), &has_q))
        return;
    if (has_status && key_status_parse(status) < 0) {
        reply_error(r, ERR_INVALID_FIELD, "status: must be active, disabled, banned or exhausted");
        return;
    }
    like_pattern(q, pattern, sizeof(pattern));
    {
        const struct db_param f[] = {DB_INT(upstream_id),
                                     DB_INT(upstream_id),
                                     DB_STR(has_status ? status : NULL),
                                     DB_STR(has_status ? status : NULL),
                                     DB_STR(has_q ? pattern : NULL),
                                     DB_STR(has_q ? pattern : NULL)};
#define KEY_FILTER                                                                                 \
    " WHERE (? = 0 OR upstream_id = ?) AND (? IS NULL OR status = ?)"                              \
    " AND (? IS NULL OR name LIKE ?)"
        rs_list(r, &keys,
                "SELECT " COLS " FROM api_keys" KEY_FILTER " ORDER BY id LIMIT ? OFFSET ?",
                "SELECT COUNT(*) FROM api_keys" KEY_FILTER, f, 6);
    }
}

void h_keys_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &keys, a->id);
}

/* disabled_until only means something for disabled and exhausted keys. */
static void clear_until_unless_disabled(struct json_object *o)
{
    const char *st = rs_jstr(o, "status");

    if (st != NULL && (strcmp(st, "active") == 0 || strcmp(st, "banned") == 0))
        json_object_object_add(o, "disabled_until", NULL);
}

void h_keys_create(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, fields, keys.nfields, true);
    const char *value;
    struct key_sealed ks;
    bool found;
    struct db_param p[16];
    char tbuf[32][24];
    unsigned long long id = 0;
    unsigned n;
    int rc;

    (void)a;
    if (o == NULL)
        return;
    valid_defaults(o, fields, keys.nfields);
    clear_until_unless_disabled(o);
    rc = store_upstream_exists(r->w->db, rs_jint(o, "upstream_id", 0), &found);
    if (rc != DB_OK || !found) {
        if (rc != DB_OK)
            rs_reply_db_error(r, err_from_db(rc), "");
        else
            reply_error(r, ERR_INVALID_FIELD, "upstream_id: upstream %lld does not exist",
                        rs_jint(o, "upstream_id", 0));
        goto out;
    }
    value = rs_jstr(o, "key_value");
    if (key_seal(r->cfg->enc_key, value, strlen(value), &ks) != 0) {
        reply_error(r, ERR_INTERNAL, "the key could not be encrypted");
        goto out;
    }
    n = rs_row_params(fields, keys.nfields, o, p, tbuf);
    p[n++] = DB_BLOB(ks.sealed, ks.sealed_len);
    p[n++] = DB_BLOB(ks.hash, sizeof(ks.hash));
    p[n++] = DB_STR(ks.masked);
    rc = db_exec(r->w->db,
                 "INSERT INTO api_keys (upstream_id, name, status, weight, daily_quota, rpm_limit,"
                 " disabled_until, key_enc, key_hash, key_masked, status_reason, created_at,"
                 " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', UTC_TIMESTAMP(),"
                 " UTC_TIMESTAMP())",
                 p, n, NULL, &id);
    memset(&ks, 0, sizeof(ks));
    if (rc == DB_OK)
        rc = store_bump_version(r->w->db);
    if (rc == DB_EDUP)
        reply_error(r, ERR_CONFLICT, "key_value: this key is already in the pool of upstream %lld",
                    rs_jint(o, "upstream_id", 0));
    else if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else
        rs_reply_created(r, &keys, (long long)id);
out:
    json_object_put(o);
}

/* A manual status change is recorded in the key's history. */
static enum err record_status_change(struct req *r, struct rs_update_ctx *u, char *msg, size_t len)
{
    const char *from = rs_jstr(u->before, "status"), *to = rs_jstr(u->after, "status");
    int rc;

    (void)msg;
    (void)len;
    clear_until_unless_disabled(u->after);
    if (strcmp(from, to) == 0) {
        u->extra[u->nextra++] = DB_STR(rs_jstr(u->before, "status_reason"));
        return ERR_OK;
    }
    u->extra[u->nextra++] = DB_STR("manual");
    rc = db_exec(r->w->db,
                 "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor)"
                 " VALUES (?, UTC_TIMESTAMP(3), ?, ?, 'manual', ?)",
                 DB_ARGS(DB_INT(u->id), DB_STR(from), DB_STR(to), DB_STR(r->actor)), NULL, NULL);
    if (rc != DB_OK)
        return err_from_db(rc);
    return ERR_OK;
}

void h_keys_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &keys, a->id, record_status_change);
}

void h_keys_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &keys, a->id);
}

static const struct vfield event_fields[] = {
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"ts", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"from", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"to", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"reason", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"actor", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"rule_id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"request_id", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"excerpt", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
};

static const struct resource events = {
    "key event", event_fields, NELEM(event_fields), NULL, NULL, NULL, NULL, false,
};

void h_keys_events(struct req *r, const struct route_args *a)
{
    bool found;
    enum db_rc rc = store_key_exists(r->w->db, a->id, &found);

    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    if (!found) {
        reply_error(r, ERR_NOT_FOUND, "key %lld does not exist", a->id);
        return;
    }
    rs_list(r, &events,
            "SELECT id, " SQL_TIME(
                "ts") ", from_status, to_status, reason, actor, rule_id,"
                      " request_id, excerpt FROM key_events WHERE key_id = ? ORDER BY id DESC"
                      " LIMIT ? OFFSET ?",
            "SELECT COUNT(*) FROM key_events WHERE key_id = ?", DB_ARGS(DB_INT(a->id)));
}
