/*
 * POST /api/admin/upstreams/{id}/rules/test: which rules would fire, in
 * order, on one sample answer.  Every rule of the upstream (its own and
 * the global ones, disabled ones too, so that the list is the whole
 * picture) is judged by the engine's own rule_matches in the order and
 * phases the proxy runs them (proxy/rules.c), and the answer says for each
 * whether it matched, which leaves of its condition held, whether it fires
 * and where the evaluation stops.  Nothing is changed and nothing is
 * counted: a rule with a threshold is reported as counting one match.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/handlers.h"
#include "admin/resource.h"
#include "app.h"
#include "core/db.h"
#include "core/pool.h"
#include "core/rule/rule.h"
#include "core/store.h"
#include "http.h"

/* The leaves of one condition that are judged one by one, for "why". */
#define LEAVES_MAX  64
#define LEAF_AT_MAX 160
#define COL_COND    5
#define COL_ACTIONS 6

/* Where a rule runs for this answer, as proxy/rules.c's belongs() and
 * attempt.c decide: a transport failure and a held error answer (400 and
 * above) run every rule once; any other answer runs the rules without
 * body conditions when its headers come and those with body conditions
 * after it went to the client (too late to retry). */
static const char *phase_of(const struct rule_input *in, const struct rule *r)
{
    if (in->transport != TRANSPORT_NONE || in->status == 0)
        return "transport";
    if (in->status >= 400)
        return "held";
    return r->needs_body ? "after" : "headers";
}

/* Judges one leaf on its own through the compiler and rule_matches, so
 * that the leaf means exactly what it means inside the rule. */
static bool leaf_holds(struct json_object *leaf, struct rule_input *in)
{
    struct json_object *o = json_object_new_object(), *acts = json_object_new_array(),
                       *retry = json_object_new_object();
    struct rule *r;
    char err[128];
    bool held = false;

    json_object_object_add(retry, "type", json_object_new_string("retry"));
    json_object_array_add(acts, retry);
    json_object_object_add(o, "name", json_object_new_string("leaf"));
    json_object_object_add(o, "condition", json_object_get(leaf));
    json_object_object_add(o, "actions", acts);
    r = rule_compile(o, err, sizeof(err));
    if (r != NULL) {
        held = rule_matches(r, in);
        rule_free(r);
    }
    json_object_put(o);
    return held;
}

/* Adds {at, held} for every leaf under c (at most LEAVES_MAX). */
static void walk_leaves(struct json_object *c, const char *at, struct rule_input *in,
                        struct json_object *out)
{
    static const char *const groups[] = {"all", "any"};
    struct json_object *v;
    char sub[LEAF_AT_MAX];
    size_t g, i;

    if (!json_object_is_type(c, json_type_object) || json_object_array_length(out) >= LEAVES_MAX)
        return;
    if (json_object_object_get_ex(c, "not", &v)) {
        snprintf(sub, sizeof(sub), "%s.not", at);
        walk_leaves(v, sub, in, out);
        return;
    }
    for (g = 0; g < 2; g++) {
        if (!json_object_object_get_ex(c, groups[g], &v) ||
            !json_object_is_type(v, json_type_array))
            continue;
        for (i = 0; i < json_object_array_length(v); i++) {
            snprintf(sub, sizeof(sub), "%s.%s[%zu]", at, groups[g], i);
            walk_leaves(json_object_array_get_idx(v, i), sub, in, out);
        }
        return;
    }
    v = json_object_new_object();
    json_object_object_add(v, "at", json_object_new_string(at));
    json_object_object_add(v, "held", json_object_new_boolean(leaf_holds(c, in)));
    json_object_array_add(out, v);
}

/* The stored JSON text of a column, parsed (NULL when it is not JSON). */
static struct json_object *column_json(const struct db_res *res, unsigned i, unsigned col)
{
    const char *s = db_val(res, i, col);

    return s != NULL ? json_tokener_parse(s) : NULL;
}

/* What the evaluation reached so far, per phase: the rule that stopped it. */
struct stops {
    long long headers, after, once;
};

static long long *stop_of(struct stops *s, const char *phase)
{
    if (strcmp(phase, "headers") == 0)
        return &s->headers;
    if (strcmp(phase, "after") == 0)
        return &s->after;
    return &s->once;
}

/* One rule's verdict.  Returns whether it fires with a retry that can
 * still be taken (not after the answer went out). */
