#include "admin/resource.h"

#include <errno.h>
#include <math.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/store.h"
#include "http.h"
#include "app.h"

/* JSON has no NaN or Infinity, though json-c reads them. */
static bool has_non_finite(struct json_object *o)
{
    size_t i;

    switch (json_object_get_type(o)) {
    case json_type_double:
        return !isfinite(json_object_get_double(o));
    case json_type_array:
        for (i = 0; i < json_object_array_length(o); i++)
            if (has_non_finite(json_object_array_get_idx(o, i)))
                return true;
        return false;
    case json_type_object: {
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            if (has_non_finite(v))
                return true;
        }
        return false;
    }
    default:
        return false;
    }
}

struct json_object *rs_body_json(struct req *r)
{
    struct json_tokener *tok;
    struct json_object *o;

    if (r->body.len == 0) {
        reply_error(r, ERR_INVALID_JSON, "the request needs a JSON body");
        return NULL;
    }
    if (!utf8_valid(r->body.data, r->body.len)) {
        reply_error(r, ERR_INVALID_JSON, "the body is not valid UTF-8");
        return NULL;
    }
    tok = json_tokener_new_ex(64);
    if (tok == NULL) {
        reply_error(r, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, r->body.data, (int)r->body.len);
    if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != r->body.len) {
        enum json_tokener_error e = json_tokener_get_error(tok);
        reply_error(r, ERR_INVALID_JSON, "malformed JSON at byte %zu: %s",
                    json_tokener_get_parse_end(tok),
                    e == json_tokener_success ? "unexpected data after the value"
                                              : json_tokener_error_desc(e));
        json_object_put(o);
        o = NULL;
    } else if (!json_object_is_type(o, json_type_object)) {
        reply_error(r, ERR_INVALID_JSON, "the body must be a JSON object");
        json_object_put(o);
        o = NULL;
    } else if (has_non_finite(o)) {
        reply_error(r, ERR_INVALID_JSON, "NaN and Infinity are not JSON numbers");
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

struct json_object *rs_body_valid(struct req *r, const struct vfield *f, size_t n, bool create)
{
    struct json_object *o = rs_body_json(r);
    char msg[256];

    if (o == NULL)
        return NULL;
    if (valid_body(o, f, n, create, msg, sizeof(msg)) != ERR_OK) {
        reply_error(r, ERR_INVALID_FIELD, "%s", msg);
        json_object_put(o);
        return NULL;
    }
    return o;
}

static bool parse_nonneg(const char *s, long long *out)
{
    char *end;
    long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool rs_page_params(struct req *r, long long *limit, long long *offset)
{
    char v[32];

    *limit = RS_PAGE_DEFAULT;
    *offset = 0;
    if (req_query_get(r, "limit", v, sizeof(v)) != QUERY_ABSENT &&
        (!parse_nonneg(v, limit) || *limit < 1 || *limit > RS_PAGE_MAX)) {
        reply_error(r, ERR_INVALID_FIELD, "limit: must be an integer from 1 to %d", RS_PAGE_MAX);
        return false;
    }
    if (req_query_get(r, "offset", v, sizeof(v)) != QUERY_ABSENT && !parse_nonneg(v, offset)) {
        reply_error(r, ERR_INVALID_FIELD, "offset: must be an integer of 0 or more");
        return false;
    }
    return true;
}

bool rs_query_text(struct req *r, const char *name, char *out, size_t outlen, bool *present)
{
    enum query_rc rc = req_query_get(r, name, out, outlen);

    if (rc == QUERY_MALFORMED) {
        reply_error(r, ERR_INVALID_FIELD, "%s: malformed percent-escape", name);
        return false;
    }
    *present = rc == QUERY_PRESENT && out[0] != '\0';
    return true;
}

bool rs_query_id(struct req *r, const char *name, long long *out)
{
    bool present;
    char v[32];

    *out = 0;
    if (!rs_query_text(r, name, v, sizeof(v), &present))
        return false;
    if (!present)
        return true;
    if (!parse_nonneg(v, out) || *out <= 0) {
        reply_error(r, ERR_INVALID_FIELD, "%s: must be a positive integer", name);
        return false;
    }
    return true;
}

bool rs_query_time_ms(struct req *r, const char *name, long long *ms, bool *present)
{
    char v[64];

    *ms = 0;
    if (!rs_query_text(r, name, v, sizeof(v), present))
        return false;
    if (*present && clock_parse_time_ms(v, ms) != 0) {
        reply_error(r, ERR_INVALID_FIELD,
                    "%s: must be an RFC 3339 time such as 2026-11-29T01:02:03Z", name);
        return false;
    }
    return true;
}

void rs_reply_db_error(struct req *r, enum err e, const char *what)
{
    if (e == ERR_DB_UNAVAILABLE)
        reply_error(r, ERR_DB_UNAVAILABLE, "the database is unreachable; try again shortly");
    else if (e == ERR_CONFLICT)
        reply_error(r, ERR_CONFLICT, "%s", what);
    else if (e == ERR_DB_BUSY)
        reply_error(r, ERR_DB_BUSY, "the database stayed busy (lock conflicts); try again");
    else
        reply_error(r, ERR_INTERNAL, "a database error occurred (see the application log)");
}

void rs_reply_hook_error(struct req *r, enum err e, const char *msg)
{
    if (msg[0] != '\0')
        reply_error(r, e, "%s", msg);
    else
        rs_reply_db_error(r, e, "");
}

void rs_reply_list(struct req *r, struct json_object *items, long long total)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "items", items);
    json_object_object_add(o, "total", json_object_new_int64(total));
    reply_json(r, 200, o);
}

struct json_object *rs_row_json(const struct vfield *f, size_t n, const struct db_res *res,
                                unsigned row)
{
    struct json_object *o = json_object_new_object();
    unsigned col = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        const char *v;
        struct json_object *jv = NULL;

        if (f[i].flags & VF_WRITEONLY)
            continue;
        v = db_val(res, row, col++);
        if (v != NULL) {
            switch (f[i].type) {
            case VT_INT:
                jv = json_object_new_int64(strtoll(v, NULL, 10));
                break;
            case VT_BOOL:
                jv = json_object_new_boolean(v[0] == '1');
                break;
            case VT_STRING:
            case VT_TIME:
                jv = json_object_new_string(v);
                break;
            case VT_INT_LIST:
            case VT_ARRAY:
            case VT_OBJECT:
                jv = json_tokener_parse(v);
                break;
            }
        }
        json_object_object_add(o, f[i].name, jv);
    }
    return o;
}

