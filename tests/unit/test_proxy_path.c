#include <stdlib.h>
#include <string.h>

#include "proxy/path.h"
#include "proxy/trail.h"
#include "suites.h"
#include "core/nelem.h"

static void test_guard_refuses(void)
{
    const char *bad[] = {
        "up/../x",
        "up/a/..",
        "up/%2e%2e/x",
        "up/%2E%2e/x",
        "up/.%2e/x",
        "up/%252e%252e/x",
        "up/a%2f..%2fb",
        "up/a%2F..%2Fb",
        "up/a%252f..%252fb",
        "up//evil.com/x",
        "up/%2fevil.com",
        "up/%2f%2fevil.com",
        "up/@evil.com",
        "up/user@evil.com/x",
        "up/http://evil.com/",
        "up/https:%2f%2fevil",
        "up/a%0d%0aX: y",
        "up/a%00b",
        "up/a\\..\\b",
        "up/a%5c..%5cb",
        "up/a\rb",
        "up/a\tb",
        "up/%zz",
        "up/%2",
        "../up/x",
        "up/%25252e%25252e/x",
    };
    size_t i;

    for (i = 0; i < NELEM(bad); i++) {
        const char *why = proxy_path_check(bad[i], "");
        if (why == NULL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    CU_ASSERT_PTR_NOT_NULL(proxy_path_check("up/x", "a=%0d%0aHost:%20evil"));
    CU_ASSERT_PTR_NOT_NULL(proxy_path_check("up/x", "a=%00"));
    CU_ASSERT_PTR_NOT_NULL(proxy_path_check("up/x", "a=%250d"));
}

static void test_guard_accepts(void)
{
    const char *good[] = {
        "up",
        "up/",
        "up/v1/chat/completions",
        "up/v1beta/models/gemini-pro:generateContent",
        "up/a/./b",
        "up/a..b/c",
        "up/files/%40scope%2Fpkg", /* encoded @ after the first segment stays legal */
        "up/v1/users/me@example.com",
        "up/a%20b/%E2%82%AC",
        "up/..a/b..",
    };
    size_t i;

    for (i = 0; i < NELEM(good); i++) {
        const char *why = proxy_path_check(good[i], "alt=sse&q=a%20b");
        if (why != NULL)
            fprintf(stderr, "refused: %s (%s)\n", good[i], why);
        CU_ASSERT_PTR_NULL(why);
    }
}

static void test_split(void)
{
    char name[72];
    const char *rest;

    CU_ASSERT_TRUE(proxy_split("openai/v1/models", name, sizeof(name), &rest));
    CU_ASSERT_STRING_EQUAL(name, "openai");
    CU_ASSERT_STRING_EQUAL(rest, "v1/models");
    CU_ASSERT_TRUE(proxy_split("openai", name, sizeof(name), &rest));
    CU_ASSERT_PTR_NULL(rest);
    CU_ASSERT_TRUE(proxy_split("openai/", name, sizeof(name), &rest));
    CU_ASSERT_STRING_EQUAL(rest, "");
    CU_ASSERT_FALSE(proxy_split("OpenAI/x", name, sizeof(name), &rest));
    CU_ASSERT_FALSE(proxy_split("/x", name, sizeof(name), &rest));
    CU_ASSERT_FALSE(proxy_split("a%2eb/x", name, sizeof(name), &rest));
}

static void test_build_url(void)
{
    struct buf b;

    buf_init(&b, 4096);
    CU_ASSERT_EQUAL(proxy_build_url(&b, "http://h/v1/", "chat", "a=1&key=tok&b=2", "key", NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "http://h/v1/chat?a=1&b=2");
    buf_reset(&b);
    CU_ASSERT_EQUAL(proxy_build_url(&b, "http://h", NULL, "", NULL, NULL), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "http://h");
    buf_reset(&b);
    CU_ASSERT_EQUAL(
        proxy_build_url(&b, "http://h/v1", "x", "key=a&k%65y=b&api_key=c&keys=d", "key", "api_key"),
        0);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "http://h/v1/x?keys=d");
    CU_ASSERT_EQUAL(proxy_url_add_param(&b, "key", "a b&c", 5), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&b), "http://h/v1/x?keys=d&key=a%20b%26c");
    buf_free(&b);
}

static void test_same_origin(void)
{
    CU_ASSERT_TRUE(proxy_same_origin("http://h:80/v1/x?a=1", "http://h/v1"));
    CU_ASSERT_TRUE(proxy_same_origin("https://API.example.com/v1", "https://api.example.com"));
    CU_ASSERT_FALSE(proxy_same_origin("http://evil.com/x", "http://h/v1"));
    CU_ASSERT_FALSE(proxy_same_origin("https://h/x", "http://h/v1"));
    CU_ASSERT_FALSE(proxy_same_origin("http://h:8080/x", "http://h/v1"));
    /* The base followed by plain bytes needs no parse; anything else gets one. */
    CU_ASSERT_TRUE(proxy_same_origin("http://h/v1/chat?x=1", "http://h/v1"));
    CU_ASSERT_TRUE(proxy_same_origin("http://h/v1%2F..%2F/x", "http://h/v1"));
    CU_ASSERT_FALSE(proxy_same_origin("http://h@evil.com/x", "http://h"));
    CU_ASSERT_FALSE(proxy_same_origin("http://h:1@evil.com/x", "http://h"));
    CU_ASSERT_FALSE(proxy_same_origin("http://h/v1/a\001b", "http://h/v1"));
    CU_ASSERT_FALSE(proxy_same_origin("http://h/v1/a b", "http://h/v1"));
}

/* The query a log row keeps: every copy of `key` (a client token's place)
 * gone, encoded names included; nothing left is NULL. */
static void test_logged_query(void)
{
    char *q = proxy_trail_query("a=1&key=tok&k%65y=tok2&b=2");

    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_STRING_EQUAL(q, "?a=1&b=2");
    free(q);
    CU_ASSERT_PTR_NULL(proxy_trail_query("key=tok"));
    CU_ASSERT_PTR_NULL(proxy_trail_query(""));
    CU_ASSERT_PTR_NULL(proxy_trail_query(NULL));
}

void suite_proxy_path(void)
{
    ADD_SUITE("proxy_path", TEST(test_guard_refuses), TEST(test_guard_accepts), TEST(test_split),
              TEST(test_build_url), TEST(test_same_origin), TEST(test_logged_query));
}
