#include "core/valid.h"

#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/utf8.h"

const struct vfield *valid_find(const struct vfield *f, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}

static const char *type_name(enum vtype t)
{
    switch (t) {
    case VT_STRING:
        return "a string";
    case VT_INT:
        return "an integer";
    case VT_BOOL:
        return "true or false";
    case VT_TIME:
        return "an RFC 3339 time such as 2026-11-29T01:02:03Z";
    case VT_INT_LIST:
        return "an array of ids";
    case VT_ARRAY:
        return "an array";
    case VT_OBJECT:
        return "an object";
    case VT_NUMBER:
        return "a number";
    }
    return "?";
}

/* Checks one present value; returns NULL or why it is wrong (in buf). */
static const char *check_value(const struct vfield *f, struct json_object *v, char *buf, size_t len)
{
    enum json_type t = json_object_get_type(v);
    const char *why;

    if (t == json_type_null) {
        if (f->flags & VF_NULLABLE)
            return NULL;
        snprintf(buf, len, "must be %s, not null", type_name(f->type));
        return buf;
    }
    switch (f->type) {
    case VT_STRING: {
        size_t n;
        if (t != json_type_string)
            break;
        n = (size_t)json_object_get_string_len(v);
        if ((long long)n < f->min || (long long)n > f->max) {
            snprintf(buf, len, "length must be %lld to %lld", f->min, f->max);
            return buf;
        }
        if (strlen(json_object_get_string(v)) != n)
            return "must not contain NUL characters";
        if (!utf8_valid(json_object_get_string(v), n))
            return "must be valid UTF-8";
        if (f->check != NULL && (why = f->check(json_object_get_string(v))) != NULL)
            return why;
        return NULL;
    }
    case VT_INT: {
        long long x;
        if (t != json_type_int)
            break;
        x = json_object_get_int64(v);
        if (x < f->min || x > f->max) {
            snprintf(buf, len, "must be between %lld and %lld", f->min, f->max);
            return buf;
        }
        return NULL;
    }
    case VT_BOOL:
        if (t != json_type_boolean)
            break;
        return NULL;
    case VT_TIME: {
        time_t tt;
        if (t != json_type_string || clock_parse_time(json_object_get_string(v), &tt) != 0)
            break;
        return NULL;
    }
    case VT_INT_LIST: {
        size_t i, n;
        if (t != json_type_array)
            break;
        n = json_object_array_length(v);
        if ((long long)n < f->min || (long long)n > f->max) {
            snprintf(buf, len, "must have %lld to %lld items", f->min, f->max);
            return buf;
        }
        for (i = 0; i < n; i++) {
            struct json_object *e = json_object_array_get_idx(v, i);
            if (json_object_get_type(e) != json_type_int || json_object_get_int64(e) <= 0) {
                snprintf(buf, len, "item %zu must be a positive integer", i);
                return buf;
            }
        }
        return NULL;
    }
    case VT_ARRAY:
        if (t != json_type_array)
            break;
        return NULL;
    case VT_OBJECT:
        if (t != json_type_object && t != json_type_array)
            break;
        return NULL;
    case VT_NUMBER: {
        double x;
        if (t != json_type_int && t != json_type_double)
            break;
        x = json_object_get_double(v);
        if (!(x >= (double)f->min && x <= (double)f->max)) {
            snprintf(buf, len, "must be a number from %lld to %lld", f->min, f->max);
            return buf;
        }
        return NULL;
    }
    }
    snprintf(buf, len, "must be %s", type_name(f->type));
    return buf;
}

/* Records one fault: the first goes into msg, each into faults. */
static void fault(char *msg, size_t msglen, bool *any, struct json_object *faults,
                  const char *field, int fieldlen, const char *what)
{
    if (!*any)
        snprintf(msg, msglen, "%.*s: %s", fieldlen, field, what);
    *any = true;
    /* A body of thousands of unknown members gets a bounded answer. */
    if (faults != NULL && json_object_array_length(faults) < VALID_FAULTS_MAX) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "field", json_object_new_string_len(field, fieldlen));
        json_object_object_add(o, "message", json_object_new_string(what));
        json_object_array_add(faults, o);
    }
}

enum err valid_body_all(struct json_object *body, const struct vfield *f, size_t n, bool create,
                        char *msg, size_t msglen, struct json_object *faults)
{
    char why[160];
    bool any = false;
    size_t i;

    if (!json_object_is_type(body, json_type_object)) {
        fault(msg, msglen, &any, faults, "body", 4, "must be a JSON object");
        return ERR_INVALID_FIELD;
    }
    json_object_object_foreach(body, key, val)
    {
        const struct vfield *fd = valid_find(f, n, key);
        const char *bad;
        if (fd == NULL) {
            /* At most 64 bytes of the name, cut on a character boundary so
             * that the error stays valid UTF-8. */
            size_t shown = strlen(key) > 64 ? utf8_floor(key, 64) : strlen(key);
            fault(msg, msglen, &any, faults, key, (int)shown, "unknown field");
            continue;
        }
        if (fd->flags & VF_READONLY)
            continue; /* a GET body sent back is fine; read-only values are ignored */
        bad = check_value(fd, val, why, sizeof(why));
        if (bad != NULL)
            fault(msg, msglen, &any, faults, key, (int)strlen(key), bad);
    }
    if (create) {
        for (i = 0; i < n; i++) {
            if ((f[i].flags & VF_REQUIRED) && !json_object_object_get_ex(body, f[i].name, NULL))
                fault(msg, msglen, &any, faults, f[i].name, (int)strlen(f[i].name), "required");
        }
    }
    return any ? ERR_INVALID_FIELD : ERR_OK;
}

enum err valid_body(struct json_object *body, const struct vfield *f, size_t n, bool create,
                    char *msg, size_t msglen)
{
    return valid_body_all(body, f, n, create, msg, msglen, NULL);
}

void valid_defaults(struct json_object *obj, const struct vfield *f, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (f[i].def == NULL || json_object_object_get_ex(obj, f[i].name, NULL))
            continue;
        json_object_object_add(obj, f[i].name, json_tokener_parse(f[i].def));
    }
}

const char *check_name_slug(const char *s)
{
    for (; *s != '\0'; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' || *s == '-'))
            return "use only a-z, 0-9, _ and -";
    return NULL;
}

const char *check_no_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return "must not contain control characters";
    return NULL;
}

const char *check_http_url(const char *s)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL, *query = NULL, *frag = NULL;
    const char *why = NULL;

    if (check_no_ctl(s) != NULL || strchr(s, ' ') != NULL)
        return "must not contain spaces or control characters";
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return "must start with http:// or https://";
    u = curl_url();
    if (u == NULL)
        return "cannot be parsed";
    if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        why = "is not a valid URL";
    else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
        why = "must not have a query or fragment";
    else if (strchr(s, '@') != NULL)
        why = "must not hold credentials (user@host)";
    curl_free(scheme);
    curl_free(host);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    return why;
}

bool http_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_token(const char *s)
{
    for (; *s != '\0'; s++)
        if (!http_tchar((unsigned char)*s))
            return false;
    return true;
}

const char *check_header_name(const char *s)
{
    return http_token(s) ? NULL : "must be an HTTP header name (letters, digits and -)";
}

const char *check_url_path(const char *s)
{
    if (s[0] != '/')
        return "must start with /";
    if (check_no_ctl(s) != NULL || strchr(s, ' ') != NULL)
        return "must not contain spaces or control characters";
    return NULL;
}

const char *check_query_name(const char *s)
{
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return "use only letters, digits, _, . and -";
    return NULL;
}
