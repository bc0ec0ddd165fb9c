/* /api/admin/rules: the rules that watch every answer, and the dry run.
 * Bodies are checked twice: the field table gives the types, the rule
 * compiler (core/rule.h) the meaning, naming the place of a fault. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/alert.h"
#include "core/store.h"
#include "core/rule/rule.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "http.h"
#include "admin/resource.h"
#include "core/nelem.h"

static const struct vfield fields[] = {
    {.name = "id", .type = VT_INT, .flags = VF_READONLY},
    {.name = "name",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 128,
     .check = check_no_ctl},
    {.name = "upstream_id",
     .type = VT_INT,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = INT64_MAX,
     .def = "null"},
    {.name = "enabled", .type = VT_BOOL, .def = "true"},
    {.name = "priority", .type = VT_INT, .min = -1000000, .max = 1000000, .def = "100"},
    {.name = "condition", .type = VT_OBJECT, .flags = VF_REQUIRED, .column = "cond_json"},
    {.name = "actions", .type = VT_ARRAY, .flags = VF_REQUIRED, .column = "actions_json"},
    {.name = "threshold", .type = VT_INT, .min = 1, .max = 1000000, .def = "1"},
    {.name = "window_s", .type = VT_INT, .min = 1, .max = 31536000, .def = "60"},
    {.name = "cooldown_s", .type = VT_INT, .min = 0, .max = 31536000, .def = "0"},
    {.name = "stop", .type = VT_BOOL, .def = "false"},
    {.name = "created_at", .type = VT_TIME, .flags = VF_READONLY},
    {.name = "updated_at", .type = VT_TIME, .flags = VF_READONLY},
};
_Static_assert(NELEM(fields) <= RS_FIELDS_MAX, "rules: raise RS_FIELDS_MAX");

struct resource admin_rules = {
    .noun = "rule",
    .table = "rules",
    .fields = fields,
    .nfields = NELEM(fields),
    .list_filter = " WHERE (? = 0 OR upstream_id = ?)",
    .list_order = "priority, id",
    .bumps_pool = true,
};

/* The meaning of a rule: compiles it and checks its upstream.  Returns
 * ERR_OK, or an error with the message in msg. */
static enum err check_rule(struct req *r, struct json_object *o, char *msg, size_t len)
{
    struct rule *compiled = rule_compile(o, msg, len);
    long long up = rs_jint(o, "upstream_id", 0);
    enum db_rc rc;
    bool found;

    size_t i;

    if (compiled == NULL)
        return ERR_INVALID_FIELD;
    for (i = 0; i < compiled->nactions; i++) {
        const char *hook = compiled->actions[i].webhook;
        if (hook != NULL && !alert_url_allowed(r->cfg->webhook_allow, hook)) {
            snprintf(msg, len, "actions[%zu].webhook: is outside webhook_allow", i);
            rule_free(compiled);
            return ERR_INVALID_FIELD;
        }
    }
    rule_free(compiled);
    if (up == 0)
        return ERR_OK;
    rc = store_upstream_exists(r->w->db, up, &found);
    if (rc != DB_OK) {
        msg[0] = '\0';
        return err_from_db(rc);
    }
    if (!found) {
        snprintf(msg, len, "upstream_id: upstream %lld does not exist", up);
        return ERR_INVALID_FIELD;
    }
    return ERR_OK;
}

void h_rules_list(struct req *r, const struct route_args *a)
{
    long long upstream_id;

    (void)a;
    if (!rs_query_id(r, "upstream_id", &upstream_id))
        return;
    rs_list(r, &admin_rules, DB_ARGS(DB_INT(upstream_id), DB_INT(upstream_id)));
}

void h_rules_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &admin_rules, a->id);
}

/* A rule is checked the same on create and on update. */
static enum err rule_hook(struct req *r, struct rs_write *w, char *msg, size_t len)
{
    return check_rule(r, w->after, msg, len);
}

void h_rules_create(struct req *r, const struct route_args *a)
{
    (void)a;
    rs_create(r, &admin_rules, rule_hook, NULL);
}

void h_rules_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &admin_rules, a->id, rule_hook);
}

void h_rules_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &admin_rules, a->id);
}

static const char *check_transport(const char *s)
{
    if (strcmp(s, "timeout") != 0 && strcmp(s, "connect") != 0 && strcmp(s, "proxy") != 0 &&
        strcmp(s, "other") != 0)
        return "must be timeout, connect, proxy or other";
    return NULL;
}

static const struct vfield test_fields[] = {
    {.name = "rule", .type = VT_OBJECT},
    {.name = "rule_id", .type = VT_INT, .min = 1, .max = INT64_MAX},
    {.name = "response", .type = VT_OBJECT, .flags = VF_REQUIRED},
};

static const struct vfield response_fields[] = {
    {.name = "status", .type = VT_INT, .min = 0, .max = 999},
    {.name = "headers", .type = VT_OBJECT},
    {.name = "body", .type = VT_STRING, .flags = VF_NULLABLE, .min = 0, .max = 64LL << 20},
    {.name = "latency_ms", .type = VT_INT, .min = 0, .max = 86400000},
    {.name = "transport_error",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 16,
     .check = check_transport},
};

/* The stored rule as the JSON the compiler reads. */
static struct json_object *stored_rule(struct req *r, long long id, int *rc)
{
    struct json_object *o = NULL;

    *rc = rs_fetch(r, &admin_rules, id, &o);
    return o;
}

#define TEST_HEADERS_MAX RULE_SAMPLE_HEADERS_MAX

/* Fills in from the dry run's "response"; header names and values point
 * into resp.  Returns false (after answering 400) on a bad header. */
