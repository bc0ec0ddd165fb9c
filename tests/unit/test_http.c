#include <string.h>

#include "core/url.h"
#include "http.h"
#include "suites.h"

static void test_url_decode(void)
{
    char out[64];

    CU_ASSERT_EQUAL(url_decode("a%20b+c", 7, true, out, sizeof(out)), 5);
    CU_ASSERT_STRING_EQUAL(out, "a b c");
    CU_ASSERT_EQUAL(url_decode("a+b", 3, false, out, sizeof(out)), 3);
    CU_ASSERT_STRING_EQUAL(out, "a+b");
    CU_ASSERT_EQUAL(url_decode("%2e%2E", 6, false, out, sizeof(out)), 2);
    CU_ASSERT_STRING_EQUAL(out, "..");
    CU_ASSERT_EQUAL(url_decode("%zz", 3, false, out, sizeof(out)), -1);
    CU_ASSERT_EQUAL(url_decode("%2", 2, false, out, sizeof(out)), -1);
    CU_ASSERT_EQUAL(url_decode("%", 1, false, out, sizeof(out)), -1);
    CU_ASSERT_EQUAL(url_decode("%00", 3, false, out, sizeof(out)), -1);
    CU_ASSERT_EQUAL(url_decode("abcdef", 6, false, out, 4), 3); /* cut, still terminated */
    CU_ASSERT_STRING_EQUAL(out, "abc");
}

static void test_query_lookup(void)
{
    struct req r;
    char v[32];

    memset(&r, 0, sizeof(r));
    r.query = "limit=10&q=a%20b&flag&empty=&status=active&qq=x";
    CU_ASSERT_TRUE(req_query(&r, "limit", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "10");
    CU_ASSERT_TRUE(req_query(&r, "q", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "a b");
    CU_ASSERT_TRUE(req_query(&r, "flag", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "");
    CU_ASSERT_TRUE(req_query(&r, "empty", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "");
    CU_ASSERT_TRUE(req_query(&r, "qq", v, sizeof(v)));
    CU_ASSERT_STRING_EQUAL(v, "x");
    CU_ASSERT_FALSE(req_query(&r, "stat", v, sizeof(v)));
    CU_ASSERT_FALSE(req_query(&r, "offset", v, sizeof(v)));
}

static void test_query_repeated(void)
{
    struct req r;
    char v[32];

    memset(&r, 0, sizeof(r));
    r.query = "key=a&keep=1&key=b%2Bc&keys=no&key=%zz";
    CU_ASSERT_EQUAL(req_query_nth(&r, "key", 0, v, sizeof(v)), QUERY_PRESENT);
    CU_ASSERT_STRING_EQUAL(v, "a");
    CU_ASSERT_EQUAL(req_query_nth(&r, "key", 1, v, sizeof(v)), QUERY_PRESENT);
    CU_ASSERT_STRING_EQUAL(v, "b+c");
    CU_ASSERT_EQUAL(req_query_nth(&r, "key", 2, v, sizeof(v)), QUERY_MALFORMED);
    CU_ASSERT_EQUAL(req_query_nth(&r, "key", 3, v, sizeof(v)), QUERY_ABSENT);
    CU_ASSERT_EQUAL(req_query_get(&r, "key", v, sizeof(v)), QUERY_PRESENT);
    CU_ASSERT_STRING_EQUAL(v, "a");
}

void suite_http(void)
{
    ADD_SUITE("http", TEST(test_url_decode), TEST(test_query_lookup), TEST(test_query_repeated));
}
