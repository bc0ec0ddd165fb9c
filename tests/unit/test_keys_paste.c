/* The rules of a key paste: how text splits into values, which quotes are
 * stripped, which values are refused and with what reason. */
#include <string.h>

#include "admin/keys_paste.h"
#include "core/store.h"
#include "suites.h"

/* What paste_split handed on: the values joined by '|', and their lines. */
struct seen {
    char text[256];
    long lines[16];
    size_t n;
};

static void record(void *arg, const char *v, size_t n, long line)
{
    struct seen *s = arg;
    size_t len = strlen(s->text);

    if (s->n > 0 && len + 1 < sizeof(s->text))
        s->text[len++] = '|';
    if (len + n < sizeof(s->text)) {
        memcpy(s->text + len, v, n);
        s->text[len + n] = '\0';
    }
    if (s->n < NELEM(s->lines))
        s->lines[s->n] = line;
    s->n++;
}

static struct seen split(const char *text)
{
    struct seen s;

    memset(&s, 0, sizeof(s));
    paste_split(text, strlen(text), record, &s);
    return s;
}

static void test_split_separators(void)
{
    struct seen s = split("aaa, bbb,ccc\nddd;eee\tfff  ggg\r\nhhh,");

    CU_ASSERT_STRING_EQUAL(s.text, "aaa|bbb|ccc|ddd|eee|fff|ggg|hhh");
    CU_ASSERT_EQUAL(s.n, 8);
    CU_ASSERT_EQUAL(s.lines[0], 1);
    CU_ASSERT_EQUAL(s.lines[2], 1);
    CU_ASSERT_EQUAL(s.lines[3], 2);
    CU_ASSERT_EQUAL(s.lines[6], 2);
    CU_ASSERT_EQUAL(s.lines[7], 3);
}

static void test_split_quotes_and_blanks(void)
{
    struct seen s = split("\"aaa\", 'bbb'; `ccc`\n\n\n  \"\" ,, ;\n'ddd\"");

    CU_ASSERT_STRING_EQUAL(s.text, "aaa|bbb|ccc|ddd");
    CU_ASSERT_EQUAL(s.n, 4);
    CU_ASSERT_EQUAL(s.lines[3], 5);
    s = split("");
    CU_ASSERT_EQUAL(s.n, 0);
    s = split("a-b_c.d/e+f=g:h");
    CU_ASSERT_STRING_EQUAL(s.text, "a-b_c.d/e+f=g:h");
}

static void test_value_check(void)
{
    char long_v[KEY_VALUE_MAX + 2];

    CU_ASSERT_EQUAL(paste_value_check("abcdefgh", 8, 8), PASTE_OK);
    CU_ASSERT_EQUAL(paste_value_check("abcdefg", 7, 8), PASTE_TOO_SHORT);
    CU_ASSERT_EQUAL(paste_value_check("abc\xc3\xa9"
                                      "defg",
                                      9, 8),
                    PASTE_BAD_CHAR);
    CU_ASSERT_EQUAL(paste_value_check("abc\x01"
                                      "defg",
                                      8, 8),
                    PASTE_BAD_CHAR);
    CU_ASSERT_EQUAL(paste_value_check("abc\x7f"
                                      "defg",
                                      8, 8),
                    PASTE_BAD_CHAR);
    CU_ASSERT_EQUAL(paste_value_check("abc defg", 8, 8), PASTE_BAD_CHAR);
    memset(long_v, 'x', sizeof(long_v));
    CU_ASSERT_EQUAL(paste_value_check(long_v, KEY_VALUE_MAX, 8), PASTE_OK);
    CU_ASSERT_EQUAL(paste_value_check(long_v, KEY_VALUE_MAX + 1, 8), PASTE_TOO_LONG);
    CU_ASSERT_STRING_EQUAL(paste_reason_text(PASTE_TOO_SHORT), "too short");
    CU_ASSERT_STRING_EQUAL(paste_reason_text(PASTE_DUPLICATE), "duplicate");
    CU_ASSERT_STRING_EQUAL(paste_reason_text(PASTE__MAX), "invalid");
}

void suite_keys_paste(void)
{
    ADD_SUITE("keys_paste", TEST(test_split_separators), TEST(test_split_quotes_and_blanks),
              TEST(test_value_check));
}
