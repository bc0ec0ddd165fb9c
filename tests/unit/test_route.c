/* The route table: which handler a method and path reach, the role each
 * needs, what {id} accepts, and the 404/405/401 answers of the dispatch. */
#include <stdio.h>
#include <string.h>

#include "admin/handlers.h"
#include "http.h"
#include "ops/ops.h"
#include "route.h"
#include "suites.h"

/* Finds method and path; returns the result and leaves the match in *m. */
static enum err find(const char *method, const char *path, struct route_match *m)
{
    memset(m, 0, sizeof(*m));
    m->args.id = -1;
    return route_find(method, path, m);
}

/* A request that must reach fn, which needs role need; id is what {id}
 * must capture, or -1 where the pattern has none. */
struct found {
    const char *method, *path;
    route_fn fn;
    enum role need;
    long long id;
};

static void expect_found(const struct found *c, size_t n)
{
    struct route_match m;
    size_t i;

    for (i = 0; i < n; i++) {
        CU_ASSERT_EQUAL_FATAL(find(c[i].method, c[i].path, &m), ERR_OK);
        CU_ASSERT_PTR_EQUAL(m.fn, c[i].fn);
        CU_ASSERT_EQUAL(m.need, c[i].need);
        if (c[i].id >= 0)
            CU_ASSERT_EQUAL(m.args.id, c[i].id);
    }
}

/* Every path must give e for method. */
static void expect_miss(const char *method, const char *const *paths, size_t n, enum err e)
{
    struct route_match m;
    size_t i;

    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL(find(method, paths[i], &m), e);
}

static void test_route_literals_and_roles(void)
{
    static const struct found c[] = {
        {"GET", "/healthz", h_healthz, ROLE_PUBLIC, -1},
        {"HEAD", "/healthz", h_healthz, ROLE_PUBLIC, -1},
        {"GET", "/metrics", h_metrics, ROLE_PUBLIC, -1},
        {"POST", "/api/admin/login", h_login, ROLE_PUBLIC, -1},
        {"POST", "/api/admin/logout", h_logout, ROLE_VIEWER, -1},
        {"GET", "/api/admin/me", h_me, ROLE_VIEWER, -1},
        {"GET", "/api/admin/keys", h_keys_list, ROLE_VIEWER, -1},
        {"POST", "/api/admin/keys", h_keys_create, ROLE_OPERATOR, -1},
        {"POST", "/api/admin/keys/import", h_keys_import, ROLE_OPERATOR, -1},
        {"POST", "/api/admin/keys/batch", h_keys_batch, ROLE_OPERATOR, -1},
        {"POST", "/api/admin/keys/validate", h_keys_validate, ROLE_OPERATOR, -1},
        {"GET", "/api/admin/jobs", h_jobs_list, ROLE_VIEWER, -1},
        {"POST", "/api/admin/rules/test", h_rules_test, ROLE_OPERATOR, -1},
        {"POST", "/api/admin/upstreams", h_upstreams_create, ROLE_ADMIN, -1},
        {"GET", "/api/admin/upstreams", h_upstreams_list, ROLE_VIEWER, -1},
        {"GET", "/api/admin/tokens", h_tokens_list, ROLE_ADMIN, -1},
        {"GET", "/api/admin/users", h_users_list, ROLE_ADMIN, -1},
        {"GET", "/api/admin/logs", h_logs, ROLE_VIEWER, -1},
        {"GET", "/api/admin/stats", h_stats, ROLE_VIEWER, -1},
        {"GET", "/api/admin/alerts", h_alerts, ROLE_VIEWER, -1},
    };

    expect_found(c, NELEM(c));
}

