/* The values the upstream's script sees (hook.h): req from the client's
 * request, ctx, and res from an attempt's answer; and the query string
 * written back from req.query. */
#include "proxy/hook.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mask.h"
#include "core/pool.h"
#include "core/utf8.h"
#include "core/rule/rule.h"
#include "core/url.h"
#include "http.h"
#include "proxy/credential.h"
#include "proxy/path.h"
#include "proxy/proxy.h"
#include "proxy/upstream_req.h"

#define HEADER_NAME_MAX 256

/* Adds value to the array under name in o (made when absent). */
static void add_value(json_object *o, const char *name, json_object *value)
{
    json_object *arr;

    if (!json_object_object_get_ex(o, name, &arr)) {
        arr = json_object_new_array();
        json_object_object_add(o, name, arr);
    }
    json_object_array_add(arr, value);
}

/* Decodes n bytes of a query item's part into a new string (NULL: bad). */
static char *decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    long len = out != NULL ? url_decode(s, n, true, out, n + 1) : -1;

    if (len < 0) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* The query as an object: name -> array of strings, without the client's
 * ?key= token and the key's own parameter.  Items that do not decode are
 * left out. */
static json_object *query_object(const struct proxy *px)
{
    json_object *o = json_object_new_object();
    const char *q = px->r->query;

    while (q != NULL && *q != '\0') {
        size_t len = strcspn(q, "&"), nlen = strcspn(q, "=&");
        char *name = decode(q, nlen < len ? nlen : len);
        char *value = nlen < len ? decode(q + nlen + 1, len - nlen - 1) : strdup("");
        if (name != NULL && value != NULL && name[0] != '\0' &&
            !(px->strip[CRED_QUERY] && strcmp(name, "key") == 0) &&
            !(px->up->auth_query_param != NULL && strcmp(name, px->up->auth_query_param) == 0))
            add_value(o, name, json_object_new_string(value));
        free(name);
        free(value);
        q += len + (q[len] == '&');
    }
    return o;
}

/* The client's headers, names in lower case, less those that never pass
 * on (the client's token among them); Content-Type included. */
static json_object *headers_object(const struct proxy *px)
{
    json_object *o = json_object_new_object();
    const char *conn = req_header(px->r, "Connection");
    char **e, name[HEADER_NAME_MAX];
    size_t i;

    for (e = px->r->env; e != NULL && *e != NULL; e++) {
        const char *value = upstream_req_env_header(px, conn, *e, name, sizeof(name));
        if (value == NULL)
            continue;
        for (i = 0; name[i] != '\0'; i++)
            name[i] = (char)tolower((unsigned char)name[i]);
        json_object_object_add(o, name, json_object_new_string(value));
    }
    return o;
}

json_object *hook_req_build(const struct proxy *px, size_t body_limit)
{
    json_object *req = json_object_new_object(), *json;
    const struct buf *b = &px->r->body;
    size_t n = b->len > body_limit ? utf8_floor(b->data, body_limit) : b->len;
    /* A body that is not UTF-8 text is null to scripts: the engine would
     * read it as other characters, and handing that back would rewrite a
     * binary body that the script never touched. */
    bool text = b->len > 0 && utf8_valid(b->data, n);
    struct buf path;

    buf_init(&path, PROXY_URL_MAX);
    buf_printf(&path, "/%s", px->rest != NULL ? px->rest : "");
    json_object_object_add(req, "method", json_object_new_string(px->r->method));
    json_object_object_add(req, "path", json_object_new_string(buf_str(&path)));
    json_object_object_add(req, "query", query_object(px));
    json_object_object_add(req, "headers", headers_object(px));
    json_object_object_add(req, "body", text ? json_object_new_string_len(b->data, (int)n) : NULL);
    json_object_object_add(req, "body_truncated", json_object_new_boolean(n < b->len));
    json = n == b->len ? rule_script_json(b->data, b->len) : NULL;
    if (json != NULL)
        json_object_object_add(req, "json", json);
    buf_free(&path);
    return req;
}

json_object *hook_ctx_build(const struct proxy *px)
{
    json_object *ctx = json_object_new_object();

    json_object_object_add(ctx, "request_id", json_object_new_string(px->r->id));
    json_object_object_add(ctx, "upstream", json_object_new_string(px->up->name));
    json_object_object_add(ctx, "token",
                           px->token != NULL && px->token->name != NULL
                               ? json_object_new_string(px->token->name)
                               : NULL);
    json_object_object_add(ctx, "now_ms", json_object_new_int64(clock_wall_ms()));
    return ctx;
}

json_object *hook_res_build(const struct pool_key *k, const struct rule_input *in,
                            const struct mask_secret *secret, int attempt_no)
{
    json_object *res = rule_script_res(in, secret), *key = json_object_new_object();

    json_object_object_add(res, "attempt", json_object_new_int(attempt_no));
    json_object_object_add(key, "id", json_object_new_int64(k->id));
    json_object_object_add(key, "name", k->name != NULL ? json_object_new_string(k->name) : NULL);
    json_object_object_add(key, "masked", json_object_new_string(k->masked));
    json_object_object_add(res, "key", key);
    return res;
}

/* Appends s percent-encoded (all but unreserved characters).  Returns 0,
 * or -1 when out's cap was reached. */
static int encode(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            rc |= buf_append(out, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc |= buf_append(out, e, 3);
        }
    }
    return rc;
}

char *hook_query_string(json_object *query)
{
    struct buf out;
    char *s;
    size_t i;
    int rc = 0;

    if (!json_object_is_type(query, json_type_object))
        return NULL;
    buf_init(&out, PROXY_URL_MAX);
    json_object_object_foreach(query, name, values)
    {
        size_t n =
            json_object_is_type(values, json_type_array) ? json_object_array_length(values) : 1;
        for (i = 0; i < n; i++) {
            json_object *v = json_object_is_type(values, json_type_array)
                                 ? json_object_array_get_idx(values, i)
                                 : values;
            if (out.len > 0)
                rc |= buf_append(&out, "&", 1);
            rc |= encode(&out, name);
            rc |= buf_append(&out, "=", 1);
            rc |= encode(&out, v != NULL ? json_object_get_string(v) : "");
        }
    }
    s = rc == 0 ? strdup(buf_str(&out)) : NULL;
    buf_free(&out);
    return s;
}