static bool judge_rule(const struct db_res *res, unsigned i, const struct rule *r,
                       struct rule_input *in, struct stops *st, struct json_object *out)
{
    struct json_object *o = json_object_new_object(), *cond = column_json(res, i, COL_COND),
                       *leaves = json_object_new_array(), *acts = column_json(res, i, COL_ACTIONS);
    const char *phase = phase_of(in, r);
    long long *stop = stop_of(st, phase);
    bool matched = false, fires = false;
    const char *why;

    if (!r->enabled)
        why = "disabled";
    else if (*stop != 0)
        why = "not_reached";
    else {
        matched = rule_matches(r, in);
        fires = matched && r->threshold <= 1;
        why = !matched ? "no_match" : fires ? "fires" : "counts";
        walk_leaves(cond, "condition", in, leaves);
    }
    json_object_object_add(o, "id", json_object_new_int64(r->id));
    json_object_object_add(o, "name", json_object_new_string(r->name));
    json_object_object_add(o, "priority", json_object_new_int64(r->priority));
    json_object_object_add(o, "upstream_id",
                           r->upstream_id ? json_object_new_int64(r->upstream_id) : NULL);
    json_object_object_add(o, "enabled", json_object_new_boolean(r->enabled));
    json_object_object_add(o, "phase", json_object_new_string(phase));
    json_object_object_add(o, "matched", json_object_new_boolean(matched));
    json_object_object_add(o, "fires", json_object_new_boolean(fires));
    json_object_object_add(o, "why", json_object_new_string(why));
    json_object_object_add(o, "leaves", leaves);
    json_object_object_add(o, "actions", fires && acts != NULL ? acts : json_object_new_array());
    if (!(fires && acts != NULL))
        json_object_put(acts);
    json_object_object_add(o, "threshold", json_object_new_int64(r->threshold));
    json_object_object_add(o, "window_s", json_object_new_int64(r->window_s));
    json_object_object_add(o, "stop", json_object_new_boolean(r->stop));
    json_object_object_add(o, "stops_here", json_object_new_boolean(fires && r->stop));
    json_object_array_add(out, o);
    json_object_put(cond);
    if (fires && r->stop)
        *stop = r->id;
    return fires && r->has_retry && strcmp(phase, "after") != 0;
}

/* Loads every rule of the upstream in the proxy's order and judges each. */
static int judge_all(struct req *r, long long up, struct rule_input *in, struct json_object *out,
                     struct stops *st, bool *retry)
{
    struct db_res res;
    unsigned i;
    int rc = db_query(r->w->db,
                      "SELECT " POOL_RULE_COLS " FROM rules"
                      " WHERE upstream_id IS NULL OR upstream_id = ? ORDER BY priority, id",
                      DB_ARGS(DB_INT(up)), &res);

    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        /* A rule that no longer compiles is skipped, as the proxy skips it. */
        struct rule *compiled = pool_rule_compile(&res, i);
        if (compiled == NULL)
            continue;
        *retry |= judge_rule(&res, i, compiled, in, st, out);
        rule_free(compiled);
    }
    db_res_free(&res);
    return rc;
}

static struct json_object *id_or_null(long long id)
{
    return id ? json_object_new_int64(id) : NULL;
}

void h_upstream_rules_test(struct req *r, const struct route_args *a)
{
    struct json_object *body = rs_body_json(r), *out, *rules;
    struct rule_header headers[RULE_SAMPLE_HEADERS_MAX];
    struct stops st = {0, 0, 0};
    struct rule_input in;
    bool found = false, retry = false;
    enum db_rc rc;

    if (body == NULL)
        return;
    rc = store_upstream_exists(r->w->db, a->id, &found);
    if (rc != DB_OK || !found) {
        if (rc != DB_OK)
            rs_reply_db_error(r, err_from_db(rc), "");
        else
            reply_error(r, ERR_NOT_FOUND, "upstream %lld does not exist", a->id);
        json_object_put(body);
        return;
    }
    if (!admin_rule_sample(r, body, &in, headers)) {
        json_object_put(body);
        return;
    }
    rules = json_object_new_array();
    if ((rc = judge_all(r, a->id, &in, rules, &st, &retry)) != DB_OK) {
        rs_reply_db_error(r, err_from_db(rc), "");
    } else {
        out = json_object_new_object();
        json_object_object_add(out, "rules", json_object_get(rules));
        json_object_object_add(out, "stopped_by", id_or_null(st.once ? st.once : st.headers));
        json_object_object_add(out, "stopped_after_by", id_or_null(st.after));
        json_object_object_add(out, "retry", json_object_new_boolean(retry));
        reply_json(r, 200, out);
    }
    json_object_put(rules);
    rule_input_done(&in);
    json_object_put(body);
}
