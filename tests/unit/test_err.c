#include "core/err.h"
#include "suites.h"

static void test_every_error_has_status_and_code(void)
{
    int e;

    for (e = 1; e < ERR__MAX; e++) {
        CU_ASSERT(err_status((enum err)e) >= 400);
        CU_ASSERT_PTR_NOT_NULL(err_code((enum err)e));
    }
    CU_ASSERT_EQUAL(err_status(ERR__MAX), 500);
}

static void test_contract_codes(void)
{
    CU_ASSERT_STRING_EQUAL(err_code(ERR_BODY_TOO_LARGE), "body_too_large");
    CU_ASSERT_EQUAL(err_status(ERR_BODY_TOO_LARGE), 413);
    CU_ASSERT_STRING_EQUAL(err_code(ERR_NO_AVAILABLE_KEY), "no_available_key");
    CU_ASSERT_EQUAL(err_status(ERR_UPSTREAM_TIMEOUT), 504);
    CU_ASSERT_EQUAL(err_status(ERR_UNKNOWN_UPSTREAM), 404);
    CU_ASSERT_STRING_EQUAL(http_reason(404), "Not Found");
}

/* Every database outcome has its one error; busy and down read alike. */
static void test_err_from_db(void)
{
    CU_ASSERT_EQUAL(err_from_db(DB_OK), ERR_OK);
    CU_ASSERT_EQUAL(err_from_db(DB_EDOWN), ERR_DB_UNAVAILABLE);
    CU_ASSERT_EQUAL(err_from_db(DB_ERETRY), ERR_DB_BUSY);
    CU_ASSERT_EQUAL(err_from_db(DB_EDUP), ERR_CONFLICT);
    CU_ASSERT_EQUAL(err_from_db(DB_EFAIL), ERR_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err_code(ERR_DB_BUSY), err_code(ERR_DB_UNAVAILABLE));
    CU_ASSERT_EQUAL(err_status(ERR_DB_BUSY), 503);
}

void suite_err(void)
{
    ADD_SUITE("err", TEST(test_every_error_has_status_and_code), TEST(test_contract_codes),
              TEST(test_err_from_db));
}