static void test_route_ids(void)
{
    static const struct found c[] = {
        {"GET", "/api/admin/keys/42", h_keys_get, ROLE_VIEWER, 42},
        {"DELETE", "/api/admin/keys/7", h_keys_delete, ROLE_OPERATOR, 7},
        {"PATCH", "/api/admin/upstreams/3", h_upstreams_update, ROLE_ADMIN, 3},
        {"PUT", "/api/admin/upstreams/3", h_upstreams_update, ROLE_ADMIN, 3},
        {"GET", "/api/admin/tokens/8", h_tokens_get, ROLE_ADMIN, 8},
        /* A literal segment after {id}. */
        {"GET", "/api/admin/keys/9/events", h_keys_events, ROLE_VIEWER, 9},
        {"POST", "/api/admin/keys/12/test", h_keys_test, ROLE_OPERATOR, 12},
        {"GET", "/api/admin/jobs/5", h_jobs_get, ROLE_VIEWER, 5},
        {"DELETE", "/api/admin/jobs/5", h_jobs_cancel, ROLE_OPERATOR, 5},
        /* The largest id of 18 digits is taken whole. */
        {"GET", "/api/admin/users/999999999999999999", h_users_get, ROLE_ADMIN,
         999999999999999999LL},
    };

    expect_found(c, NELEM(c));
}

static void test_route_bad_ids_are_unknown_paths(void)
{
    static const char *const paths[] = {
        "/api/admin/keys/0",
        "/api/admin/keys/007",
        "/api/admin/keys/-1",
        "/api/admin/keys/+1",
        "/api/admin/keys/ 1",
        "/api/admin/keys/1x",
        "/api/admin/keys/1.5",
        "/api/admin/keys/0x10",
        "/api/admin/keys/abc",
        "/api/admin/keys/1000000000000000000",  /* 19 digits */
        "/api/admin/keys/9223372036854775807",  /* LLONG_MAX */
        "/api/admin/keys/99999999999999999999", /* overflows */
        "/api/admin/keys/18446744073709551617", /* wraps an unsigned */
        "/api/admin/keys/9/events/x",
        "/api/admin/keys/9/event",
    };

    expect_miss("GET", paths, NELEM(paths), ERR_NOT_FOUND);
}

static void test_route_unknown_paths(void)
{
    static const char *const paths[] = {
        "",
        "/",
        "/healthz2",
        "/health",
        "/HEALTHZ",
        "/api/admin",
        "/api/admin/",
        "/api/admin/keyz",
        "/api/admin/keys/import/x",
        "/api/admin//keys",
        "/proxy",
        "/proxyx/a",
        "//healthz",
        /* Only one trailing slash is forgiven. */
        "/healthz//",
        "/api/admin/keys/5//",
    };

    expect_miss("GET", paths, NELEM(paths), ERR_NOT_FOUND);
}

static void test_route_trailing_slash(void)
{
    static const struct found c[] = {
        {"GET", "/healthz/", h_healthz, ROLE_PUBLIC, -1},
        {"GET", "/api/admin/keys/", h_keys_list, ROLE_VIEWER, -1},
        {"GET", "/api/admin/keys/5/", h_keys_get, ROLE_VIEWER, 5},
        {"POST", "/api/admin/keys/5/test/", h_keys_test, ROLE_OPERATOR, 5},
    };

    expect_found(c, NELEM(c));
}

static void test_route_methods(void)
{
    /* The path is known but the method is not: 405, not 404. */
    static const char *const post[] = {"/healthz", "/api/admin/keys/5", "/api/admin/me"};
    static const char *const get[] = {"/api/admin/login", "/api/admin/rules/test",
                                      /* a literal: GET on it is not keys/{id} */
                                      "/api/admin/keys/import"};
    static const char *const me[] = {"/api/admin/me"};
    struct route_match m;

    expect_miss("POST", post, NELEM(post), ERR_METHOD_NOT_ALLOWED);
    expect_miss("GET", get, NELEM(get), ERR_METHOD_NOT_ALLOWED);
    expect_miss("DELETE", me, NELEM(me), ERR_METHOD_NOT_ALLOWED);
    /* Methods are case-sensitive, as HTTP says. */
    expect_miss("get", me, NELEM(me), ERR_METHOD_NOT_ALLOWED);
    expect_miss("", me, NELEM(me), ERR_METHOD_NOT_ALLOWED);
    /* The proxy takes any method under /proxy/. */
    CU_ASSERT_EQUAL(find("PATCH", "/proxy/openai/v1/x", &m), ERR_OK);
    CU_ASSERT_PTR_NOT_NULL(m.fn);
    CU_ASSERT_EQUAL(m.need, ROLE_PUBLIC);
    CU_ASSERT_EQUAL(find("BREW", "/proxy/", &m), ERR_OK);
    CU_ASSERT_EQUAL(m.need, ROLE_PUBLIC);
}

