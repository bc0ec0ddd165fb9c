/*
 * The admin side of the shaping preview (fcgi-app/shape_preview.h): reads
 * the sample request, with a cap on every part, and the upstream's row
 * with the draft of its shaping fields merged in, checked as a save checks
 * them, so that the admin page can preview what it has not saved yet.
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/resource.h"
#include "admin/scripts.h"
#include "app.h"
#include "core/buf.h"
#include "core/header_rules.h"
#include "core/nelem.h"
#include "core/shape.h"
#include "http.h"
#include "shape_preview.h"

#define PREVIEW_HEADERS_MAX      100
#define PREVIEW_HEADER_NAME_MAX  128
#define PREVIEW_HEADER_VALUE_MAX 8192

/* The proxy takes any method that is an HTTP token. */
static const char *check_token_method(const char *s)
{
    return http_token(s) ? NULL : "must be an HTTP method such as GET or POST";
}

static const struct vfield in_fields[] = {
    {.name = "method",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 16,
     .check = check_token_method},
    {.name = "path",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 4096,
     .check = check_url_path},
    {.name = "headers", .type = VT_OBJECT, .flags = VF_NULLABLE},
    {.name = "upstream", .type = VT_OBJECT, .flags = VF_NULLABLE},
    {.name = "token",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 64,
     .check = check_no_ctl},
};

/* The upstream fields a draft may hold. */
static const char *const draft_names[] = {"header_rules", "strip_forwarding_headers", "model_allow",
                                          "model_map", "body_set"};

/* The CGI variable the web server passes a header as: CONTENT_TYPE, or
 * HTTP_ and the name in upper case with '-' as '_'. */
static void env_name(const char *name, char *out, size_t outlen)
{
    size_t i, o = 0;

    if (strcasecmp(name, "content-type") == 0) {
        snprintf(out, outlen, "CONTENT_TYPE");
        return;
    }
    o = (size_t)snprintf(out, outlen, "HTTP_");
    for (i = 0; name[i] != '\0' && o + 1 < outlen; i++)
        out[o++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
    out[o] = '\0';
}

/* Adds one header to the environment; a repeated name joins the first
 * with ", ", as the web server passes it.  Content-Length is the
 * gateway's own and is left out.  Returns false after answering 400. */
static bool add_header(struct shape_sample *p, const char *name, struct json_object *value)
{
    char var[PREVIEW_HEADER_NAME_MAX + 16], *e;
    struct buf line;
    int rc;
    const char *v = json_object_get_string(value);
    size_t i, n;

    if (!json_object_is_type(value, json_type_string) || name[0] == '\0' ||
        strlen(name) > PREVIEW_HEADER_NAME_MAX || check_header_name(name) != NULL ||
        strlen(v) > PREVIEW_HEADER_VALUE_MAX || check_no_ctl(v) != NULL) {
        reply_error(p->r, ERR_INVALID_FIELD,
                    "headers.%.40s: must be a header name (an HTTP token of at most %d bytes) "
                    "with a string value of at most %d bytes without control characters",
                    name, PREVIEW_HEADER_NAME_MAX, PREVIEW_HEADER_VALUE_MAX);
        return false;
    }
    if (strcasecmp(name, "content-length") == 0)
        return true;
    env_name(name, var, sizeof(var));
    n = strlen(var);
    for (i = 0; i < p->nenv; i++)
        if (strncmp(p->env[i], var, n) == 0 && p->env[i][n] == '=')
            break;
    buf_init(&line, PREVIEW_HEADERS_MAX * (PREVIEW_HEADER_VALUE_MAX + 2) + sizeof(var));
    rc = i < p->nenv ? buf_cat(&line, p->env[i], ", ", v, (char *)NULL)
                     : buf_cat(&line, var, "=", v, (char *)NULL);
    e = rc == 0 ? buf_steal(&line) : NULL;
    buf_free(&line);
    if (e != NULL) {
        if (i < p->nenv)
            free(p->env[i]);
        else
            p->nenv++;
        p->env[i] = e;
    }
    if (e == NULL)
        reply_error(p->r, ERR_INTERNAL, "out of memory");
    return e != NULL;
}

/* headers: {name: value} or [[name, value], ...], at most
 * PREVIEW_HEADERS_MAX of them. */
static bool read_headers(struct shape_sample *p, struct json_object *h)
{
    bool list = json_object_is_type(h, json_type_array);
    size_t n = h == NULL ? 0
               : list    ? json_object_array_length(h)
                         : (size_t)json_object_object_length(h);
    size_t i;

    if (n > PREVIEW_HEADERS_MAX) {
        reply_error(p->r, ERR_INVALID_FIELD, "headers: at most %d headers", PREVIEW_HEADERS_MAX);
        return false;
    }
    /* One more for a default Content-Type, and the NULL. */
    if ((p->env = calloc(n + 2, sizeof(*p->env))) == NULL) {
        reply_error(p->r, ERR_INTERNAL, "out of memory");
        return false;
    }
    if (n == 0)
        return true;
    if (!list) {
        json_object_object_foreach(h, name, value) if (!add_header(p, name, value)) return false;
        return true;
    }
    for (i = 0; i < n; i++) {
        struct json_object *pair = json_object_array_get_idx(h, i);
        struct json_object *name = json_object_array_get_idx(pair, 0);
        if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2 ||
            !json_object_is_type(name, json_type_string)) {
            reply_error(p->r, ERR_INVALID_FIELD, "headers[%zu]: must be [name, value]", i);
            return false;
        }
        if (!add_header(p, json_object_get_string(name), json_object_array_get_idx(pair, 1)))
            return false;
    }
    return true;
}

