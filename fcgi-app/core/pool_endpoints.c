/* An upstream's endpoints as the pool snapshot holds them (core/pool.h,
 * core/endpoint.h). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"

/* Adds one endpoint; its breaker is the process's for that URL. */
static int add(struct pool_upstream *u, const char *url, long long weight, bool enabled)
{
    struct pool_endpoint *e = &u->eps[u->neps];

    if ((e->url = strdup(url)) == NULL)
        return -1;
    endpoint_origin(url, e->origin, sizeof(e->origin));
    e->weight = weight >= 1 && weight <= ENDPOINT_WEIGHT_MAX ? weight : 1;
    e->enabled = enabled;
    e->br = endpoint_breaker_for(u->id, url);
    u->neps++;
    return 0;
}

/* The stored list was checked when it was written (admin/upstreams.c);
 * a member that is not as expected reads as its default, an entry without
 * a URL is left out. */
static int add_stored(struct pool_upstream *u, struct json_object *list)
{
    size_t i, n = json_object_array_length(list);

    for (i = 0; i < n && u->neps < ENDPOINTS_MAX; i++) {
        struct json_object *o = json_object_array_get_idx(list, i), *url, *w, *en;
        if (!json_object_object_get_ex(o, "url", &url) ||
            !json_object_is_type(url, json_type_string))
            continue;
        if (add(u, json_object_get_string(url),
                json_object_object_get_ex(o, "weight", &w) ? json_object_get_int64(w) : 1,
                !json_object_object_get_ex(o, "enabled", &en) || json_object_get_boolean(en)) != 0)
            return -1;
    }
    return 0;
}

int pool_endpoints_load(struct pool_upstream *u, const char *json, long long threshold,
                        long long window_s, long long cooldown_s)
{
    struct json_object *list = json != NULL ? json_tokener_parse(json) : NULL;
    int rc = 0;

    u->ep_params.threshold = threshold;
    u->ep_params.window_ms = window_s * 1000;
    u->ep_params.cooldown_ms = cooldown_s * 1000;
    /* A trial that has not reported by the end of its attempt is lost. */
    u->ep_params.trial_limit_ms = u->timeout_ms + u->connect_timeout_ms + 1000;
    u->eps = calloc(ENDPOINTS_MAX, sizeof(*u->eps));
    if (u->eps == NULL) {
        json_object_put(list);
        return -1;
    }
    if (list != NULL && json_object_is_type(list, json_type_array))
        rc = add_stored(u, list);
    if (rc == 0 && u->neps == 0 && u->base_url != NULL)
        rc = add(u, u->base_url, 1, true);
    json_object_put(list);
    return rc;
}

void pool_endpoints_free(struct pool_upstream *u)
{
    size_t i;

    for (i = 0; i < u->neps; i++)
        free(u->eps[i].url);
    free(u->eps);
    u->eps = NULL;
    u->neps = 0;
}

const char *pool_endpoint_healthy(const struct pool_upstream *u, int64_t now)
{
    size_t i;

    for (i = 0; i < u->neps; i++) {
        struct endpoint_view v;
        if (!u->eps[i].enabled)
            continue;
        endpoint_view(u->eps[i].br, &u->ep_params, now, &v);
        if (v.state == ENDPOINT_CLOSED)
            return u->eps[i].url;
    }
    return NULL;
}
