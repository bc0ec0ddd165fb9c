/* The limits of upstream scripts in the admin API and the compile check of
 * an upstream's `script` field. */
#include "admin/scripts.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/valid.h"
#include "http.h"

void admin_script_limits(const struct req *r, struct script_limits *lim)
{
    const struct config *cfg = r != NULL ? r->cfg : NULL;

    lim->timeout_ms = cfg != NULL ? (unsigned)cfg->script_timeout_ms : SCRIPT_TIMEOUT_MS_DEFAULT;
    lim->memory_kb = cfg != NULL ? (unsigned)cfg->script_memory_kb : SCRIPT_MEMORY_KB_DEFAULT;
}

enum err admin_script_check(const struct req *r, struct json_object *obj, char *msg, size_t msglen)
{
    struct json_object *v = NULL;
    struct script_limits lim;
    struct script_error err;
    struct script *s;

    if (!json_object_object_get_ex(obj, "script", &v) || !json_object_is_type(v, json_type_string))
        return ERR_OK;
    admin_script_limits(r, &lim);
    s = script_compile(SCRIPT_FORM_HOOKS, json_object_get_string(v),
                       (size_t)json_object_get_string_len(v), &lim, &err);
    if (s != NULL) {
        script_free(s);
        return ERR_OK;
    }
    if (err.line > 0)
        snprintf(msg, msglen, "script: line %d: %s (%s)", err.line, err.message,
                 script_kind_name(err.kind));
    else
        snprintf(msg, msglen, "script: %s (%s)", err.message, script_kind_name(err.kind));
    return ERR_INVALID_FIELD;
}

bool admin_script_headers(struct req *r, struct json_object *src, const char *where,
                          struct json_object **out)
{
    *out = json_object_new_object();
    if (src == NULL)
        return true;
    if (!json_object_is_type(src, json_type_object) ||
        json_object_object_length(src) > ADMIN_SCRIPT_HEADERS_MAX) {
        reply_error(r, ERR_INVALID_FIELD, "%s: must be an object of at most %d strings", where,
                    ADMIN_SCRIPT_HEADERS_MAX);
        return false;
    }
    json_object_object_foreach(src, name, value)
    {
        char low[129];
        size_t i, n = strlen(name);
        if (!json_object_is_type(value, json_type_string) || n == 0 || n >= sizeof(low) ||
            check_header_name(name) != NULL) {
            reply_error(r, ERR_INVALID_FIELD,
                        "%s.%.40s: must be a header name (an HTTP token) with a string value",
                        where, name);
            return false;
        }
        for (i = 0; i <= n; i++)
            low[i] = (char)tolower((unsigned char)name[i]);
        json_object_object_add(*out, low, json_object_get(value));
    }
    return true;
}

bool admin_script_query(struct req *r, struct json_object *src, struct json_object **out)
{
    *out = json_object_new_object();
    if (src == NULL)
        return true;
    if (!json_object_is_type(src, json_type_object)) {
        reply_error(r, ERR_INVALID_FIELD, "request.query: must be an object");
        return false;
    }
    json_object_object_foreach(src, name, value)
    {
        size_t i, n = 0;
        bool ok = json_object_is_type(value, json_type_string);
        if (json_object_is_type(value, json_type_array)) {
            n = json_object_array_length(value);
            for (ok = true, i = 0; i < n; i++)
                ok = ok &&
                     json_object_is_type(json_object_array_get_idx(value, i), json_type_string);
        }
        if (!ok) {
            reply_error(r, ERR_INVALID_FIELD,
                        "request.query.%.40s: must be a string or an array of strings", name);
            return false;
        }
        if (json_object_is_type(value, json_type_string)) {
            struct json_object *a = json_object_new_array();
            json_object_array_add(a, json_object_get(value));
            json_object_object_add(*out, name, a);
        } else {
            json_object_object_add(*out, name, json_object_get(value));
        }
    }
    return true;
}
