/* Bearer parsing: what auth_bearer_value takes from an Authorization
 * header, and what it refuses rather than cut. */
#include <string.h>

#include "auth.h"
#include "http.h"
#include "suites.h"

/* A header value, the room given for the token, and the token expected
 * ("<none>" when the header must give none). */
struct bcase {
    const char *header;
    size_t outlen;
    const char *want;
};

/* Runs each case; a refusal must leave out untouched, a token must be
 * terminated within outlen. */
static void run_cases(const struct bcase *c, size_t n)
{
    char out[64];
    size_t i, len;

    for (i = 0; i < n; i++) {
        memset(out, '#', sizeof(out));
        len = auth_bearer_value(c[i].header, out, c[i].outlen);
        if (len == 0) {
            CU_ASSERT_STRING_EQUAL("<none>", c[i].want);
            CU_ASSERT_EQUAL(out[0], '#');
            continue;
        }
        CU_ASSERT_TRUE(len < c[i].outlen);
        CU_ASSERT_EQUAL(strlen(out), len);
        CU_ASSERT_STRING_EQUAL(out, c[i].want);
    }
}

static void test_bearer_scheme(void)
{
    static const struct bcase c[] = {
        {"Bearer abc.DEF-123", 64, "abc.DEF-123"},
        /* The scheme is case-insensitive (RFC 7235); the token is kept as is. */
        {"bearer Tok", 64, "Tok"},
        {"BEARER Tok", 64, "Tok"},
        {"bEaReR Tok", 64, "Tok"},
        /* Other schemes, a missing separator, or no header at all: none. */
        {"Basic dXNlcjpwdw==", 64, "<none>"},
        {"Bearerabc", 64, "<none>"},
        {"Bearer\tabc", 64, "<none>"},
        {"Bear abc", 64, "<none>"},
        {"abc", 64, "<none>"},
        {NULL, 64, "<none>"},
    };

    run_cases(c, NELEM(c));
}

static void test_bearer_spaces_and_empty(void)
{
    static const struct bcase c[] = {
        {"Bearer    abc", 64, "abc"},   {"Bearer abc   ", 64, "abc"},
        {"Bearer   abc  ", 64, "abc"},  {"", 64, "<none>"},
        {"Bearer", 64, "<none>"},       {"Bearer ", 64, "<none>"},
        {"Bearer      ", 64, "<none>"},
    };

    run_cases(c, NELEM(c));
}

static void test_bearer_too_long_is_refused(void)
{
    static const struct bcase c[] = {
        /* Exactly fits: the token and its terminator. */
        {"Bearer abc", 4, "abc"},
        /* One byte more would have to be cut into a shorter, different
         * token: it is refused instead. */
        {"Bearer abcd", 4, "<none>"},
        {"Bearer abcd  ", 4, "<none>"},
        {"Bearer a", 1, "<none>"},
        {"Bearer a", 0, "<none>"},
    };
    char big[600], out[64];

    run_cases(c, NELEM(c));
    memset(big, 'k', sizeof(big));
    memcpy(big, "Bearer ", 7);
    big[sizeof(big) - 1] = '\0';
    CU_ASSERT_EQUAL(auth_bearer_value(big, out, sizeof(out)), 0);
    big[7 + 63] = '\0'; /* 63 bytes: fits in 64 */
    CU_ASSERT_EQUAL(auth_bearer_value(big, out, sizeof(out)), 63);
    CU_ASSERT_STRING_EQUAL(out, big + 7);
}

static void test_bearer_from_request(void)
{
    char *env[] = {"REQUEST_METHOD=GET", "HTTP_AUTHORIZATION=Bearer  s3cret ", NULL};
    char *none[] = {"HTTP_X_API_KEY=Bearer x", NULL};
    struct req r;
    char out[32];

    memset(&r, 0, sizeof(r));
    r.env = env;
    CU_ASSERT_EQUAL(auth_bearer(&r, out, sizeof(out)), 6);
    CU_ASSERT_STRING_EQUAL(out, "s3cret");
    r.env = none;
    CU_ASSERT_EQUAL(auth_bearer(&r, out, sizeof(out)), 0);
}

void suite_auth(void)
{
    ADD_SUITE("auth", TEST(test_bearer_scheme), TEST(test_bearer_spaces_and_empty),
              TEST(test_bearer_too_long_is_refused), TEST(test_bearer_from_request));
}
