/* /api/admin/upstreams: the providers the gateway forwards to. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "http.h"
#include "admin/resource.h"
#include "admin/scripts.h"
#include "admin/egress_admin.h"
#include "admin/upstream_endpoints.h"
#include "core/capacity.h"
#include "core/endpoint.h"
#include "core/header_rules.h"
#include "core/nelem.h"
#include "core/shape.h"
#include "core/store.h"
#include "core/pool.h"
#include "core/probe.h"
#include "core/resetzone.h"
#include "core/rule/rule.h"
#include "core/usage_scan.h"
#include "core/utf8.h"

static const char *check_template(const char *s)
{
    if (strstr(s, "{key}") == NULL)
        return "must contain {key}";
    return check_no_ctl(s);
}

static const char *check_strategy(const char *s)
{
    if (strcmp(s, "round_robin") != 0 && strcmp(s, "random") != 0 && strcmp(s, "weighted") != 0)
        return "must be round_robin, random or weighted";
    return NULL;
}

static const char *check_method(const char *s)
{
    static const char *const ok[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    size_t i;

    for (i = 0; i < NELEM(ok); i++)
        if (strcmp(s, ok[i]) == 0)
            return NULL;
    return "must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS";
}

static const char *check_usage_format(const char *s)
{
    enum usage_format f;

    return usage_format_parse(s, &f) == 0 ? NULL
                                          : "must be none, openai, anthropic, gemini or custom";
}

static const char *check_affinity(const char *s)
{
    enum affinity a;

    return pool_affinity_parse(s, &a) == 0 ? NULL : "must be none, header, token or body";
}

/* A JSON path in the syntax of rule paths (core/rule/jsonpath.c). */
static const char *check_json_path(const char *s)
{
    static _Thread_local char err[128];
    struct jsonpath *p = jsonpath_compile(s, err, sizeof(err));

    jsonpath_free(p);
    return p != NULL ? NULL : err;
}