static bool test_input(struct req *r, struct json_object *resp, struct rule_input *in,
                       struct rule_header *h)
{
    struct json_object *headers = NULL;
    const char *te = rs_jstr(resp, "transport_error"), *body = rs_jstr(resp, "body");

    memset(in, 0, sizeof(*in));
    in->status = (int)rs_jint(resp, "status", 0);
    in->latency_ms = rs_jint(resp, "latency_ms", 0);
    in->transport = te == NULL                   ? TRANSPORT_NONE
                    : strcmp(te, "timeout") == 0 ? TRANSPORT_TIMEOUT
                    : strcmp(te, "connect") == 0 ? TRANSPORT_CONNECT
                    : strcmp(te, "proxy") == 0   ? TRANSPORT_PROXY
                                                 : TRANSPORT_OTHER;
    if (body != NULL) {
        size_t n = strlen(body);
        in->body = body;
        in->body_len = n < (size_t)r->cfg->rule_body_limit ? n : (size_t)r->cfg->rule_body_limit;
    }
    in->headers = h;
    if (!json_object_object_get_ex(resp, "headers", &headers) || headers == NULL)
        return true;
    if (!json_object_is_type(headers, json_type_object)) {
        reply_error(r, ERR_INVALID_FIELD, "response.headers: must be an object of strings");
        return false;
    }
    json_object_object_foreach(headers, name, value)
    {
        if (!json_object_is_type(value, json_type_string) || in->nheaders == TEST_HEADERS_MAX) {
            reply_error(r, ERR_INVALID_FIELD,
                        "response.headers.%.40s: must be a string (at most "
                        "%d headers)",
                        name, TEST_HEADERS_MAX);
            return false;
        }
        h[in->nheaders].name = name;
        h[in->nheaders].name_len = strlen(name);
        h[in->nheaders].value = json_object_get_string(value);
        h[in->nheaders].value_len = (size_t)json_object_get_string_len(value);
        in->nheaders++;
    }
    return true;
}

/* For the OpenAPI document (admin/doc_tables.h): the sample answer of the
 * "which rules would fire" route. */
const struct vtable vt_rule_sample = {response_fields, NELEM(response_fields)};

bool admin_rule_sample(struct req *r, struct json_object *resp, struct rule_input *in,
                       struct rule_header *h)
{
    char msg[256];

    if (valid_body(resp, response_fields, NELEM(response_fields), false, msg, sizeof(msg)) !=
        ERR_OK) {
        reply_error(r, ERR_INVALID_FIELD, "%s", msg);
        return false;
    }
    return test_input(r, resp, in, h);
}

static void reply_dry_run(struct req *r, struct json_object *rule_json, bool matched,
                          const struct rule *compiled)
{
    struct json_object *out = json_object_new_object(), *actions = NULL;

    json_object_object_add(out, "matched", json_object_new_boolean(matched));
    json_object_object_get_ex(rule_json, "actions", &actions);
    json_object_object_add(out, "actions",
                           matched && actions != NULL ? json_object_get(actions)
                                                      : json_object_new_array());
    json_object_object_add(out, "threshold", json_object_new_int64(compiled->threshold));
    json_object_object_add(out, "window_s", json_object_new_int64(compiled->window_s));
    reply_json(r, 200, out);
}

void h_rules_test(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, test_fields, NELEM(test_fields), true),
                       *rule_json = NULL, *resp = NULL;
    struct rule_header headers[TEST_HEADERS_MAX];
    struct rule *compiled = NULL;
    struct rule_input in;
    char msg[256], why[300];
    int rc = DB_OK;

    (void)a;
    if (o == NULL)
        return;
    json_object_object_get_ex(o, "response", &resp);
    if (!json_object_is_type(resp, json_type_object)) {
        reply_error(r, ERR_INVALID_FIELD, "response: must be an object");
        goto out;
    }
    if (json_object_object_get_ex(o, "rule", &rule_json) && rule_json != NULL &&
        !json_object_is_type(rule_json, json_type_object)) {
        rule_json = NULL;
        reply_error(r, ERR_INVALID_FIELD, "rule: must be an object");
        goto out;
    }
    if (rule_json != NULL) {
        rule_json = json_object_get(rule_json);
        if (!json_object_object_get_ex(rule_json, "name", NULL))
            json_object_object_add(rule_json, "name", json_object_new_string("dry run"));
    } else if (rs_jint(o, "rule_id", 0) > 0) {
        rule_json = stored_rule(r, rs_jint(o, "rule_id", 0), &rc);
        if (rc != DB_OK || rule_json == NULL) {
            if (rc != DB_OK)
                rs_reply_db_error(r, err_from_db(rc), "");
            else
                reply_error(r, ERR_NOT_FOUND, "rule %lld does not exist", rs_jint(o, "rule_id", 0));
            goto out;
        }
    } else {
        reply_error(r, ERR_INVALID_FIELD, "rule: required (or rule_id)");
        goto out;
    }
    if (valid_body(resp, response_fields, NELEM(response_fields), false, msg, sizeof(msg)) !=
        ERR_OK) {
        reply_error(r, ERR_INVALID_FIELD, "response.%s", msg);
        goto out;
    }
    if ((compiled = rule_compile(rule_json, msg, sizeof(msg))) == NULL) {
        snprintf(why, sizeof(why), "rule.%s", msg);
        reply_error(r, ERR_INVALID_FIELD, "%s", why);
        goto out;
    }
    if (!test_input(r, resp, &in, headers))
        goto out;
    reply_dry_run(r, rule_json, rule_matches(compiled, &in), compiled);
    rule_input_done(&in);
out:
    if (compiled != NULL)
        rule_free(compiled);
    json_object_put(rule_json);
    json_object_put(o);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_rules = {fields, NELEM(fields)};
const struct vtable vt_rules_test = {test_fields, NELEM(test_fields)};
