/*
 * The route table: every path the application answers, the methods it
 * takes, the role a caller needs, and the handler.  Requirements are
 * checked here, before dispatch, so that handlers only see callers who may
 * call them.
 */
#ifndef APIGW_ROUTE_H
#define APIGW_ROUTE_H

#include "auth.h"

struct req;

/* What the pattern captured: the {id} segment, when there is one. */
struct route_args {
    long long id;
};

typedef void (*route_fn)(struct req *r, const struct route_args *a);

/* Finds the route for the request, checks method and role, and runs it;
 * answers 404, 405, 401 or 403 itself when it cannot. */
void route_dispatch(struct req *r);

#endif
