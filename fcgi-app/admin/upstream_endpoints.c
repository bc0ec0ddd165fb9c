/* An upstream's endpoints in the admin API (docs/API.md, "Endpoints"):
 * the list checked and completed on a write, base_url kept as its first
 * enabled URL, the one-endpoint form shown as a list, and this process's
 * view of each breaker. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/resource.h"
#include "admin/upstream_endpoints.h"
#include "core/clock.h"
#include "core/endpoint.h"
#include "core/valid.h"

#define URL_MIN 8
#define URL_MAX 2048

/* Checks one entry and returns it completed (weight 1 and enabled true
 * when absent), or NULL with "endpoints[i]...: why" in msg. */
static struct json_object *entry(struct json_object *o, size_t i, char *msg, size_t len)
{
    struct json_object *url = NULL, *w = NULL, *en = NULL, *out;
    const char *why;

    if (!json_object_is_type(o, json_type_object)) {
        snprintf(msg, len, "endpoints[%zu]: must be an object {\"url\", \"weight\", \"enabled\"}",
                 i);
        return NULL;
    }
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        /* breaker is what answers show: a body read back may hold it. */
        if (strcmp(key, "url") != 0 && strcmp(key, "weight") != 0 && strcmp(key, "enabled") != 0 &&
            strcmp(key, "breaker") != 0) {
            snprintf(msg, len, "endpoints[%zu]: unknown member (only url, weight and enabled)", i);
            return NULL;
        }
    }
    json_object_object_get_ex(o, "url", &url);
    json_object_object_get_ex(o, "weight", &w);
    json_object_object_get_ex(o, "enabled", &en);
    if (url == NULL || !json_object_is_type(url, json_type_string)) {
        snprintf(msg, len, "endpoints[%zu].url: required, a string", i);
        return NULL;
    }
    if (json_object_get_string_len(url) < URL_MIN || json_object_get_string_len(url) > URL_MAX) {
        snprintf(msg, len, "endpoints[%zu].url: must be %d to %d characters", i, URL_MIN, URL_MAX);
        return NULL;
    }
    if ((why = check_http_url(json_object_get_string(url))) != NULL) {
        snprintf(msg, len, "endpoints[%zu].url: %s", i, why);
        return NULL;
    }
    if (w != NULL && (!json_object_is_type(w, json_type_int) || json_object_get_int64(w) < 1 ||
                      json_object_get_int64(w) > ENDPOINT_WEIGHT_MAX)) {
        snprintf(msg, len, "endpoints[%zu].weight: must be an integer from 1 to %d", i,
                 ENDPOINT_WEIGHT_MAX);
        return NULL;
    }
    if (en != NULL && !json_object_is_type(en, json_type_boolean)) {
        snprintf(msg, len, "endpoints[%zu].enabled: must be true or false", i);
        return NULL;
    }
    out = json_object_new_object();
    json_object_object_add(out, "url", json_object_get(url));
    json_object_object_add(out, "weight", json_object_new_int64(w ? json_object_get_int64(w) : 1));
    json_object_object_add(out, "enabled",
                           json_object_new_boolean(en ? json_object_get_boolean(en) : true));
    return out;
}

/* Whether entry i's URL is one of an earlier entry. */
static bool repeated(struct json_object *list, size_t i)
{
    const char *url =
        json_object_get_string(json_object_object_get(json_object_array_get_idx(list, i), "url"));
    size_t j;

    for (j = 0; j < i; j++)
        if (strcmp(url, json_object_get_string(json_object_object_get(
                            json_object_array_get_idx(list, j), "url"))) == 0)
            return true;
    return false;
}

/* The list checked and completed, or NULL with why in msg; *first is the
 * URL of its first enabled endpoint (owned by the list). */
static struct json_object *checked_list(struct json_object *v, const char **first, char *msg,
                                        size_t len)
{
    struct json_object *list;
    size_t i, n = json_object_array_length(v);

    *first = NULL;
    if (n < 1 || n > ENDPOINTS_MAX) {
        snprintf(msg, len, "endpoints: must hold 1 to %d endpoints (or be null)", ENDPOINTS_MAX);
        return NULL;
    }
    list = json_object_new_array();
    for (i = 0; i < n; i++) {
        struct json_object *e = entry(json_object_array_get_idx(v, i), i, msg, len);
        if (e == NULL) {
            json_object_put(list);
            return NULL;
        }
        json_object_array_add(list, e);
        if (repeated(list, i)) {
            snprintf(msg, len, "endpoints[%zu].url: named twice", i);
            json_object_put(list);
            return NULL;
        }
        if (*first == NULL && json_object_get_boolean(json_object_object_get(e, "enabled")))
            *first = json_object_get_string(json_object_object_get(e, "url"));
    }
    if (*first == NULL) {
        snprintf(msg, len, "endpoints: at least one must be enabled");
        json_object_put(list);
        return NULL;
    }
    return list;
}

