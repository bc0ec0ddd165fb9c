/* core/egress.c and egress_url.c: proxy URLs checked and masked, the
 * rendezvous choice per key, round robin, and the rest of failing proxies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/egress.h"
#include "suites.h"

static void test_urls_accepted_and_refused(void)
{
    static const char *const good[] = {
        "http://127.0.0.1:3128",
        "https://proxy.example.com:443/",
        "socks5://h:1080",
        "socks5h://u:p@h:1",
        "http://user@h",
        "http://[::1]:8080",
        "http://u:p%40ss@h.example",
        "socks5://u:***@h:1080",
    };
    static const char *const bad[] = {
        "ftp://h:21",   "h:3128",        "http://",        "http://h:0",   "http://h:65536",
        "http://h/x",   "http://h?q=1",  "http://u p@h:1", "http://@h:1",  "http://h:12ab",
        "socks4://h:1", "http://[zz]:1", "http://h:1#f",   "http://h\n:1",
    };
    char longer[EGRESS_URL_MAX + 20];
    size_t i;

    for (i = 0; i < NELEM(good); i++) {
        const char *why = egress_url_check(good[i]);
        if (why != NULL)
            fprintf(stderr, "\n%s: %s\n", good[i], why);
        CU_ASSERT_PTR_NULL(why);
    }
    for (i = 0; i < NELEM(bad); i++) {
        const char *why = egress_url_check(bad[i]);
        if (why == NULL)
            fprintf(stderr, "\naccepted: %s\n", bad[i]);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    memcpy(longer, "http://", 7);
    CU_ASSERT_PTR_NOT_NULL(egress_url_check(longer));
}

static void check_mask(const char *url, const char *want)
{
    char out[EGRESS_MASKED_MAX];

    egress_url_mask(url, out);
    CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_masking_hides_only_the_password(void)
{
    check_mask("socks5://user:pa:ss@host:1080", "socks5://user:***@host:1080");
    check_mask("http://u:p%40w@h:1/", "http://u:***@h:1/");
    check_mask("http://user@h:1", "http://user@h:1");
    check_mask("https://h:443", "https://h:443");
    /* The last @ ends the password, even when it holds an @ of its own. */
    check_mask("http://u:a@b@h:1", "http://u:***@h:1");
    CU_ASSERT_TRUE(egress_url_is_masked("socks5://user:***@host:1080"));
    CU_ASSERT_FALSE(egress_url_is_masked("socks5://user:****@host:1080"));
    CU_ASSERT_FALSE(egress_url_is_masked("socks5://user@host:1080"));
}

static void test_an_error_never_shows_the_password(void)
{
    struct egress_proxy p;
    char text[256];

    CU_ASSERT_EQUAL(egress_proxy_init(&p, "http://u:s3cr3t@h:1"), 0);
    snprintf(text, sizeof(text), "could not log in as u with s3cr3t (s3cr3t)");
    egress_describe(&p, true, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(
        text, "egress proxy http://u:***@h:1 failed: could not log in as u with *** (***)");
    CU_ASSERT_PTR_NULL(strstr(text, "s3cr3t"));
    free(p.url);
}

/* A set of n proxies http://pI:1. */
static void make_set(struct egress_set *s, struct egress_proxy *p, size_t n, enum egress_mode m)
{
    char url[32];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(url, sizeof(url), "http://p%zu:1", i);
        egress_proxy_init(&p[i], url);
    }
    s->mode = m;
    s->p = p;
    s->n = n;
}

static void free_set(struct egress_proxy *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(p[i].url);
}

static const char *chosen(const struct egress_set *s, long long key, const struct egress_try *t)
{
    bool none;
    const struct egress_proxy *p = egress_choose(s, NULL, key, t, 1000, &none);

    return p != NULL ? p->masked : NULL;
}