/* body: a string as it is, another JSON value as its JSON text, capped at
 * max_body_bytes and ADMIN_SCRIPT_BODY_MAX.  *json tells that it was a
 * JSON value. */
static bool read_body(struct shape_sample *p, struct json_object *body, bool *json)
{
    size_t cap = ADMIN_SCRIPT_BODY_MAX, n;
    const char *text;

    *json = body != NULL && !json_object_is_type(body, json_type_string);
    if (body == NULL)
        return true;
    if ((long long)cap > p->r->cfg->max_body_bytes)
        cap = (size_t)p->r->cfg->max_body_bytes;
    text = *json ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
                 : json_object_get_string(body);
    n = *json ? strlen(text) : (size_t)json_object_get_string_len(body);
    if (n > cap) {
        reply_error(p->r, ERR_INVALID_FIELD, "body: must be at most %zu bytes", cap);
        return false;
    }
    if ((p->body = malloc(n + 1)) == NULL) {
        reply_error(p->r, ERR_INTERNAL, "out of memory");
        return false;
    }
    memcpy(p->body, text, n + 1);
    p->body_len = n;
    return true;
}

/* Splits path into the rest after its '/' and the query, as the proxy
 * sees /proxy/{upstream}{path} (the proxy side checks them). */
static bool read_path(struct shape_sample *p, const char *path)
{
    const char *q = strchr(path, '?');
    size_t n = q != NULL ? (size_t)(q - path) : strlen(path);

    p->path = path;
    p->rest = strndup(path + 1, n - 1);
    p->query = strdup(q != NULL ? q + 1 : "");
    if (p->rest == NULL || p->query == NULL) {
        reply_error(p->r, ERR_INTERNAL, "out of memory");
        return false;
    }
    return true;
}

/* Merges the draft's shaping fields into the row, checked by their table
 * entries and then as a save checks them. */
static bool merge_draft(struct shape_sample *p, struct json_object *draft)
{
    struct vfield sub[NELEM(draft_names)];
    char msg[320];
    size_t i;

    if (draft != NULL && !json_object_is_type(draft, json_type_object)) {
        reply_error(p->r, ERR_INVALID_FIELD, "upstream: must be an object");
        return false;
    }
    for (i = 0; i < NELEM(draft_names); i++)
        sub[i] = *valid_find(admin_upstreams.fields, admin_upstreams.nfields, draft_names[i]);
    if (draft != NULL) {
        if (valid_body(draft, sub, NELEM(sub), false, msg, sizeof(msg)) != ERR_OK) {
            reply_error(p->r, ERR_INVALID_FIELD, "%s", msg);
            return false;
        }
        json_object_object_foreach(draft, name, v)
            json_object_object_add(p->row, name, json_object_get(v));
    }
    if (upstream_shape_check(p->row, msg, sizeof(msg)) != ERR_OK) {
        reply_error(p->r, ERR_INVALID_FIELD, "%s", msg);
        return false;
    }
    return true;
}

/* The base URL the first attempt goes to: the first enabled endpoint, or
 * base_url when there is none. */
static const char *first_base(struct json_object *row)
{
    struct json_object *eps = NULL;
    size_t i;

    json_object_object_get_ex(row, "endpoints", &eps);
    for (i = 0; json_object_is_type(eps, json_type_array) && i < json_object_array_length(eps);
         i++) {
        struct json_object *ep = json_object_array_get_idx(eps, i);
        if (rs_jbool(ep, "enabled", true) && rs_jstr(ep, "url") != NULL)
            return rs_jstr(ep, "url");
    }
    return rs_jstr(row, "base_url");
}

