/* /api/admin/tokens: client tokens.  The value is shown once, at creation;
 * only its SHA-256 hash is stored. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/crypto.h"
#include "core/store.h"
#include "admin/handlers.h"
#include "http.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
#include "core/nelem.h"

#define TOKEN_PREFIX "agw_"

static const struct vfield fields[] = {
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"name", VT_STRING, VF_REQUIRED, 1, 128, check_no_ctl, NULL},
    {"token_masked", VT_STRING, VF_READONLY, 0, 0, NULL, NULL},
    {"upstreams", VT_INT_LIST, 0, 0, 1000, NULL, "[]"},
    {"rpm_limit", VT_INT, 0, 0, 1000000, NULL, "0"},
    {"daily_quota", VT_INT, 0, 0, 1000000000000LL, NULL, "0"},
    {"used_today", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"expires_at", VT_TIME, VF_NULLABLE, 0, 0, NULL, "null"},
    {"enabled", VT_BOOL, 0, 0, 0, NULL, "true"},
    {"last_used_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"created_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"updated_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
};

#define COLS                                                                                       \
    "id, name, token_masked, upstreams, rpm_limit, daily_quota, used_today, " SQL_TIME(            \
        "expires_at") ", enabled, " SQL_TIME("last_used_at") ", " SQL_TIME("created_at") ", " SQL_TIME("updated_at")

static const struct resource tokens = {
    "token",
    fields,
    NELEM(fields),
    "SELECT " COLS " FROM client_tokens WHERE id = ?",
    "SELECT " COLS " FROM client_tokens WHERE id = ? FOR UPDATE",
    "UPDATE client_tokens SET name = ?, upstreams = ?, rpm_limit = ?, daily_quota = ?,"
    " expires_at = ?, enabled = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
    "DELETE FROM client_tokens WHERE id = ?",
    true,
};

/* Every id in the allow-list must name an upstream. */
static enum err check_upstreams(struct req *r, struct json_object *o, char *msg, size_t len)
{
    struct json_object *list;
    size_t i;

    if (!json_object_object_get_ex(o, "upstreams", &list) || list == NULL)
        return ERR_OK;
    for (i = 0; i < json_object_array_length(list); i++) {
        long long id = json_object_get_int64(json_object_array_get_idx(list, i));
        bool found;
        enum db_rc rc = store_upstream_exists(r->w->db, id, &found);
        if (rc != DB_OK)
            return err_from_db(rc);
        if (!found) {
            snprintf(msg, len, "upstreams: upstream %lld does not exist", id);
            return ERR_INVALID_FIELD;
        }
    }
    return ERR_OK;
}

void h_tokens_list(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_list(r, &tokens, "SELECT " COLS " FROM client_tokens ORDER BY id LIMIT ? OFFSET ?",
            "SELECT COUNT(*) FROM client_tokens", NULL, 0);
}

void h_tokens_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &tokens, a->id);
}

void h_tokens_create(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, fields, tokens.nfields, true), *created = NULL;
    char token[64], msg[160] = "", masked[MASK_MAX];
    unsigned char hash[SHA256_LEN];
    struct db_param p[16];
    char tbuf[16][24];
    unsigned long long id = 0;
    unsigned n;
    enum err e;
    int rc;

    (void)a;
    if (o == NULL)
        return;
    valid_defaults(o, fields, tokens.nfields);
    if ((e = check_upstreams(r, o, msg, sizeof(msg))) != ERR_OK) {
        rs_reply_hook_error(r, e, msg);
        goto out;
    }
    memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
    if (crypto_random_hex(token + sizeof(TOKEN_PREFIX) - 1, 24) != 0) {
        reply_error(r, ERR_INTERNAL, "no randomness available");
        goto out;
    }
    crypto_sha256(token, strlen(token), hash);
    crypto_mask(token, strlen(token), masked);
    n = rs_row_params(fields, tokens.nfields, o, p, tbuf);
    p[n++] = DB_BLOB(hash, sizeof(hash));
    p[n++] = DB_STR(masked);
    rc = db_exec(r->w->db,
                 "INSERT INTO client_tokens (name, upstreams, rpm_limit, daily_quota, expires_at,"
                 " enabled, token_hash, token_masked, created_at, updated_at) VALUES (?, ?, ?, ?,"
                 " ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                 p, n, NULL, &id);
    if (rc == DB_OK)
        rc = store_bump_version(r->w->db);
    if (rc == DB_OK)
        rc = rs_fetch(r, &tokens, (long long)id, &created);
    if (rc != DB_OK || created == NULL) {
        rs_reply_db_error(r, rc == DB_OK ? ERR_INTERNAL : err_from_db(rc), "");
        goto out;
    }
    /* The only time the value leaves the gateway. */
    json_object_object_add(created, "token", json_object_new_string(token));
    reply_json(r, 201, created);
out:
    memset(token, 0, sizeof(token));
    json_object_put(o);
}

static enum err token_update_hook(struct req *r, struct rs_update_ctx *u, char *msg, size_t len)
{
    return check_upstreams(r, u->patch, msg, len);
}

void h_tokens_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &tokens, a->id, token_update_hook);
}

void h_tokens_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &tokens, a->id);
}
