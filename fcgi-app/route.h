/*
 * The route table: every path the application answers, the methods it
 * takes, the role a caller needs, and the handler.  Requirements are
 * checked here, before dispatch, so that handlers only see callers who may
 * call them.
 */
#ifndef APIGW_ROUTE_H
#define APIGW_ROUTE_H

#include "auth.h"
#include "core/err.h"

struct req;
struct vtable;

/* What the pattern captured: the {id} segment, when there is one. */
struct route_args {
    long long id;
    char rid[65]; /* {rid}: a request id, 1 to 64 letters and digits */
};

typedef void (*route_fn)(struct req *r, const struct route_args *a);

/* What a route answers on success, for the OpenAPI document. */
enum route_answer {
    RA_OBJECT,   /* 200 with one object (the answer table's fields, if any) */
    RA_CREATED,  /* 201 with the object created */
    RA_LIST,     /* 200 with {"items": [objects], "total": n} */
    RA_ACCEPTED, /* 202 with {"job_id", "total"} */
    RA_EMPTY,    /* 204 and no body */
    RA_TEXT,     /* 200 with plain text (the metrics) */
    RA_PASS      /* whatever the upstream answers (the proxy) */
};

/* A route as the OpenAPI document tells it (fcgi-app/openapi.c), kept in
 * the route table itself so that the document cannot drift from it:
 *   summary  one line saying what the call does;
 *   body     the request body's field table, or NULL when it takes none
 *            (required fields are required on POST only);
 *   answer   the answer's field table, or NULL for a free-form object;
 *   query    the query parameters, space-separated NAME=TYPE with TYPE one
 *            of id (a positive integer), int, text, time (RFC 3339), and
 *            "page" for limit and offset. */
struct route_doc {
    const char *summary;
    const struct vtable *body;
    const struct vtable *answer;
    enum route_answer kind;
    const char *query;
};

/* One row of the route table (fcgi-app/route.c). */
struct route {
    const char *method; /* "*" for any */
    const char *pattern;
    enum role need;
    route_fn fn;
    struct route_doc doc;
};

/* A route that takes a request: its handler, the least role a caller
 * needs, and what the pattern captured. */
struct route_match {
    route_fn fn;
    enum role need;
    struct route_args args;
};

/* Finds the route for method on path (the raw path, without the query),
 * checking neither credential nor role.  Returns ERR_OK and fills m;
 * ERR_NOT_FOUND when no route has the path; ERR_METHOD_NOT_ALLOWED when
 * routes have the path but none takes the method (m is then untouched). */
enum err route_find(const char *method, const char *path, struct route_match *m);

/* The OpenAPI document of the route table (fcgi-app/openapi.h); the
 * caller owns it. */
struct json_object;
struct json_object *route_openapi_document(void);

/* Finds the route for the request, checks method and role, and runs it;
 * answers 404, 405, 401 or 403 itself when it cannot. */
void route_dispatch(struct req *r);

#endif
