/* The admin API's handlers, one group per file of admin/. */
#ifndef APIGW_ADMIN_HANDLERS_H
#define APIGW_ADMIN_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "route.h"

struct json_object;

/* logs.c, stats.c, alerts.c */
void h_logs(struct req *r, const struct route_args *a);
void h_log_detail(struct req *r, const struct route_args *a);
void h_stats(struct req *r, const struct route_args *a);
void h_alerts(struct req *r, const struct route_args *a);
void h_capacity(struct req *r, const struct route_args *a);

/* housekeeping.c: the cron jobs' latest runs */
void h_housekeeping(struct req *r, const struct route_args *a);

/* login.c */
void h_login(struct req *r, const struct route_args *a);
void h_logout(struct req *r, const struct route_args *a);
void h_me(struct req *r, const struct route_args *a);

/* upstreams.c */
void h_upstreams_list(struct req *r, const struct route_args *a);
void h_upstreams_get(struct req *r, const struct route_args *a);
void h_upstreams_create(struct req *r, const struct route_args *a);
void h_upstreams_update(struct req *r, const struct route_args *a);
void h_upstreams_delete(struct req *r, const struct route_args *a);
/* Checks the shaping fields of an upstream row (header_rules against its
 * key's header, model_allow, model_map, body_set) as a save does: ERR_OK,
 * or ERR_INVALID_FIELD with the save's message in msg. */
enum err upstream_shape_check(struct json_object *after, char *msg, size_t len);

/* shape_preview.c: reads the input of POST /api/admin/upstreams/{id}/shape/test
 * and the upstream into s (the fcgi-app/shape_preview.h route).  Returns
 * false after answering the error; s is to be freed either way. */
struct shape_sample;
bool admin_shape_sample(struct req *r, long long id, struct shape_sample *s);
void admin_shape_sample_free(struct shape_sample *s);

/* keys_list.c: the list (filtered by admin/keys_filter.h, sorted) and the
 * lookup of a pasted value by its hash. */
void h_keys_list(struct req *r, const struct route_args *a);
void h_keys_find(struct req *r, const struct route_args *a);

/* keys.c */
void h_keys_get(struct req *r, const struct route_args *a);
void h_keys_create(struct req *r, const struct route_args *a);
void h_keys_update(struct req *r, const struct route_args *a);
void h_keys_delete(struct req *r, const struct route_args *a);
void h_keys_events(struct req *r, const struct route_args *a);

/* keys_test.c */
void h_keys_test(struct req *r, const struct route_args *a);

/* jobs.c: validation jobs (core/valjob.h).  jobs_upstream_ok answers 400
 * (and returns false) unless the upstream exists and has a probe;
 * jobs_reply_started answers 202 {job_id, total}. */
void h_keys_validate(struct req *r, const struct route_args *a);
void h_jobs_list(struct req *r, const struct route_args *a);
void h_jobs_get(struct req *r, const struct route_args *a);
void h_jobs_cancel(struct req *r, const struct route_args *a);
bool jobs_upstream_ok(struct req *r, long long upstream_id);
void jobs_reply_started(struct req *r, long long job_id, long long total);

/* keys_bulk.c */
void h_keys_import(struct req *r, const struct route_args *a);
void h_keys_batch(struct req *r, const struct route_args *a);

/* prices.c */
void h_prices_list(struct req *r, const struct route_args *a);
void h_prices_get(struct req *r, const struct route_args *a);
void h_prices_create(struct req *r, const struct route_args *a);
void h_prices_update(struct req *r, const struct route_args *a);
void h_prices_delete(struct req *r, const struct route_args *a);

/* rules.c */
void h_rules_list(struct req *r, const struct route_args *a);
void h_rules_get(struct req *r, const struct route_args *a);
void h_rules_create(struct req *r, const struct route_args *a);
void h_rules_update(struct req *r, const struct route_args *a);
void h_rules_delete(struct req *r, const struct route_args *a);
void h_rules_test(struct req *r, const struct route_args *a);
void h_rules_backtest(struct req *r, const struct route_args *a);
/* rules_order.c: every rule of an upstream, in order, on one sample
 * answer; rules_hits.c: each rule's firings over the last 24 hours. */
void h_upstream_rules_test(struct req *r, const struct route_args *a);
void h_rules_hits(struct req *r, const struct route_args *a);
/* Reads a sample answer (status, headers, body, latency_ms,
 * transport_error; the dry run's "response") into in, the header names
 * and values pointing into resp, h holding RULE_SAMPLE_HEADERS_MAX.
 * Returns false after answering 400 (rules.c). */
#define RULE_SAMPLE_HEADERS_MAX 64
struct rule_input;
struct rule_header;
bool admin_rule_sample(struct req *r, struct json_object *resp, struct rule_input *in,
                       struct rule_header *h);

/* scripts_test.c */
void h_scripts_test(struct req *r, const struct route_args *a);

/* tokens.c */
void h_tokens_list(struct req *r, const struct route_args *a);
void h_tokens_get(struct req *r, const struct route_args *a);
void h_tokens_create(struct req *r, const struct route_args *a);
void h_tokens_update(struct req *r, const struct route_args *a);
void h_tokens_delete(struct req *r, const struct route_args *a);

/* users.c */
void h_users_list(struct req *r, const struct route_args *a);
void h_users_get(struct req *r, const struct route_args *a);
void h_users_create(struct req *r, const struct route_args *a);
void h_users_update(struct req *r, const struct route_args *a);
void h_users_delete(struct req *r, const struct route_args *a);

/* The resource tables (admin/resource.h), for the unit test of the
 * statements built from them. */
struct resource;
extern struct resource admin_upstreams, admin_keys, admin_key_events, admin_rules, admin_tokens,
    admin_users, admin_alerts, admin_prices, admin_jobs;

#endif
