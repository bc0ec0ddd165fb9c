/*
 * POST /api/admin/upstreams/{id}/shape/test (docs/API.md, "Shaping
 * preview"): what the proxy would send upstream on a request's first
 * attempt.  The route joins two audiences, so that neither needs the
 * other: admin/shape_preview.c reads the sample request and the upstream
 * (its saved shaping fields, or a draft of them, checked as a save checks
 * them) into a struct shape_sample; proxy/shape_preview.c runs the proxy's
 * own shaping on it and answers what would go out.
 */
#ifndef APIGW_SHAPE_PREVIEW_H
#define APIGW_SHAPE_PREVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/pool.h"
#include "route.h"

struct req;
struct json_object;

/* A sample request, checked, and the upstream as the proxy would load it. */
struct shape_sample {
    struct req *r;           /* the admin request */
    struct json_object *in;  /* the validated input, which method and token point into */
    struct json_object *row; /* the upstream's row, the draft merged in */
    const char *method;
    const char *path; /* as given: "/" and the path after the upstream's name, the query */
    char *rest;       /* the path without its leading '/' and query (owned) */
    char *query;      /* the raw query, "" for none (owned) */
    char **env;       /* the headers as the web server passes them (owned) */
    size_t nenv;
    char *body; /* the body (owned), NULL for none */
    size_t body_len;
    const char *base;             /* base_url or the first enabled endpoint, in row */
    struct json_object *body_set; /* the row's body_set, for the answer; NULL for none */
    bool has_script;              /* the upstream has a script (not run) */
    struct pool_upstream up;      /* the fields the shaping and the request use */
    struct pool_token token;      /* {token}: only its name */
};

void h_upstreams_shape_test(struct req *r, const struct route_args *a);

#endif
