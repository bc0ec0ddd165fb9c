/* The field tables of the admin handlers, named for the route table's
 * OpenAPI shapes (fcgi-app/route.h struct route_doc): the same tables that
 * validate the bodies, so that the document says what the checks do. */
#ifndef APIGW_ADMIN_DOC_TABLES_H
#define APIGW_ADMIN_DOC_TABLES_H

#include "core/valid.h"

/* Resources: their bodies and their rows. */
extern const struct vtable vt_upstreams, vt_keys, vt_key_events, vt_rules, vt_prices, vt_tokens,
    vt_users, vt_alerts, vt_jobs;
/* Bodies of the calls that are not a resource. */
extern const struct vtable vt_login, vt_shape_test, vt_keys_import, vt_keys_batch, vt_keys_validate,
    vt_rules_test, vt_rules_backtest, vt_scripts_test, vt_keys_find, vt_rule_sample;
/* Answers built by hand, described by a small table next to their handler. */
extern const struct vtable vt_login_answer, vt_me, vt_key_test;

#endif
