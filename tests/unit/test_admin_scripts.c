/* admin/scripts.c: the limits of the admin API's script runs come from
 * the request's configuration. */
#include <string.h>

#include "admin/scripts.h"
#include "core/config.h"
#include "core/script.h"
#include "http.h"
#include "suites.h"

static void test_limits_from_config(void)
{
    struct config cfg;
    struct req r;
    struct script_limits lim;

    memset(&cfg, 0, sizeof(cfg));
    memset(&r, 0, sizeof(r));
    cfg.script_timeout_ms = 250;
    cfg.script_memory_kb = 1024;
    r.cfg = &cfg;
    admin_script_limits(&r, &lim);
    CU_ASSERT_EQUAL(lim.timeout_ms, 250);
    CU_ASSERT_EQUAL(lim.memory_kb, 1024);
    /* Without a configuration the engine's defaults apply. */
    r.cfg = NULL;
    admin_script_limits(&r, &lim);
    CU_ASSERT_EQUAL(lim.timeout_ms, SCRIPT_TIMEOUT_MS_DEFAULT);
    CU_ASSERT_EQUAL(lim.memory_kb, SCRIPT_MEMORY_KB_DEFAULT);
}

static void test_check_uses_memory_limit(void)
{
    /* About 2 MiB at the top level: within the default, not within 256 KiB. */
    json_object *o = json_tokener_parse(
        "{\"script\":\"var a = []; for (var i = 0; i < 2048; i++) a.push(new Array(128));\"}");
    struct config cfg;
    struct req r;
    char msg[512] = "";

    memset(&cfg, 0, sizeof(cfg));
    memset(&r, 0, sizeof(r));
    cfg.script_timeout_ms = 1000;
    cfg.script_memory_kb = 16384;
    r.cfg = &cfg;
    CU_ASSERT_EQUAL(admin_script_check(&r, o, msg, sizeof(msg)), ERR_OK);
    cfg.script_memory_kb = 256;
    CU_ASSERT_EQUAL(admin_script_check(&r, o, msg, sizeof(msg)), ERR_INVALID_FIELD);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(memory)"));
    json_object_put(o);
    script_thread_done();
}

void suite_admin_scripts(void)
{
    ADD_SUITE("admin_scripts", TEST(test_limits_from_config), TEST(test_check_uses_memory_limit));
}
