#include "route.h"
#include "shape_preview.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "admin/handlers.h"
#include "ops/ops.h"
#include "proxy/proxy.h"
#include "http.h"
#include "core/nelem.h"

struct route {
    const char *method; /* "*" for any */
    const char *pattern;
    enum role need;
    route_fn fn;
};

#define A "/api/admin"

/* Order matters only where patterns overlap: literal segments come before
 * {id} (keys/import before keys/{id}). */
static const struct route routes[] = {
    {"GET", "/healthz", ROLE_PUBLIC, h_healthz},
    {"HEAD", "/healthz", ROLE_PUBLIC, h_healthz},
    {"*", "/proxy/*", ROLE_PUBLIC, h_proxy},
    {"GET", "/metrics", ROLE_PUBLIC, h_metrics},

    {"POST", A "/login", ROLE_PUBLIC, h_login},
    {"POST", A "/logout", ROLE_VIEWER, h_logout},
    {"GET", A "/me", ROLE_VIEWER, h_me},

    {"GET", A "/upstreams", ROLE_VIEWER, h_upstreams_list},
    {"POST", A "/upstreams", ROLE_ADMIN, h_upstreams_create},
    {"GET", A "/upstreams/{id}", ROLE_VIEWER, h_upstreams_get},
    {"PUT", A "/upstreams/{id}", ROLE_ADMIN, h_upstreams_update},
    {"PATCH", A "/upstreams/{id}", ROLE_ADMIN, h_upstreams_update},
    {"DELETE", A "/upstreams/{id}", ROLE_ADMIN, h_upstreams_delete},
    {"POST", A "/upstreams/{id}/shape/test", ROLE_OPERATOR, h_upstreams_shape_test},
    {"POST", A "/upstreams/{id}/rules/test", ROLE_OPERATOR, h_upstream_rules_test},

    {"POST", A "/keys/import", ROLE_OPERATOR, h_keys_import},
    {"POST", A "/keys/batch", ROLE_OPERATOR, h_keys_batch},
    {"POST", A "/keys/validate", ROLE_OPERATOR, h_keys_validate},
    {"GET", A "/keys", ROLE_VIEWER, h_keys_list},
    {"POST", A "/keys", ROLE_OPERATOR, h_keys_create},
    {"GET", A "/keys/{id}/events", ROLE_VIEWER, h_keys_events},
    {"POST", A "/keys/{id}/test", ROLE_OPERATOR, h_keys_test},
    {"GET", A "/keys/{id}", ROLE_VIEWER, h_keys_get},
    {"PATCH", A "/keys/{id}", ROLE_OPERATOR, h_keys_update},
    {"PUT", A "/keys/{id}", ROLE_OPERATOR, h_keys_update},
    {"DELETE", A "/keys/{id}", ROLE_OPERATOR, h_keys_delete},

    {"POST", A "/rules/test", ROLE_OPERATOR, h_rules_test},
    {"POST", A "/rules/backtest", ROLE_OPERATOR, h_rules_backtest},
    {"GET", A "/rules/hits", ROLE_VIEWER, h_rules_hits},
    {"POST", A "/scripts/test", ROLE_OPERATOR, h_scripts_test},
    {"GET", A "/rules", ROLE_VIEWER, h_rules_list},
    {"POST", A "/rules", ROLE_OPERATOR, h_rules_create},
    {"GET", A "/rules/{id}", ROLE_VIEWER, h_rules_get},
    {"PUT", A "/rules/{id}", ROLE_OPERATOR, h_rules_update},
    {"PATCH", A "/rules/{id}", ROLE_OPERATOR, h_rules_update},
    {"DELETE", A "/rules/{id}", ROLE_OPERATOR, h_rules_delete},

    {"GET", A "/prices", ROLE_VIEWER, h_prices_list},
    {"POST", A "/prices", ROLE_ADMIN, h_prices_create},
    {"GET", A "/prices/{id}", ROLE_VIEWER, h_prices_get},
    {"PUT", A "/prices/{id}", ROLE_ADMIN, h_prices_update},
    {"PATCH", A "/prices/{id}", ROLE_ADMIN, h_prices_update},
    {"DELETE", A "/prices/{id}", ROLE_ADMIN, h_prices_delete},

    {"GET", A "/logs", ROLE_VIEWER, h_logs},
    {"GET", A "/stats", ROLE_VIEWER, h_stats},
    {"GET", A "/alerts", ROLE_VIEWER, h_alerts},
    {"GET", A "/jobs", ROLE_VIEWER, h_jobs_list},
    {"GET", A "/jobs/{id}", ROLE_VIEWER, h_jobs_get},
    {"DELETE", A "/jobs/{id}", ROLE_OPERATOR, h_jobs_cancel},
    {"GET", A "/capacity", ROLE_VIEWER, h_capacity},

    {"GET", A "/tokens", ROLE_ADMIN, h_tokens_list},
    {"POST", A "/tokens", ROLE_ADMIN, h_tokens_create},
    {"GET", A "/tokens/{id}", ROLE_ADMIN, h_tokens_get},
    {"PATCH", A "/tokens/{id}", ROLE_ADMIN, h_tokens_update},
    {"PUT", A "/tokens/{id}", ROLE_ADMIN, h_tokens_update},
    {"DELETE", A "/tokens/{id}", ROLE_ADMIN, h_tokens_delete},

    {"GET", A "/users", ROLE_ADMIN, h_users_list},
    {"POST", A "/users", ROLE_ADMIN, h_users_create},
    {"GET", A "/users/{id}", ROLE_ADMIN, h_users_get},
    {"PATCH", A "/users/{id}", ROLE_ADMIN, h_users_update},
    {"PUT", A "/users/{id}", ROLE_ADMIN, h_users_update},
    {"DELETE", A "/users/{id}", ROLE_ADMIN, h_users_delete},
};

