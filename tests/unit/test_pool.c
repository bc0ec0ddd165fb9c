/* Key choice on a snapshot built in memory: which keys are worth trying
 * (cooling down, spent quota, already tried), and how each strategy
 * chooses among them.  The snapshot holds only keys whose status is
 * active (the load selects them), so disabled, banned and exhausted keys
 * can never be picked; in memory a key is kept out by skip_until_ms (a
 * cooldown, or a rule disabling it) and by its quota. */
#include <string.h>

#include "core/pool.h"
#include "suites.h"

#define NOW 1000000

static struct pool_key keys[4];
static struct pool_upstream up;
static atomic_ullong cursor;

/* An upstream of n fresh keys with ids 1..n, weight 1 and no quota. */
static struct pool_upstream *upstream(enum strategy s, size_t n)
{
    size_t i;

    memset(keys, 0, sizeof(keys));
    memset(&up, 0, sizeof(up));
    for (i = 0; i < n; i++) {
        keys[i].id = (long long)i + 1;
        keys[i].upstream_id = 10;
        keys[i].weight = 1;
        atomic_init(&keys[i].used_here, 0);
        atomic_init(&keys[i].skip_until_ms, 0);
    }
    atomic_init(&cursor, 0);
    up.id = 10;
    up.strategy = s;
    up.keys = keys;
    up.nkeys = n;
    up.keys_cap = n;
    up.rr = &cursor;
    return &up;
}

/* The id picked, or 0 for none. */
static long long pick(struct pool_upstream *u, const long long *tried, size_t ntried, uint64_t rnd)
{
    struct pool_key *k = pool_pick(u, NULL, tried, ntried, rnd, NOW);

    return k != NULL ? k->id : 0;
}

/* Picks n times with no tried ids and rnd 0; checks the ids in order. */
static void expect_picks(struct pool_upstream *u, const long long *want, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL(pick(u, NULL, 0, 0), want[i]);
}

static void test_pool_round_robin_cycles(void)
{
    static const long long cycle[] = {1, 2, 3, 1, 2, 3};
    /* With key 2 cooling down it is stepped over; its turn goes to 3. */
    static const long long without_2[] = {1, 3, 3, 1, 3, 3};
    struct pool_upstream *u = upstream(STRATEGY_ROUND_ROBIN, 3);

    expect_picks(u, cycle, NELEM(cycle));
    /* The cursor lives outside the snapshot and goes on from where it is. */
    CU_ASSERT_EQUAL(atomic_load(&cursor), 6);
    atomic_store(&keys[1].skip_until_ms, NOW + 1);
    expect_picks(u, without_2, NELEM(without_2));
}

static void test_pool_random_stays_within_usable(void)
{
    struct pool_upstream *u = upstream(STRATEGY_RANDOM, 4);
    unsigned count[5] = {0};
    uint64_t rnd;

    keys[0].daily_quota = 10;
    keys[0].used_today = 10;
    atomic_store(&keys[2].skip_until_ms, NOW + 60000);
    for (rnd = 0; rnd < 400; rnd++)
        count[pick(u, NULL, 0, rnd * 0x9e3779b97f4a7c15ull)]++;
    CU_ASSERT_EQUAL(count[0], 0); /* a key was always found */
    CU_ASSERT_EQUAL(count[1], 0); /* spent quota */
    CU_ASSERT_EQUAL(count[3], 0); /* cooling down */
    CU_ASSERT(count[2] > 0);
    CU_ASSERT(count[4] > 0);
    /* The random start does not move the round-robin cursor. */
    CU_ASSERT_EQUAL(atomic_load(&cursor), 0);
    /* The same random number gives the same key. */
    CU_ASSERT_EQUAL(pick(u, NULL, 0, 1), 2);
    CU_ASSERT_EQUAL(pick(u, NULL, 0, 2), 4); /* 3 cools down: the next one */
    CU_ASSERT_EQUAL(pick(u, NULL, 0, 3), 4);
    CU_ASSERT_EQUAL(pick(u, NULL, 0, 4), 2); /* 1 is spent: the next one */
}

/* How often each key is picked by the weighted strategy over every
 * remainder of the total weight (counts[id]); returns the total. */
static unsigned weighted_counts(struct pool_upstream *u, uint64_t total, unsigned counts[5])
{
    uint64_t rnd;
    unsigned n = 0;

    memset(counts, 0, 5 * sizeof(counts[0]));
    for (rnd = 0; rnd < total; rnd++) {
        counts[pick(u, NULL, 0, rnd)]++;
        n++;
    }
    return n;
}

