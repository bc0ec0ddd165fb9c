#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "suites.h"

static void test_append_and_terminate(void)
{
    struct buf b;

    buf_init(&b, 100);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "");
    CU_ASSERT_EQUAL(buf_append(&b, "abc", 3), 0);
    CU_ASSERT_EQUAL(buf_puts(&b, "def"), 0);
    CU_ASSERT_EQUAL(b.len, 6);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "abcdef");
    buf_free(&b);
}

static void test_cap_is_enforced(void)
{
    struct buf b;
    char big[64];

    memset(big, 'x', sizeof(big));
    buf_init(&b, 10);
    CU_ASSERT_EQUAL(buf_append(&b, big, 10), 0);
    CU_ASSERT_EQUAL(buf_append(&b, big, 1), -1);
    CU_ASSERT_EQUAL(b.len, 10);
    CU_ASSERT_EQUAL(b.data[10], '\0');
    buf_reset(&b);
    CU_ASSERT_EQUAL(buf_append_some(&b, big, 64), 10);
    CU_ASSERT_EQUAL(buf_append_some(&b, big, 64), 0);
    buf_free(&b);
}

static void test_printf_grows_and_caps(void)
{
    struct buf b;
    int i;

    buf_init(&b, 1 << 20);
    for (i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(buf_printf(&b, "%04d,", i), 0);
    CU_ASSERT_EQUAL(b.len, 5000);
    CU_ASSERT_EQUAL(strncmp(b.data + 4995, "0999,", 5), 0);
    buf_free(&b);
    buf_init(&b, 8);
    CU_ASSERT_EQUAL(buf_printf(&b, "%s", "123456789"), -1);
    CU_ASSERT_EQUAL(b.len, 0);
    buf_free(&b);
}

static void test_steal(void)
{
    struct buf b;
    char *s;

    buf_init(&b, 16);
    s = buf_steal(&b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    buf_puts(&b, "hello");
    s = buf_steal(&b);
    CU_ASSERT_STRING_EQUAL(s, "hello");
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_PTR_NULL(b.data);
    free(s);
}

static void test_cat_and_int(void)
{
    struct buf b;

    buf_init(&b, 16);
    CU_ASSERT_EQUAL(buf_cat(&b, "Name", ": ", "v", (char *)NULL), 0);
    CU_ASSERT_EQUAL(buf_put_int(&b, -42), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "Name: v-42");
    /* All or nothing: a part past the cap leaves the buffer as it was. */
    CU_ASSERT_EQUAL(buf_cat(&b, "ab", "cdefgh", (char *)NULL), -1);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "Name: v-42");
    buf_reset(&b);
    CU_ASSERT_EQUAL(buf_put_int(&b, LLONG_MIN), -1); /* 20 bytes: over the cap */
    CU_ASSERT_EQUAL(b.len, 0);
    buf_free(&b);
    buf_init(&b, 64);
    buf_put_int(&b, LLONG_MIN);
    buf_put_int(&b, 0);
    buf_put_int(&b, LLONG_MAX);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "-922337203685477580809223372036854775807");
    buf_free(&b);
}

static void test_subst(void)
{
    struct buf b;

    buf_init(&b, 32);
    CU_ASSERT_EQUAL(buf_subst(&b, "Bearer {key} and {key}", "{key}", "<k>", 3), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "Bearer <k> and <k>");
    buf_reset(&b);
    /* No occurrence: the text as it is; a value with NUL bytes is copied whole. */
    CU_ASSERT_EQUAL(buf_subst(&b, "plain", "{key}", "x", 1), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "plain");
    buf_reset(&b);
    CU_ASSERT_EQUAL(buf_subst(&b, "{key}{key}", "{key}", "a\0b", 3), 0);
    CU_ASSERT_EQUAL(b.len, 6);
    CU_ASSERT_EQUAL(memcmp(b.data, "a\0ba\0b", 6), 0);
    buf_reset(&b);
    /* Past the cap: -1. */
    CU_ASSERT_EQUAL(buf_subst(&b, "{key}{key}", "{key}", "0123456789abcdef0123", 20), -1);
    buf_free(&b);
}

void suite_buf(void)
{
    ADD_SUITE("buf", TEST(test_subst), TEST(test_append_and_terminate), TEST(test_cap_is_enforced),
              TEST(test_printf_grows_and_caps), TEST(test_steal), TEST(test_cat_and_int));
}
