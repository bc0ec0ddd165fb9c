/* core/utf8.c: validation, counting and cutting of UTF-8 text. */
#include <string.h>

#include "core/utf8.h"
#include "suites.h"

static void test_valid_and_invalid_forms(void)
{
    static const char *const good[] = {
        "", "plain", "\xd0\xba\xd0\xbb", "\xe2\x80\xa6", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"};
    static const char *const bad[] = {
        "\x80",             /* a lone continuation byte */
        "\xc0\xaf",         /* an overlong '/' */
        "\xe0\x80\xaf",     /* an overlong three-byte form */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xe2\x80",         /* cut short */
        "\xff",
    };
    size_t i;

    for (i = 0; i < NELEM(good); i++)
        CU_ASSERT_TRUE(utf8_valid(good[i], strlen(good[i])));
    for (i = 0; i < NELEM(bad); i++)
        CU_ASSERT_FALSE(utf8_valid(bad[i], strlen(bad[i])));
}

static void test_counting_and_prefixes(void)
{
    const char *s = "a\xd0\xba\xe2\x80\xa6\xf0\x9f\x98\x80z"; /* 5 characters, 11 bytes */

    CU_ASSERT_EQUAL(utf8_chars(s, strlen(s)), 5);
    CU_ASSERT_EQUAL(utf8_prefix(s, strlen(s), 0), 0);
    CU_ASSERT_EQUAL(utf8_prefix(s, strlen(s), 2), 3);
    CU_ASSERT_EQUAL(utf8_prefix(s, strlen(s), 4), 10);
    CU_ASSERT_EQUAL(utf8_prefix(s, strlen(s), 9), 11);
}

static void test_sequence_lengths_and_cuts(void)
{
    const char *s = "ab\xe2\x80\xa6"
                    "c";

    CU_ASSERT_EQUAL(utf8_seq_len('a'), 1);
    CU_ASSERT_EQUAL(utf8_seq_len(0xd0), 2);
    CU_ASSERT_EQUAL(utf8_seq_len(0xe2), 3);
    CU_ASSERT_EQUAL(utf8_seq_len(0xf0), 4);
    CU_ASSERT_EQUAL(utf8_seq_len(0x80), 0);
    CU_ASSERT_EQUAL(utf8_seq_len(0xc1), 0);
    CU_ASSERT_EQUAL(utf8_seq_len(0xf5), 0);
    CU_ASSERT_EQUAL(utf8_floor(s, 2), 2);
    CU_ASSERT_EQUAL(utf8_floor(s, 3), 2);
    CU_ASSERT_EQUAL(utf8_floor(s, 4), 2);
    CU_ASSERT_EQUAL(utf8_floor(s, 5), 5);
}

void suite_utf8(void)
{
    ADD_SUITE("utf8", TEST(test_valid_and_invalid_forms), TEST(test_counting_and_prefixes),
              TEST(test_sequence_lengths_and_cuts));
}
