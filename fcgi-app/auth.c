#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "core/crypto.h"
#include "core/db.h"
#include "http.h"

#define TOKEN_MAX 512

static const char *const role_names[ROLE__MAX] = {"public", "viewer", "operator", "admin"};

const char *role_name(enum role role)
{
    return (unsigned)role < ROLE__MAX ? role_names[role] : NULL;
}

enum role role_parse(const char *name)
{
    int i;

    for (i = ROLE_VIEWER; i < ROLE__MAX; i++)
        if (name != NULL && strcmp(name, role_names[i]) == 0)
            return (enum role)i;
    return ROLE_PUBLIC;
}

size_t auth_bearer_value(const char *h, char *out, size_t outlen)
{
    size_t n;

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    n = strlen(h);
    while (n > 0 && h[n - 1] == ' ')
        n--;
    if (n == 0 || n >= outlen)
        return 0;
    memcpy(out, h, n);
    out[n] = '\0';
    return n;
}

size_t auth_bearer(const struct req *r, char *out, size_t outlen)
{
    return auth_bearer_value(req_header(r, "Authorization"), out, outlen);
}

enum err auth_admin(struct req *r)
{
    char token[TOKEN_MAX];
    unsigned char hash[SHA256_LEN];
    struct db_res res;
    size_t n = auth_bearer(r, token, sizeof(token));
    int rc;

    if (n == 0)
        return ERR_UNAUTHORIZED;
    if (r->cfg->admin_token[0] != '\0' && crypto_equal_str(token, r->cfg->admin_token)) {
        r->role = ROLE_ADMIN;
        r->user_id = 0;
        snprintf(r->actor, sizeof(r->actor), "admin-token");
        return ERR_OK;
    }
    crypto_sha256(token, n, hash);
    rc = db_query(r->w->db,
                  "SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id"
                  " WHERE s.token_hash = ? AND s.expires_at > UTC_TIMESTAMP() AND u.enabled = 1",
                  DB_ARGS(DB_BLOB(hash, sizeof(hash))), &res);
    if (rc != DB_OK) {
        db_res_free(&res);
        return err_from_db(rc);
    }
    if (res.nrows == 0) {
        db_res_free(&res);
        return ERR_UNAUTHORIZED;
    }
    r->user_id = db_int(&res, 0, 0);
    snprintf(r->actor, sizeof(r->actor), "user:%s", db_val(&res, 0, 1));
    r->role = role_parse(db_val(&res, 0, 2));
    db_res_free(&res);
    return r->role == ROLE_PUBLIC ? ERR_UNAUTHORIZED : ERR_OK;
}
