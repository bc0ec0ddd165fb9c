/* core/mask.c: the one function that hides a key in stored or shown text. */
#include <string.h>

#include "core/mask.h"
#include "suites.h"

static struct mask_secret secret;
static struct mask_secret slash; /* a key with characters that encoders escape */

static int setup(void)
{
    mask_secret_init(&secret, "sk-SECRET-0123456789", 20,
                     "sk-S\xe2\x80\xa6"
                     "6789");
    return mask_secret_init(&slash, "lk/SLASH/SECRET+0123=ab", 23, "[masked]");
}

static int teardown(void)
{
    mask_secret_free(&secret);
    mask_secret_free(&slash);
    return 0;
}

/* Masks in with the slash key and checks the result against want. */
static void check_slash(const char *in, const char *want)
{
    char out[256];

    mask_text(out, sizeof(out), in, strlen(in), &slash, true);
    CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_json_escaped_forms(void)
{
    check_slash("{\"error\":\"bad key lk\\/SLASH\\/SECRET+0123=ab\"}",
                "{\"error\":\"bad key [masked]\"}");
    check_slash("k=lk\\u002fSLASH\\u002fSECRET+0123=ab.", "k=[masked].");
    check_slash("k=lk\\u002FSLASH\\u002FSECRET+0123=ab.", "k=[masked].");
}

static void test_percent_encoded_forms(void)
{
    check_slash("GET /x?key=lk%2FSLASH%2FSECRET%2B0123%3Dab&y=1", "GET /x?key=[masked]&y=1");
    check_slash("GET /x?key=lk%2fSLASH%2fSECRET%2b0123%3dab&y=1", "GET /x?key=[masked]&y=1");
}

static void test_base64_form(void)
{
    /* Padded or not, and inside a longer base64 text that starts with it:
     * the last character, which the next byte decides, is not part of the
     * form. */
    check_slash("token bGsvU0xBU0gvU0VDUkVUKzAxMjM9YWI= end", "token [masked]I= end");
    check_slash("bGsvU0xBU0gvU0VDUkVUKzAxMjM9YWIx", "[masked]Ix");
}

static void test_cut_pieces_of_every_form(void)
{
    /* A prefix cut by the end of the input, and a suffix that begins it. */
    check_slash("echo lk\\/SLA", "echo [masked]");
    check_slash("echo lk%2fSL", "echo [masked]");
    check_slash("ECRET+0123=ab, more", "[masked], more");
    check_slash("2B0123%3Dab, more", "[masked], more");
    check_slash("=ab, more", "=ab, more"); /* three bytes: too short to tell */
}

/* mask_buf looks for the key with memmem first and copies a text that
 * holds none of it whole: it must still mask what mask_text masks (whole
 * forms, a form cut by the end, a suffix at the start). */
static void test_mask_buf_agrees_with_mask_text(void)
{
    static const char *const in[] = {"echo lk\\/SLA",
                                     "echo lk%2fSL",
                                     "ECRET+0123=ab, more",
                                     "2B0123%3Dab, more",
                                     "=ab, more",
                                     "{\"error\":\"bad key lk\\/SLASH\\/SECRET+0123=ab\"}",
                                     "GET /x?key=lk%2FSLASH%2FSECRET%2B0123%3Dab&y=1",
                                     "no key here at all, lk lk/ lk%",
                                     "lk/SLASH/SECRET+0123=ab",
                                     "l",
                                     "",
                                     "lk/S"};
    char want[256];
    struct buf out;
    size_t i;

    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        buf_init(&out, mask_buf_bound(strlen(in[i])));
        mask_text(want, sizeof(want), in[i], strlen(in[i]), &slash, false);
        CU_ASSERT_TRUE(mask_buf(&out, in[i], strlen(in[i]), &slash) >= 0);
        CU_ASSERT_STRING_EQUAL(buf_str(&out), want);
        buf_free(&out);
    }
}

