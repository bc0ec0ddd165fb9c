/* core/idlist.c: sorted id lists for de-duplication and lookups. */
#include "core/idlist.h"
#include "suites.h"

static void test_unique_packs_the_distinct_ids_in_order(void)
{
    long long v[] = {7, 3, 7, 1, 3, 9};
    size_t n = idlist_unique(v, NELEM(v));

    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_TRUE(v[0] == 1 && v[1] == 3 && v[2] == 7 && v[3] == 9);
    CU_ASSERT_TRUE(idlist_has(v, n, 7));
    CU_ASSERT_FALSE(idlist_has(v, n, 4));
}

static void test_an_empty_list_may_be_null(void)
{
    /* qsort and bsearch must not be handed NULL (UBSan aborts on it). */
    idlist_sort(NULL, 0);
    CU_ASSERT_EQUAL(idlist_unique(NULL, 0), 0);
    CU_ASSERT_FALSE(idlist_has(NULL, 0, 1));
}

void suite_idlist(void)
{
    CU_pSuite s = CU_add_suite("idlist", NULL, NULL);

    CU_add_test(s, "unique packs the distinct ids in order",
                test_unique_packs_the_distinct_ids_in_order);
    CU_add_test(s, "an empty list may be NULL", test_an_empty_list_may_be_null);
}