unsigned rs_row_params(const struct vfield *f, size_t n, struct json_object *obj,
                       struct db_param *p, char (*tbuf)[24])
{
    unsigned k = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        struct json_object *v = NULL;

        if (f[i].flags & (VF_READONLY | VF_WRITEONLY))
            continue;
        json_object_object_get_ex(obj, f[i].name, &v);
        if (v == NULL || json_object_is_type(v, json_type_null)) {
            p[k++] = DB_NULL;
            continue;
        }
        switch (f[i].type) {
        case VT_INT:
            p[k++] = DB_INT(json_object_get_int64(v));
            break;
        case VT_BOOL:
            p[k++] = DB_INT(json_object_get_boolean(v) ? 1 : 0);
            break;
        case VT_STRING:
            p[k++] = DB_STRN(json_object_get_string(v), json_object_get_string_len(v));
            break;
        case VT_TIME: {
            time_t t = 0;
            struct tm tm;
            clock_parse_time(json_object_get_string(v), &t);
            gmtime_r(&t, &tm);
            strftime(tbuf[i], sizeof(tbuf[i]), "%Y-%m-%d %H:%M:%S", &tm);
            p[k++] = DB_STR(tbuf[i]);
            break;
        }
        case VT_INT_LIST:
        case VT_ARRAY:
        case VT_OBJECT: {
            size_t len;
            const char *text = json_text(v, &len);
            p[k++] = DB_STRN(text, len);
            break;
        }
        }
    }
    return k;
}

void rs_merge_patch(const struct vfield *f, size_t n, struct json_object *obj,
                    struct json_object *patch)
{
    json_object_object_foreach(patch, key, val)
    {
        const struct vfield *fd = valid_find(f, n, key);
        if (fd == NULL || (fd->flags & VF_READONLY))
            continue;
        json_object_object_add(obj, key, json_object_get(val));
    }
}

const char *rs_jstr(struct json_object *o, const char *name)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

long long rs_jint(struct json_object *o, const char *name, long long def)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
        return def;
    return json_object_get_int64(v);
}

bool rs_jbool(struct json_object *o, const char *name, bool def)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_boolean))
        return def;
    return json_object_get_boolean(v);
}

int rs_fetch(struct req *r, const struct resource *rs, long long id, struct json_object **out)
{
    struct db_res res;
    int rc = db_query(r->w->db, rs->sql_get, DB_ARGS(DB_INT(id)), &res);

    *out = NULL;
    if (rc == DB_OK && res.nrows > 0)
        *out = rs_row_json(rs->fields, rs->nfields, &res, 0);
    db_res_free(&res);
    return rc;
}

void rs_list(struct req *r, const struct resource *rs, const char *sql_page, const char *sql_count,
             const struct db_param *filters, unsigned nfilters)
{
    struct db_param p[16];
    struct db_res res, count;
    long long limit, offset;
    unsigned i;
    int rc;

    if (!rs_page_params(r, &limit, &offset))
        return;
    for (i = 0; i < nfilters && i < 14; i++)
        p[i] = filters[i];
    p[i++] = DB_INT(limit);
    p[i++] = DB_INT(offset);
    memset(&count, 0, sizeof(count));
    rc = db_query(r->w->db, sql_page, p, i, &res);
    if (rc == DB_OK)
        rc = db_query(r->w->db, sql_count, p, i - 2, &count);
    if (rc != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
    } else {
        struct json_object *items = json_object_new_array();
        for (i = 0; i < res.nrows; i++)
            json_object_array_add(items, rs_row_json(rs->fields, rs->nfields, &res, i));
        rs_reply_list(r, items, db_int(&count, 0, 0));
    }
    db_res_free(&res);
    db_res_free(&count);
}

