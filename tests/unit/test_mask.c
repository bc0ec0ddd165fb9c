/* core/mask.c: the one function that hides a key in stored or shown text. */
#include <string.h>

#include "core/mask.h"
#include "suites.h"

static const struct mask_secret secret = {"sk-SECRET-0123456789", 20,
                                          "sk-S\xe2\x80\xa6"
                                          "6789"};

static void test_every_copy_is_masked(void)
{
    const char *in = "bad key sk-SECRET-0123456789, again sk-SECRET-0123456789.";
    char out[256];

    mask_text(out, sizeof(out), in, strlen(in), &secret, false);
    CU_ASSERT_PTR_NULL(strstr(out, "SECRET"));
    CU_ASSERT_STRING_EQUAL(out, "bad key sk-S\xe2\x80\xa6"
                                "6789, again sk-S\xe2\x80\xa6"
                                "6789.");
}

static void test_a_key_straddling_the_cut_is_masked(void)
{
    /* The output holds 16 bytes of text; the key starts at byte 10 and
     * runs past the cut: what shows of it must be the mask, never a
     * prefix of the key, and the mask is cut on a character boundary. */
    const char *in = "prefix:   sk-SECRET-0123456789 and more";
    char out[17];
    size_t n = mask_text(out, sizeof(out), in, strlen(in), &secret, true);

    CU_ASSERT_EQUAL(n, 14);
    CU_ASSERT_STRING_EQUAL(out, "prefix:   sk-S"); /* the mask, cut before its "…" */
}

static void test_a_key_cut_by_the_end_of_the_input(void)
{
    /* The input itself ends inside the key (an answer held up to a
     * limit): four bytes or more of it are masked, fewer are too short to
     * tell from ordinary text. */
    const char *cut = "echo sk-SECRET-01";
    const char *tiny = "echo sk-";
    char out[64];

    mask_text(out, sizeof(out), cut, strlen(cut), &secret, true);
    CU_ASSERT_STRING_EQUAL(out, "echo sk-S\xe2\x80\xa6"
                                "6789");
    mask_text(out, sizeof(out), tiny, strlen(tiny), &secret, true);
    CU_ASSERT_STRING_EQUAL(out, "echo sk-");
}

static void test_printable_replaces_what_cannot_be_shown(void)
{
    const char in[] = "a\x01"
                      "b\xff"
                      "c\xe2\x82"
                      "d\te\nf\xd0\xba";
    char out[64];

    mask_text(out, sizeof(out), in, sizeof(in) - 1, &secret, true);
    CU_ASSERT_STRING_EQUAL(out, "a b?c??d\te\nf\xd0\xba");
    mask_text(out, sizeof(out), in, sizeof(in) - 1, &secret, false);
    CU_ASSERT_EQUAL(memcmp(out, in, sizeof(in)), 0);
}

static void test_a_character_that_does_not_fit_is_not_split(void)
{
    const char *in = "ab\xd0\xba";
    char out[4]; /* room for three bytes: "ab" and half a character */

    mask_text(out, sizeof(out), in, strlen(in), &secret, true);
    CU_ASSERT_STRING_EQUAL(out, "ab?");
}

static void test_no_secret_and_no_room(void)
{
    const struct mask_secret none = {"", 0, ""};
    char out[8] = "xxxxxxx";

    CU_ASSERT_EQUAL(mask_text(out, sizeof(out), "hello", 5, &none, false), 5);
    CU_ASSERT_STRING_EQUAL(out, "hello");
    CU_ASSERT_EQUAL(mask_text(out, 1, "hello", 5, &secret, false), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(mask_text(out, 0, "hello", 5, &secret, false), 0);
}

void suite_mask(void)
{
    ADD_SUITE(
        "mask", TEST(test_every_copy_is_masked), TEST(test_a_key_straddling_the_cut_is_masked),
        TEST(test_a_key_cut_by_the_end_of_the_input),
        TEST(test_printable_replaces_what_cannot_be_shown),
        TEST(test_a_character_that_does_not_fit_is_not_split), TEST(test_no_secret_and_no_room));
}
