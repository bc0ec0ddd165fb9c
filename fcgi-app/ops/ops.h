/*
 * The endpoints that need no credential and no pool: the health check for
 * load balancers and the Prometheus metrics (nginx limits who may read
 * them).
 */
#ifndef APIGW_OPS_H
#define APIGW_OPS_H

#include "route.h"

/* health.c */
void h_healthz(struct req *r, const struct route_args *a);

/* metrics.c */
void h_metrics(struct req *r, const struct route_args *a);

#endif