static void test_rendezvous_moves_only_the_keys_of_a_removed_proxy(void)
{
    struct egress_proxy p[5];
    struct egress_set all, fewer;
    int per[5] = {0}, moved = 0;
    long long k;
    size_t i;

    egress_reset_state();
    make_set(&all, p, 5, EGRESS_PER_KEY);
    /* The same set without p2: p0, p1, p3, p4 (copies of the same proxies). */
    struct egress_proxy q[4] = {p[0], p[1], p[3], p[4]};
    fewer = (struct egress_set){EGRESS_PER_KEY, q, 4};
    for (k = 1; k <= 1000; k++) {
        const char *a = chosen(&all, k, NULL), *b = chosen(&fewer, k, NULL);
        CU_ASSERT_STRING_EQUAL(a, chosen(&all, k, NULL)); /* stable */
        for (i = 0; i < 5; i++)
            if (strcmp(a, p[i].masked) == 0)
                per[i]++;
        if (strcmp(a, p[2].masked) == 0)
            moved++;
        else
            CU_ASSERT_STRING_EQUAL(a, b);
        CU_ASSERT_STRING_NOT_EQUAL(b, p[2].masked);
    }
    /* Spread: every proxy has a fair share of 1000 keys. */
    for (i = 0; i < 5; i++)
        CU_ASSERT_TRUE(per[i] > 120 && per[i] < 280);
    CU_ASSERT_EQUAL(moved, per[2]);
    free_set(p, 5);
}

static void test_failed_and_resting_proxies_are_passed_over(void)
{
    struct egress_proxy p[3];
    struct egress_set s;
    struct egress_try t;
    const char *first, *second;
    int64_t until = 0;
    bool none;

    egress_reset_state();
    make_set(&s, p, 3, EGRESS_PER_KEY);
    memset(&t, 0, sizeof(t));
    first = chosen(&s, 42, &t);
    t.failed[t.nfailed++] = egress_hash(first);
    second = chosen(&s, 42, &t);
    CU_ASSERT_STRING_NOT_EQUAL(first, second);
    t.failed[t.nfailed++] = egress_hash(second);
    CU_ASSERT_PTR_NOT_NULL(chosen(&s, 42, &t));
    t.failed[t.nfailed++] = egress_hash(chosen(&s, 42, &t));
    CU_ASSERT_PTR_NULL(egress_choose(&s, NULL, 42, &t, 1000, &none));
    CU_ASSERT_TRUE(none);

    /* Three failures within the window: the proxy rests, and others serve. */
    egress_note_failure(p[0].id, 1000);
    egress_note_failure(p[0].id, 2000);
    CU_ASSERT_FALSE(egress_resting(p[0].id, 2001, NULL));
    egress_note_failure(p[0].id, 3000);
    CU_ASSERT_TRUE(egress_resting(p[0].id, 3001, &until));
    CU_ASSERT_EQUAL(until, 3000 + EGRESS_REST_MS);
    CU_ASSERT_FALSE(egress_resting(p[0].id, until, NULL));
    /* Failures further apart than the window do not add up. */
    egress_note_failure(p[1].id, 1000);
    egress_note_failure(p[1].id, 1000 + EGRESS_WINDOW_MS);
    egress_note_failure(p[1].id, 1000 + 2 * EGRESS_WINDOW_MS);
    CU_ASSERT_FALSE(egress_resting(p[1].id, 1001 + 2 * EGRESS_WINDOW_MS, NULL));
    free_set(p, 3);
}

static void test_when_all_rest_the_one_whose_rest_ends_first_serves(void)
{
    struct egress_proxy p[2];
    struct egress_set s;
    bool none;
    int i;

    egress_reset_state();
    make_set(&s, p, 2, EGRESS_PER_KEY);
    for (i = 0; i < EGRESS_FAILS; i++)
        egress_note_failure(p[1].id, 100);
    for (i = 0; i < EGRESS_FAILS; i++)
        egress_note_failure(p[0].id, 200);
    CU_ASSERT_PTR_EQUAL(egress_choose(&s, NULL, 7, NULL, 300, &none), &p[1]);
    CU_ASSERT_FALSE(none);
    egress_reset_state();
    free_set(p, 2);
}

