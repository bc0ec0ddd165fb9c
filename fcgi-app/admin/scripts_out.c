/* The outgoing request a dry run shows, and req as onResponse sees it
 * (scripts_run.h). */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/resource.h"
#include "admin/scripts_run.h"
#include "app.h"
#include "core/buf.h"
#include "core/config.h"
#include "http.h"

/* The key's header value: the template with every {key} as `<key>`. */
static struct json_object *key_value(const char *tpl)
{
    struct json_object *v;
    struct buf b;

    buf_init(&b, 1024);
    buf_subst(&b, tpl, "{key}", "<key>", 5);
    v = json_object_new_string(buf_str(&b));
    buf_free(&b);
    return v;
}

/* A field onRequest changed (and whose change was taken). */
static const struct script_field *changed_field(const struct run *t, int i)
{
    return t->taken && t->req_f[i].changed ? &t->req_f[i] : NULL;
}

/* A string of n bytes as a JSON string. */
static struct json_object *jstr(const char *s, size_t n)
{
    return json_object_new_string_len(s, (int)n);
}

/* The outgoing headers: the script's, less those it cannot set (listed in
 * "dropped_headers"), with the key's header (unless the key goes in the
 * query) and Content-Length. */
static struct json_object *out_headers(struct run *t, const struct script_pair *p, size_t n,
                                       const char *body, size_t body_len)
{
    const char *auth = rs_jstr(t->in, "auth_header"), *qp = rs_jstr(t->in, "auth_query_param");
    struct json_object *h = json_object_new_object(), *dropped = json_object_new_array();
    char name[SCRIPT_HEADER_NAME_MAX + 1], low[129], len[24];
    size_t i;

    if (auth == NULL)
        auth = "Authorization";
    for (i = 0; auth[i] != '\0' && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)auth[i]);
    low[i] = '\0';
    for (i = 0; i < n; i++) {
        size_t k = p[i].name_len < SCRIPT_HEADER_NAME_MAX ? p[i].name_len : SCRIPT_HEADER_NAME_MAX;
        memcpy(name, p[i].name, k);
        name[k] = '\0';
        if (script_header_fixed(name) || (qp == NULL && strcasecmp(name, low) == 0))
            json_object_array_add(dropped, json_object_new_string(name));
        else
            json_object_object_add(h, name, jstr(p[i].value, p[i].value_len));
    }
    if (qp == NULL) {
        const char *tpl = rs_jstr(t->in, "auth_template");
        json_object_object_add(h, low, key_value(tpl != NULL ? tpl : "Bearer {key}"));
    }
    if (body != NULL) {
        snprintf(len, sizeof(len), "%zu", body_len);
        json_object_object_add(h, "content-length", json_object_new_string(len));
    }
    json_object_object_add(t->out, "dropped_headers", dropped);
    return h;
}

/* The query as an object of names to arrays of strings, with the key's
 * parameter as `<key>` when the key goes in the query. */
static struct json_object *out_query(struct run *t, const struct script_pair *p, size_t n)
{
    struct json_object *q = json_object_new_object(), *arr;
    const char *qp = rs_jstr(t->in, "auth_query_param");
    char *name;
    size_t i;

    for (i = 0; i < n; i++) {
        if ((name = strndup(p[i].name, p[i].name_len)) == NULL)
            continue;
        if (!json_object_object_get_ex(q, name, &arr)) {
            arr = json_object_new_array();
            json_object_object_add(q, name, arr);
        }
        json_object_array_add(arr, jstr(p[i].value, p[i].value_len));
        free(name);
    }
    if (qp != NULL) {
        arr = json_object_new_array();
        json_object_array_add(arr, json_object_new_string("<key>"));
        json_object_object_add(q, qp, arr);
    }
    return q;
}

/* Sets "request" (the outgoing request in full) and "changed" (the parts
 * onRequest changed). */