/* What route_dispatch wrote. */
static char sent[4096];
static size_t nsent;

static int capture(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    if (nsent + n >= sizeof(sent))
        return -1;
    memcpy(sent + nsent, p, n);
    nsent += n;
    sent[nsent] = '\0';
    return 0;
}

/* Dispatches method and path with no credential and no database; returns
 * what was written. */
static const char *dispatch(const char *method, const char *path)
{
    static const struct http_io io = {NULL, capture, NULL, -1, NULL, false};
    static char *env[] = {NULL};
    char p[256];
    struct req r;

    nsent = 0;
    sent[0] = '\0';
    snprintf(p, sizeof(p), "%s", path);
    memset(&r, 0, sizeof(r));
    r.io = &io;
    r.env = env;
    r.method = method;
    r.path = p;
    r.query = "";
    buf_init(&r.body, 1024);
    buf_init(&r.head, 4096);
    route_dispatch(&r);
    buf_free(&r.body);
    buf_free(&r.head);
    return sent;
}

static void test_route_dispatch_answers(void)
{
    const char *out;

    out = dispatch("GET", "/nowhere");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 404 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"code\":\"not_found\""));
    out = dispatch("POST", "/api/admin/keys/5");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 405 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Allow: GET, PATCH, PUT, DELETE\r\n"));
    out = dispatch("PUT", "/healthz");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Allow: GET, HEAD\r\n"));
    /* A route that needs a role answers 401 before its handler runs. */
    out = dispatch("GET", "/api/admin/keys/5");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 401 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "WWW-Authenticate: Bearer\r\n"));
}

/* {rid} takes a request id: 1 to 64 letters and digits, nothing else. */
static void test_route_request_ids(void)
{
    static const char *const bad[] = {
        "/api/admin/logs/ab-c", "/api/admin/logs/ab%20c", "/api/admin/logs/a/b",
        "/api/admin/logs/"
        "0123456789012345678901234567890123456789012345678901234567890123"
        "4"};
    struct route_match m;

    CU_ASSERT_EQUAL_FATAL(find("GET", "/api/admin/logs/01a24f10e635dceb899e28de", &m), ERR_OK);
    CU_ASSERT_PTR_EQUAL(m.fn, h_log_detail);
    CU_ASSERT_EQUAL(m.need, ROLE_VIEWER);
    CU_ASSERT_STRING_EQUAL(m.args.rid, "01a24f10e635dceb899e28de");
    CU_ASSERT_EQUAL_FATAL(find("GET", "/api/admin/logs/x/", &m), ERR_OK);
    CU_ASSERT_STRING_EQUAL(m.args.rid, "x");
    CU_ASSERT_EQUAL(find("POST", "/api/admin/logs/abc", &m), ERR_METHOD_NOT_ALLOWED);
    expect_miss("GET", bad, sizeof(bad) / sizeof(bad[0]), ERR_NOT_FOUND);
}

void suite_route(void)
{
    ADD_SUITE("route", TEST(test_route_literals_and_roles), TEST(test_route_ids),
              TEST(test_route_bad_ids_are_unknown_paths), TEST(test_route_unknown_paths),
              TEST(test_route_trailing_slash), TEST(test_route_methods),
              TEST(test_route_dispatch_answers), TEST(test_route_request_ids));
}
