/* Runs every CUnit suite and prints `RESULT unit passed=N failed=M`. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"

int main(int argc, char **argv)
{
    unsigned run, failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite_buf();
    suite_config();
    suite_clock();
    suite_dbpool();
    suite_err();
    suite_capacity();
    suite_crypto();
    suite_valid();
    suite_http();
    suite_proxy_path();
    suite_rule();
    suite_rule_eval();
    suite_backtest();
    suite_jsonpath();
    suite_resettime();
    suite_resetzone();
    suite_resource();
    suite_mask();
    suite_reqid();
    suite_idlist();
    suite_egress();
    suite_utf8();
    suite_query();
    suite_route();
    suite_openapi();
    suite_pool();
    suite_pool_wait();
    suite_pace();
    suite_pool_blocks();
    suite_affinity();
    suite_auth();
    suite_spool();
    suite_logloss();
    suite_upstream_req();
    suite_shape_headers();
    suite_concurrency();
    suite_reqcheck();
    suite_breaker();
    suite_endpoint();
    suite_lease();
    suite_throttle();
    suite_keys_paste();
    suite_keys_filter();
    suite_webhook_allow();
    suite_db_hosts();
    suite_script();
    suite_upscript();
    suite_script_value();
    suite_hook_req();
    suite_admin_scripts();
    suite_usage_scan();
    suite_price();
    suite_shape();
    suite_limits();
    suite_probe_verdict();
    suite_rollup();
    suite_peek();
    CU_basic_set_mode(argc > 1 && strcmp(argv[1], "-v") == 0 ? CU_BRM_VERBOSE : CU_BRM_NORMAL);
    CU_basic_run_tests();
    run = CU_get_number_of_tests_run();
    failed = CU_get_number_of_tests_failed();
    printf("\nRESULT unit passed=%u failed=%u\n", run - failed, failed);
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