void admin_script_test_outgoing(struct run *t)
{
    const struct script_field *m = changed_field(t, REQ_METHOD), *p = changed_field(t, REQ_PATH),
                              *q = changed_field(t, REQ_QUERY), *h = changed_field(t, REQ_HEADERS);
    struct json_object *o = json_object_new_object(), *changed = json_object_new_array();
    const char *body = t->req_f[REQ_BODY].s;
    size_t body_len = t->req_f[REQ_BODY].len;
    bool new_body = t->taken && script_req_new_body(t->req_f, &body, &body_len);
    const char *orig = rs_jstr(json_object_object_get(t->in, "request"), "body");

    if (!new_body && orig != NULL) {
        /* The body as given (the script saw at most script_body_limit). */
        body = orig;
        body_len = strlen(orig);
    }
    json_object_object_add(o, "method",
                           m != NULL ? jstr(m->out_s, m->out_len)
                                     : json_object_new_string(t->req_f[REQ_METHOD].s));
    json_object_object_add(o, "path",
                           p != NULL ? jstr(p->out_s, p->out_len)
                                     : jstr(t->req_f[REQ_PATH].s, t->req_f[REQ_PATH].len));
    json_object_object_add(o, "query",
                           q != NULL ? out_query(t, q->out_pairs, q->out_npairs)
                                     : out_query(t, t->query_pairs, t->nquery));
    json_object_object_add(o, "headers",
                           h != NULL
                               ? out_headers(t, h->out_pairs, h->out_npairs, body, body_len)
                               : out_headers(t, t->header_pairs, t->nheaders, body, body_len));
    json_object_object_add(o, "body", body != NULL ? jstr(body, body_len) : NULL);
    if (m != NULL)
        json_object_array_add(changed, json_object_new_string("method"));
    if (p != NULL)
        json_object_array_add(changed, json_object_new_string("path"));
    if (q != NULL)
        json_object_array_add(changed, json_object_new_string("query"));
    if (h != NULL)
        json_object_array_add(changed, json_object_new_string("headers"));
    if (new_body)
        json_object_array_add(changed, json_object_new_string("body"));
    json_object_object_add(t->out, "request", o);
    json_object_object_add(t->out, "changed", changed);
}

/* Takes the changed value of field i (its text or its pairs) out of it. */
static void steal(struct run *t, int i, char **text, struct script_pair **pairs, char **store)
{
    struct script_field *f = &t->req_f[i];

    if (!t->taken || !f->changed)
        return;
    *text = f->out_s;
    f->out_s = NULL;
    if (pairs != NULL) {
        *pairs = f->out_pairs;
        *store = f->out_store;
        f->out_pairs = NULL;
        f->out_store = NULL;
    }
}

/* Describes req again as it would go out (with onRequest's taken
 * changes), for onResponse, as the proxy does after applying them. */
void admin_script_test_forwarded(struct run *t)
{
    struct script_field *f = t->req_f;
    size_t nq = changed_field(t, REQ_QUERY) ? f[REQ_QUERY].out_npairs : t->nquery;
    size_t nh = changed_field(t, REQ_HEADERS) ? f[REQ_HEADERS].out_npairs : t->nheaders;
    const char *method = f[REQ_METHOD].s, *path = f[REQ_PATH].s, *body = NULL;
    size_t path_len = f[REQ_PATH].len, body_len = 0;
    char *unused = NULL;

    if (!t->taken)
        return;
    if (script_req_new_body(f, &body, &body_len)) {
        t->fwd_body = malloc(body_len + 1);
        if (t->fwd_body != NULL)
            memcpy(t->fwd_body, body, body_len);
    } else {
        body = rs_jstr(json_object_object_get(t->in, "request"), "body");
        body_len = body != NULL ? strlen(body) : 0;
    }
    steal(t, REQ_METHOD, &t->fwd_method, NULL, NULL);
    steal(t, REQ_PATH, &t->fwd_path, NULL, NULL);
    steal(t, REQ_QUERY, &unused, &t->fwd_query, &t->fwd_qstore);
    steal(t, REQ_HEADERS, &unused, &t->fwd_headers, &t->fwd_hstore);
    if (t->fwd_method != NULL)
        method = t->fwd_method;
    if (t->fwd_path != NULL) {
        path = t->fwd_path;
        path_len = strlen(path);
    }
    script_obj_clear(&t->req);
    script_req_fields(f, method, path, path_len, t->fwd_body != NULL ? t->fwd_body : body, body_len,
                      (size_t)t->r->cfg->script_body_limit);
    f[REQ_QUERY].pairs = t->fwd_query != NULL ? t->fwd_query : t->query_pairs;
    f[REQ_QUERY].npairs = nq;
    f[REQ_HEADERS].pairs = t->fwd_headers != NULL ? t->fwd_headers : t->header_pairs;
    f[REQ_HEADERS].npairs = nh;
}