/* A zone the reset reader can load; the answer names an unknown one. */
static const char *check_reset_tz(const char *s)
{
    static _Thread_local char err[128];

    if (!tzif_name_ok(s))
        return "must be an IANA time zone name such as America/Los_Angeles";
    if (reset_zone_known(s))
        return NULL;
    snprintf(err, sizeof(err), "unknown time zone %s", s);
    return err;
}

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "name",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 64,
     .check = check_name_slug},
    /* base_url or endpoints is required (admin/upstream_endpoints.h). */
    {.name = "base_url", .type = VT_STRING, .min = 8, .max = 2048, .check = check_http_url},
    {.name = "auth_header",
     .type = VT_STRING,
     .min = 1,
     .max = 128,
     .check = check_header_name,
     .def = "\"Authorization\""},
    {.name = "auth_template",
     .type = VT_STRING,
     .min = 5,
     .max = 512,
     .check = check_template,
     .def = "\"Bearer {key}\""},
    {.name = "auth_query_param",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 128,
     .check = check_query_name,
     .def = "null"},
    {.name = "strategy",
     .type = VT_STRING,
     .min = 1,
     .max = 16,
     .check = check_strategy,
     .oneof = "round_robin|random|weighted",
     .def = "\"round_robin\""},
    {.name = "timeout_ms", .type = VT_INT, .min = 1, .max = 3600000, .def = "30000"},
    {.name = "connect_timeout_ms", .type = VT_INT, .min = 1, .max = 600000, .def = "5000"},
    {.name = "max_retries", .type = VT_INT, .min = 0, .max = 10, .def = "2"},
    {.name = "retry_backoff_ms", .type = VT_INT, .min = 0, .max = 60000, .def = "100"},
    {.name = "enabled", .type = VT_BOOL, .def = "true"},
    {.name = "public", .type = VT_BOOL, .def = "false", .column = "is_public"},
    {.name = "probe_method",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 16,
     .check = check_method,
     .oneof = "GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS",
     .def = "null"},
    {.name = "probe_path",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 1024,
     .check = check_url_path,
     .def = "null"},
    /* A probe with a body (a one-token chat request for APIs with no free
     * GET; docs/API.md "Validation jobs"), and the re-check of banned keys
     * by apigw-jobs: null is off, else every that many seconds. */
    {.name = "probe_body",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = PROBE_BODY_MAX,
     .def = "null"},
    {.name = "probe_content_type",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 128,
     .check = check_no_ctl,
     .def = "null"},
    {.name = "recheck_banned_s",
     .type = VT_INT,
     .flags = VF_NULLABLE,
     .min = 60,
     .max = 2592000,
     .def = "null"},
    {.name = "auto_disable_max_pct", .type = VT_INT, .min = 0, .max = 100, .def = "50"},
    RS_FIELD_MAX_CONCURRENT,
    /* JavaScript hooks (docs/SCRIPTS.md); compiled by check_script. */
    {.name = "script",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 0,
     .max = SCRIPT_SOURCE_MAX,
     .def = "null"},
    /* Token usage (docs/USAGE.md); usage_paths checked by check_usage. */
    {.name = "usage_format",
     .type = VT_STRING,
     .min = 1,
     .max = 16,
     .check = check_usage_format,
     .oneof = "none|openai|anthropic|gemini|custom",
     .def = "\"none\""},
    {.name = "usage_paths", .type = VT_OBJECT, .flags = VF_NULLABLE, .def = "null"},
    /* {"bytes": N, "ms": N} (proxy/peek.h); checked by check_stream_peek. */
    {.name = "stream_peek", .type = VT_OBJECT, .flags = VF_NULLABLE, .def = "null"},
    /* When no key is usable (docs/API.md): the wait for one, and the
     * upstreams tried next (checked by check_fallbacks). */
    {.name = "queue_wait_ms", .type = VT_INT, .min = 0, .max = 30000, .def = "0"},
    {.name = "fallback_upstreams", .type = VT_INT_LIST, .min = 0, .max = 8, .def = "[]"},
    /* Sticky keys (core/pool_affinity.c); the path checked by check_affinity_path. */
    {.name = "affinity",
     .type = VT_STRING,
     .min = 1,
     .max = 8,
     .check = check_affinity,
     .oneof = "none|header|token|body",
     .def = "\"none\""},
    {.name = "affinity_path",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 256,
     .check = check_json_path,
     .def = "null"},
    /* Egress proxies (admin/egress_admin.c): shown masked, stored sealed. */
    {.name = "proxies", .type = VT_ARRAY, .flags = VF_NULLABLE, .def = "null"},
    {.name = "proxy_mode",
     .type = VT_STRING,
     .min = 1,
     .max = 16,
     .check = egress_check_mode,
     .oneof = "none|round_robin|per_key",
     .def = "\"none\""},
    /* [{url, weight, enabled}], checked by upstream_endpoints_write. */
    {.name = "endpoints", .type = VT_ARRAY, .flags = VF_NULLABLE, .def = "null"},
    {.name = "endpoint_fail_threshold",
     .type = VT_INT,
     .min = 1,
     .max = ENDPOINT_THRESHOLD_MAX,
     .def = "5"},
    {.name = "endpoint_window_s", .type = VT_INT, .min = 1, .max = 3600, .def = "30"},
    {.name = "endpoint_cooldown_s", .type = VT_INT, .min = 1, .max = 3600, .def = "30"},
    /* Header shaping (core/header_rules.h), checked by check_header_rules. */
    {.name = "header_rules", .type = VT_ARRAY, .def = "[]"},
    {.name = "strip_forwarding_headers", .type = VT_BOOL, .def = "false"},
    /* Model shaping (core/shape.h), checked by check_shape. */
    {.name = "model_allow", .type = VT_ARRAY, .flags = VF_NULLABLE, .def = "null"},
    {.name = "model_map", .type = VT_OBJECT, .flags = VF_NULLABLE, .def = "null"},
    {.name = "body_set", .type = VT_OBJECT, .flags = VF_NULLABLE, .def = "null"},
    /* Its own daily reset (core/resetzone.h); null: the global setting. */
    {.name = "quota_reset_hour",
     .type = VT_INT,
     .flags = VF_NULLABLE,
     .min = 0,
     .max = 23,
     .def = "null"},
    {.name = "quota_reset_tz",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = RESET_TZ_MAX,
     .check = check_reset_tz,
     .def = "null"},
    /* Capacity alerts (core/capacity.h): 0 and null turn a test off. */
    {.name = "alert_min_active_pct", .type = VT_INT, .min = 0, .max = 100, .def = "20"},
    {.name = "alert_min_active",
     .type = VT_INT,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 1000000,
     .def = "null"},
    /* Added by GET one (h_upstreams_get); in a body sent back, ignored. */
    {.name = "capacity", .type = VT_OBJECT, .flags = VF_READONLY | VF_WRITEONLY},
    /* Pacing by the provider's headers (core/pace.h). */
    {.name = "pace_by_headers", .type = VT_BOOL, .def = "false"},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "updated_at", .type = VT_TIME, .flags = VF_READONLY},
};
_Static_assert(NELEM(fields) <= RS_FIELDS_MAX, "upstreams: raise RS_FIELDS_MAX");

