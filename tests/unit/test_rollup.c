/* core/rollup.c: which models /metrics counts. */
#include <CUnit/CUnit.h>

#include "core/rollup.h"
#include "suites.h"

static void test_model_listed(void)
{
    const char *list = "gpt-4o, claude-3-5-sonnet ,\tgemini-1.5-pro,";

    CU_ASSERT(rollup_model_listed(list, "gpt-4o"));
    CU_ASSERT(rollup_model_listed(list, "claude-3-5-sonnet"));
    CU_ASSERT(rollup_model_listed(list, "gemini-1.5-pro"));
    /* Whole names only: no prefix, no substring, no empty name. */
    CU_ASSERT_FALSE(rollup_model_listed(list, "gpt-4"));
    CU_ASSERT_FALSE(rollup_model_listed(list, "gpt-4o-mini"));
    CU_ASSERT_FALSE(rollup_model_listed(list, ""));
    CU_ASSERT_FALSE(rollup_model_listed("", "gpt-4o"));
    CU_ASSERT_FALSE(rollup_model_listed(NULL, "gpt-4o"));
}

void suite_rollup(void)
{
    ADD_SUITE("rollup", TEST(test_model_listed));
}
