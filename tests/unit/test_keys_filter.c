/* The keys filter of the list and of a batch by filter: a batch's JSON
 * filter gives the same statement parameters as the list's, and q matches
 * as plain text (LIKE wildcards escaped). */
#include <json-c/json.h>
#include <string.h>

#include "admin/keys_filter.h"
#include "suites.h"

/* The statement parameters of a filter that is valid (no request is
 * needed: only an error answers one). */
static void params_of(const char *json, struct db_param *p)
{
    struct json_object *o = json_tokener_parse(json);
    static struct key_filter f; /* the strings of p point into it */

    CU_ASSERT_TRUE_FATAL(o != NULL);
    CU_ASSERT_TRUE(key_filter_json(NULL, o, &f));
    json_object_put(o);
    key_filter_params(&f, p);
}

static void test_all_members(void)
{
    struct db_param p[KEY_FILTER_PARAMS];

    params_of("{\"upstream_id\": 3, \"status\": \"banned\", \"q\": \"50%_a\\\\b\"}", p);
    CU_ASSERT_EQUAL(p[0].i, 3);
    CU_ASSERT_EQUAL(p[1].i, 3);
    CU_ASSERT_STRING_EQUAL((const char *)p[2].p, "banned");
    CU_ASSERT_STRING_EQUAL((const char *)p[3].p, "banned");
    /* Anywhere in the text, the wildcards and the escape taken literally;
     * the name and the mask get the same pattern. */
    CU_ASSERT_STRING_EQUAL((const char *)p[4].p, "%50\\%\\_a\\\\b%");
    CU_ASSERT_STRING_EQUAL((const char *)p[5].p, (const char *)p[4].p);
    CU_ASSERT_STRING_EQUAL((const char *)p[6].p, (const char *)p[4].p);
}

/* {} is every key; empty texts and null members are no filter either. */
static void test_empty_filter_is_every_key(void)
{
    static const char *const empty[] = {"{}",
                                        "{\"status\": \"\", \"q\": \"\", \"upstream_id\": null}"};
    struct db_param p[KEY_FILTER_PARAMS];
    size_t i;

    for (i = 0; i < NELEM(empty); i++) {
        params_of(empty[i], p);
        CU_ASSERT_EQUAL(p[0].i, 0);
        CU_ASSERT_EQUAL(p[2].type, DBP_T_NULL);
        CU_ASSERT_EQUAL(p[4].type, DBP_T_NULL);
        CU_ASSERT_EQUAL(p[6].type, DBP_T_NULL);
    }
}

void suite_keys_filter(void)
{
    ADD_SUITE("keys_filter", TEST(test_all_members), TEST(test_empty_filter_is_every_key));
}
