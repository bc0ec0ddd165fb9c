/* /api/admin/keys: the key pool.  Values are write-only: encrypted at rest,
 * shown masked, and never returned. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/store.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/keys_filter.h"
#include "admin/egress_admin.h"
#include "admin/limits_admin.h"
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

/* A key's rests for one model that have not ended, as a JSON array of
 * {model, kind, until, reason} ([] for none). */
#define MODEL_BLOCKS_SQL                                                                           \
    "(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('model', b.model, 'kind', b.kind, 'until',"        \
    " DATE_FORMAT(b.until, " SQL_TIME_FORMAT "), 'reason', b.reason) ORDER BY b.model), '[]')"     \
    " FROM key_model_blocks b WHERE b.key_id = api_keys.id AND (b.until IS NULL OR"                \
    " b.until > UTC_TIMESTAMP(6)))"

/* The budget pacing learned for the key (core/pace.h), as the refreshers
 * last stored it; null when none was learned. */
#define PACE_SQL                                                                                   \
    "(SELECT JSON_OBJECT('remaining_requests', p.remaining_requests, 'remaining_tokens',"          \
    " p.remaining_tokens, 'resets_at', DATE_FORMAT(p.requests_reset_at, " SQL_TIME_FORMAT "),"     \
    " 'tokens_reset_at', DATE_FORMAT(p.tokens_reset_at, " SQL_TIME_FORMAT "), 'learned_at',"       \
    " DATE_FORMAT(p.learned_at, " SQL_TIME_FORMAT                                                  \
    ")) FROM key_pace p WHERE p.key_id = api_keys.id)"

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "upstream_id",
     .type = VT_INT,
     .flags = VF_REQUIRED | VF_NOUPDATE,
     .min = 1,
     .max = INT64_MAX},
    {.name = "name",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 0,
     .max = 255,
     .check = check_no_ctl,
     .def = "null"},
    {.name = "key_value",
     .type = VT_STRING,
     .flags = VF_REQUIRED | VF_WRITEONLY | VF_NOUPDATE,
     .min = 1,
     .max = KEY_VALUE_MAX,
     .check = check_key_value},
    {.name = "key_masked", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "status",
     .type = VT_STRING,
     .min = 1,
     .max = 16,
     .check = check_status,
     .oneof = "active|disabled|banned|exhausted",
     .def = "\"active\""},
    {.name = "weight", .type = VT_INT, .min = 1, .max = 1000000, .def = "1"},
    /* Higher tiers are tried first (core/pool_pick.c). */
    {.name = "priority", .type = VT_INT, .min = -1000000, .max = 1000000, .def = "0"},
    {.name = "daily_quota", .type = VT_INT, .min = 0, .max = 1000000000000LL, .def = "0"},
    {.name = "rpm_limit", .type = VT_INT, .min = 0, .max = 1000000, .def = "0"},
    /* Limit windows (core/limits.h), checked by limits_admin_check. */
    {.name = "limits", .type = VT_ARRAY, .flags = VF_NULLABLE, .def = "null"},
    /* What a single GET adds (admin/limits_admin.c): no column, and
     * ignored in a body, so that a GET body can be sent back. */
    {.name = "limits_usage", .type = VT_ARRAY, .flags = VF_READONLY | VF_WRITEONLY},
    {.name = "used_today", .type = VT_INT, .flags = VF_READONLY},
    {.name = "leased_today", .type = VT_INT, .flags = VF_READONLY, .column = "leased"},
    RS_FIELDS_TOKEN_QUOTA,
    {.name = "total_requests", .type = VT_INT, .flags = VF_READONLY},
    {.name = "total_failures", .type = VT_INT, .flags = VF_READONLY},
    {.name = "disabled_until", .type = VT_TIME, .flags = VF_NULLABLE, .def = "null"},
    /* Its own egress proxy (admin/egress_admin.c): shown masked. */
    {.name = "proxy",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 512,
     .check = egress_check_url,
     .def = "null"},
    {.name = "status_reason", .type = VT_STRING, .flags = VF_READONLY},
    /* Its rests for one model that have not ended (core/model_block.h). */
    {.name = "model_blocks", .type = VT_ARRAY, .flags = VF_READONLY, .column = MODEL_BLOCKS_SQL},
    {.name = "pace", .type = VT_OBJECT, .flags = VF_READONLY | VF_NULLABLE, .column = PACE_SQL},
    {.name = "last_used_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "updated_at", .type = VT_TIME, .flags = VF_READONLY},
};
_Static_assert(NELEM(fields) <= RS_FIELDS_MAX, "keys: raise RS_FIELDS_MAX");

struct resource admin_keys = {
    .noun = "key",
    .table = "api_keys",
    .fields = fields,
    .nfields = NELEM(fields),
    /* GET /keys sorts by other columns too (admin/keys_list.c). */
    .list_filter = KEY_FILTER_SQL,
    .list_order = "id",
    .bumps_pool = true,
    .update_extra = {{"status_reason", "?"}, {"proxy_enc", "?"}},
    .insert_extra = {{"key_enc", "?"},
                     {"key_hash", "?"},
                     {"key_masked", "?"},
                     {"status_reason", "'created'"},
                     {"proxy_enc", "?"}},
};

