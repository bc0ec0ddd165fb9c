/*
 * The egress proxy fields of the admin API (docs/API.md, "Egress
 * proxies"): an upstream's proxies and proxy_mode, a key's proxy.  The
 * full URLs are sealed into proxies_enc / proxy_enc; the proxies and proxy
 * columns, which the API shows, hold only their masked forms.
 *
 * Editing without seeing the password: a posted URL whose password is ***
 * stands for the stored proxy with that same masked form, whose password
 * is kept.  So a list read back from GET and posted again, with lines
 * added, removed or reordered, keeps every stored secret.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "admin/egress_admin.h"
#include "admin/resource.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/egress.h"

/* The stored full URLs of a row, decrypted (empty on create). */
struct stored {
    struct egress_set set;
    bool used[EGRESS_PROXIES_MAX];
};

const char *egress_check_mode(const char *s)
{
    enum egress_mode m;

    return egress_mode_parse(s, &m) == 0 ? NULL : "must be none, round_robin or per_key";
}

const char *egress_check_url(const char *s)
{
    return egress_url_check(s);
}

/* Reads the sealed column of row id (sql selects it) into st. */
static enum err load_stored(struct req *r, const char *sql, long long id, bool list,
                            struct stored *st)
{
    struct db_res res;
    enum db_rc rc;
    struct egress_proxy *one = NULL;

    memset(st, 0, sizeof(*st));
    if (id == 0)
        return ERR_OK;
    rc = db_query(r->w->db, sql, DB_ARGS(DB_INT(id)), &res);
    if (rc != DB_OK)
        return err_from_db(rc);
    if (res.nrows > 0 && db_val(&res, 0, 0) != NULL) {
        if (list)
            egress_set_open(&st->set, r->cfg->enc_key, db_val(&res, 0, 0), db_len(&res, 0, 0),
                            "none");
        else if (egress_proxy_open(&one, r->cfg->enc_key, db_val(&res, 0, 0), db_len(&res, 0, 0)) ==
                     0 &&
                 one != NULL) {
            /* One proxy as a list of one, so both fields resolve alike. */
            st->set.p = one;
            st->set.n = 1;
        }
    }
    db_res_free(&res);
    return ERR_OK;
}

/* The full URL a posted value stands for: itself, or for a masked one the
 * first stored proxy not yet taken with that masked form.  NULL (why in
 * msg) when it is refused. */
static const char *resolve(struct stored *st, const char *posted, const char *field, char *msg,
                           size_t len)
{
    const char *why = egress_url_check(posted);
    size_t i;

    if (why != NULL) {
        snprintf(msg, len, "%s: %s", field, why);
        return NULL;
    }
    if (!egress_url_is_masked(posted))
        return posted;
    for (i = 0; i < st->set.n; i++)
        if (!st->used[i] && strcmp(st->set.p[i].masked, posted) == 0) {
            st->used[i] = true;
            return st->set.p[i].url;
        }
    snprintf(msg, len,
             "%s: the password *** stands for a stored one, but no stored proxy has this masked"
             " form: give the password",
             field);
    return NULL;
}

/* Seals plain into a malloc'ed blob handed to w (freed after the write)
 * and adds it as the next parameter. */
static enum err seal_param(struct req *r, struct rs_write *w, const char *plain, char *msg,
                           size_t len)
{
    size_t n = strlen(plain);
    unsigned char *blob = malloc(n + CRYPTO_OVERHEAD + 1);

    if (blob == NULL || crypto_seal(r->cfg->enc_key, plain, n, blob) != 0) {
        free(blob);
        snprintf(msg, len, "the proxy could not be encrypted");
        return ERR_INTERNAL;
    }
    free(w->owned);
    w->owned = (char *)blob;
    w->extra[w->nextra++] = DB_BLOB(blob, n + CRYPTO_OVERHEAD);
    return ERR_OK;
}

/* Builds the full and masked lists from the posted one. */
static enum err resolve_list(struct stored *st, struct json_object *posted,
                             struct json_object *full, struct json_object *masked, char *msg,
                             size_t len)
{
    size_t i, n = json_object_array_length(posted);
    char field[32], m[EGRESS_MASKED_MAX];

    if (n > EGRESS_PROXIES_MAX) {
        snprintf(msg, len, "proxies: at most %d proxies", EGRESS_PROXIES_MAX);
        return ERR_INVALID_FIELD;
    }
    for (i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(posted, i);
        const char *url;
        snprintf(field, sizeof(field), "proxies[%zu]", i);
        if (!json_object_is_type(v, json_type_string)) {
            snprintf(msg, len, "%s: must be a string", field);
            return ERR_INVALID_FIELD;
        }
        if ((url = resolve(st, json_object_get_string(v), field, msg, len)) == NULL)
            return ERR_INVALID_FIELD;
        egress_url_mask(url, m);
        json_object_array_add(full, json_object_new_string(url));
        json_object_array_add(masked, json_object_new_string(m));
    }
    return ERR_OK;
}

enum err egress_admin_upstream(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    struct json_object *posted = NULL, *full = json_object_new_array(),
                       *masked = json_object_new_array();
    const char *mode = rs_jstr(w->after, "proxy_mode"), *text;
    struct stored st;
    enum err e = load_stored(r, "SELECT proxies_enc FROM upstreams WHERE id = ?", w->id, true, &st);

    json_object_object_get_ex(w->after, "proxies", &posted);
    if (e == ERR_OK && posted != NULL)
        e = resolve_list(&st, posted, full, masked, msg, len);
    if (e == ERR_OK && mode != NULL && strcmp(mode, "none") != 0 &&
        json_object_array_length(full) == 0) {
        snprintf(msg, len, "proxies: at least one is needed when proxy_mode is %s", mode);
        e = ERR_INVALID_FIELD;
    }
    if (e == ERR_OK) {
        text = json_object_to_json_string_ext(full, JSON_C_TO_STRING_PLAIN);
        e = seal_param(r, w, text, msg, len);
        crypto_wipe((void *)text, strlen(text));
        json_object_object_add(w->after, "proxies",
                               posted != NULL ? json_object_get(masked) : NULL);
    }
    json_object_put(full);
    json_object_put(masked);
    egress_set_free(&st.set);
    return e;
}

enum err egress_admin_key(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    const char *posted = rs_jstr(w->after, "proxy"), *url;
    char m[EGRESS_MASKED_MAX];
    struct stored st;
    enum err e = load_stored(r, "SELECT proxy_enc FROM api_keys WHERE id = ?", w->id, false, &st);

    if (e != ERR_OK)
        return e;
    if (posted == NULL) {
        w->extra[w->nextra++] = DB_NULL;
    } else if ((url = resolve(&st, posted, "proxy", msg, len)) == NULL) {
        e = ERR_INVALID_FIELD;
    } else {
        egress_url_mask(url, m);
        e = seal_param(r, w, url, msg, len);
        json_object_object_add(w->after, "proxy", json_object_new_string(m));
    }
    if (st.set.n == 1)
        egress_proxy_free(st.set.p);
    return e;
}