/* The upstream as the pool snapshot would load it from the row. */
static bool load_upstream(struct shape_sample *p)
{
    static const char *const shaped[] = {"model_allow", "model_map", "body_set"};
    struct json_object *rules = NULL, *v;
    const char *text[NELEM(shaped)];
    char msg[320];
    size_t i;

    p->up.name = (char *)rs_jstr(p->row, "name");
    p->up.auth_header = (char *)rs_jstr(p->row, "auth_header");
    p->up.auth_template = (char *)rs_jstr(p->row, "auth_template");
    p->up.auth_query_param = (char *)rs_jstr(p->row, "auth_query_param");
    p->up.strip_forwarding = rs_jbool(p->row, "strip_forwarding_headers", false);
    pool_affinity_parse(rs_jstr(p->row, "affinity"), &p->up.affinity);
    p->base = first_base(p->row);
    p->has_script = rs_jstr(p->row, "script") != NULL;
    json_object_object_get_ex(p->row, "body_set", &p->body_set);
    json_object_object_get_ex(p->row, "header_rules", &rules);
    if (header_rules_parse(rules, p->up.auth_query_param == NULL ? p->up.auth_header : NULL,
                           &p->up.header_rules, msg, sizeof(msg)) != 0) {
        reply_error(p->r, ERR_INVALID_FIELD, "%s", msg);
        return false;
    }
    for (i = 0; i < NELEM(shaped); i++) {
        v = NULL;
        json_object_object_get_ex(p->row, shaped[i], &v);
        text[i] = v != NULL ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL;
    }
    if (shape_parse(text[0], text[1], text[2], &p->up.shape) != NULL) {
        reply_error(p->r, ERR_INTERNAL, "the upstream's shaping fields do not load");
        return false;
    }
    return true;
}

/* Reads the upstream and merges the draft.  Answers and returns false on
 * failure. */
static bool read_upstream(struct shape_sample *p, long long id, struct json_object *draft)
{
    enum db_rc rc = rs_fetch(p->r, &admin_upstreams, id, &p->row);

    if (rc != DB_OK) {
        rs_reply_db_error(p->r, err_from_db(rc), NULL);
        return false;
    }
    if (p->row == NULL) {
        reply_error(p->r, ERR_NOT_FOUND, "upstream %lld does not exist", id);
        return false;
    }
    return merge_draft(p, draft) && load_upstream(p);
}

/* A JSON body without a Content-Type is sent as application/json. */
static bool default_type(struct shape_sample *p)
{
    struct json_object *t = json_object_new_string("application/json");
    bool ok = add_header(p, "Content-Type", t);

    json_object_put(t);
    return ok;
}

bool admin_shape_sample(struct req *r, long long id, struct shape_sample *p)
{
    struct json_object *body = NULL, *h = NULL, *draft = NULL;
    char msg[320];
    bool json = false, done = false;

    memset(p, 0, sizeof(*p));
    p->r = r;
    if ((p->in = rs_body_json(r)) == NULL)
        return false;
    /* body may be any JSON value, which the field table cannot say. */
    if (json_object_object_get_ex(p->in, "body", &body))
        body = json_object_get(body);
    json_object_object_del(p->in, "body");
    if (valid_body(p->in, in_fields, NELEM(in_fields), true, msg, sizeof(msg)) != ERR_OK) {
        reply_error(r, ERR_INVALID_FIELD, "%s", msg);
        goto out;
    }
    json_object_object_get_ex(p->in, "headers", &h);
    json_object_object_get_ex(p->in, "upstream", &draft);
    p->method = rs_jstr(p->in, "method");
    p->token.name = (char *)(rs_jstr(p->in, "token") != NULL ? rs_jstr(p->in, "token") : "preview");
    if (!read_upstream(p, id, draft) || !read_path(p, rs_jstr(p->in, "path")) ||
        !read_headers(p, h) || !read_body(p, body, &json))
        goto out;
    if (json && req_param(&(struct req){.env = p->env}, "CONTENT_TYPE") == NULL && !default_type(p))
        goto out;
    done = true;
out:
    json_object_put(body);
    return done;
}

void admin_shape_sample_free(struct shape_sample *p)
{
    size_t i;

    for (i = 0; i < p->nenv; i++)
        free(p->env[i]);
    free(p->env);
    free(p->rest);
    free(p->query);
    free(p->body);
    header_rules_free(&p->up.header_rules);
    shape_free(p->up.shape);
    json_object_put(p->row);
    json_object_put(p->in);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_shape_test = {in_fields, NELEM(in_fields)};
