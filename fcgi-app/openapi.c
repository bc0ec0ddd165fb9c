/* GET /api/openapi.json: the routes of the route table as OpenAPI 3.1
 * paths and operations, with their bodies and answers from the field
 * tables (openapi_schema.c). */
#include "openapi.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "admin/resource.h"
#include "core/nelem.h"
#include "http.h"

#define PATH_MAX_LEN 128 /* the longest pattern of the table, as a path */
#define WORD_MAX     32  /* a query parameter's name or type */

static struct json_object *str(const char *s)
{
    return json_object_new_string(s);
}

/* The OpenAPI path of a pattern: a trailing * (a prefix route) becomes
 * {path}, the rest of the path. */
static void oa_path(const char *pattern, char *out, size_t len)
{
    size_t n = strlen(pattern);

    if (n > 0 && pattern[n - 1] == '*')
        snprintf(out, len, "%.*s{path}", (int)(n - 1), pattern);
    else
        snprintf(out, len, "%s", pattern);
}

/* The group a route is shown in: the resource after /api/admin/ (login,
 * logout and me are "session"), else "proxy" or "service". */
static void oa_tag(const char *pattern, char *out, size_t len)
{
    static const char admin[] = "/api/admin/";

    if (strncmp(pattern, admin, sizeof(admin) - 1) == 0) {
        const char *p = pattern + sizeof(admin) - 1;
        int n = (int)strcspn(p, "/");
        /* The three calls of a session read best as one group. */
        bool session =
            strncmp(p, "login", 5) == 0 || strncmp(p, "logout", 6) == 0 || strncmp(p, "me", 2) == 0;
        snprintf(out, len, "%.*s", session ? 7 : n, session ? "session" : p);
    } else {
        snprintf(out, len, "%s", strncmp(pattern, "/proxy/", 7) == 0 ? "proxy" : "service");
    }
}

/* A unique operation id: the method and the path's letters and digits. */
static void oa_op_id(const char *method, const char *path, char *out, size_t len)
{
    size_t k = 0;
    const char *p;

    for (p = method; *p != '\0' && k + 1 < len; p++)
        out[k++] = (char)tolower((unsigned char)*p);
    for (p = path; *p != '\0' && k + 1 < len; p++) {
        if (isalnum((unsigned char)*p))
            out[k++] = *p;
        else if (k > 0 && out[k - 1] != '_')
            out[k++] = '_';
    }
    while (k > 0 && out[k - 1] == '_')
        k--;
    out[k] = '\0';
}

static struct json_object *param(const char *name, const char *in, struct json_object *schema,
                                 bool required)
{
    struct json_object *p = json_object_new_object();

    json_object_object_add(p, "name", str(name));
    json_object_object_add(p, "in", str(in));
    json_object_object_add(p, "required", json_object_new_boolean(required));
    json_object_object_add(p, "schema", schema);
    return p;
}

static struct json_object *int_schema(long long min, long long max)
{
    struct json_object *s = json_object_new_object();

    json_object_object_add(s, "type", str("integer"));
    json_object_object_add(s, "minimum", json_object_new_int64(min));
    if (max > 0)
        json_object_object_add(s, "maximum", json_object_new_int64(max));
    return s;
}

/* The schema of a query parameter type of struct route_doc. */
static struct json_object *query_schema(const char *type)
{
    struct json_object *s;

    if (strcmp(type, "id") == 0)
        return int_schema(1, 0);
    s = json_object_new_object();
    json_object_object_add(s, "type", str(strcmp(type, "int") == 0 ? "integer" : "string"));
    if (strcmp(type, "time") == 0)
        json_object_object_add(s, "format", str("date-time"));
    return s;
}

/* The string templates of route.c's paths ({id} is a positive integer);
 * a template not
 * listed here still gets a parameter, a string, so that no path of the
 * document lacks one. */
static const struct {
    const char *name, *pattern, *about;
} path_params[] = {
    {"rid", "^[A-Za-z0-9]{1,64}$", "A request id (X-Gateway-Request-Id)"},
    {"path", NULL, "The upstream's name, then the path sent to it (may hold slashes)"},
};

/* One parameter for each {name} of the path, in order. */
static void path_parameters(struct json_object *list, const char *path)
{
    const char *open;

    while ((open = strchr(path, '{')) != NULL) {
        const char *close = strchr(open, '}');
        struct json_object *s;
        char name[WORD_MAX];
        size_t i;

        if (close == NULL)
            return;
        snprintf(name, sizeof(name), "%.*s", (int)(close - open - 1), open + 1);
        path = close + 1;
        if (strcmp(name, "id") == 0) {
            json_object_array_add(list, param("id", "path", int_schema(1, 0), true));
            continue;
        }
        s = json_object_new_object();
        json_object_object_add(s, "type", str("string"));
        for (i = 0; i < NELEM(path_params); i++) {
            if (strcmp(name, path_params[i].name) != 0)
                continue;
            if (path_params[i].pattern != NULL)
                json_object_object_add(s, "pattern", str(path_params[i].pattern));
            if (path_params[i].about != NULL)
                json_object_object_add(s, "description", str(path_params[i].about));
        }
        json_object_array_add(list, param(name, "path", s, true));
    }
}