static void test_round_robin_and_the_keys_own_proxy(void)
{
    struct egress_proxy p[3], own;
    struct egress_set s, none_mode;
    struct egress_try t;
    int seen[3] = {0}, i, j;
    bool none;

    egress_reset_state();
    make_set(&s, p, 3, EGRESS_ROUND_ROBIN);
    for (i = 0; i < 30; i++) {
        const struct egress_proxy *c = egress_choose(&s, NULL, 1, NULL, 0, &none);
        for (j = 0; j < 3; j++)
            seen[j] += c == &p[j];
    }
    CU_ASSERT_TRUE(seen[0] == 10 && seen[1] == 10 && seen[2] == 10);
    egress_proxy_init(&own, "socks5://o:1");
    CU_ASSERT_PTR_EQUAL(egress_choose(&s, &own, 1, NULL, 0, &none), &own);
    none_mode = (struct egress_set){EGRESS_NONE, p, 3};
    CU_ASSERT_PTR_NULL(egress_choose(&none_mode, NULL, 1, NULL, 0, &none));
    CU_ASSERT_FALSE(none);
    CU_ASSERT_PTR_EQUAL(egress_choose(&none_mode, &own, 1, NULL, 0, &none), &own);
    /* The key's own proxy failed: nothing else for that key. */
    memset(&t, 0, sizeof(t));
    t.failed[t.nfailed++] = own.id;
    CU_ASSERT_PTR_NULL(egress_choose(&s, &own, 1, &t, 0, &none));
    CU_ASSERT_TRUE(none);
    /* A mode without a proxy (a list that did not open) never goes direct. */
    s.n = 0;
    CU_ASSERT_PTR_NULL(egress_choose(&s, NULL, 1, NULL, 0, &none));
    CU_ASSERT_TRUE(none);
    free(own.url);
    free_set(p, 3);
}

static void test_sealed_lists_open(void)
{
    static const unsigned char key[32] = {1, 2, 3};
    const char *list = "[\"http:\\/\\/u:pw@a:1\",\"not a url\",\"socks5://b:2\"]";
    unsigned char sealed[256];
    struct egress_set s;
    struct egress_proxy *one;

    CU_ASSERT_EQUAL(crypto_seal(key, list, strlen(list), sealed), 0);
    CU_ASSERT_EQUAL(egress_set_open(&s, key, sealed, strlen(list) + CRYPTO_OVERHEAD, "per_key"), 0);
    CU_ASSERT_EQUAL(s.mode, EGRESS_PER_KEY);
    CU_ASSERT_EQUAL(s.n, 2); /* the bad entry is left out */
    CU_ASSERT_STRING_EQUAL(s.p[0].url, "http://u:pw@a:1");
    CU_ASSERT_STRING_EQUAL(s.p[0].masked, "http://u:***@a:1");
    egress_set_free(&s);
    sealed[CRYPTO_NONCE_LEN] ^= 1; /* altered: does not open */
    CU_ASSERT_EQUAL(egress_set_open(&s, key, sealed, strlen(list) + CRYPTO_OVERHEAD, "x"), -1);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_EQUAL(s.mode, EGRESS_NONE);
    egress_set_free(&s);
    CU_ASSERT_EQUAL(crypto_seal(key, "socks5h://k:v@c:3", 17, sealed), 0);
    CU_ASSERT_EQUAL(egress_proxy_open(&one, key, sealed, 17 + CRYPTO_OVERHEAD), 0);
    CU_ASSERT_STRING_EQUAL(one->masked, "socks5h://k:***@c:3");
    egress_proxy_free(one);
    CU_ASSERT_EQUAL(egress_proxy_open(&one, key, NULL, 0), 0);
    CU_ASSERT_PTR_NULL(one);
}

void suite_egress(void)
{
    CU_pSuite s = CU_add_suite("egress", NULL, NULL);

    CU_add_test(s, "test_urls_accepted_and_refused", test_urls_accepted_and_refused);
    CU_add_test(s, "test_masking_hides_only_the_password", test_masking_hides_only_the_password);
    CU_add_test(s, "test_an_error_never_shows_the_password",
                test_an_error_never_shows_the_password);
    CU_add_test(s, "test_rendezvous_moves_only_the_keys_of_a_removed_proxy",
                test_rendezvous_moves_only_the_keys_of_a_removed_proxy);
    CU_add_test(s, "test_failed_and_resting_proxies_are_passed_over",
                test_failed_and_resting_proxies_are_passed_over);
    CU_add_test(s, "test_when_all_rest_the_one_whose_rest_ends_first_serves",
                test_when_all_rest_the_one_whose_rest_ends_first_serves);
    CU_add_test(s, "test_round_robin_and_the_keys_own_proxy",
                test_round_robin_and_the_keys_own_proxy);
    CU_add_test(s, "test_sealed_lists_open", test_sealed_lists_open);
}
