#include <string.h>

#include "reqcheck.h"
#include "suites.h"

/* Runs the check over a NULL-terminated list; returns its result and
 * leaves the message in why. */
static int check(char *why, size_t n, const char *a, const char *b)
{
    char *env[4] = {(char *)"SCRIPT_NAME=", (char *)a, (char *)b, NULL};

    why[0] = '\0';
    return reqcheck_params(env, why, n);
}

static void test_ordinary_requests_pass(void)
{
    char why[256];
    char *env[] = {(char *)"REQUEST_METHOD=POST",
                   (char *)"REQUEST_URI=/proxy/up/v1/x?a=b%20c",
                   (char *)"CONTENT_TYPE=application/json; charset=utf-8",
                   (char *)"CONTENT_LENGTH=12",
                   (char *)"HTTP_AUTHORIZATION=Bearer abc",
                   (char *)"HTTP_X_TAB=a\tb",
                   (char *)"HTTP_X_WEIRD.NAME!=v",
                   (char *)"QUERY_STRING=a\r\n", /* not a header: never forwarded as one */
                   NULL};

    CU_ASSERT_EQUAL(reqcheck_params(env, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(reqcheck_params(NULL, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(check(why, sizeof(why), "REQUEST_METHOD=", "HTTP_HOST=example.com"), 0);
}

static void test_method(void)
{
    char why[256];

    CU_ASSERT_EQUAL(check(why, sizeof(why), "REQUEST_METHOD=GET\r\nX: y", NULL), -1);
    CU_ASSERT_STRING_EQUAL(why, "the method contains a carriage return (CR) (a method is an HTTP "
                                "token)");
    CU_ASSERT_EQUAL(check(why, sizeof(why), "REQUEST_METHOD=GET\n", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "line feed (LF)"));
    CU_ASSERT_EQUAL(check(why, sizeof(why), "REQUEST_METHOD=GET /x HTTP/1.1", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "the byte 0x20"));
}

static void test_header_values(void)
{
    char why[256];

    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_X_API_KEY=a\r\nHost: evil", NULL), -1);
    CU_ASSERT_STRING_EQUAL(why, "header x-api-key: the value contains a carriage return (CR)");
    CU_ASSERT_PTR_NULL(strstr(why, "evil"));
    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_HOST=ok", "HTTP_USER_AGENT=a\nb"), -1);
    CU_ASSERT_STRING_EQUAL(why, "header user-agent: the value contains a line feed (LF)");
    CU_ASSERT_EQUAL(check(why, sizeof(why), "CONTENT_TYPE=text/plain\r\nX: 1", NULL), -1);
    CU_ASSERT_STRING_EQUAL(why, "header content-type: the value contains a carriage return (CR)");
    CU_ASSERT_EQUAL(check(why, sizeof(why), "CONTENT_LENGTH=1\n", NULL), -1);
    CU_ASSERT_EQUAL(check(why, sizeof(why), "REQUEST_URI=/a\r\nHost: b", NULL), -1);
    CU_ASSERT_STRING_EQUAL(why, "the request target: the value contains a carriage return (CR)");
}

static void test_header_names(void)
{
    char why[256];

    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_X\r\nHOST=v", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "a request header name contains a carriage return"));
    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_X:Y=v", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "the byte 0x3a"));
    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_X Y=v", NULL), -1);
    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_\xc3\xa9=v", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "the byte 0xc3"));
    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_=v", NULL), -1);
    CU_ASSERT_STRING_EQUAL(why, "a request header has an empty name");
    /* libfcgi ends a name at a NUL: the entry then has no '='. */
    CU_ASSERT_EQUAL(check(why, sizeof(why), "HTTP_HOST", NULL), -1);
    CU_ASSERT_STRING_EQUAL(why, "request parameter 2 has a NUL byte in its name");
}

static void test_long_names_and_small_buffers(void)
{
    char why[256], small[8], name[400];

    memset(name, 'A', sizeof(name));
    memcpy(name, "HTTP_", 5);
    memcpy(name + sizeof(name) - 4, "=\r\n", 4);
    CU_ASSERT_EQUAL(check(why, sizeof(why), name, NULL), -1);
    CU_ASSERT_TRUE(strlen(why) < 160); /* the label is cut at 64 characters */
    CU_ASSERT_EQUAL(check(small, sizeof(small), "HTTP_A=\n", NULL), -1);
    CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
}

void suite_reqcheck(void)
{
    ADD_SUITE("reqcheck", TEST(test_ordinary_requests_pass), TEST(test_method),
              TEST(test_header_values), TEST(test_header_names),
              TEST(test_long_names_and_small_buffers));
}
