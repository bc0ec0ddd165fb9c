#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "suites.h"
#include "core/nelem.h"

#define KEY                                                                                        \
    "encryption_key = "                                                                            \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

static void test_defaults(void)
{
    struct config c;
    char err[256];

    CU_ASSERT_EQUAL_FATAL(config_parse(&c, "t.conf", KEY, false, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.port, 8080);
    CU_ASSERT_EQUAL(c.max_body_bytes, 32LL << 20);
    CU_ASSERT_EQUAL(c.rule_body_limit, 64LL << 10);
    CU_ASSERT_EQUAL(c.log_retention_days, 30);
    CU_ASSERT_EQUAL(c.quota_reset_hour, 0);
    CU_ASSERT_STRING_EQUAL(c.quota_reset_tz, "UTC");
    CU_ASSERT_STRING_EQUAL(c.db_name, "apigw");
    CU_ASSERT_EQUAL(c.enc_key[0], 0x00);
    CU_ASSERT_EQUAL(c.enc_key[31], 0xff);
    config_free(&c);
}

static void test_values_comments_quotes(void)
{
    struct config c;
    char err[256];
    const char *text = "# a comment\n\n  port = 9090  \nmax_body_bytes=2M\n"
                       "db_password = \"p w\"\nquota_reset_tz = Europe/Berlin\n" KEY;

    CU_ASSERT_EQUAL_FATAL(config_parse(&c, "t.conf", text, false, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.port, 9090);
    CU_ASSERT_EQUAL(c.max_body_bytes, 2LL << 20);
    CU_ASSERT_STRING_EQUAL(c.db_password, "p w");
    CU_ASSERT_STRING_EQUAL(c.quota_reset_tz, "Europe/Berlin");
    config_free(&c);
}

/* Each bad text must fail with exactly this message. */
static void test_errors_name_file_line_key(void)
{
    const struct {
        const char *text, *want;
    } cases[] = {
        {"port = 80\nbogus = 1\n" KEY, "t.conf:2: bogus: unknown key"},
        {"port = abc\n" KEY, "t.conf:1: port: not an integer"},
        {"port = 70000\n" KEY, "t.conf:1: port: out of range"},
        {KEY "workers\n", "t.conf:2: workers: expected `key = value`"},
        {"max_body_bytes = 3X\n" KEY,
         "t.conf:1: max_body_bytes: not a size (an integer, optionally with K, M or G)"},
        {"encryption_key = xyz\n", "t.conf:1: encryption_key: must be 64 hexadecimal characters "
                                   "(32 bytes)"},
        {"port = 1\n", "t.conf:1: encryption_key: required value is missing"},
        {"quota_reset_tz = Mars/Base\n" KEY, "t.conf:1: quota_reset_tz: unknown time zone "
                                             "(use a name such as UTC or Europe/Berlin)"},
        {"quota_reset_hour = 24\n" KEY, "t.conf:1: quota_reset_hour: out of range"},
        {"webhook_url = ftp://x\n" KEY,
         "t.conf:1: webhook_url: must be an http:// or https:// URL without spaces"},
        {"admin_token = short\n" KEY, "t.conf:2: admin_token: must be at least 16 characters"},
        {"db_name = \n" KEY, "t.conf:1: db_name: must not be empty"},
    };
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        struct config c;
        char err[256] = "";
        CU_ASSERT_EQUAL(config_parse(&c, "t.conf", cases[i].text, false, err, sizeof(err)), -1);
        CU_ASSERT_STRING_EQUAL(err, cases[i].want);
    }
}

static void test_environment_overrides(void)
{
    struct config c;
    char err[256];

    setenv("APIGW_PORT", "8181", 1);
    setenv("APIGW_ADMIN_TOKEN", "0123456789abcdef0123", 1);
    CU_ASSERT_EQUAL_FATAL(config_parse(&c, "t.conf", "port = 9090\n" KEY, true, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL(c.port, 8181);
    CU_ASSERT_STRING_EQUAL(c.admin_token, "0123456789abcdef0123");
    config_free(&c);
    setenv("APIGW_PORT", "eighty", 1);
    CU_ASSERT_EQUAL(config_parse(&c, "t.conf", KEY, true, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "environment:APIGW_PORT: port: not an integer");
    unsetenv("APIGW_PORT");
    unsetenv("APIGW_ADMIN_TOKEN");
}

static void test_get_text(void)
{
    struct config c;
    char err[256], out[64];

    CU_ASSERT_EQUAL_FATAL(config_parse(&c, "t.conf", KEY, false, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(config_get_text(&c, "port", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "8080");
    CU_ASSERT_EQUAL(config_get_text(&c, "db_user", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "root");
    CU_ASSERT_EQUAL(config_get_text(&c, "nope", out, sizeof(out)), -1);
    config_free(&c);
}

void suite_config(void)
{
    ADD_SUITE("config", TEST(test_defaults), TEST(test_values_comments_quotes),
              TEST(test_errors_name_file_line_key), TEST(test_environment_overrides),
              TEST(test_get_text));
}
