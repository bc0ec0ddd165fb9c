/* /api/admin/users: people who log in to the admin API.  Passwords are
 * stored as yescrypt hashes and never returned. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "core/crypto.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "http.h"
#include "admin/resource.h"
#include "core/nelem.h"

static const char *check_username(const char *s)
{
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("_.@-", *s) == NULL)
            return "use only letters, digits, _, ., @ and -";
    return NULL;
}

static const char *check_role(const char *s)
{
    return role_parse(s) == ROLE_PUBLIC ? "must be viewer, operator or admin" : NULL;
}

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "username",
     .type = VT_STRING,
     .flags = VF_REQUIRED | VF_NOUPDATE,
     .min = 1,
     .max = 64,
     .check = check_username},
    {.name = "password",
     .type = VT_STRING,
     .flags = VF_REQUIRED | VF_WRITEONLY,
     .min = 8,
     .max = 256},
    {.name = "role",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 16,
     .check = check_role,
     .oneof = "viewer|operator|admin"},
    {.name = "enabled", .type = VT_BOOL, .def = "true"},
    {.name = "last_login_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "updated_at", .type = VT_TIME, .flags = VF_READONLY},
};
_Static_assert(NELEM(fields) <= RS_FIELDS_MAX, "users: raise RS_FIELDS_MAX");

struct resource admin_users = {
    .noun = "user",
    .table = "users",
    .fields = fields,
    .nfields = NELEM(fields),
    .list_order = "id",
    .update_extra = {{"password_hash", "COALESCE(?, password_hash)"}},
    .insert_extra = {{"password_hash", "?"}},
};

void h_users_list(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_list(r, &admin_users, NULL, 0);
}

void h_users_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &admin_users, a->id);
}

/* The password is stored as its hash. */
static enum err hash_password(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    (void)r;
    w->owned = crypto_password_hash(rs_jstr(w->after, "password"));
    if (w->owned == NULL) {
        snprintf(msg, len, "the password could not be hashed");
        return ERR_INTERNAL;
    }
    w->extra[w->nextra++] = DB_STR(w->owned);
    snprintf(w->conflict, sizeof(w->conflict), "username: %s is taken",
             rs_jstr(w->after, "username"));
    return ERR_OK;
}

void h_users_create(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_create(r, &admin_users, hash_password, NULL);
}

/* A new password is hashed; a disabled user's sessions end at once. */
static enum err user_update_hook(struct req *r, struct rs_write *u, char *msg, size_t len)
{
    const char *pw = rs_jstr(u->patch, "password");
    int rc;

    (void)msg;
    (void)len;
    if (pw != NULL) {
        u->owned = crypto_password_hash(pw);
        if (u->owned == NULL)
            return ERR_INTERNAL;
    }
    u->extra[u->nextra++] = DB_STR(u->owned);
    if (pw != NULL || !rs_jbool(u->after, "enabled", true)) {
        rc = db_exec(r->w->db, "DELETE FROM sessions WHERE user_id = ?", DB_ARGS(DB_INT(u->id)),
                     NULL, NULL);
        if (rc != DB_OK)
            return err_from_db(rc);
    }
    return ERR_OK;
}

void h_users_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &admin_users, a->id, user_update_hook);
}

void h_users_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &admin_users, a->id);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_users = {fields, NELEM(fields)};
