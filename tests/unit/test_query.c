/* The query-string parser on raw strings: which parameter a name finds,
 * how values decode, and the edges (empty segments, '=' in values, cut
 * values, malformed escapes, repeated names). */
#include <string.h>

#include "query.h"
#include "suites.h"

/* One lookup and what it must give: the decoded value, "<absent>" or
 * "<malformed>". */
struct qcase {
    const char *query, *name;
    unsigned nth;
    size_t outlen;
    const char *want;
};

/* Runs each case; a malformed value must leave out empty and a present
 * one must fit in outlen. */
static void run_cases(const struct qcase *c, size_t n)
{
    char out[64];
    const char *got;
    size_t i;

    for (i = 0; i < n; i++) {
        memset(out, '#', sizeof(out));
        switch (query_nth(c[i].query, c[i].name, c[i].nth, out, c[i].outlen)) {
        case QUERY_ABSENT:
            got = "<absent>";
            break;
        case QUERY_MALFORMED:
            CU_ASSERT_EQUAL(out[0], '\0');
            got = "<malformed>";
            break;
        default:
            CU_ASSERT_TRUE(strlen(out) < c[i].outlen);
            got = out;
            break;
        }
        CU_ASSERT_STRING_EQUAL(got, c[i].want);
    }
}

static void test_query_names(void)
{
    static const struct qcase c[] = {
        {"", "a", 0, 64, "<absent>"},
        {"a=1", "a", 0, 64, "1"},
        /* Names match whole: neither a prefix nor a longer name. */
        {"ab=1&a=2", "a", 0, 64, "2"},
        {"a=1", "ab", 0, 64, "<absent>"},
        /* Names match decoded (?%6bey= is ?key=) and are case-sensitive;
         * a name that does not decode matches nothing. */
        {"%61=1", "a", 0, 64, "1"},
        {"%6bey=T&ke%79=U&%4Bey=V", "key", 1, 64, "U"},
        {"%6Bey=T", "key", 0, 64, "T"},
        {"%zz=1&a%=2", "a", 0, 64, "<absent>"},
        {"A=1", "a", 0, 64, "<absent>"},
        /* A name inside a value is not a name. */
        {"x=a=1", "a", 0, 64, "<absent>"},
        {"x=a%3D1&a=2", "a", 0, 64, "2"},
    };

    run_cases(c, NELEM(c));
}

static void test_query_values(void)
{
    static const struct qcase c[] = {
        {"a", "a", 0, 64, ""},
        {"a=", "a", 0, 64, ""},
        {"a==", "a", 0, 64, "="},
        {"a=b=c", "a", 0, 64, "b=c"},
        {"a=x+y%2By%26z", "a", 0, 64, "x y+y&z"},
        {"a=%C3%A9", "a", 0, 64, "\xc3\xa9"},
        /* Empty segments are skipped. */
        {"&&a=1&&", "a", 0, 64, "1"},
        {"&", "a", 0, 64, "<absent>"},
        /* A long value is cut to the buffer, still terminated. */
        {"a=abcdef", "a", 0, 4, "abc"},
        {"a=abcdef", "a", 0, 1, ""},
    };

    run_cases(c, NELEM(c));
}

static void test_query_malformed(void)
{
    static const struct qcase c[] = {
        {"a=%", "a", 0, 64, "<malformed>"},
        {"a=%4", "a", 0, 64, "<malformed>"},
        {"a=%4&b=1", "a", 0, 64, "<malformed>"},
        {"a=%g0", "a", 0, 64, "<malformed>"},
        {"a=x%00y", "a", 0, 64, "<malformed>"},
        /* A bad escape elsewhere does not spoil another parameter. */
        {"b=%zz&a=ok", "a", 0, 64, "ok"},
    };

    run_cases(c, NELEM(c));
}

static void test_query_occurrences(void)
{
    static const struct qcase c[] = {
        {"k=1&x=0&k=&k&k=4", "k", 0, 64, "1"},
        {"k=1&x=0&k=&k&k=4", "k", 1, 64, ""},
        {"k=1&x=0&k=&k&k=4", "k", 2, 64, ""},
        {"k=1&x=0&k=&k&k=4", "k", 3, 64, "4"},
        {"k=1&x=0&k=&k&k=4", "k", 4, 64, "<absent>"},
        {"k=1&x=0&k=&k&k=4", "k", 4000000000u, 64, "<absent>"},
        {"k=1&x=0&k=&k&k=4", "x", 1, 64, "<absent>"},
    };

    run_cases(c, NELEM(c));
}

void suite_query(void)
{
    ADD_SUITE("query", TEST(test_query_names), TEST(test_query_values), TEST(test_query_malformed),
              TEST(test_query_occurrences));
}
