/* Sticky keys: the rendezvous pick (core/pool_pick.c, pool_affinity.c) on
 * a snapshot built in memory, and the affinity id of a JSON body
 * (proxy/affinity.c). */
#include <stdio.h>
#include <string.h>

#include "core/pool.h"
#include "core/rule/rule.h"
#include "proxy/affinity.h"
#include "suites.h"

#define NOW   1000000
#define NKEYS 8
#define NIDS  4000

static struct pool_key keys[NKEYS];
static struct pool_upstream up;
static atomic_ullong cursor;

/* An upstream of n usable keys with ids 101, 102, ... in one tier. */
static struct pool_upstream *upstream(size_t n)
{
    size_t i;

    memset(keys, 0, sizeof(keys));
    memset(&up, 0, sizeof(up));
    for (i = 0; i < n; i++) {
        keys[i].id = 101 + (long long)i;
        keys[i].weight = 1;
        atomic_init(&keys[i].used_here, 0);
        atomic_init(&keys[i].skip_until_ms, 0);
    }
    atomic_init(&cursor, 0);
    up.keys = keys;
    up.nkeys = up.keys_cap = n;
    up.rr = &cursor;
    up.affinity = AFFINITY_HEADER;
    return &up;
}

static uint64_t id_hash(unsigned n)
{
    char id[32];

    snprintf(id, sizeof(id), "conversation-%u", n);
    return pool_affinity_hash(id, strlen(id));
}

/* The key id an id's hash picks, 0 for none. */
static long long pick(uint64_t h, const long long *tried, size_t ntried)
{
    struct pool_key *k = pool_pick_affine(&up, NULL, h, tried, ntried, NOW);

    return k != NULL ? k->id : 0;
}

static void test_affinity_hash_is_fixed(void)
{
    /* FNV-1a 64 with no seed: the published value, so every process and
     * build agrees. */
    CU_ASSERT_EQUAL(pool_affinity_hash("a", 1), 0xaf63dc4c8601ec8cull);
    CU_ASSERT_EQUAL(pool_affinity_hash("", 0), 14695981039346656037ull);
    CU_ASSERT_EQUAL(pool_affinity_score(1, 2), pool_affinity_score(1, 2));
    CU_ASSERT_NOT_EQUAL(pool_affinity_score(1, 2), pool_affinity_score(1, 3));
}

static void test_affinity_long_ids_hash_on_their_first_bytes(void)
{
    char a[AFFINITY_ID_MAX + 50], b[AFFINITY_ID_MAX + 50];

    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[AFFINITY_ID_MAX + 10] = 'y';
    CU_ASSERT_EQUAL(pool_affinity_hash(a, sizeof(a)), pool_affinity_hash(b, sizeof(b)));
    b[AFFINITY_ID_MAX - 1] = 'y';
    CU_ASSERT_NOT_EQUAL(pool_affinity_hash(a, sizeof(a)), pool_affinity_hash(b, sizeof(b)));
}

static void test_affinity_same_id_same_key(void)
{
    unsigned n, i;

    upstream(NKEYS);
    for (n = 0; n < 100; n++) {
        long long first = pick(id_hash(n), NULL, 0);
        CU_ASSERT(first > 0);
        for (i = 0; i < 5; i++)
            CU_ASSERT_EQUAL(pick(id_hash(n), NULL, 0), first);
    }
    /* The round-robin cursor is not touched. */
    CU_ASSERT_EQUAL(atomic_load(&cursor), 0);
}

static void test_affinity_spreads_ids_over_keys(void)
{
    unsigned counts[NKEYS] = {0}, n, i;

    upstream(NKEYS);
    for (n = 0; n < NIDS; n++)
        counts[pick(id_hash(n), NULL, 0) - 101]++;
    /* NIDS / NKEYS = 500 each; well inside what chance allows. */
    for (i = 0; i < NKEYS; i++)
        CU_ASSERT(counts[i] > 400 && counts[i] < 600);
}

static void test_affinity_unusable_key_moves_only_its_ids(void)
{
    static long long before[NIDS];
    unsigned n, moved = 0;

    upstream(NKEYS);
    for (n = 0; n < NIDS; n++)
        before[n] = pick(id_hash(n), NULL, 0);
    atomic_store(&keys[2].skip_until_ms, NOW + 1); /* key 103 cools down */
    for (n = 0; n < NIDS; n++) {
        long long now = pick(id_hash(n), NULL, 0);
        if (before[n] != 103) {
            CU_ASSERT_EQUAL(now, before[n]);
        } else {
            CU_ASSERT(now != 103 && now > 0);
            moved++;
        }
    }
    CU_ASSERT(moved > 0);
    /* Its ids spread over the others too: they do not all land on one. */
    {
        long long first = 0;
        bool spread = false;
        for (n = 0; n < NIDS; n++)
            if (before[n] == 103) {
                long long now = pick(id_hash(n), NULL, 0);
                spread = spread || (first != 0 && now != first);
                first = first != 0 ? first : now;
            }
        CU_ASSERT_TRUE(spread);
    }
    /* Over quota is unusable too. */
    upstream(NKEYS);
    keys[2].daily_quota = 5;
    keys[2].used_today = 5;
    for (n = 0; n < NIDS; n++)
        CU_ASSERT(pick(id_hash(n), NULL, 0) != 103);
}

