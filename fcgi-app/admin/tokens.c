/* /api/admin/tokens: client tokens.  The value is shown once, at creation;
 * only its SHA-256 hash is stored. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/crypto.h"
#include "core/store.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/limits_admin.h"
#include "http.h"
#include "admin/resource.h"
#include "core/nelem.h"

#define TOKEN_PREFIX "agw_"

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "name",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 128,
     .check = check_no_ctl},
    {.name = "token_masked", .type = VT_STRING, .flags = VF_READONLY},
    {.name = "upstreams", .type = VT_INT_LIST, .min = 0, .max = 1000, .def = "[]"},
    {.name = "rpm_limit", .type = VT_INT, .min = 0, .max = 1000000, .def = "0"},
    {.name = "daily_quota", .type = VT_INT, .min = 0, .max = 1000000000000LL, .def = "0"},
    /* Limit windows (core/limits.h), checked by limits_admin_check. */
    {.name = "limits", .type = VT_ARRAY, .flags = VF_NULLABLE, .def = "null"},
    /* What a single GET adds (admin/limits_admin.c): no column, and
     * ignored in a body, so that a GET body can be sent back. */
    {.name = "limits_usage", .type = VT_ARRAY, .flags = VF_READONLY | VF_WRITEONLY},
    {.name = "used_today", .type = VT_INT, .flags = VF_READONLY},
    {.name = "leased_today", .type = VT_INT, .flags = VF_READONLY, .column = "leased"},
    RS_FIELDS_TOKEN_QUOTA,
    {.name = "expires_at", .type = VT_TIME, .flags = VF_NULLABLE, .def = "null"},
    {.name = "enabled", .type = VT_BOOL, .def = "true"},
    RS_FIELD_MAX_CONCURRENT,
    {.name = "last_used_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "updated_at", .type = VT_TIME, .flags = VF_READONLY},
};
_Static_assert(NELEM(fields) <= RS_FIELDS_MAX, "tokens: raise RS_FIELDS_MAX");

struct resource admin_tokens = {
    .noun = "token",
    .table = "client_tokens",
    .fields = fields,
    .nfields = NELEM(fields),
    .list_order = "id",
    .bumps_pool = true,
    .insert_extra = {{"token_hash", "?"}, {"token_masked", "?"}},
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
    rs_list(r, &admin_tokens, NULL, 0);
}

void h_tokens_get(struct req *r, const struct route_args *a)
{
    limits_admin_get(r, &admin_tokens, a->id, LIMIT_OWNER_TOKEN);
}

/* A new token's value, kept by the handler and wiped after. */
struct new_token {
    char value[64];
    unsigned char hash[SHA256_LEN];
    char masked[MASK_MAX];
};

/* Checks the allow-list and makes the value; the answer shows it once. */
static enum err make_token(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    struct new_token *t = w->arg;
    enum err e = check_upstreams(r, w->after, msg, len);

    if (e == ERR_OK)
        e = limits_admin_check(w->after, msg, len);
    if (e != ERR_OK)
        return e;
    memcpy(t->value, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
    if (crypto_random_hex(t->value + sizeof(TOKEN_PREFIX) - 1, 24) != 0) {
        snprintf(msg, len, "no randomness available");
        return ERR_INTERNAL;
    }
    crypto_sha256(t->value, strlen(t->value), t->hash);
    crypto_mask(t->value, strlen(t->value), t->masked);
    w->extra[w->nextra++] = DB_BLOB(t->hash, sizeof(t->hash));
    w->extra[w->nextra++] = DB_STR(t->masked);
    /* The only time the value leaves the gateway. */
    w->shown = json_object_new_object();
    json_object_object_add(w->shown, "token", json_object_new_string(t->value));
    return ERR_OK;
}

void h_tokens_create(struct req *r, const struct route_args *a)
{
    struct new_token t;

    (void)a;
    rs_create(r, &admin_tokens, make_token, &t);
    crypto_wipe(&t, sizeof(t));
}

static enum err token_update_hook(struct req *r, struct rs_write *u, char *msg, size_t len)
{
    enum err e = limits_admin_check(u->after, msg, len);

    return e != ERR_OK ? e : check_upstreams(r, u->patch, msg, len);
}

void h_tokens_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &admin_tokens, a->id, token_update_hook);
}

void h_tokens_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &admin_tokens, a->id);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_tokens = {fields, NELEM(fields)};
