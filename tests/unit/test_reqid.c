/* core/reqid.c: request ids that carry their start time. */
#include <string.h>

#include "core/reqid.h"
#include "suites.h"

static void test_round_trip(void)
{
    char id[32];
    int64_t ms = 0;

    reqid_make(id, sizeof(id), 1796000000123LL, 0xabcdef123456789ULL);
    CU_ASSERT_EQUAL(strlen(id), REQID_LEN);
    /* Only the low 48 bits of the random part are kept. */
    CU_ASSERT_STRING_EQUAL(id, "01a229f1287b"
                               "def123456789");
    CU_ASSERT_TRUE(reqid_time_ms(id, &ms));
    CU_ASSERT_EQUAL(ms, 1796000000123LL);
}

static void test_other_forms(void)
{
    int64_t ms = 7;

    /* The 16 random digits of older releases, nginx's 32, and junk. */
    CU_ASSERT_FALSE(reqid_time_ms("0123456789abcdef", &ms));
    CU_ASSERT_FALSE(reqid_time_ms("0123456789abcdef0123456789abcdef", &ms));
    CU_ASSERT_FALSE(reqid_time_ms("01a229e9f87bDEF123456789", &ms));
    CU_ASSERT_FALSE(reqid_time_ms("01a229e9f87b def23456789", &ms));
    CU_ASSERT_FALSE(reqid_time_ms(NULL, &ms));
    CU_ASSERT_EQUAL(ms, 7);
}

void suite_reqid(void)
{
    CU_pSuite s = CU_add_suite("reqid", NULL, NULL);

    CU_add_test(s, "an id gives back the time it was made with", test_round_trip);
    CU_add_test(s, "ids of other forms carry no time", test_other_forms);
}