static void test_mask_buf_counts_and_grows(void)
{
    const char *in = "a sk-SECRET-0123456789 b lk/SLASH/SECRET+0123=ab";
    struct buf out;

    buf_init(&out, mask_buf_bound(strlen(in)));
    CU_ASSERT_EQUAL(mask_buf(&out, in, strlen(in), &secret), 1);
    CU_ASSERT_STRING_EQUAL(buf_str(&out), "a sk-S\xe2\x80\xa6"
                                          "6789 b lk/SLASH/SECRET+0123=ab");
    buf_reset(&out);
    CU_ASSERT_EQUAL(mask_buf(&out, in, strlen(in), NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&out), in);
    buf_free(&out);
    buf_init(&out, 4);
    CU_ASSERT_EQUAL(mask_buf(&out, in, strlen(in), &secret), -1);
    buf_free(&out);
}

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
    struct mask_secret none;
    char out[8] = "xxxxxxx";

    mask_secret_init(&none, "", 0, "");

    CU_ASSERT_EQUAL(mask_text(out, sizeof(out), "hello", 5, &none, false), 5);
    CU_ASSERT_STRING_EQUAL(out, "hello");
    CU_ASSERT_EQUAL(mask_text(out, 1, "hello", 5, &secret, false), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(mask_text(out, 0, "hello", 5, &secret, false), 0);
    mask_secret_free(&none);
}

/* The per-thread cache gives the same forms for the same secret, its own
 * copy of it (the caller's may go away), and other forms for another. */
static void test_cached_forms_follow_the_value(void)
{
    char a[] = "sk-cache-aaaaaaaaaaaaaaaa", b[] = "sk-cache-bbbbbbbbbbbbbbbb";
    char out[128], other[8];
    const struct mask_secret *ka = mask_secret_cached(a, strlen(a), "sk-c...aaaa");
    const struct mask_secret *kb;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(ka);
    CU_ASSERT_PTR_NOT_EQUAL(ka->value, a);
    CU_ASSERT_PTR_EQUAL(mask_secret_cached(a, strlen(a), "sk-c...aaaa"), ka);
    memset(a, 'x', sizeof(a) - 1); /* the caller's copy changes: the cached one does not */
    mask_text(out, sizeof(out), "k=sk-cache-aaaaaaaaaaaaaaaa", 27, ka, false);
    CU_ASSERT_STRING_EQUAL(out, "k=sk-c...aaaa");
    kb = mask_secret_cached(b, strlen(b), "sk-c...bbbb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(kb);
    mask_text(out, sizeof(out), "sk-cache-bbbbbbbbbbbbbbbb%2F", 28, kb, false);
    CU_ASSERT_STRING_EQUAL(out, "sk-c...bbbb%2F");
    /* The same value with another masked form is another entry. */
    CU_ASSERT_PTR_NOT_EQUAL(mask_secret_cached(b, strlen(b), "other"), kb);
    for (i = 0; i < 20; i++) { /* more secrets than the cache holds */
        other[0] = (char)('a' + i);
        memset(other + 1, 'q', sizeof(other) - 2);
        other[sizeof(other) - 1] = '\0';
        kb = mask_secret_cached(other, strlen(other), "m");
        CU_ASSERT_PTR_NOT_NULL(kb);
        CU_ASSERT_NSTRING_EQUAL(kb->value, other, strlen(other));
    }
    CU_ASSERT_PTR_NULL(mask_secret_cached("", 0, "m"));
}

void suite_mask(void)
{
    CU_pSuite s = CU_add_suite("mask", setup, teardown);

    CU_add_test(s, "test_every_copy_is_masked", test_every_copy_is_masked);
    CU_add_test(s, "test_a_key_straddling_the_cut_is_masked",
                test_a_key_straddling_the_cut_is_masked);
    CU_add_test(s, "test_a_key_cut_by_the_end_of_the_input",
                test_a_key_cut_by_the_end_of_the_input);
    CU_add_test(s, "test_printable_replaces_what_cannot_be_shown",
                test_printable_replaces_what_cannot_be_shown);
    CU_add_test(s, "test_a_character_that_does_not_fit_is_not_split",
                test_a_character_that_does_not_fit_is_not_split);
    CU_add_test(s, "test_no_secret_and_no_room", test_no_secret_and_no_room);
    CU_add_test(s, "test_json_escaped_forms", test_json_escaped_forms);
    CU_add_test(s, "test_percent_encoded_forms", test_percent_encoded_forms);
    CU_add_test(s, "test_base64_form", test_base64_form);
    CU_add_test(s, "test_cut_pieces_of_every_form", test_cut_pieces_of_every_form);
    CU_add_test(s, "test_mask_buf_counts_and_grows", test_mask_buf_counts_and_grows);
    CU_add_test(s, "test_mask_buf_agrees_with_mask_text", test_mask_buf_agrees_with_mask_text);
    CU_add_test(s, "test_cached_forms_follow_the_value", test_cached_forms_follow_the_value);
}
