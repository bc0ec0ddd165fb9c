/* Keys rested for one model (core/pool_blocks.c) as key choice and the
 * wait for a key see them: a key rested for a model is passed over for
 * that model only (compared byte for byte), until its rest ends; a rest
 * made in this process counts at once; the wait for a key counts the end
 * of each key's rest for the model. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/pool.h"
#include "suites.h"

#define NOW      1000000
#define WALL     (1700000040000LL + 15000)
#define RESET_MS 3600000

static struct pool_key keys[2];
static struct pool_block blocks[2];
static struct pool_upstream up;
static atomic_ullong cursor;

/* Two fresh keys, ids 1 and 2, round robin. */
static struct pool_upstream *upstream(void)
{
    size_t i;

    memset(keys, 0, sizeof(keys));
    memset(&up, 0, sizeof(up));
    for (i = 0; i < 2; i++) {
        keys[i].id = (long long)i + 1;
        keys[i].weight = 1;
    }
    atomic_init(&cursor, 0);
    up.strategy = STRATEGY_ROUND_ROBIN;
    up.keys = keys;
    up.nkeys = 2;
    up.rr = &cursor;
    return &up;
}

static struct pool_model model(const char *name)
{
    struct pool_model m = {name, pool_model_hash(name)};

    return m;
}

/* Rests key k (0-based) for name until until_ms, as a snapshot loads it. */
static void rest(size_t k, char *name, int64_t until_ms)
{
    blocks[k].model = name;
    blocks[k].hash = pool_model_hash(name);
    blocks[k].until_ms = until_ms;
    keys[k].blocks = &blocks[k];
    keys[k].nblocks = 1;
}

static long long pick(struct pool_upstream *u, const struct pool_model *m, int64_t now)
{
    struct pool_key *k = pool_pick(u, m, NULL, 0, 0, now);

    return k != NULL ? k->id : 0;
}

static void test_blocks_skip_the_model_only(void)
{
    struct pool_upstream *u = upstream();
    struct pool_model a = model("model-a"), b = model("model-b"), upper = model("Model-A");
    char name[] = "model-a";
    int i;

    rest(0, name, NOW + 5000);
    for (i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(pick(u, &a, NOW), 2);
    CU_ASSERT_TRUE(pool_key_blocked(&keys[0], &a, NOW));
    CU_ASSERT_FALSE(pool_key_blocked(&keys[0], &upper, NOW));
    CU_ASSERT_FALSE(pool_key_blocked(&keys[0], &b, NOW));
    CU_ASSERT_FALSE(pool_key_blocked(&keys[0], NULL, NOW));
    /* Other models, and requests without one, take both keys. */
    CU_ASSERT_EQUAL(pick(u, &b, NOW) + pick(u, &b, NOW), 3);
    CU_ASSERT_EQUAL(pick(u, &upper, NOW) + pick(u, &upper, NOW), 3);
    CU_ASSERT_EQUAL(pick(u, NULL, NOW) + pick(u, NULL, NOW), 3);
    /* The rest ends on time. */
    CU_ASSERT_EQUAL(pick(u, &a, NOW + 5000) + pick(u, &a, NOW + 5000), 3);
    /* Both keys out for the model: none, while the other model still has both. */
    rest(1, name, POOL_BLOCK_FOREVER);
    CU_ASSERT_EQUAL(pick(u, &a, NOW), 0);
    CU_ASSERT_FALSE(pool_has_untried(u, &a, NULL, 0, NOW));
    CU_ASSERT_TRUE(pool_has_untried(u, &b, NULL, 0, NOW));
}

static void test_blocks_made_here_count_at_once(void)
{
    struct pool_upstream *u = upstream();
    struct pool_model m[6];
    char names[6][8];
    int64_t now = clock_mono_ms();
    size_t i;

    for (i = 0; i < 6; i++) {
        snprintf(names[i], sizeof(names[i]), "m%zu", i);
        m[i] = model(names[i]);
    }
    CU_ASSERT_EQUAL(atomic_load(&u->model_blocks), 0);
    pool_key_block_here(u, &keys[1], &m[0], now + 60000);
    CU_ASSERT_EQUAL(atomic_load(&u->model_blocks), 1);
    CU_ASSERT_EQUAL(pick(u, &m[0], now), 1);
    CU_ASSERT_EQUAL(pick(u, &m[0], now), 1);
    CU_ASSERT_EQUAL(pool_key_block_left(&keys[1], &m[0], now), 60000);
    /* The same model again takes its own slot: a longer rest replaces it. */
    pool_key_block_here(u, &keys[1], &m[0], POOL_BLOCK_FOREVER);
    CU_ASSERT_EQUAL(pool_key_block_left(&keys[1], &m[0], now), -1);
    /* A slot holds one model each; the oldest gives way past
     * POOL_LOCAL_BLOCKS models, and the others stay. */
    for (i = 1; i <= POOL_LOCAL_BLOCKS; i++)
        pool_key_block_here(u, &keys[1], &m[i], now + 60000);
    CU_ASSERT_EQUAL(pick(u, &m[POOL_LOCAL_BLOCKS], now), 1);
    CU_ASSERT_EQUAL(pick(u, &m[2], now), 1);
    CU_ASSERT_EQUAL(pick(u, &m[5], now) + pick(u, &m[5], now), 3);
}

static void test_blocks_count_in_the_wait(void)
{
    struct pool_upstream *u = upstream();
    struct pool_model a = model("a"), b = model("b");
    char n0[] = "a", n1[] = "a";

    rest(0, n0, NOW + 7000);
    rest(1, n1, NOW + 3000);
    CU_ASSERT_EQUAL(pool_next_usable_ms(u, &a, NOW, WALL, RESET_MS), 3000);
    CU_ASSERT_EQUAL(pool_next_usable_ms(u, &b, NOW, WALL, RESET_MS), 0);
    /* A rest until enabled never ends by itself; the other key's does. */
    blocks[1].until_ms = POOL_BLOCK_FOREVER;
    CU_ASSERT_EQUAL(pool_next_usable_ms(u, &a, NOW, WALL, RESET_MS), 7000);
    blocks[0].until_ms = POOL_BLOCK_FOREVER;
    CU_ASSERT_EQUAL(pool_next_usable_ms(u, &a, NOW, WALL, RESET_MS), -1);
    /* A key resting key-wide longer than its rest for the model. */
    blocks[0].until_ms = NOW + 1000;
    keys[0].rest_until_ms = NOW + 4000;
    CU_ASSERT_EQUAL(pool_next_usable_ms(u, &a, NOW, WALL, RESET_MS), 4000);
}

void suite_pool_blocks(void)
{
    ADD_SUITE("pool_blocks", TEST(test_blocks_skip_the_model_only),
              TEST(test_blocks_made_here_count_at_once), TEST(test_blocks_count_in_the_wait));
}
