/*
 * Rules: a rule's fields and actions checked and compiled from the
 * contract's JSON.  The condition tree is compiled by rule_cond.c and
 * evaluated by rule_eval.c; JSON paths and their comparisons are
 * jsonpath.c's.
 *
 * The read-only fields id, created_at and updated_at are accepted and
 * ignored (r->id stays 0 for the caller to set).  The optional fields of
 * actions (until, message of alert, webhook) may also be null, meaning
 * absent.  Names and messages count characters (UTF-8), as the database
 * columns do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/rule/rule_int.h"
#include "core/valid.h"
#include "core/nelem.h"

#define NAME_MAX_CHARS    128
#define MESSAGE_MAX_CHARS 1024
#define WEBHOOK_MAX       2048
#define PRIORITY_MAX      1000000
#define THRESHOLD_MAX     1000000
#define SECONDS_MAX       31536000 /* a year: window_s, cooldown_s, duration_s */

/* Reads an optional integer field within [min, max]; *out keeps its
 * default when the field is absent. */
static int opt_int(struct json_object *j, const char *place, const char *key, long long min,
                   long long max, long long *out, char *err, size_t errlen)
{
    struct json_object *v;
    long long x;

    if (!json_object_object_get_ex(j, key, &v))
        return 0;
    x = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || x < min || x > max) {
        rule_fail(err, errlen, place, key, "must be an integer between %lld and %lld", min, max);
        return -1;
    }
    *out = x;
    return 0;
}

static int opt_bool(struct json_object *j, const char *key, bool *out, char *err, size_t errlen)
{
    struct json_object *v;

    if (!json_object_object_get_ex(j, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_boolean)) {
        rule_fail(err, errlen, "", key, "must be true or false");
        return -1;
    }
    *out = json_object_get_boolean(v);
    return 0;
}

/* Reads a text field of min to max characters (UTF-8 without NUL) into a
 * copy in *out.  Absent (or null, when nullable) leaves *out NULL, which
 * is an error only when the field is required. */
static int get_text(struct json_object *j, const char *place, const char *key, bool required,
                    size_t min, size_t max, char **out, char *err, size_t errlen)
{
    struct json_object *v;
    const char *s;
    size_t n, chars;

    if (!json_object_object_get_ex(j, key, &v) || (v == NULL && !required)) {
        if (required)
            rule_fail(err, errlen, place, key, "required");
        return required ? -1 : 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        rule_fail(err, errlen, place, key, "must be a string");
        return -1;
    }
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (strlen(s) != n || !utf8_valid(s, n)) {
        rule_fail(err, errlen, place, key, "must be UTF-8 text without NUL characters");
        return -1;
    }
    chars = utf8_chars(s, n);
    if (chars < min || chars > max) {
        rule_fail(err, errlen, place, key, "must be %zu to %zu characters long", min, max);
        return -1;
    }
    *out = strdup(s);
    if (*out == NULL) {
        rule_fail(err, errlen, place, key, "out of memory");
        return -1;
    }
    return 0;
}

/* The action types, and the fields each takes besides "type". */
static const struct action_kind {
    const char *name;
    enum action_type type;
    const char *fields[3];
} action_kinds[] = {
    {"disable_key", ACTION_DISABLE, {"duration_s", "until", "scope"}},
    {"ban_key", ACTION_BAN, {NULL, NULL, NULL}},
    {"retry", ACTION_RETRY, {NULL, NULL, NULL}},
    {"alert", ACTION_ALERT, {"message", "webhook", NULL}},
    {"log", ACTION_LOG, {"message", NULL, NULL}},
};

#define NKINDS (NELEM(action_kinds))

static const struct action_kind *action_kind(struct json_object *a)
{
    struct json_object *t = json_object_object_get(a, "type");
    size_t i;

    for (i = 0; i < NKINDS; i++)
        if (json_object_is_type(t, json_type_string) &&
            strcmp(json_object_get_string(t), action_kinds[i].name) == 0)
            return &action_kinds[i];
    return NULL;
}