static void test_pool_weighted_prefers_remaining_quota(void)
{
    struct pool_upstream *u = upstream(STRATEGY_WEIGHTED, 3);
    unsigned c[5];

    /* Without a quota a key weighs weight x 1000. */
    keys[1].weight = 2;
    keys[2].daily_quota = 1000;
    keys[2].used_today = 900; /* 100 left */
    weighted_counts(u, 3100, c);
    CU_ASSERT_EQUAL(c[0], 0);
    CU_ASSERT_EQUAL(c[1], 1000);
    CU_ASSERT_EQUAL(c[2], 2000);
    CU_ASSERT_EQUAL(c[3], 100);

    /* Same weight, same quota: the one with more left is preferred, and
     * this process's own reservations count as used. */
    u = upstream(STRATEGY_WEIGHTED, 2);
    keys[0].daily_quota = keys[1].daily_quota = 1000;
    keys[0].used_today = 100;
    keys[1].used_today = 100;
    atomic_store(&keys[1].used_here, 700); /* 200 left against 900 */
    weighted_counts(u, 1100, c);
    CU_ASSERT_EQUAL(c[1], 900);
    CU_ASSERT_EQUAL(c[2], 200);

    /* A cooling key weighs nothing: everything goes to the other. */
    atomic_store(&keys[0].skip_until_ms, NOW + 1);
    weighted_counts(u, 200, c);
    CU_ASSERT_EQUAL(c[2], 200);
    CU_ASSERT_EQUAL(atomic_load(&cursor), 0);
}

static void test_pool_never_picks_unusable(void)
{
    enum strategy s;
    uint64_t rnd;

    for (s = STRATEGY_ROUND_ROBIN; s <= STRATEGY_WEIGHTED; s++) {
        struct pool_upstream *u = upstream(s, 4);
        keys[0].daily_quota = 5;
        keys[0].used_today = 5; /* spent as loaded */
        keys[1].daily_quota = 5;
        keys[1].used_today = 3;
        atomic_store(&keys[1].used_here, 2);                 /* spent by this process */
        atomic_store(&keys[2].skip_until_ms, INT64_MAX / 2); /* disabled by a rule */
        keys[3].daily_quota = 5;
        keys[3].used_today = 4; /* one call left */
        for (rnd = 0; rnd < 64; rnd++)
            CU_ASSERT_EQUAL(pick(u, NULL, 0, rnd), 4);
        CU_ASSERT_TRUE(pool_has_untried(u, NULL, NULL, 0, NOW));
        /* Its last call reserved: nothing is left. */
        atomic_store(&keys[3].used_here, 1);
        for (rnd = 0; rnd < 8; rnd++)
            CU_ASSERT_EQUAL(pick(u, NULL, 0, rnd), 0);
        CU_ASSERT_FALSE(pool_has_untried(u, NULL, NULL, 0, NOW));
    }
}

static void test_pool_cooldown_ends_on_time(void)
{
    struct pool_upstream *u = upstream(STRATEGY_ROUND_ROBIN, 1);

    atomic_store(&keys[0].skip_until_ms, NOW + 1);
    CU_ASSERT_PTR_NULL(pool_pick(u, NULL, NULL, 0, 0, NOW));
    CU_ASSERT_FALSE(pool_has_untried(u, NULL, NULL, 0, NOW));
    /* From skip_until_ms on, the key is tried again. */
    CU_ASSERT_PTR_EQUAL(pool_pick(u, NULL, NULL, 0, 0, NOW + 1), &keys[0]);
    CU_ASSERT_TRUE(pool_has_untried(u, NULL, NULL, 0, NOW + 1));
}

static void test_pool_empty_gives_none(void)
{
    enum strategy s;

    for (s = STRATEGY_ROUND_ROBIN; s <= STRATEGY_WEIGHTED; s++) {
        struct pool_upstream *u = upstream(s, 0);
        CU_ASSERT_EQUAL(pick(u, NULL, 0, 0), 0);
        CU_ASSERT_EQUAL(pick(u, NULL, 0, 12345), 0);
        CU_ASSERT_FALSE(pool_has_untried(u, NULL, NULL, 0, NOW));
    }
    /* Weighted keys whose weights are all zero are none either. */
    upstream(STRATEGY_WEIGHTED, 2);
    keys[0].weight = keys[1].weight = 0;
    CU_ASSERT_EQUAL(pick(&up, NULL, 0, 7), 0);
}

static void test_pool_tried_is_respected(void)
{
    const long long tried[] = {2, 99, 3};
    enum strategy s;
    uint64_t rnd;

    for (s = STRATEGY_ROUND_ROBIN; s <= STRATEGY_WEIGHTED; s++) {
        struct pool_upstream *u = upstream(s, 3);
        for (rnd = 0; rnd < 32; rnd++)
            CU_ASSERT_EQUAL(pick(u, tried, NELEM(tried), rnd), 1);
        CU_ASSERT_TRUE(pool_has_untried(u, NULL, tried, NELEM(tried), NOW));
        CU_ASSERT_TRUE(pool_has_untried(u, NULL, tried, 1, NOW));
        /* Every key tried: none, even though all are usable. */
        {
            const long long all[] = {3, 1, 2};
            CU_ASSERT_EQUAL(pick(u, all, NELEM(all), 0), 0);
            CU_ASSERT_FALSE(pool_has_untried(u, NULL, all, NELEM(all), NOW));
            /* Only the first ntried ids count. */
            CU_ASSERT_EQUAL(pick(u, all, 2, 0), 2);
        }
    }
}

