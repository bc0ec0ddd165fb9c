/* Every handler the route table names, one group per file. */
#ifndef APIGW_HANDLERS_H
#define APIGW_HANDLERS_H

#include "route.h"

/* h_health.c */
void h_healthz(struct req *r, const struct route_args *a);

/* proxy.c */
void h_proxy(struct req *r, const struct route_args *a);

/* h_logs.c, h_stats.c, h_alerts.c, h_metrics.c */
void h_logs(struct req *r, const struct route_args *a);
void h_stats(struct req *r, const struct route_args *a);
void h_alerts(struct req *r, const struct route_args *a);
void h_metrics(struct req *r, const struct route_args *a);

/* h_login.c */
void h_login(struct req *r, const struct route_args *a);
void h_logout(struct req *r, const struct route_args *a);
void h_me(struct req *r, const struct route_args *a);

/* h_upstreams.c */
void h_upstreams_list(struct req *r, const struct route_args *a);
void h_upstreams_get(struct req *r, const struct route_args *a);
void h_upstreams_create(struct req *r, const struct route_args *a);
void h_upstreams_update(struct req *r, const struct route_args *a);
void h_upstreams_delete(struct req *r, const struct route_args *a);

/* h_keys.c */
void h_keys_list(struct req *r, const struct route_args *a);
void h_keys_get(struct req *r, const struct route_args *a);
void h_keys_create(struct req *r, const struct route_args *a);
void h_keys_update(struct req *r, const struct route_args *a);
void h_keys_delete(struct req *r, const struct route_args *a);
void h_keys_events(struct req *r, const struct route_args *a);

/* h_key_test.c */
void h_keys_test(struct req *r, const struct route_args *a);

/* h_keys_bulk.c */
void h_keys_import(struct req *r, const struct route_args *a);
void h_keys_batch(struct req *r, const struct route_args *a);

/* h_rules.c */
void h_rules_list(struct req *r, const struct route_args *a);
void h_rules_get(struct req *r, const struct route_args *a);
void h_rules_create(struct req *r, const struct route_args *a);
void h_rules_update(struct req *r, const struct route_args *a);
void h_rules_delete(struct req *r, const struct route_args *a);
void h_rules_test(struct req *r, const struct route_args *a);

/* h_tokens.c */
void h_tokens_list(struct req *r, const struct route_args *a);
void h_tokens_get(struct req *r, const struct route_args *a);
void h_tokens_create(struct req *r, const struct route_args *a);
void h_tokens_update(struct req *r, const struct route_args *a);
void h_tokens_delete(struct req *r, const struct route_args *a);

/* h_users.c */
void h_users_list(struct req *r, const struct route_args *a);
void h_users_get(struct req *r, const struct route_args *a);
void h_users_create(struct req *r, const struct route_args *a);
void h_users_update(struct req *r, const struct route_args *a);
void h_users_delete(struct req *r, const struct route_args *a);

#endif
