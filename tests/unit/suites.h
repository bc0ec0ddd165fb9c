/* The CUnit suites, one per module; each adds itself to the registry. */
#ifndef APIGW_TEST_SUITES_H
#define APIGW_TEST_SUITES_H

#include <CUnit/CUnit.h>

#include "core/nelem.h"

void suite_buf(void);
void suite_config(void);
void suite_clock(void);
void suite_dbpool(void);
void suite_err(void);
void suite_capacity(void);
void suite_crypto(void);
void suite_valid(void);
void suite_http(void);
void suite_proxy_path(void);
void suite_rule(void);
void suite_rule_eval(void);
void suite_probe_verdict(void);
void suite_backtest(void);
void suite_jsonpath(void);
void suite_resettime(void);
void suite_resetzone(void);
void suite_resource(void);
void suite_mask(void);
void suite_reqid(void);
void suite_idlist(void);
void suite_egress(void);
void suite_utf8(void);
void suite_query(void);
void suite_route(void);
void suite_openapi(void);
void suite_pool(void);
void suite_pool_wait(void);
void suite_pace(void);
void suite_pool_blocks(void);
void suite_affinity(void);
void suite_auth(void);
void suite_spool(void);
void suite_logloss(void);
void suite_upstream_req(void);
void suite_shape_headers(void);
void suite_concurrency(void);
void suite_reqcheck(void);
void suite_breaker(void);
void suite_endpoint(void);
void suite_lease(void);
void suite_throttle(void);
void suite_keys_paste(void);
void suite_keys_filter(void);
void suite_webhook_allow(void);
void suite_db_hosts(void);
void suite_script(void);
void suite_upscript(void);
void suite_script_value(void);
void suite_hook_req(void);
void suite_admin_scripts(void);
void suite_usage_scan(void);
void suite_price(void);
void suite_shape(void);
void suite_limits(void);
void suite_rollup(void);
void suite_peek(void);

/* Adds a suite with its tests; aborts the run if CUnit cannot. */
#define ADD_SUITE(name, ...)                                                                       \
    do {                                                                                           \
        CU_pSuite s_ = CU_add_suite(name, NULL, NULL);                                             \
        const struct {                                                                             \
            const char *n;                                                                         \
            CU_TestFunc f;                                                                         \
        } t_[] = {__VA_ARGS__};                                                                    \
        size_t i_;                                                                                 \
        for (i_ = 0; s_ != NULL && i_ < NELEM(t_); i_++)                                           \
            CU_add_test(s_, t_[i_].n, t_[i_].f);                                                   \
    } while (0)
#define TEST(fn)                                                                                   \
    {                                                                                              \
#fn, fn                                                                                    \
    }

#endif