struct resource admin_upstreams = {
    .noun = "upstream",
    .table = "upstreams",
    .fields = fields,
    .nfields = NELEM(fields),
    .list_order = "id",
    .bumps_pool = true,
    .update_extra = {{"proxies_enc", "?"}},
    .insert_extra = {{"proxies_enc", "?"}},
    .shown = upstream_endpoints_shown,
};

void h_upstreams_list(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_list(r, &admin_upstreams, NULL, 0);
}

/* One upstream, with its capacity as the last check saw it. */
void h_upstreams_get(struct req *r, const struct route_args *a)
{
    struct json_object *o, *cap;
    enum db_rc rc = rs_fetch(r, &admin_upstreams, a->id, &o);

    if (rc == DB_OK && o != NULL) {
        cap = capacity_json(r->w->db, a->id, &rc);
        if (cap != NULL)
            json_object_object_add(o, "capacity", cap);
    }
    if (rc != DB_OK) {
        json_object_put(o);
        o = NULL;
    }
    rs_reply_row(r, &admin_upstreams, a->id, rc, o);
}

/* The custom usage format needs its paths, and paths must be valid
 * whatever the format (so that switching to custom later cannot fail). */
static enum err check_usage(const struct rs_write *w, char *msg, size_t len)
{
    struct json_object *paths = NULL;
    struct usage_paths parsed;
    const char *why;
    const char *format = rs_jstr(w->after, "usage_format");

    json_object_object_get_ex(w->after, "usage_paths", &paths);
    if (paths == NULL) {
        if (format == NULL || strcmp(format, "custom") != 0)
            return ERR_OK;
        snprintf(msg, len, "usage_paths: required when usage_format is custom");
        return ERR_INVALID_FIELD;
    }
    why = usage_paths_parse(json_object_to_json_string_ext(paths, JSON_C_TO_STRING_PLAIN), &parsed);
    if (why == NULL)
        return ERR_OK;
    snprintf(msg, len, "%s", why);
    return ERR_INVALID_FIELD;
}

/* The members of stream_peek and their ranges. */
static const struct {
    const char *name;
    long long max;
} peek_members[] = {{"bytes", 65536}, {"ms", 10000}};

/* stream_peek in obj: absent, null, or an object with both members, each
 * an integer in its range, and nothing else.  Returns ERR_OK, or
 * ERR_INVALID_FIELD with "stream_peek.<member>: ..." in msg. */
static enum err check_stream_peek(struct json_object *obj, char *msg, size_t len)
{
    struct json_object *v = NULL, *m;
    size_t i;

    if (!json_object_object_get_ex(obj, "stream_peek", &v) || v == NULL)
        return ERR_OK;
    if (!json_object_is_type(v, json_type_object)) {
        snprintf(msg, len, "stream_peek: must be an object {\"bytes\": N, \"ms\": N} or null");
        return ERR_INVALID_FIELD;
    }
    json_object_object_foreach(v, key, val)
    {
        (void)val;
        if (strcmp(key, "bytes") != 0 && strcmp(key, "ms") != 0) {
            /* At most 64 bytes of the name, cut on a character boundary. */
            int shown = (int)(strlen(key) > 64 ? utf8_floor(key, 64) : strlen(key));
            snprintf(msg, len, "stream_peek.%.*s: unknown member (only bytes and ms)", shown, key);
            return ERR_INVALID_FIELD;
        }
    }
    for (i = 0; i < NELEM(peek_members); i++) {
        const char *name = peek_members[i].name;
        if (!json_object_object_get_ex(v, name, &m)) {
            snprintf(msg, len, "stream_peek.%s: required", name);
            return ERR_INVALID_FIELD;
        }
        if (!json_object_is_type(m, json_type_int) || json_object_get_int64(m) < 0 ||
            json_object_get_int64(m) > peek_members[i].max) {
            snprintf(msg, len, "stream_peek.%s: must be an integer from 0 to %lld (0: not used)",
                     name, peek_members[i].max);
            return ERR_INVALID_FIELD;
        }
    }
    return ERR_OK;
}

/* Every fallback must name another upstream that exists, once. */
static enum err check_fallbacks(struct req *r, const struct rs_write *w, char *msg, size_t len)
{
    struct json_object *list = NULL;
    size_t i, j, n;

