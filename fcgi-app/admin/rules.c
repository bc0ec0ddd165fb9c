/* /api/admin/rules: the rules that watch every answer, and the dry run.
 * Bodies are checked twice: the field table gives the types, the rule
 * compiler (core/rule.h) the meaning, naming the place of a fault. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/store.h"
#include "core/rule/rule.h"
#include "admin/handlers.h"
#include "http.h"
#include "admin/resource.h"
#include "admin/sqlfmt.h"
#include "core/nelem.h"

static const struct vfield fields[] = {
    {"id", VT_INT, VF_READONLY, 0, 0, NULL, NULL},
    {"name", VT_STRING, VF_REQUIRED, 1, 128, check_no_ctl, NULL},
    {"upstream_id", VT_INT, VF_NULLABLE, 1, INT64_MAX, NULL, "null"},
    {"enabled", VT_BOOL, 0, 0, 0, NULL, "true"},
    {"priority", VT_INT, 0, -1000000, 1000000, NULL, "100"},
    {"condition", VT_OBJECT, VF_REQUIRED, 0, 0, NULL, NULL},
    {"actions", VT_ARRAY, VF_REQUIRED, 0, 0, NULL, NULL},
    {"threshold", VT_INT, 0, 1, 1000000, NULL, "1"},
    {"window_s", VT_INT, 0, 1, 31536000, NULL, "60"},
    {"cooldown_s", VT_INT, 0, 0, 31536000, NULL, "0"},
    {"stop", VT_BOOL, 0, 0, 0, NULL, "false"},
    {"created_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
    {"updated_at", VT_TIME, VF_READONLY, 0, 0, NULL, NULL},
};

#define COLS                                                                                       \
    "id, name, upstream_id, enabled, priority, cond_json, actions_json, threshold, window_s,"      \
    " cooldown_s, stop, " SQL_TIME("created_at") ", " SQL_TIME("updated_at")

static const struct resource rules = {
    "rule",
    fields,
    NELEM(fields),
    "SELECT " COLS " FROM rules WHERE id = ?",
    "SELECT " COLS " FROM rules WHERE id = ? FOR UPDATE",
    "UPDATE rules SET name = ?, upstream_id = ?, enabled = ?, priority = ?, cond_json = ?,"
    " actions_json = ?, threshold = ?, window_s = ?, cooldown_s = ?, stop = ?,"
    " updated_at = UTC_TIMESTAMP() WHERE id = ?",
    "DELETE FROM rules WHERE id = ?",
    true,
};

/* The meaning of a rule: compiles it and checks its upstream.  Returns
 * ERR_OK, or an error with the message in msg. */
static enum err check_rule(struct req *r, struct json_object *o, char *msg, size_t len)
{
    struct rule *compiled = rule_compile(o, msg, len);
    long long up = rs_jint(o, "upstream_id", 0);
    enum db_rc rc;
    bool found;

    if (compiled == NULL)
        return ERR_INVALID_FIELD;
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
    rs_list(r, &rules,
            "SELECT " COLS " FROM rules WHERE (? = 0 OR upstream_id = ?)"
            " ORDER BY priority, id LIMIT ? OFFSET ?",
            "SELECT COUNT(*) FROM rules WHERE (? = 0 OR upstream_id = ?)",
            DB_ARGS(DB_INT(upstream_id), DB_INT(upstream_id)));
}

void h_rules_get(struct req *r, const struct route_args *a)
{
    rs_get(r, &rules, a->id);
}

void h_rules_create(struct req *r, const struct route_args *a)
{
    struct json_object *o = rs_body_valid(r, fields, rules.nfields, true);
    struct db_param p[16];
    char tbuf[16][24], msg[256] = "";
    unsigned long long id = 0;
    unsigned n;
    enum err e;
    int rc;

    (void)a;
    if (o == NULL)
        return;
    valid_defaults(o, fields, rules.nfields);
    if ((e = check_rule(r, o, msg, sizeof(msg))) != ERR_OK) {
        rs_reply_hook_error(r, e, msg);
        json_object_put(o);
        return;
    }
    n = rs_row_params(fields, rules.nfields, o, p, tbuf);
    rc = db_exec(r->w->db,
                 "INSERT INTO rules (name, upstream_id, enabled, priority, cond_json, actions_json,"
                 " threshold, window_s, cooldown_s, stop, created_at, updated_at) VALUES (?, ?, ?,"
                 " ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                 p, n, NULL, &id);
    if (rc == DB_OK)
        rc = store_bump_version(r->w->db);
    if (rc != DB_OK)
        rs_reply_db_error(r, err_from_db(rc), "");
    else
        rs_reply_created(r, &rules, (long long)id);
    json_object_put(o);
}

static enum err rule_update_hook(struct req *r, struct rs_update_ctx *u, char *msg, size_t len)
{
    return check_rule(r, u->after, msg, len);
}

void h_rules_update(struct req *r, const struct route_args *a)
{
    rs_update(r, &rules, a->id, rule_update_hook);
}

void h_rules_delete(struct req *r, const struct route_args *a)
{
    rs_delete(r, &rules, a->id);
}

static const char *check_transport(const char *s)
{
    if (strcmp(s, "timeout") != 0 && strcmp(s, "connect") != 0 && strcmp(s, "other") != 0)
        return "must be timeout, connect or other";
    return NULL;
}

static const struct vfield test_fields[] = {
    {"rule", VT_OBJECT, 0, 0, 0, NULL, NULL},
    {"rule_id", VT_INT, 0, 1, INT64_MAX, NULL, NULL},
    {"response", VT_OBJECT, VF_REQUIRED, 0, 0, NULL, NULL},
};

static const struct vfield response_fields[] = {
    {"status", VT_INT, 0, 0, 999, NULL, NULL},
    {"headers", VT_OBJECT, 0, 0, 0, NULL, NULL},
    {"body", VT_STRING, VF_NULLABLE, 0, 64LL << 20, NULL, NULL},
    {"latency_ms", VT_INT, 0, 0, 86400000, NULL, NULL},
    {"transport_error", VT_STRING, VF_NULLABLE, 1, 16, check_transport, NULL},
};

/* The stored rule as the JSON the compiler reads. */
static struct json_object *stored_rule(struct req *r, long long id, int *rc)
{
    struct json_object *o = NULL;

    *rc = rs_fetch(r, &rules, id, &o);
    return o;
}

#define TEST_HEADERS_MAX 64

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
    struct json_object *o = rs_body_valid(r, test_fields, 3, true), *rule_json = NULL, *resp = NULL;
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
    if (valid_body(resp, response_fields, 5, false, msg, sizeof(msg)) != ERR_OK) {
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