#define NROUTES (NELEM(routes))

/* Matches path against pattern segment by segment; {id} takes a positive
 * integer.  A single trailing slash on the path is ignored. */
static bool match(const char *pattern, const char *path, struct route_args *a)
{
    const char *p = pattern, *s = path;

    while (*p != '\0') {
        if (p[0] == '*' && p[1] == '\0')
            return true; /* a prefix route */
        if (strncmp(p, "{id}", 4) == 0) {
            char *end;
            long long v;
            if (*s < '1' || *s > '9')
                return false;
            v = strtoll(s, &end, 10);
            if (v <= 0 || (end - s) > 18)
                return false;
            a->id = v;
            s = end;
            p += 4;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *s == '\0' || (s[0] == '/' && s[1] == '\0');
}

/* Checks the caller's credential and role; answers 401/403/503 itself. */
static bool authorize(struct req *r, enum role need)
{
    enum err e = auth_admin(r);

    if (e == ERR_UNAUTHORIZED) {
        resp_header(r, "WWW-Authenticate", "Bearer");
        reply_error(r, e, "send Authorization: Bearer <session token or admin token>");
        return false;
    }
    if (e != ERR_OK) {
        reply_error(r, e, "the credential could not be checked: the database is unreachable");
        return false;
    }
    if ((int)need > r->role) {
        reply_error(r, ERR_FORBIDDEN, "this needs the %s role; you are %s", role_name(need),
                    role_name((enum role)r->role));
        return false;
    }
    return true;
}

enum err route_find(const char *method, const char *path, struct route_match *m)
{
    struct route_args a = {0};
    bool path_known = false;
    size_t i;

    for (i = 0; i < NROUTES; i++) {
        const struct route *rt = &routes[i];
        if (!match(rt->pattern, path, &a))
            continue;
        path_known = true;
        if (strcmp(rt->method, "*") != 0 && strcmp(rt->method, method) != 0)
            continue;
        m->fn = rt->fn;
        m->need = rt->need;
        m->args = a;
        return ERR_OK;
    }
    return path_known ? ERR_METHOD_NOT_ALLOWED : ERR_NOT_FOUND;
}

/* Answers 405 with the methods the path takes, in an Allow header. */
static void reply_not_allowed(struct req *r)
{
    struct route_args a = {0};
    struct buf allow;
    size_t i;

    buf_init(&allow, 256);
    for (i = 0; i < NROUTES; i++)
        if (match(routes[i].pattern, r->path, &a))
            buf_printf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
    resp_header(r, "Allow", buf_str(&allow));
    reply_error(r, ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %.200s (allowed: %s)", r->method,
                r->path, buf_str(&allow));
    buf_free(&allow);
}

void route_dispatch(struct req *r)
{
    struct route_match m;
    enum err e = route_find(r->method, r->path, &m);

    if (e == ERR_NOT_FOUND) {
        reply_error(r, ERR_NOT_FOUND, "no route for %.200s", r->path);
        return;
    }
    if (e != ERR_OK) {
        reply_not_allowed(r);
        return;
    }
    if (m.need > ROLE_PUBLIC && !authorize(r, m.need))
        return;
    m.fn(r, &m.args);
}