void h_keys_get(struct req *r, const struct route_args *a)
{
    limits_admin_get(r, &admin_keys, a->id, LIMIT_OWNER_KEY);
}

/* disabled_until only means something for disabled and exhausted keys. */
static void clear_until_unless_disabled(struct json_object *o)
{
    const char *st = rs_jstr(o, "status");

    if (st != NULL && (strcmp(st, "active") == 0 || strcmp(st, "banned") == 0))
        json_object_object_add(o, "disabled_until", NULL);
}

/* Checks the upstream and seals the value into w->arg (a struct key_sealed
 * that the handler wipes); the sealed value, its hash and its mask are the
 * insert's parameters. */
static enum err seal_key(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    struct key_sealed *ks = w->arg;
    long long up = rs_jint(w->after, "upstream_id", 0);
    const char *value = rs_jstr(w->after, "key_value");
    enum db_rc rc;
    bool found;

    if (limits_admin_check(w->after, msg, len) != ERR_OK)
        return ERR_INVALID_FIELD;
    clear_until_unless_disabled(w->after);
    rc = store_upstream_exists(r->w->db, up, &found);
    if (rc != DB_OK)
        return err_from_db(rc);
    if (!found) {
        snprintf(msg, len, "upstream_id: upstream %lld does not exist", up);
        return ERR_INVALID_FIELD;
    }
    if (key_seal(r->cfg->enc_key, value, strlen(value), ks) != 0) {
        snprintf(msg, len, "the key could not be encrypted");
        return ERR_INTERNAL;
    }
    w->extra[w->nextra++] = DB_BLOB(ks->sealed, ks->sealed_len);
    w->extra[w->nextra++] = DB_BLOB(ks->hash, sizeof(ks->hash));
    w->extra[w->nextra++] = DB_STR(ks->masked);
    snprintf(w->conflict, sizeof(w->conflict),
             "key_value: this key is already in the pool of upstream %lld", up);
    return egress_admin_key(r, w, msg, len);
}

void h_keys_create(struct req *r, const struct route_args *a)
{
    struct key_sealed ks;

    (void)a;
    rs_create(r, &admin_keys, seal_key, &ks);
    crypto_wipe(&ks, sizeof(ks));
}

/* A manual status change is recorded in the key's history. */
static enum err record_status_change(struct req *r, struct rs_write *u, char *msg, size_t len)
{
    const char *from = rs_jstr(u->before, "status"), *to = rs_jstr(u->after, "status");
    int rc;

    if (limits_admin_check(u->after, msg, len) != ERR_OK)
        return ERR_INVALID_FIELD;
    clear_until_unless_disabled(u->after);
    /* Setting status active (even on an active key) also ends its rests
     * for one model, as the batch enable does. */
    if (strcmp(to, "active") == 0 && rs_jstr(u->patch, "status") != NULL &&
        (rc = db_exec(r->w->db, "DELETE FROM key_model_blocks WHERE key_id = ?",
                      DB_ARGS(DB_INT(u->id)), NULL, NULL)) != DB_OK)
        return err_from_db(rc);
    if (strcmp(from, to) == 0) {
        u->extra[u->nextra++] = DB_STR(rs_jstr(u->before, "status_reason"));
        return egress_admin_key(r, u, msg, len);
    }
    u->extra[u->nextra++] = DB_STR("manual");
    rc = db_exec(r->w->db,
                 "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor)"
                 " VALUES (?, UTC_TIMESTAMP(3), ?, ?, 'manual', ?)",
                 DB_ARGS(DB_INT(u->id), DB_STR(from), DB_STR(to), DB_STR(r->actor)), NULL, NULL);
    if (rc != DB_OK)
        return err_from_db(rc);
    return egress_admin_key(r, u, msg, len);
}

void h_keys_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &admin_keys, a->id, record_status_change);
}

void h_keys_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &admin_keys, a->id);
}

static const struct vfield event_fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "ts", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "from", .type = VT_STRING, .flags = VF_READONLY, .column = "from_status"},
    {.name = "to", .type = VT_STRING, .flags = VF_READONLY, .column = "to_status"},
    {.name = "reason", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "actor", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "rule_id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "request_id", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "excerpt", .type = VT_STRING, .flags = VF_READONLY},
    /* The model of a rest for one model; null for key-wide changes. */
    {.name = "model", .type = VT_STRING, .flags = VF_READONLY},
};
_Static_assert(NELEM(event_fields) <= RS_FIELDS_MAX, "key_events: raise RS_FIELDS_MAX");

struct resource admin_key_events = {
    .noun = "key event",
    .table = "key_events",
    .fields = event_fields,
    .nfields = NELEM(event_fields),
    .list_filter = " WHERE key_id = ?",
    .list_order = "id DESC",
    .list_only = true,
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
    rs_list(r, &admin_key_events, DB_ARGS(DB_INT(a->id)));
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_keys = {fields, NELEM(fields)};
const struct vtable vt_key_events = {event_fields, NELEM(event_fields)};
