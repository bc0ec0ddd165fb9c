#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/store.h"
#include "suites.h"

static const unsigned char key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void test_seal_round_trip(void)
{
    const char *plain = "sk-live-0123456789abcdefghijklmnop";
    unsigned char sealed[128];
    char out[128];
    size_t n = strlen(plain);

    CU_ASSERT_EQUAL_FATAL(crypto_seal(key, plain, n, sealed), 0);
    CU_ASSERT(memmem(sealed, n + CRYPTO_OVERHEAD, plain, n) == NULL);
    CU_ASSERT(memmem(sealed, n + CRYPTO_OVERHEAD, "0123456789", 10) == NULL);
    CU_ASSERT_EQUAL(crypto_open(key, sealed, n + CRYPTO_OVERHEAD, out), (long)n);
    CU_ASSERT_STRING_EQUAL(out, plain);
}

static void test_seal_uses_fresh_nonces(void)
{
    unsigned char a[64], b[64];

    crypto_seal(key, "same", 4, a);
    crypto_seal(key, "same", 4, b);
    CU_ASSERT(memcmp(a, b, 4 + CRYPTO_OVERHEAD) != 0);
}

static void test_open_refuses_tampering_and_wrong_key(void)
{
    unsigned char sealed[64], other[32];
    char out[64];
    size_t i;

    crypto_seal(key, "secret-value", 12, sealed);
    memcpy(other, key, sizeof(other));
    other[0] ^= 1;
    CU_ASSERT_EQUAL(crypto_open(other, sealed, 12 + CRYPTO_OVERHEAD, out), -1);
    for (i = 0; i < 12 + CRYPTO_OVERHEAD; i++) {
        sealed[i] ^= 0x80;
        CU_ASSERT_EQUAL(crypto_open(key, sealed, 12 + CRYPTO_OVERHEAD, out), -1);
        sealed[i] ^= 0x80;
    }
    CU_ASSERT_EQUAL(crypto_open(key, sealed, 12 + CRYPTO_OVERHEAD, out), 12);
    CU_ASSERT_EQUAL(crypto_open(key, sealed, 10, out), -1);
}

static void test_sha256_known_vector(void)
{
    static const unsigned char abc[SHA256_LEN] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                                  0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                                  0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                                  0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    unsigned char h[SHA256_LEN];

    crypto_sha256("abc", 3, h);
    CU_ASSERT_EQUAL(memcmp(h, abc, SHA256_LEN), 0);
    /* The thread's context is reused: nothing of one hash leaks into the next. */
    crypto_sha256("abcabc", 6, h);
    CU_ASSERT_NOT_EQUAL(memcmp(h, abc, SHA256_LEN), 0);
    crypto_sha256("abc", 3, h);
    CU_ASSERT_EQUAL(memcmp(h, abc, SHA256_LEN), 0);
}

static void test_mask_shows_little(void)
{
    char m[MASK_MAX];

    crypto_mask("sk-abcdefghijklmnopqrstuvwxyz9xQz", 33, m);
    CU_ASSERT_STRING_EQUAL(m, "sk-a\xe2\x80\xa6"
                              "9xQz");
    crypto_mask("abcdefghijkl", 12, m); /* short: 2 each side */
    CU_ASSERT_STRING_EQUAL(m, "ab\xe2\x80\xa6kl");
    crypto_mask("abcde", 5, m); /* tiny: nothing shown */
    CU_ASSERT_STRING_EQUAL(m, "\xe2\x80\xa6");
    crypto_mask("", 0, m);
    CU_ASSERT_STRING_EQUAL(m, "\xe2\x80\xa6");
    /* Characters, not bytes: 24 two-byte letters show 4 on each side, whole. */
    crypto_mask("\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb4\xd0\xb5\xd0\xb6\xd0\xb7"
                "\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb4\xd0\xb5\xd0\xb6\xd0\xb7"
                "\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb4\xd0\xb5\xd0\xb6\xd0\xb7",
                48, m);
    CU_ASSERT_STRING_EQUAL(m, "\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xe2\x80\xa6"
                              "\xd0\xb4\xd0\xb5\xd0\xb6\xd0\xb7");
}

static void test_password_hash_and_check(void)
{
    char *h = crypto_password_hash("correct horse");

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(strncmp(h, "$y$", 3), 0);
    CU_ASSERT(strstr(h, "correct") == NULL);
    CU_ASSERT_TRUE(crypto_password_check("correct horse", h));
    CU_ASSERT_FALSE(crypto_password_check("correct horsE", h));
    CU_ASSERT_FALSE(crypto_password_check("", h));
    CU_ASSERT_FALSE(crypto_password_check("correct horse", "$y$garbage"));
    free(h);
}

static void test_equal_and_random(void)
{
    char a[65], b[65];

    CU_ASSERT_TRUE(crypto_equal_str("token-1", "token-1"));
    CU_ASSERT_FALSE(crypto_equal_str("token-1", "token-2"));
    CU_ASSERT_FALSE(crypto_equal_str("token", "token-1"));
    CU_ASSERT_EQUAL(crypto_random_hex(a, 32), 0);
    CU_ASSERT_EQUAL(crypto_random_hex(b, 32), 0);
    CU_ASSERT_EQUAL(strlen(a), 64);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static void test_key_seal_and_checks(void)
{
    struct key_sealed ks;
    char out[KEY_SEALED_MAX];
    char big[KEY_VALUE_MAX + 2];

    CU_ASSERT_EQUAL_FATAL(key_seal(key, "AIzaSyExampleExampleExample0123", 31, &ks), 0);
    CU_ASSERT_EQUAL(ks.sealed_len, 31 + CRYPTO_OVERHEAD);
    CU_ASSERT_EQUAL(crypto_open(key, ks.sealed, ks.sealed_len, out), 31);
    CU_ASSERT_STRING_EQUAL(ks.masked, "AIza\xe2\x80\xa6"
                                      "0123");
    CU_ASSERT_PTR_NULL(key_value_check("sk-ok", 5));
    CU_ASSERT_PTR_NOT_NULL(key_value_check("sk ok", 5));
    CU_ASSERT_PTR_NOT_NULL(key_value_check("sk\tok", 5));
    CU_ASSERT_PTR_NOT_NULL(key_value_check("", 0));
    memset(big, 'k', sizeof(big));
    CU_ASSERT_PTR_NULL(key_value_check(big, KEY_VALUE_MAX));
    CU_ASSERT_PTR_NOT_NULL(key_value_check(big, KEY_VALUE_MAX + 1));
    CU_ASSERT_EQUAL(key_status_parse("exhausted"), KEY_EXHAUSTED);
    CU_ASSERT_EQUAL(key_status_parse("gone"), -1);
    CU_ASSERT_STRING_EQUAL(key_status_name(KEY_BANNED), "banned");
}

void suite_crypto(void)
{
    ADD_SUITE("crypto", TEST(test_seal_round_trip), TEST(test_seal_uses_fresh_nonces),
              TEST(test_open_refuses_tampering_and_wrong_key), TEST(test_sha256_known_vector),
              TEST(test_mask_shows_little), TEST(test_password_hash_and_check),
              TEST(test_equal_and_random), TEST(test_key_seal_and_checks));
}