void rs_get(struct req *r, const struct resource *rs, long long id)
{
    struct json_object *o;
    int rc = rs_fetch(r, rs, id, &o);

    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else if (o == NULL)
        reply_error(r, ERR_NOT_FOUND, "%s %lld does not exist", rs->noun, id);
    else
        reply_json(r, 200, o);
}

void rs_reply_created(struct req *r, const struct resource *rs, long long id)
{
    struct json_object *o;
    int rc = rs_fetch(r, rs, id, &o);

    if (rc != DB_OK || o == NULL)
        rs_reply_db_error(r, rc == DB_OK ? ERR_INTERNAL : err_from_db(rc), "");
    else
        reply_json(r, 201, o);
}

void rs_delete(struct req *r, const struct resource *rs, long long id)
{
    unsigned long long n = 0;
    int rc = db_exec(r->w->db, rs->sql_delete, DB_ARGS(DB_INT(id)), &n, NULL);

    if (rc == DB_OK && n > 0 && rs->bumps_pool)
        rc = store_bump_version(r->w->db);
    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else if (n == 0)
        reply_error(r, ERR_NOT_FOUND, "%s %lld does not exist", rs->noun, id);
    else
        reply_empty(r, 204);
}

/* Fields set at creation may be sent again (a GET body sent back), but
 * not changed. */
static enum err check_fixed(const struct resource *rs, struct rs_update_ctx *u, char *msg,
                            size_t len)
{
    size_t i;

    for (i = 0; i < rs->nfields; i++) {
        struct json_object *a = NULL, *b = NULL;
        if (!(rs->fields[i].flags & VF_NOUPDATE) ||
            !json_object_object_get_ex(u->patch, rs->fields[i].name, NULL))
            continue;
        json_object_object_get_ex(u->before, rs->fields[i].name, &a);
        json_object_object_get_ex(u->patch, rs->fields[i].name, &b);
        if ((rs->fields[i].flags & VF_WRITEONLY) || !json_object_equal(a, b)) {
            snprintf(msg, len, "%s: cannot be changed after creation", rs->fields[i].name);
            return ERR_INVALID_FIELD;
        }
    }
    return ERR_OK;
}

static void update_locked(struct req *r, const struct resource *rs, struct rs_update_ctx *u,
                          rs_update_hook hook)
{
    struct db *db = r->w->db;
    struct db_param p[64];
    char tbuf[64][24], msg[256] = "";
    struct db_res res;
    unsigned n, i;
    enum err e;
    int rc;

    if ((rc = db_begin(db)) != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
        return;
    }
    rc = db_query(db, rs->sql_lock, DB_ARGS(DB_INT(u->id)), &res);
    if (rc != DB_OK || res.nrows == 0) {
        db_res_free(&res);
        db_rollback(db);
        if (rc != DB_OK)
            rs_reply_db_error(r, err_from_db(rc), "");
        else
            reply_error(r, ERR_NOT_FOUND, "%s %lld does not exist", rs->noun, u->id);
        return;
    }
    u->before = rs_row_json(rs->fields, rs->nfields, &res, 0);
    u->after = rs_row_json(rs->fields, rs->nfields, &res, 0);
    db_res_free(&res);
    rs_merge_patch(rs->fields, rs->nfields, u->after, u->patch);
    e = check_fixed(rs, u, msg, sizeof(msg));
    if (e == ERR_OK && hook != NULL)
        e = hook(r, u, msg, sizeof(msg));
    if (e != ERR_OK) {
        db_rollback(db);
        rs_reply_hook_error(r, e, msg);
        return;
    }
    n = rs_row_params(rs->fields, rs->nfields, u->after, p, tbuf);
    for (i = 0; i < u->nextra; i++)
        p[n++] = u->extra[i];
    p[n++] = DB_INT(u->id);
    rc = db_exec(db, rs->sql_update, p, n, NULL, NULL);
    if (rc == DB_OK && rs->bumps_pool)
        rc = store_bump_version(db);
    if (rc == DB_OK)
        rc = db_commit(db);
    else
        db_rollback(db);
    if (rc != DB_OK) {
        snprintf(msg, sizeof(msg), "name: another %s already has this name", rs->noun);
        rs_reply_db_error(r, err_from_db(rc), msg);
        return;
    }
    rs_get(r, rs, u->id);
}

void rs_update(struct req *r, const struct resource *rs, long long id, rs_update_hook hook)
{
    struct rs_update_ctx u;

    memset(&u, 0, sizeof(u));
    u.id = id;
    u.patch = rs_body_valid(r, rs->fields, rs->nfields, false);
    if (u.patch == NULL)
        return;
    update_locked(r, rs, &u, hook);
    json_object_put(u.patch);
    json_object_put(u.before);
    json_object_put(u.after);
    free(u.owned);
}