static void test_affinity_retry_takes_the_next_in_hash_order(void)
{
    long long tried[NKEYS];
    unsigned n, i;

    for (n = 0; n < 200; n++) {
        uint64_t h = id_hash(n);
        upstream(NKEYS);
        for (i = 0; i < NKEYS; i++) {
            long long k = pick(h, tried, i);
            size_t j;
            CU_ASSERT(k > 0);
            for (j = 0; j < i; j++)
                CU_ASSERT(tried[j] != k);
            /* The next in hash order: its score beats every untried other. */
            for (j = 0; j < NKEYS; j++) {
                bool was_tried = false;
                size_t t;
                for (t = 0; t < i; t++)
                    was_tried = was_tried || tried[t] == keys[j].id;
                if (!was_tried && keys[j].id != k)
                    CU_ASSERT(pool_affinity_score(h, keys[j].id) < pool_affinity_score(h, k));
            }
            tried[i] = k;
        }
        CU_ASSERT_EQUAL(pick(h, tried, NKEYS), 0);
    }
}

static void test_affinity_respects_tiers(void)
{
    const long long top[] = {101, 102};
    unsigned n;

    /* Keys 101 and 102 in tier 5 (loaded first), the rest in tier 0. */
    upstream(NKEYS);
    keys[0].priority = keys[1].priority = 5;
    for (n = 0; n < 500; n++) {
        long long k = pick(id_hash(n), NULL, 0);
        CU_ASSERT(k == 101 || k == 102);
        /* Both top keys tried: the lower tier, by hash. */
        k = pick(id_hash(n), top, 2);
        CU_ASSERT(k > 102);
    }
    /* One top key out: the other top key takes all, never the lower tier. */
    atomic_store(&keys[0].skip_until_ms, NOW + 1);
    for (n = 0; n < 500; n++)
        CU_ASSERT_EQUAL(pick(id_hash(n), NULL, 0), 102);
}

static void test_affinity_home(void)
{
    long long homes[] = {101, 102, 103, 104, 105, 106, 107, 108};
    unsigned n;

    upstream(NKEYS);
    up.homes = homes;
    up.nhomes = NELEM(homes);
    for (n = 0; n < 300; n++) {
        uint64_t h = id_hash(n);
        long long k = pick(h, NULL, 0), t[1] = {k};
        CU_ASSERT_TRUE(pool_affinity_is_home(&up, h, k));
        CU_ASSERT_FALSE(pool_affinity_is_home(&up, h, pick(h, t, 1)));
    }
    up.nhomes = 0;
    CU_ASSERT_FALSE(pool_affinity_is_home(&up, id_hash(1), 101));
}

static void test_affinity_modes(void)
{
    enum affinity a = AFFINITY_NONE;

    CU_ASSERT_EQUAL(pool_affinity_parse("body", &a), 0);
    CU_ASSERT_EQUAL(a, AFFINITY_BODY);
    CU_ASSERT_EQUAL(pool_affinity_parse("token", &a), 0);
    CU_ASSERT_EQUAL(a, AFFINITY_TOKEN);
    CU_ASSERT_EQUAL(pool_affinity_parse("Header", &a), -1);
    CU_ASSERT_EQUAL(pool_affinity_parse(NULL, &a), -1);
}

/* The hash of the body id at path, or 0 when there is none. */
static uint64_t body_id(const char *path, const char *body)
{
    char err[128];
    struct jsonpath *p = jsonpath_compile(path, err, sizeof(err));
    uint64_t h = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    if (!proxy_affinity_body(p, body, strlen(body), &h))
        h = 0;
    jsonpath_free(p);
    return h;
}

static void test_affinity_body_id(void)
{
    CU_ASSERT_EQUAL(body_id("$.metadata.conversation_id",
                            "{\"metadata\": {\"conversation_id\": \"c-42\"}, \"model\": \"m\"}"),
                    pool_affinity_hash("c-42", 4));
    CU_ASSERT_EQUAL(body_id("$.user", "{\"user\": 1234}"), pool_affinity_hash("1234", 4));
    CU_ASSERT_EQUAL(body_id("$.messages[1].id", "{\"messages\": [{}, {\"id\": \"b\"}]}"),
                    pool_affinity_hash("b", 1));
    /* Absent, empty, of another type, or not JSON: no id. */
    CU_ASSERT_EQUAL(body_id("$.user", "{\"model\": \"m\"}"), 0);
    CU_ASSERT_EQUAL(body_id("$.user", "{\"user\": \"\"}"), 0);
    CU_ASSERT_EQUAL(body_id("$.user", "{\"user\": null}"), 0);
    CU_ASSERT_EQUAL(body_id("$.user", "{\"user\": {\"id\": 1}}"), 0);
    CU_ASSERT_EQUAL(body_id("$.user", "{\"user\": true}"), 0);
    CU_ASSERT_EQUAL(body_id("$.user", "user=1"), 0);
    CU_ASSERT_EQUAL(body_id("$.user", ""), 0);
}

void suite_affinity(void)
{
    ADD_SUITE("affinity", TEST(test_affinity_hash_is_fixed),
              TEST(test_affinity_long_ids_hash_on_their_first_bytes),
              TEST(test_affinity_same_id_same_key), TEST(test_affinity_spreads_ids_over_keys),
              TEST(test_affinity_unusable_key_moves_only_its_ids),
              TEST(test_affinity_retry_takes_the_next_in_hash_order),
              TEST(test_affinity_respects_tiers), TEST(test_affinity_home),
              TEST(test_affinity_modes), TEST(test_affinity_body_id));
}