/* Path parameters from the pattern, then the query's from the doc. */
static struct json_object *parameters(const struct route *rt, const char *path)
{
    struct json_object *list = json_object_new_array();
    const char *q = rt->doc.query;

    path_parameters(list, path);
    while (q != NULL && *q != '\0') {
        char word[WORD_MAX], name[WORD_MAX];
        size_t len = strcspn(q, " ");
        const char *eq;

        snprintf(word, sizeof(word), "%.*s", (int)len, q);
        q += len;
        q += strspn(q, " ");
        if (strcmp(word, "page") == 0) {
            json_object_array_add(list, param("limit", "query", int_schema(1, RS_PAGE_MAX), false));
            json_object_array_add(list, param("offset", "query", int_schema(0, 0), false));
            continue;
        }
        eq = strchr(word, '=');
        if (eq == NULL)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(eq - word), word);
        json_object_array_add(list, param(name, "query", query_schema(eq + 1), false));
    }
    return list;
}

static struct json_object *json_content(struct json_object *schema)
{
    struct json_object *c = json_object_new_object(), *m = json_object_new_object();

    json_object_object_add(m, "schema", schema);
    json_object_object_add(c, "application/json", m);
    return c;
}

static struct json_object *answer_object(const struct route *rt)
{
    struct json_object *s;

    if (rt->doc.answer != NULL)
        return openapi_fields_schema(rt->doc.answer, OA_ANSWER);
    s = json_object_new_object();
    json_object_object_add(s, "type", str("object"));
    return s;
}

/* {"type": "object", "properties": {a: as, b: bs}} (consumes as and bs). */
static struct json_object *pair_schema(const char *a, struct json_object *as, const char *b,
                                       struct json_object *bs)
{
    struct json_object *s = json_object_new_object(), *props = json_object_new_object();

    json_object_object_add(props, a, as);
    json_object_object_add(props, b, bs);
    json_object_object_add(s, "type", str("object"));
    json_object_object_add(s, "properties", props);
    return s;
}

/* An answer of one media type: its description and schema (consumed). */
static struct json_object *answer(const char *why, const char *media, struct json_object *schema)
{
    struct json_object *ok = json_object_new_object();

    json_object_object_add(ok, "description", str(why));
    if (schema != NULL) {
        struct json_object *c = json_object_new_object(), *m = json_object_new_object();
        json_object_object_add(m, "schema", schema);
        json_object_object_add(c, media, m);
        json_object_object_add(ok, "content", c);
    }
    return ok;
}

/* The success answer of a route, by its kind. */
static void put_success(struct json_object *responses, const struct route *rt)
{
    static const char json[] = "application/json";
    struct json_object *items, *text;

    switch (rt->doc.kind) {
    case RA_OBJECT:
        json_object_object_add(responses, "200", answer("OK", json, answer_object(rt)));
        break;
    case RA_CREATED:
        json_object_object_add(responses, "201", answer("Created", json, answer_object(rt)));
        break;
    case RA_LIST:
        items = json_object_new_object();
        json_object_object_add(items, "type", str("array"));
        json_object_object_add(items, "items", answer_object(rt));
        json_object_object_add(responses, "200",
                               answer("One page of the list, and the total", json,
                                      pair_schema("items", items, "total", int_schema(0, 0))));
        break;
    case RA_ACCEPTED:
        json_object_object_add(
            responses, "202",
            answer("The job was started", json,
                   pair_schema("job_id", int_schema(1, 0), "total", int_schema(0, 0))));
        break;
    case RA_EMPTY:
        json_object_object_add(responses, "204", answer("Done; no body", json, NULL));
        break;
    case RA_TEXT:
        text = json_object_new_object();
        json_object_object_add(text, "type", str("string"));
        json_object_object_add(responses, "200", answer("OK", "text/plain", text));
        break;
    case RA_PASS:
        json_object_object_add(responses, "default",
                               answer("The upstream's answer as it came, or the gateway's own "
                                      "error (the Error schema)",
                                      json, NULL));
        break;
    }
}

static struct json_object *security(enum role need, bool proxy)
{
    struct json_object *list = json_object_new_array(), *one;

