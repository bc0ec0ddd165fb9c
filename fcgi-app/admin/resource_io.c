/* The request side and the answers of the admin layer: the JSON body,
 * query parameters and paging, member access, and the error and list
 * answers (declared in admin/resource.h). */
#include "admin/resource.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/utf8.h"
#include "http.h"

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
    struct json_object *o = rs_body_json(r), *faults;
    char msg[256];

    if (o == NULL)
        return NULL;
    /* Every bad field at once, so that a form shows them all together. */
    faults = json_object_new_array();
    if (valid_body_all(o, f, n, create, msg, sizeof(msg), faults) != ERR_OK) {
        reply_error_fields(r, ERR_INVALID_FIELD, msg, faults);
        json_object_put(o);
        return NULL;
    }
    json_object_put(faults);
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