/* Whether key is one of the fields kind k takes. */
static bool takes_field(const struct action_kind *k, const char *key)
{
    size_t i;

    for (i = 0; i < NELEM(k->fields); i++)
        if (k->fields[i] != NULL && strcmp(key, k->fields[i]) == 0)
            return true;
    return false;
}

/* scope: "key" (the default) or "model"; null means absent. */
static int scope_field(struct json_object *a, const char *place, struct rule_action *act, char *err,
                       size_t errlen)
{
    struct json_object *v;
    const char *s;

    act->scope = SCOPE_KEY;
    if (!json_object_object_get_ex(a, "scope", &v) || v == NULL)
        return 0;
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (strcmp(s, "model") == 0)
        act->scope = SCOPE_MODEL;
    else if (strcmp(s, "key") != 0) {
        rule_fail(err, errlen, place, "scope", "must be key or model");
        return -1;
    }
    return 0;
}

static int disable_fields(struct json_object *a, const char *place, struct rule_action *act,
                          char *err, size_t errlen)
{
    struct json_object *v;
    const char *s;

    if (opt_int(a, place, "duration_s", 0, SECONDS_MAX, &act->duration_s, err, errlen) != 0 ||
        scope_field(a, place, act, err, errlen) != 0)
        return -1;
    if (!json_object_object_get_ex(a, "until", &v) || v == NULL)
        return 0;
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (strcmp(s, "retry_after") == 0)
        act->until = UNTIL_RETRY_AFTER;
    else if (strcmp(s, "quota_reset") == 0)
        act->until = UNTIL_QUOTA_RESET;
    else {
        rule_fail(err, errlen, place, "until", "must be retry_after or quota_reset");
        return -1;
    }
    return 0;
}

static int alert_fields(struct json_object *a, const char *place, struct rule_action *act,
                        char *err, size_t errlen)
{
    const char *why;

    if (get_text(a, place, "message", false, 0, MESSAGE_MAX_CHARS, &act->message, err, errlen) !=
            0 ||
        get_text(a, place, "webhook", false, 1, WEBHOOK_MAX, &act->webhook, err, errlen) != 0)
        return -1;
    if (act->webhook == NULL)
        return 0;
    why = strlen(act->webhook) > WEBHOOK_MAX ? "must be at most 2048 bytes"
                                             : check_http_url(act->webhook);
    if (why != NULL) {
        rule_fail(err, errlen, place, "webhook", "%s", why);
        return -1;
    }
    return 0;
}

/* Compiles actions[i] into act. */
static int compile_action(struct json_object *a, size_t i, struct rule_action *act, char *err,
                          size_t errlen)
{
    const struct action_kind *k;
    char place[32];

    snprintf(place, sizeof(place), "actions[%zu]", i);
    if (!json_object_is_type(a, json_type_object)) {
        rule_fail(err, errlen, place, NULL, "must be an object");
        return -1;
    }
    if (!json_object_object_get_ex(a, "type", NULL)) {
        rule_fail(err, errlen, place, "type", "required");
        return -1;
    }
    k = action_kind(a);
    if (k == NULL) {
        rule_fail(err, errlen, place, "type", "must be disable_key, ban_key, retry, alert or log");
        return -1;
    }
    json_object_object_foreach(a, key, val)
    {
        (void)val;
        if (strcmp(key, "type") != 0 && !takes_field(k, key)) {
            rule_fail(err, errlen, place, key, "unknown field");
            return -1;
        }
    }
    act->type = k->type;
    act->until = UNTIL_DURATION;
    if (k->type == ACTION_DISABLE)
        return disable_fields(a, place, act, err, errlen);
    if (k->type == ACTION_ALERT)
        return alert_fields(a, place, act, err, errlen);
    if (k->type == ACTION_LOG)
        return get_text(a, place, "message", true, 1, MESSAGE_MAX_CHARS, &act->message, err,
                        errlen);
    return 0;
}

