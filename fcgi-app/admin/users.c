/* /api/admin/users: people who log in to the admin API.  Passwords are
 * stored as yescrypt hashes and never returned. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/crypto.h"
#include "admin/handlers.h"
#include "http.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
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
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"username", VT_STRING, VF_REQUIRED | VF_NOUPDATE, 1, 64, check_username, NULL},
    {"password", VT_STRING, VF_REQUIRED | VF_WRITEONLY, 8, 256, NULL, NULL},
    {"role", VT_STRING, VF_REQUIRED, 1, 16, check_role, NULL},
    {"enabled", VT_BOOL, 0, 0, 0, NULL, "true"},
    {"last_login_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"created_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"updated_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
};

#define COLS                                                                                       \
    "id, username, role, enabled, " SQL_TIME("last_login_at") ", " SQL_TIME(                       \
        "created_at") ", " SQL_TIME("updated_at")

static const struct resource users = {
    "user",
    fields,
    NELEM(fields),
    "SELECT " COLS " FROM users WHERE id = ?",
    "SELECT " COLS " FROM users WHERE id = ? FOR UPDATE",
    "UPDATE users SET username = ?, role = ?, enabled = ?,"
    " password_hash = COALESCE(?, password_hash), updated_at = UTC_TIMESTAMP() WHERE id = ?",
    "DELETE FROM users WHERE id = ?",
    false,
};

void h_users_list(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_list(r, &users, "SELECT " COLS " FROM users ORDER BY id LIMIT ? OFFSET ?",
            "SELECT COUNT(*) FROM users", NULL, 0);
}

void h_users_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &users, a->id);
}

void h_users_create(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, fields, users.nfields, true);
    struct db_param p[8];
    char tbuf[8][24], *hash;
    unsigned long long id = 0;
    unsigned n;
    int rc;

    (void)a;
    if (o == NULL)
        return;
    valid_defaults(o, fields, users.nfields);
    hash = crypto_password_hash(rs_jstr(o, "password"));
    if (hash == NULL) {
        reply_error(r, ERR_INTERNAL, "the password could not be hashed");
        json_object_put(o);
        return;
    }
    n = rs_row_params(fields, users.nfields, o, p, tbuf);
    p[n++] = DB_STR(hash);
    rc = db_exec(r->w->db,
                 "INSERT INTO users (username, role, enabled, password_hash, created_at,"
                 " updated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                 p, n, NULL, &id);
    if (rc == DB_EDUP)
        reply_error(r, ERR_CONFLICT, "username: %s is taken", rs_jstr(o, "username"));
    else if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else
        rs_reply_created(r, &users, (long long)id);
    free(hash);
    json_object_put(o);
}

/* A new password is hashed; a disabled user's sessions end at once. */
static enum err user_update_hook(struct req *r, struct rs_update_ctx *u, char *msg, size_t len)
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
    rs_update(r, &users, a->id, user_update_hook);
}

void h_users_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &users, a->id);
}