    if (proxy) {
        one = json_object_new_object();
        json_object_object_add(one, "clientToken", json_object_new_array());
        json_object_array_add(list, one);
        /* A public upstream takes calls without a token. */
        json_object_array_add(list, json_object_new_object());
    } else if (need > ROLE_PUBLIC) {
        one = json_object_new_object();
        json_object_object_add(one, "bearer", json_object_new_array());
        json_object_array_add(list, one);
    }
    return list;
}

static struct json_object *operation(const struct route *rt, const char *method, const char *path)
{
    struct json_object *op = json_object_new_object(), *tags = json_object_new_array();
    struct json_object *responses = json_object_new_object();
    char id[PATH_MAX_LEN + 16], tag[WORD_MAX];
    bool proxy = strcmp(rt->method, "*") == 0;

    oa_op_id(method, path, id, sizeof(id));
    oa_tag(rt->pattern, tag, sizeof(tag));
    json_object_array_add(tags, str(tag));
    json_object_object_add(op, "operationId", str(id));
    json_object_object_add(op, "summary", str(rt->doc.summary));
    json_object_object_add(op, "tags", tags);
    json_object_object_add(op, "x-apigw-role", str(role_name(rt->need)));
    json_object_object_add(op, "security", security(rt->need, proxy));
    json_object_object_add(op, "parameters", parameters(rt, path));
    if (rt->doc.body != NULL) {
        struct json_object *b = json_object_new_object();
        enum openapi_use use = strcmp(method, "POST") == 0 ? OA_CREATE : OA_UPDATE;
        json_object_object_add(b, "required", json_object_new_boolean(1));
        json_object_object_add(b, "content",
                               json_content(openapi_fields_schema(rt->doc.body, use)));
        json_object_object_add(op, "requestBody", b);
    }
    put_success(responses, rt);
    if (!proxy) {
        struct json_object *ref = json_object_new_object();
        json_object_object_add(ref, "$ref", str("#/components/responses/Error"));
        json_object_object_add(responses, "default", ref);
    }
    json_object_object_add(op, "responses", responses);
    return op;
}

/* The methods a route stands for: its own, or every one for "*". */
static const char *const any_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                          "PATCH", "DELETE", "OPTIONS"};

static void add_route(struct json_object *paths, const struct route *rt)
{
    char path[PATH_MAX_LEN], lower[16];
    struct json_object *item;
    size_t i, k, nm = strcmp(rt->method, "*") == 0 ? sizeof(any_methods) / sizeof(*any_methods) : 1;

    oa_path(rt->pattern, path, sizeof(path));
    if (!json_object_object_get_ex(paths, path, &item)) {
        item = json_object_new_object();
        json_object_object_add(paths, path, item);
    }
    for (i = 0; i < nm; i++) {
        const char *m = nm == 1 ? rt->method : any_methods[i];
        for (k = 0; m[k] != '\0' && k + 1 < sizeof(lower); k++)
            lower[k] = (char)tolower((unsigned char)m[k]);
        lower[k] = '\0';
        json_object_object_add(item, lower, operation(rt, m, path));
    }
}

struct json_object *openapi_document(const struct route *routes, size_t n)
{
    struct json_object *doc = json_object_new_object(), *info = json_object_new_object();
    struct json_object *paths = json_object_new_object(), *tags = json_object_new_array();
    struct json_object *seen = json_object_new_object();
    size_t i;

    json_object_object_add(doc, "openapi", str("3.1.0"));
    json_object_object_add(info, "title", str("API Gateway Pro"));
    json_object_object_add(info, "version", str("1"));
    json_object_object_add(info, "description",
                           str("A key-pool pass-through gateway: the admin API under /api/admin "
                               "and the proxy under /proxy/NAME. Generated from the server's "
                               "route and field tables. x-apigw-role is the least role a caller "
                               "needs."));
    json_object_object_add(doc, "info", info);
    for (i = 0; i < n; i++) {
        char tag[WORD_MAX];
        add_route(paths, &routes[i]);
        oa_tag(routes[i].pattern, tag, sizeof(tag));
        if (!json_object_object_get_ex(seen, tag, NULL)) {
            struct json_object *t = json_object_new_object();
            json_object_object_add(seen, tag, NULL);
            json_object_object_add(t, "name", str(tag));
            json_object_array_add(tags, t);
        }
    }
    json_object_put(seen);
    json_object_object_add(doc, "tags", tags);
    json_object_object_add(doc, "paths", paths);
    json_object_object_add(doc, "components", openapi_components());
    return doc;
}

void openapi_reply(struct req *r, const struct route *routes, size_t n)
{
    reply_json(r, 200, openapi_document(routes, n));
}