static int compile_actions(struct rule *r, struct json_object *j, char *err, size_t errlen)
{
    struct json_object *v;
    size_t n;

    if (!json_object_object_get_ex(j, "actions", &v)) {
        rule_fail(err, errlen, "actions", NULL, "required");
        return -1;
    }
    n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n == 0) {
        rule_fail(err, errlen, "actions", NULL, "must be a non-empty array of actions");
        return -1;
    }
    r->actions = calloc(n, sizeof(*r->actions));
    if (r->actions == NULL) {
        rule_fail(err, errlen, "actions", NULL, "out of memory");
        return -1;
    }
    for (r->nactions = 0; r->nactions < n; r->nactions++) {
        struct rule_action *act = &r->actions[r->nactions];
        if (compile_action(json_object_array_get_idx(v, r->nactions), r->nactions, act, err,
                           errlen) != 0) {
            r->nactions++; /* so that rule_free frees what it holds */
            return -1;
        }
        r->has_retry |= act->type == ACTION_RETRY;
        r->changes_key |= act->type == ACTION_DISABLE || act->type == ACTION_BAN;
    }
    return 0;
}

static int compile_upstream(struct rule *r, struct json_object *j, char *err, size_t errlen)
{
    struct json_object *v;

    if (!json_object_object_get_ex(j, "upstream_id", &v) || v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1) {
        rule_fail(err, errlen, "", "upstream_id", "must be a positive integer or null");
        return -1;
    }
    r->upstream_id = json_object_get_int64(v);
    return 0;
}

static int compile_condition(struct rule *r, struct json_object *j, char *err, size_t errlen)
{
    struct json_object *v;

    if (!json_object_object_get_ex(j, "condition", &v)) {
        rule_fail(err, errlen, "condition", NULL, "required");
        return -1;
    }
    r->cond = rule_cond_compile(v, "condition", &r->needs_body, err, errlen);
    return r->cond != NULL ? 0 : -1;
}

static bool known_field(const char *key)
{
    static const char *const known[] = {
        "id",        "created_at", "updated_at", "name",     "upstream_id", "enabled", "priority",
        "condition", "actions",    "threshold",  "window_s", "cooldown_s",  "stop"};
    size_t i;

    for (i = 0; i < NELEM(known); i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    return false;
}

struct rule *rule_compile(struct json_object *json, char *err, size_t errlen)
{
    struct rule *r = NULL;
    bool ok = false;

    if (!json_object_is_type(json, json_type_object)) {
        snprintf(err, errlen, "rule: must be a JSON object");
        goto out;
    }
    json_object_object_foreach(json, key, val)
    {
        (void)val;
        if (!known_field(key)) {
            rule_fail(err, errlen, "", key, "unknown field");
            goto out;
        }
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, errlen, "rule: out of memory");
        goto out;
    }
    r->enabled = true;
    r->priority = 100;
    r->threshold = 1;
    r->window_s = 60;
    if (get_text(json, "", "name", true, 1, NAME_MAX_CHARS, &r->name, err, errlen) != 0 ||
        compile_upstream(r, json, err, errlen) != 0 ||
        opt_bool(json, "enabled", &r->enabled, err, errlen) != 0 ||
        opt_int(json, "", "priority", -PRIORITY_MAX, PRIORITY_MAX, &r->priority, err, errlen) !=
            0 ||
        compile_condition(r, json, err, errlen) != 0 ||
        compile_actions(r, json, err, errlen) != 0 ||
        opt_int(json, "", "threshold", 1, THRESHOLD_MAX, &r->threshold, err, errlen) != 0 ||
        opt_int(json, "", "window_s", 1, SECONDS_MAX, &r->window_s, err, errlen) != 0 ||
        opt_int(json, "", "cooldown_s", 0, SECONDS_MAX, &r->cooldown_s, err, errlen) != 0 ||
        opt_bool(json, "stop", &r->stop, err, errlen) != 0)
        goto out;
    ok = true;
out:
    if (!ok) {
        rule_free(r);
        r = NULL;
    }
    return r;
}

void rule_free(struct rule *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->nactions; i++) {
        free(r->actions[i].message);
        free(r->actions[i].webhook);
    }
    free(r->actions);
    rule_cond_free(r->cond);
    free(r->name);
    free(r);
}