enum err upstream_endpoints_write(struct json_object *patch, struct json_object *after, char *msg,
                                  size_t len)
{
    struct json_object *given = NULL, *list;
    const char *base = rs_jstr(patch, "base_url"), *first;

    if (!json_object_object_get_ex(patch, "endpoints", &given)) {
        /* base_url alone is the one-endpoint form: it replaces the list. */
        if (base != NULL)
            json_object_object_add(after, "endpoints", NULL);
    } else if (given != NULL) {
        if ((list = checked_list(given, &first, msg, len)) == NULL)
            return ERR_INVALID_FIELD;
        if (base != NULL && strcmp(base, first) != 0) {
            snprintf(msg, len,
                     "base_url: disagrees with endpoints: it must be the URL of the first enabled "
                     "endpoint, or be left out");
            json_object_put(list);
            return ERR_INVALID_FIELD;
        }
        json_object_object_add(after, "base_url", json_object_new_string(first));
        json_object_object_add(after, "endpoints", list);
    }
    if (rs_jstr(after, "base_url") == NULL) {
        snprintf(msg, len, "base_url: required (or endpoints)");
        return ERR_INVALID_FIELD;
    }
    return ERR_OK;
}

static long long member_int(struct json_object *o, const char *name, long long def)
{
    struct json_object *v = NULL;

    return json_object_object_get_ex(o, name, &v) && v != NULL ? json_object_get_int64(v) : def;
}

/* The one-endpoint form (endpoints null) as a list of one. */
static void one_endpoint_list(struct json_object *row)
{
    struct json_object *eps = NULL, *one;
    const char *base = rs_jstr(row, "base_url");

    if (json_object_object_get_ex(row, "endpoints", &eps) && eps != NULL)
        return;
    if (base == NULL)
        return;
    one = json_object_new_object();
    json_object_object_add(one, "url", json_object_new_string(base));
    json_object_object_add(one, "weight", json_object_new_int64(1));
    json_object_object_add(one, "enabled", json_object_new_boolean(true));
    eps = json_object_new_array();
    json_object_array_add(eps, one);
    json_object_object_add(row, "endpoints", eps);
}

/* Adds to each endpoint its breaker as this process sees it. */
static void add_breakers(struct json_object *row)
{
    struct json_object *eps = NULL;
    struct endpoint_params p;
    long long id = member_int(row, "id", 0);
    int64_t now = clock_mono_ms(), wall = clock_wall_ms();
    size_t i;

    p.threshold = member_int(row, "endpoint_fail_threshold", 5);
    p.window_ms = member_int(row, "endpoint_window_s", 30) * 1000;
    p.cooldown_ms = member_int(row, "endpoint_cooldown_s", 30) * 1000;
    p.trial_limit_ms = 0;
    if (!json_object_object_get_ex(row, "endpoints", &eps) || eps == NULL)
        return;
    for (i = 0; i < json_object_array_length(eps); i++) {
        struct json_object *e = json_object_array_get_idx(eps, i), *b = json_object_new_object();
        const char *url = json_object_get_string(json_object_object_get(e, "url"));
        struct endpoint_view v;
        char t[32];

        endpoint_view(url != NULL ? endpoint_breaker_for(id, url) : NULL, &p, now, &v);
        json_object_object_add(b, "state", json_object_new_string(endpoint_state_name(v.state)));
        json_object_object_add(b, "failures", json_object_new_int64(v.failures));
        json_object_object_add(
            b, "open_until",
            v.state == ENDPOINT_CLOSED
                ? NULL
                : json_object_new_string(clock_rfc3339(
                      (time_t)((wall + (v.open_until_ms - now) + 999) / 1000), t, sizeof(t))));
        json_object_object_add(e, "breaker", b);
    }
}

void upstream_endpoints_shown(struct json_object *row)
{
    one_endpoint_list(row);
    add_breakers(row);
}
