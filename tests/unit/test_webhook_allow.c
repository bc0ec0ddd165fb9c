/* The webhook_allow list (core/alert.h): its syntax, how URLs match hosts
 * and prefixes, and the configuration checks that use it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alert.h"
#include "core/config.h"
#include "suites.h"
#include "core/nelem.h"

#define KEY                                                                                        \
    "encryption_key = "                                                                            \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

/* One URL against one list, and whether it may receive alerts. */
static const struct {
    const char *list, *url;
    bool allowed;
} cases[] = {
    {NULL, "https://anything.example/x", true},
    {"", "http://10.0.0.1:9/", true},
    /* Host entries: any scheme of the two and any port, unless named. */
    {"hooks.example.com, 127.0.0.1:8443", "https://hooks.example.com/a/b", true},
    {"hooks.example.com", "http://hooks.example.com:9000/", true},
    {"hooks.example.com", "HTTPS://HOOKS.Example.COM/a", true},
    {"HOOKS.EXAMPLE.COM", "https://hooks.example.com/", true},
    {"hooks.example.com, 127.0.0.1:8443", "http://127.0.0.1:8443/hook", true},
    {"hooks.example.com, 127.0.0.1:8443", "http://127.0.0.1:8444/hook", false},
    {"hooks.example.com", "https://hooks.example.com.evil.net/", false},
    {"hooks.example.com", "https://evilhooks.example.com/", false},
    {"hooks.example.com", "https://hooks.example.com@evil.net/", false},
    {"hooks.example.com", "ftp://hooks.example.com/", false},
    {"hooks.example.com", "not a url", false},
    {"a.com:443", "https://a.com/x", true},
    {"a.com:443", "http://a.com/x", false},
    /* Prefix entries: scheme, host and port, then the path. */
    {"https://a.com", "https://a.com/", true},
    {"https://a.com", "https://a.com/any/path", true},
    {"https://a.com", "https://a.com:443/x", true},
    {"https://a.com", "HTTPS://A.COM/x", true},
    {"HTTPS://A.Com", "https://a.com/x", true},
    {"https://a.com", "https://a.com.evil/x", false},
    {"https://a.com", "https://a.com.evil", false},
    {"https://a.com", "https://a.com:8443/x", false},
    {"https://a.com", "http://a.com/x", false},
    {"http://b.org/alerts", "http://b.org/alerts", true},
    {"http://b.org/alerts", "http://b.org/alerts/team1", true},
    {"http://b.org/alerts", "http://b.org/alertsevil", false},
    {"http://b.org/alerts", "http://b.org/Alerts", false},
    {"http://b.org/alerts", "http://b.org/other", false},
    {"http://b.org/alerts", "http://b.org/alerts/../admin", false},
    {"http://b.org/alerts", "https://b.org/alerts", false},
    {"http://b.org/alerts/", "http://b.org/alerts/x", true},
    {"http://b.org/alerts/", "http://b.org/alerts", false},
};

static void test_matching(void)
{
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        bool got = alert_url_allowed(cases[i].list, cases[i].url);
        if (got != cases[i].allowed)
            fprintf(stderr, "webhook_allow [%s] %s: got %d\n",
                    cases[i].list ? cases[i].list : "NULL", cases[i].url, got);
        CU_ASSERT_EQUAL(got, cases[i].allowed);
    }
}

static void test_list_syntax(void)
{
    char why[200];

    CU_ASSERT_EQUAL(alert_allow_check("", why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(alert_allow_check(" a.com ,https://b.org/x/ , c.net:81", why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(alert_allow_check("a.com,,b.com", why, sizeof(why)), -1);
    CU_ASSERT_STRING_EQUAL(why, "entry 2 is empty (entries are separated by commas)");
    CU_ASSERT_EQUAL(alert_allow_check("a.com/x", why, sizeof(why)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "entry 1 (a.com/x) is neither"));
    CU_ASSERT_EQUAL(alert_allow_check("a.com, ftp://b.org/", why, sizeof(why)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "entry 2 (ftp://b.org/)"));
    CU_ASSERT_EQUAL(alert_allow_check("https://b.org/?q=1", why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(alert_allow_check("https://u@b.org/", why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(alert_allow_check("a b.com", why, sizeof(why)), -1);
}

static void test_config_checks(void)
{
    struct config c;
    char err[512];

    CU_ASSERT_EQUAL_FATAL(config_parse(&c, "t.conf",
                                       "webhook_url = https://hooks.example.com/alerts/x\n"
                                       "webhook_allow = hooks.example.com\n" KEY,
                                       false, err, sizeof(err)),
                          0);
    CU_ASSERT_STRING_EQUAL(c.webhook_allow, "hooks.example.com");
    config_free(&c);
    CU_ASSERT_EQUAL(config_parse(&c, "t.conf",
                                 "webhook_allow = https://hooks.example.com/alerts/\n"
                                 "webhook_url = https://hooks.example.com/other\n" KEY,
                                 false, err, sizeof(err)),
                    -1);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: webhook_url: is outside webhook_allow (add its host "
                                "or a prefix of it there)");
    CU_ASSERT_EQUAL(
        config_parse(&c, "t.conf", "\nwebhook_allow = a.com,,b.com\n" KEY, false, err, sizeof(err)),
        -1);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: webhook_allow: entry 2 is empty (entries are "
                                "separated by commas)");
    setenv("APIGW_WEBHOOK_URL", "https://elsewhere.net/", 1);
    CU_ASSERT_EQUAL(
        config_parse(&c, "t.conf", "webhook_allow = a.com\n" KEY, true, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "environment:APIGW_WEBHOOK_URL: webhook_url: is outside"));
    unsetenv("APIGW_WEBHOOK_URL");
}

void suite_webhook_allow(void)
{
    ADD_SUITE("webhook_allow", TEST(test_matching), TEST(test_list_syntax),
              TEST(test_config_checks));
}
