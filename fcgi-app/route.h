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

/* What the pattern captured: the {id} segment, when there is one. */
struct route_args {
    long long id;
    char rid[65]; /* {rid}: a request id, 1 to 64 letters and digits */
};

typedef void (*route_fn)(struct req *r, const struct route_args *a);

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

/* Finds the route for the request, checks method and role, and runs it;
 * answers 404, 405, 401 or 403 itself when it cannot. */
void route_dispatch(struct req *r);

#endif