/* Keys 1 and 2 in tier 5, keys 3 and 4 in tier 0 (loaded highest first). */
static struct pool_upstream *tiers(enum strategy s)
{
    struct pool_upstream *u = upstream(s, 4);

    keys[0].priority = keys[1].priority = 5;
    return u;
}

static void test_pool_highest_tier_first(void)
{
    static const long long top[] = {1, 2, 1, 2};
    enum strategy s;
    uint64_t rnd;

    expect_picks(tiers(STRATEGY_ROUND_ROBIN), top, NELEM(top));
    for (s = STRATEGY_ROUND_ROBIN; s <= STRATEGY_WEIGHTED; s++)
        for (rnd = 0; rnd < 32; rnd++) {
            long long id = pick(tiers(s), NULL, 0, rnd);
            CU_ASSERT(id == 1 || id == 2);
        }
}

static void test_pool_retry_crosses_tiers(void)
{
    const long long one[] = {1}, both[] = {1, 2}, three[] = {1, 2, 3};
    enum strategy s;

    for (s = STRATEGY_ROUND_ROBIN; s <= STRATEGY_WEIGHTED; s++) {
        /* The same tier first, then the next one down. */
        CU_ASSERT_EQUAL(pick(tiers(s), one, 1, 0), 2);
        {
            long long id = pick(tiers(s), both, 2, 0);
            CU_ASSERT(id == 3 || id == 4);
        }
        CU_ASSERT_EQUAL(pick(tiers(s), three, 3, 0), 4);
        /* A top tier whose keys all rest gives way to the lower one. */
        tiers(s);
        atomic_store(&keys[0].skip_until_ms, NOW + 1);
        atomic_store(&keys[1].skip_until_ms, NOW + 1);
        {
            long long id = pick(&up, NULL, 0, 0);
            CU_ASSERT(id == 3 || id == 4);
        }
    }
}

static void test_pool_lookups(void)
{
    struct pool_upstream ups[3];
    struct pool_token tok[2];
    struct pool p;
    long long allowed[] = {5, 7};

    memset(ups, 0, sizeof(ups));
    memset(tok, 0, sizeof(tok));
    memset(&p, 0, sizeof(p));
    ups[0].name = "anthropic";
    ups[1].name = "gemini";
    ups[2].name = "openai";
    p.ups = ups;
    p.nups = 3;
    CU_ASSERT_PTR_EQUAL(pool_find_upstream(&p, "gemini"), &ups[1]);
    CU_ASSERT_PTR_EQUAL(pool_find_upstream(&p, "openai"), &ups[2]);
    CU_ASSERT_PTR_NULL(pool_find_upstream(&p, "open"));
    CU_ASSERT_PTR_NULL(pool_find_upstream(&p, ""));

    memset(tok[0].hash, 0x11, SHA256_LEN);
    memset(tok[1].hash, 0xee, SHA256_LEN);
    p.tokens = tok;
    p.ntokens = 2;
    {
        unsigned char h[SHA256_LEN];
        memset(h, 0xee, sizeof(h));
        CU_ASSERT_PTR_EQUAL(pool_find_token(&p, h), &tok[1]);
        h[SHA256_LEN - 1] = 0xef;
        CU_ASSERT_PTR_NULL(pool_find_token(&p, h));
    }
    /* No list allows every upstream; a list allows only its own. */
    CU_ASSERT_TRUE(pool_token_allows(&tok[0], 42));
    tok[0].upstreams = allowed;
    tok[0].nupstreams = NELEM(allowed);
    CU_ASSERT_TRUE(pool_token_allows(&tok[0], 7));
    CU_ASSERT_FALSE(pool_token_allows(&tok[0], 6));
}

void suite_pool(void)
{
    ADD_SUITE(
        "pool", TEST(test_pool_round_robin_cycles), TEST(test_pool_random_stays_within_usable),
        TEST(test_pool_weighted_prefers_remaining_quota), TEST(test_pool_never_picks_unusable),
        TEST(test_pool_cooldown_ends_on_time), TEST(test_pool_empty_gives_none),
        TEST(test_pool_tried_is_respected), TEST(test_pool_highest_tier_first),
        TEST(test_pool_retry_crosses_tiers), TEST(test_pool_lookups));
}
