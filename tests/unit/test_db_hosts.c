/* The db_hosts list (core/db_hosts.h): its syntax, the configuration
 * check that uses it, and the marks for servers that failed a moment ago. */
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/db_hosts.h"
#include "suites.h"

#define KEY                                                                                        \
    "encryption_key = "                                                                            \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

static void test_list_syntax(void)
{
    struct db_host_addr h[DB_HOSTS_MAX];
    char why[200];

    CU_ASSERT_EQUAL(db_hosts_parse("", 3306, h, DB_HOSTS_MAX, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(db_hosts_parse(NULL, 3306, h, DB_HOSTS_MAX, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL_FATAL(
        db_hosts_parse(" db1.example:3307, 10.0.0.2 db3", 3306, h, DB_HOSTS_MAX, why, sizeof(why)),
        3);
    CU_ASSERT_STRING_EQUAL(h[0].host, "db1.example");
    CU_ASSERT_EQUAL(h[0].port, 3307);
    CU_ASSERT_STRING_EQUAL(h[1].host, "10.0.0.2");
    CU_ASSERT_EQUAL(h[1].port, 3306);
    CU_ASSERT_STRING_EQUAL(h[2].host, "db3");
    CU_ASSERT_EQUAL(db_hosts_parse("a:0", 3306, h, DB_HOSTS_MAX, why, sizeof(why)), -1);
    CU_ASSERT_STRING_EQUAL(why, "entry a: the port must be 1-65535");
    CU_ASSERT_EQUAL(db_hosts_parse("a:65536", 3306, h, DB_HOSTS_MAX, why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(db_hosts_parse("a:", 3306, h, DB_HOSTS_MAX, why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(db_hosts_parse("a:12x", 3306, h, DB_HOSTS_MAX, why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(db_hosts_parse(":3306", 3306, h, DB_HOSTS_MAX, why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(db_hosts_parse("a,b,c", 3306, h, 2, why, sizeof(why)), -1);
    CU_ASSERT_STRING_EQUAL(why, "at most 2 servers");
}

static void test_config_check(void)
{
    struct config c;
    char err[512];

    CU_ASSERT_EQUAL_FATAL(
        config_parse(&c, "t.conf", "db_hosts = a:3307,b\n" KEY, false, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.db_hosts, "a:3307,b");
    config_free(&c);
    CU_ASSERT_EQUAL(
        config_parse(&c, "t.conf", "\ndb_hosts = a:99999\n" KEY, false, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: db_hosts: entry a: the port must be 1-65535");
}

static void test_resting(void)
{
    CU_ASSERT_FALSE(db_host_resting(1, 1000));
    db_host_failed(1, 1000, 500);
    CU_ASSERT_TRUE(db_host_resting(1, 1200));
    CU_ASSERT_FALSE(db_host_resting(1, 1500));
    db_host_failed(1, 1000, 500);
    db_host_answered(1);
    CU_ASSERT_FALSE(db_host_resting(1, 1200));
    CU_ASSERT_FALSE(db_host_resting(DB_HOSTS_MAX, 0));
}

void suite_db_hosts(void)
{
    ADD_SUITE("db_hosts", TEST(test_list_syntax), TEST(test_config_check), TEST(test_resting));
}
