#include "route.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"

struct route {
    const char *method; /* "*" for any */
    const char *pattern;
    enum role need;
    route_fn fn;
};

static const struct route routes[] = {
    {"GET", "/healthz", ROLE_PUBLIC, h_healthz},
    {"HEAD", "/healthz", ROLE_PUBLIC, h_healthz},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const role_names[ROLE__MAX] = {"public", "viewer", "operator", "admin"};

const char *role_name(enum role role)
{
    return (unsigned)role < ROLE__MAX ? role_names[role] : NULL;
}

enum role role_parse(const char *name)
{
    int i;

    for (i = ROLE_VIEWER; i < ROLE__MAX; i++)
        if (name != NULL && strcmp(name, role_names[i]) == 0)
            return (enum role)i;
    return ROLE_PUBLIC;
}

/* Matches path against pattern segment by segment; {id} takes a positive
 * integer.  A single trailing slash on the path is ignored. */
static bool match(const char *pattern, const char *path, struct route_args *a)
{
    const char *p = pattern, *s = path;

    while (*p != '\0') {
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

void route_dispatch(struct req *r)
{
    struct route_args a = {0};
    struct buf allow;
    bool path_known = false;
    size_t i;

    for (i = 0; i < NROUTES; i++) {
        const struct route *rt = &routes[i];
        if (!match(rt->pattern, r->path, &a))
            continue;
        path_known = true;
        if (strcmp(rt->method, "*") != 0 && strcmp(rt->method, r->method) != 0)
            continue;
        rt->fn(r, &a);
        return;
    }
    if (!path_known) {
        reply_error(r, ERR_NOT_FOUND, "no route for %.200s", r->path);
        return;
    }
    buf_init(&allow, 256);
    for (i = 0; i < NROUTES; i++)
        if (match(routes[i].pattern, r->path, &a))
            buf_printf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
    resp_header(r, "Allow", buf_str(&allow));
    reply_error(r, ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %.200s (allowed: %s)", r->method,
                r->path, buf_str(&allow));
    buf_free(&allow);
}
