/*
 * Keys rested for one model (docs/API.md "Model-scoped key state"): the
 * rests stored in key_model_blocks, loaded with every snapshot so that
 * every process honours them within pool_refresh_ms, and the rests this
 * process made since its snapshot was loaded, kept in a few atomic slots
 * of the key so that it stops using the key for that model at once.
 *
 * A request pays for none of this while its upstream has no rest for a
 * model (pool_upstream.model_blocks is 0): it does not even look for its
 * model then (proxy/key_reserve.c).
 */
#include "core/pool.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/db.h"

uint64_t pool_model_hash(const char *name)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */

    for (; *name != '\0'; name++) {
        h ^= (unsigned char)*name;
        h *= 1099511628211ULL;
    }
    return h != 0 ? h : 1; /* 0 marks a free local slot */
}

/* The end of k's rest for m (monotonic ms), 0 when it has none now. */
static int64_t block_end(const struct pool_key *k, const struct pool_model *m, int64_t now_ms)
{
    int64_t end = 0, until;
    size_t i;

    for (i = 0; i < k->nblocks; i++) {
        const struct pool_block *b = &k->blocks[i];
        if (b->hash == m->hash && b->until_ms > now_ms && strcmp(b->model, m->name) == 0 &&
            b->until_ms > end)
            end = b->until_ms;
    }
    /* The slots hold a hash alone: 64 bits make a false match of two
     * models practically impossible, and it lasts only until the next
     * snapshot, which holds the stored rest with its model. */
    for (i = 0; i < POOL_LOCAL_BLOCKS; i++) {
        if (atomic_load(&k->local_hash[i]) != m->hash)
            continue;
        until = atomic_load(&k->local_until[i]);
        /* A slot taken for another model meanwhile: its end is not m's. */
        if (atomic_load(&k->local_hash[i]) != m->hash)
            continue;
        if (until > now_ms && until > end)
            end = until;
    }
    return end;
}

bool pool_key_blocked(const struct pool_key *k, const struct pool_model *m, int64_t now_ms)
{
    if (m == NULL || m->name == NULL)
        return false;
    return block_end(k, m, now_ms) > now_ms;
}

long long pool_key_block_left(const struct pool_key *k, const struct pool_model *m, int64_t now_ms)
{
    int64_t end;

    if (m == NULL || m->name == NULL)
        return 0;
    end = block_end(k, m, now_ms);
    if (end == POOL_BLOCK_FOREVER)
        return -1;
    return end > now_ms ? (long long)(end - now_ms) : 0;
}

void pool_key_block_here(struct pool_upstream *u, struct pool_key *k, const struct pool_model *m,
                         int64_t until_ms)
{
    unsigned slot = POOL_LOCAL_BLOCKS, i;
    int64_t now = clock_mono_ms();

    if (m == NULL || m->name == NULL)
        return;
    /* The model's own slot, else a free or spent one, else the next in
     * turn (a fifth model within one refresh is honoured from the next
     * snapshot on). */
    for (i = 0; i < POOL_LOCAL_BLOCKS && slot == POOL_LOCAL_BLOCKS; i++)
        if (atomic_load(&k->local_hash[i]) == m->hash)
            slot = i;
    for (i = 0; i < POOL_LOCAL_BLOCKS && slot == POOL_LOCAL_BLOCKS; i++)
        if (atomic_load(&k->local_until[i]) <= now)
            slot = i;
    if (slot == POOL_LOCAL_BLOCKS)
        slot = atomic_fetch_add(&k->local_next, 1) % POOL_LOCAL_BLOCKS;
    /* The end first: a reader that sees the hash before it sees no rest
     * yet, never a stale rest under the new model. */
    atomic_store(&k->local_until[slot], 0);
    atomic_store(&k->local_hash[slot], m->hash);
    atomic_store(&k->local_until[slot], until_ms);
    atomic_fetch_add(&u->model_blocks, 1);
}

static struct pool_key *key_in(struct pool_upstream *u, long long id)
{
    size_t i;

    for (i = 0; u != NULL && i < u->nkeys; i++)
        if (u->keys[i].id == id)
            return &u->keys[i];
    return NULL;
}

/* Adds row i of res to k (its blocks were sized for all of k's rows). */
static int add_block(struct pool_key *k, const struct db_res *res, unsigned i, int64_t now)
{
    struct pool_block *b = &k->blocks[k->nblocks];
    long long left_us = db_int(res, i, 3);

    b->model = strdup(db_val(res, i, 1));
    if (b->model == NULL)
        return DB_EFAIL;
    b->hash = pool_model_hash(b->model);
    b->exhausted = db_int(res, i, 2) != 0;
    b->until_ms = left_us < 0 ? POOL_BLOCK_FOREVER : now + left_us / 1000 + 1;
    k->nblocks++;
    return DB_OK;
}

int pool_load_blocks(struct db *db, struct pool *p)
{
    struct db_res res;
    struct pool_key *k = NULL;
    int64_t now = clock_mono_ms();
    unsigned i, j;
    int rc;

    rc = db_query(db,
                  "SELECT b.key_id, b.model, b.kind = 'exhausted',"
                  " COALESCE(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), b.until), -1),"
                  " k.upstream_id FROM key_model_blocks b JOIN api_keys k ON k.id = b.key_id"
                  " WHERE b.until IS NULL OR b.until > UTC_TIMESTAMP(6) ORDER BY b.key_id",
                  DB_NOARGS, &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        if (i == 0 || db_int(&res, i, 0) != db_int(&res, i - 1, 0)) {
            /* The first row of a key: room for all of its rows. */
            k = key_in(pool_upstream_by_id(p, db_int(&res, i, 4)), db_int(&res, i, 0));
            for (j = i; j < res.nrows && db_int(&res, j, 0) == db_int(&res, i, 0); j++)
                ;
            if (k != NULL && (k->blocks = calloc(j - i, sizeof(*k->blocks))) == NULL)
                rc = DB_EFAIL;
            if (k != NULL && rc == DB_OK)
                atomic_fetch_add(&pool_upstream_by_id(p, db_int(&res, i, 4))->model_blocks,
                                 (long long)(j - i));
        }
        if (k != NULL && rc == DB_OK)
            rc = add_block(k, &res, i, now);
    }
    db_res_free(&res);
    return rc;
}

void pool_key_blocks_free(struct pool_key *k)
{
    size_t i;

    for (i = 0; i < k->nblocks; i++)
        free(k->blocks[i].model);
    free(k->blocks);
    k->blocks = NULL;
    k->nblocks = 0;
}
