#include "route.h"
#include "shape_preview.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "openapi.h"
#include "ops/ops.h"
#include "proxy/proxy.h"
#include "http.h"
#include "core/nelem.h"

#define A "/api/admin"

/* Shorthands for the doc column (struct route_doc): D(summary, body,
 * answer, kind, query). */
#define D(sum, body, ans, kind, q)                                                                 \
    {                                                                                              \
        sum, body, ans, kind, q                                                                    \
    }
#define PAGE "page"

static void h_openapi(struct req *r, const struct route_args *a);

/* Order matters only where patterns overlap: literal segments come before
 * {id} (keys/import before keys/{id}). */
static const struct route routes[] = {
    {"GET", "/healthz", ROLE_PUBLIC, h_healthz,
     D("Liveness and database reachability", NULL, NULL, RA_OBJECT, NULL)},
    {"HEAD", "/healthz", ROLE_PUBLIC, h_healthz,
     D("Liveness, headers only", NULL, NULL, RA_EMPTY, NULL)},
    {"*", "/proxy/*", ROLE_PUBLIC, h_proxy,
     D("Forward a request to an upstream with a key from its pool", NULL, NULL, RA_PASS, NULL)},
    {"GET", "/metrics", ROLE_PUBLIC, h_metrics, D("Prometheus metrics", NULL, NULL, RA_TEXT, NULL)},
    {"GET", "/api/openapi.json", ROLE_VIEWER, h_openapi,
     D("This OpenAPI document, generated from the route table", NULL, NULL, RA_OBJECT, NULL)},

    {"POST", A "/login", ROLE_PUBLIC, h_login,
     D("Log in with a user name and password; answers a session token", &vt_login, &vt_login_answer,
       RA_OBJECT, NULL)},
    {"POST", A "/logout", ROLE_VIEWER, h_logout, D("End the session", NULL, NULL, RA_EMPTY, NULL)},
    {"GET", A "/me", ROLE_VIEWER, h_me,
     D("The caller's user name and role", NULL, &vt_me, RA_OBJECT, NULL)},

    {"GET", A "/upstreams", ROLE_VIEWER, h_upstreams_list,
     D("List upstreams", NULL, &vt_upstreams, RA_LIST, PAGE)},
    {"POST", A "/upstreams", ROLE_ADMIN, h_upstreams_create,
     D("Create an upstream", &vt_upstreams, &vt_upstreams, RA_CREATED, NULL)},
    {"GET", A "/upstreams/{id}", ROLE_VIEWER, h_upstreams_get,
     D("Read an upstream", NULL, &vt_upstreams, RA_OBJECT, NULL)},
    {"PUT", A "/upstreams/{id}", ROLE_ADMIN, h_upstreams_update,
     D("Change an upstream (the fields sent)", &vt_upstreams, &vt_upstreams, RA_OBJECT, NULL)},
    {"PATCH", A "/upstreams/{id}", ROLE_ADMIN, h_upstreams_update,
     D("Change an upstream (the fields sent)", &vt_upstreams, &vt_upstreams, RA_OBJECT, NULL)},
    {"DELETE", A "/upstreams/{id}", ROLE_ADMIN, h_upstreams_delete,
     D("Delete an upstream", NULL, NULL, RA_EMPTY, NULL)},
    {"POST", A "/upstreams/{id}/shape/test", ROLE_OPERATOR, h_upstreams_shape_test,
     D("Preview how the upstream's shaping changes a sample request", &vt_shape_test, NULL,
       RA_OBJECT, NULL)},
    {"POST", A "/upstreams/{id}/rules/test", ROLE_OPERATOR, h_upstream_rules_test,
     D("Which of the upstream's rules a sample answer would fire, in order", &vt_rule_sample, NULL,
       RA_OBJECT, NULL)},

    {"POST", A "/keys/import", ROLE_OPERATOR, h_keys_import,
     D("Import keys in bulk", &vt_keys_import, NULL, RA_OBJECT, NULL)},
    {"POST", A "/keys/batch", ROLE_OPERATOR, h_keys_batch,
     D("Act on keys in bulk: enable, disable, ban, delete, reset usage, test", &vt_keys_batch, NULL,
       RA_OBJECT, NULL)},
    {"POST", A "/keys/validate", ROLE_OPERATOR, h_keys_validate,
     D("Start a validation job that probes keys", &vt_keys_validate, NULL, RA_ACCEPTED, NULL)},
    {"POST", A "/keys/find", ROLE_OPERATOR, h_keys_find,
     D("Find a key by its value (compared by hash; never stored or logged)", &vt_keys_find, NULL,
       RA_OBJECT, NULL)},
    {"GET", A "/keys", ROLE_VIEWER, h_keys_list,
     D("List keys (masked)", NULL, &vt_keys, RA_LIST,
       PAGE " upstream_id=id status=text q=text sort=text order=text")},
    {"POST", A "/keys", ROLE_OPERATOR, h_keys_create,
     D("Add a key", &vt_keys, &vt_keys, RA_CREATED, NULL)},
    {"GET", A "/keys/{id}/events", ROLE_VIEWER, h_keys_events,
     D("A key's history of status changes", NULL, &vt_key_events, RA_LIST, PAGE)},
    {"POST", A "/keys/{id}/test", ROLE_OPERATOR, h_keys_test,
     D("Probe one key now", NULL, &vt_key_test, RA_OBJECT, NULL)},
    {"GET", A "/keys/{id}", ROLE_VIEWER, h_keys_get,
     D("Read a key (masked)", NULL, &vt_keys, RA_OBJECT, NULL)},
    {"PATCH", A "/keys/{id}", ROLE_OPERATOR, h_keys_update,
     D("Change a key (the fields sent)", &vt_keys, &vt_keys, RA_OBJECT, NULL)},
    {"PUT", A "/keys/{id}", ROLE_OPERATOR, h_keys_update,
     D("Change a key (the fields sent)", &vt_keys, &vt_keys, RA_OBJECT, NULL)},
    {"DELETE", A "/keys/{id}", ROLE_OPERATOR, h_keys_delete,
     D("Delete a key", NULL, NULL, RA_EMPTY, NULL)},

    {"POST", A "/rules/test", ROLE_OPERATOR, h_rules_test,
     D("Run one rule against a sample answer", &vt_rules_test, NULL, RA_OBJECT, NULL)},
    {"POST", A "/rules/backtest", ROLE_OPERATOR, h_rules_backtest,
     D("Replay logged answers against a rule", &vt_rules_backtest, NULL, RA_OBJECT, NULL)},
    {"POST", A "/scripts/test", ROLE_OPERATOR, h_scripts_test,
     D("Run an upstream script against a sample request or answer", &vt_scripts_test, NULL,
       RA_OBJECT, NULL)},
    {"GET", A "/rules/hits", ROLE_VIEWER, h_rules_hits,
     D("How often each rule acted over the last 24 hours", NULL, NULL, RA_OBJECT, NULL)},
    {"GET", A "/rules", ROLE_VIEWER, h_rules_list,
     D("List rules", NULL, &vt_rules, RA_LIST, PAGE " upstream_id=id")},
    {"POST", A "/rules", ROLE_OPERATOR, h_rules_create,
     D("Create a rule", &vt_rules, &vt_rules, RA_CREATED, NULL)},
    {"GET", A "/rules/{id}", ROLE_VIEWER, h_rules_get,
     D("Read a rule", NULL, &vt_rules, RA_OBJECT, NULL)},
    {"PUT", A "/rules/{id}", ROLE_OPERATOR, h_rules_update,
     D("Change a rule (the fields sent)", &vt_rules, &vt_rules, RA_OBJECT, NULL)},
    {"PATCH", A "/rules/{id}", ROLE_OPERATOR, h_rules_update,
     D("Change a rule (the fields sent)", &vt_rules, &vt_rules, RA_OBJECT, NULL)},
    {"DELETE", A "/rules/{id}", ROLE_OPERATOR, h_rules_delete,
     D("Delete a rule", NULL, NULL, RA_EMPTY, NULL)},

    {"GET", A "/prices", ROLE_VIEWER, h_prices_list,
     D("List model prices", NULL, &vt_prices, RA_LIST, PAGE)},
    {"POST", A "/prices", ROLE_ADMIN, h_prices_create,
     D("Add a model price", &vt_prices, &vt_prices, RA_CREATED, NULL)},
    {"GET", A "/prices/{id}", ROLE_VIEWER, h_prices_get,
     D("Read a model price", NULL, &vt_prices, RA_OBJECT, NULL)},
    {"PUT", A "/prices/{id}", ROLE_ADMIN, h_prices_update,
     D("Change a model price (the fields sent)", &vt_prices, &vt_prices, RA_OBJECT, NULL)},
    {"PATCH", A "/prices/{id}", ROLE_ADMIN, h_prices_update,
     D("Change a model price (the fields sent)", &vt_prices, &vt_prices, RA_OBJECT, NULL)},
    {"DELETE", A "/prices/{id}", ROLE_ADMIN, h_prices_delete,
     D("Delete a model price", NULL, NULL, RA_EMPTY, NULL)},

    {"GET", A "/logs", ROLE_VIEWER, h_logs,
     D("Search the request log", NULL, NULL, RA_LIST,
       PAGE " upstream_id=id key_id=id token_id=id status=text from=time to=time q=text "
            "cursor=text model=text")},
    {"GET", A "/logs/{rid}", ROLE_VIEWER, h_log_detail,
     D("One request by its X-Gateway-Request-Id: the log row, names and its attempts", NULL, NULL,
       RA_OBJECT, NULL)},
    {"GET", A "/stats", ROLE_VIEWER, h_stats,
     D("Request counts and latency over time", NULL, NULL, RA_OBJECT,
       "from=time to=time upstream_id=id bucket_s=int")},
    {"GET", A "/alerts", ROLE_VIEWER, h_alerts,
     D("List alerts", NULL, &vt_alerts, RA_LIST,
       PAGE " upstream_id=id rule_id=id key_id=id kind=text")},
    {"GET", A "/jobs", ROLE_VIEWER, h_jobs_list,
     D("List validation jobs", NULL, &vt_jobs, RA_LIST, PAGE " upstream_id=id state=text")},
    {"GET", A "/jobs/{id}", ROLE_VIEWER, h_jobs_get,
     D("Read a validation job and a page of its results", NULL, NULL, RA_OBJECT,
       PAGE " verdict=text")},
    {"DELETE", A "/jobs/{id}", ROLE_OPERATOR, h_jobs_cancel,
     D("Cancel a validation job", NULL, NULL, RA_EMPTY, NULL)},
    {"GET", A "/capacity", ROLE_VIEWER, h_capacity,
     D("Usable keys and headroom of each upstream", NULL, NULL, RA_OBJECT, NULL)},
    {"GET", A "/housekeeping", ROLE_VIEWER, h_housekeeping,
     D("When each cron job last ran, what it did, and whether it is late", NULL, NULL, RA_OBJECT,
       NULL)},

    {"GET", A "/tokens", ROLE_ADMIN, h_tokens_list,
     D("List client tokens", NULL, &vt_tokens, RA_LIST, PAGE)},
    {"POST", A "/tokens", ROLE_ADMIN, h_tokens_create,
     D("Create a client token; the answer shows the token once", &vt_tokens, &vt_tokens, RA_CREATED,
       NULL)},
    {"GET", A "/tokens/{id}", ROLE_ADMIN, h_tokens_get,
     D("Read a client token", NULL, &vt_tokens, RA_OBJECT, NULL)},
    {"PATCH", A "/tokens/{id}", ROLE_ADMIN, h_tokens_update,
     D("Change a client token (the fields sent)", &vt_tokens, &vt_tokens, RA_OBJECT, NULL)},
    {"PUT", A "/tokens/{id}", ROLE_ADMIN, h_tokens_update,
     D("Change a client token (the fields sent)", &vt_tokens, &vt_tokens, RA_OBJECT, NULL)},
    {"DELETE", A "/tokens/{id}", ROLE_ADMIN, h_tokens_delete,
     D("Delete a client token", NULL, NULL, RA_EMPTY, NULL)},

    {"GET", A "/users", ROLE_ADMIN, h_users_list, D("List users", NULL, &vt_users, RA_LIST, PAGE)},
    {"POST", A "/users", ROLE_ADMIN, h_users_create,
     D("Create a user", &vt_users, &vt_users, RA_CREATED, NULL)},
    {"GET", A "/users/{id}", ROLE_ADMIN, h_users_get,
     D("Read a user", NULL, &vt_users, RA_OBJECT, NULL)},
    {"PATCH", A "/users/{id}", ROLE_ADMIN, h_users_update,
     D("Change a user (the fields sent)", &vt_users, &vt_users, RA_OBJECT, NULL)},
    {"PUT", A "/users/{id}", ROLE_ADMIN, h_users_update,
     D("Change a user (the fields sent)", &vt_users, &vt_users, RA_OBJECT, NULL)},
    {"DELETE", A "/users/{id}", ROLE_ADMIN, h_users_delete,
     D("Delete a user", NULL, NULL, RA_EMPTY, NULL)},
};

#define NROUTES (NELEM(routes))

struct json_object *route_openapi_document(void)
{
    return openapi_document(routes, NROUTES);
}

/* GET /api/openapi.json: the document is made from the table above. */
static void h_openapi(struct req *r, const struct route_args *a)
{
    (void)a;
    openapi_reply(r, routes, NROUTES);
}

/* Matches path against pattern segment by segment; {id} takes a positive
 * integer, {rid} a request id (1 to 64 letters and digits).  A single
 * trailing slash on the path is ignored. */
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
        if (strncmp(p, "{rid}", 5) == 0) {
            size_t n = 0;
            while (n < sizeof(a->rid) - 1 && isalnum((unsigned char)s[n]))
                n++;
            if (n == 0 || isalnum((unsigned char)s[n]))
                return false;
            memcpy(a->rid, s, n);
            a->rid[n] = '\0';
            s += n;
            p += 5;
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