    if (!json_object_object_get_ex(w->patch, "fallback_upstreams", &list) || list == NULL)
        return ERR_OK;
    n = json_object_array_length(list);
    for (i = 0; i < n; i++) {
        long long id = json_object_get_int64(json_object_array_get_idx(list, i));
        bool found = false;
        enum db_rc rc;

        if (id == w->id) {
            snprintf(msg, len, "fallback_upstreams: an upstream cannot be its own fallback");
            return ERR_INVALID_FIELD;
        }
        for (j = 0; j < i; j++)
            if (json_object_get_int64(json_object_array_get_idx(list, j)) == id) {
                snprintf(msg, len, "fallback_upstreams: upstream %lld is named twice", id);
                return ERR_INVALID_FIELD;
            }
        if ((rc = store_upstream_exists(r->w->db, id, &found)) != DB_OK)
            return err_from_db(rc);
        if (!found) {
            snprintf(msg, len, "fallback_upstreams: upstream %lld does not exist", id);
            return ERR_INVALID_FIELD;
        }
    }
    return ERR_OK;
}

/* Affinity by body needs the path of the id. */
static enum err check_affinity_path(const struct rs_write *w, char *msg, size_t len)
{
    const char *mode = rs_jstr(w->after, "affinity");

    if (mode == NULL || strcmp(mode, "body") != 0 || rs_jstr(w->after, "affinity_path") != NULL)
        return ERR_OK;
    snprintf(msg, len, "affinity_path: required when affinity is body");
    return ERR_INVALID_FIELD;
}

/* The rules as they will be after the write, against the key's header
 * as it will be: changing auth_header to a name a rule sets is refused
 * like the rule itself. */
static enum err check_header_rules(struct json_object *after, char *msg, size_t len)
{
    struct json_object *rules = NULL;
    struct header_rules parsed;
    const char *key_header =
        rs_jstr(after, "auth_query_param") == NULL ? rs_jstr(after, "auth_header") : NULL;

    json_object_object_get_ex(after, "header_rules", &rules);
    if (header_rules_parse(rules, key_header, &parsed, msg, len) != 0)
        return ERR_INVALID_FIELD;
    header_rules_free(&parsed);
    return ERR_OK;
}

/* model_allow, model_map and body_set as the proxy will load them: the
 * fault names the field (and the entry). */
static enum err check_shape(struct json_object *after, char *msg, size_t len)
{
    static const char *const names[] = {"model_allow", "model_map", "body_set"};
    const char *text[3], *why;
    struct shape *s = NULL;
    size_t i;

    for (i = 0; i < NELEM(names); i++) {
        struct json_object *v = NULL;
        json_object_object_get_ex(after, names[i], &v);
        text[i] = v != NULL ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL;
    }
    why = shape_parse(text[0], text[1], text[2], &s);
    shape_free(s);
    if (why == NULL)
        return ERR_OK;
    snprintf(msg, len, "%s", why);
    return ERR_INVALID_FIELD;
}

enum err upstream_shape_check(struct json_object *after, char *msg, size_t len)
{
    enum err e = check_header_rules(after, msg, len);

    return e == ERR_OK ? check_shape(after, msg, len) : e;
}

/* A script that does not compile is refused with its line and the
 * engine's message; a bad stream_peek naming its member; usage_paths must
 * fit usage_format; fallbacks must exist; affinity body needs
 * affinity_path; header rules must leave the key's header alone. */
static enum err check_script(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    enum err e = check_stream_peek(w->patch, msg, len);

    if (e == ERR_OK)
        e = upstream_endpoints_write(w->patch, w->after, msg, len);
    if (e == ERR_OK)
        e = admin_script_check(r, w->patch, msg, len);
    if (e == ERR_OK)
        e = check_fallbacks(r, w, msg, len);
    if (e == ERR_OK)
        e = check_affinity_path(w, msg, len);
    if (e == ERR_OK)
        e = check_usage(w, msg, len);
    if (e == ERR_OK)
        e = upstream_shape_check(w->after, msg, len);
    return e != ERR_OK ? e : egress_admin_upstream(r, w, msg, len);
}

/* Checks the script and names the upstream in the answer to a duplicate. */
static enum err name_conflict(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    enum err e = check_script(r, w, msg, len);

    if (e != ERR_OK)
        return e;
    snprintf(w->conflict, sizeof(w->conflict), "name: an upstream named %s already exists",
             rs_jstr(w->after, "name"));
    return ERR_OK;
}

void h_upstreams_create(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_create(r, &admin_upstreams, name_conflict, NULL);
}

void h_upstreams_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &admin_upstreams, a->id, check_script);
}

void h_upstreams_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &admin_upstreams, a->id);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_upstreams = {fields, NELEM(fields)};
