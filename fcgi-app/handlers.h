/* Every handler the route table names, one group per file. */
#ifndef APIGW_HANDLERS_H
#define APIGW_HANDLERS_H

#include "route.h"

/* h_health.c */
void h_healthz(struct req *r, const struct route_args *a);

#endif
