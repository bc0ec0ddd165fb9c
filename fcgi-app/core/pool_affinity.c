/*
 * Sticky keys: an upstream with affinity sends the requests that carry
 * the same affinity id to the same key, so that a provider's prompt cache
 * (which belongs to one account) is hit turn after turn.  The id is
 * rendezvous-hashed over the keys: each key scores hash(id, key id) and
 * the highest usable score wins.  Every process and host computes the
 * same scores from the same bytes, so they agree with no shared state,
 * and a key that goes out moves only the ids that preferred it.
 *
 * Here: the hash, the scores, an upstream's settings, and its homes (the
 * keys an id may call its preferred one, so the log can say whether the
 * preferred key served).  The pick itself is in pool_pick.c.
 */
#include "core/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/rule/rule.h"

/* FNV-1a, 64 bits: fixed constants, no seed, so the same in every
 * process.  The affinity id is not secret and its choice of key is not a
 * defence against anything, so a keyed hash would buy nothing. */
uint64_t pool_affinity_hash(const char *id, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    size_t i;

    if (len > AFFINITY_ID_MAX)
        len = AFFINITY_ID_MAX;
    for (i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* splitmix64's finaliser: every input bit moves every output bit, which
 * FNV alone does not do well enough for ids that differ in their last
 * byte. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t pool_affinity_score(uint64_t id_hash, long long key_id)
{
    return mix(id_hash ^ mix((uint64_t)key_id));
}

bool pool_affinity_is_home(const struct pool_upstream *u, uint64_t id_hash, long long key_id)
{
    uint64_t best = 0, score;
    long long best_id = 0;
    size_t i;

    for (i = 0; i < u->nhomes; i++) {
        score = pool_affinity_score(id_hash, u->homes[i]);
        if (best_id == 0 || score > best) {
            best = score;
            best_id = u->homes[i];
        }
    }
    return best_id == key_id;
}

int pool_affinity_parse(const char *s, enum affinity *out)
{
    static const char *const names[] = {"none", "header", "token", "body"};
    int i;

    for (i = 0; s != NULL && i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum affinity)i;
            return 0;
        }
    return -1;
}

/* The counters of an upstream, by its id, for the life of the process (so
 * that a new snapshot goes on counting where the old one was); past
 * COUNTER_SLOTS upstreams the rest share one pair. */
#define COUNTER_SLOTS 4096

static struct {
    long long id;
    atomic_llong served[2];
} counters[COUNTER_SLOTS];
static atomic_llong spare_counters[2];
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;

static atomic_llong *counters_for(long long id)
{
    size_t i, h = (size_t)id * 2654435761u % COUNTER_SLOTS;
    atomic_llong *found = spare_counters;

    pthread_mutex_lock(&counters_lock);
    for (i = 0; i < COUNTER_SLOTS; i++) {
        size_t s = (h + i) % COUNTER_SLOTS;
        if (counters[s].id == id || counters[s].id == 0) {
            counters[s].id = id;
            found = counters[s].served;
            break;
        }
    }
    pthread_mutex_unlock(&counters_lock);
    return found;
}

void pool_affinity_count(struct pool_upstream *u, bool home)
{
    if (u->affinity_served != NULL)
        atomic_fetch_add(&u->affinity_served[home ? 1 : 0], 1);
}

void pool_affinity_load(struct pool_upstream *u, const char *mode, const char *path)
{
    char err[128];

    if (pool_affinity_parse(mode, &u->affinity) != 0)
        u->affinity = AFFINITY_NONE;
    if (u->affinity != AFFINITY_NONE)
        u->affinity_served = counters_for(u->id);
    if (u->affinity != AFFINITY_BODY)
        return;
    /* Checked when it was written; a path that no longer compiles (an
     * older binary reading a newer syntax) turns affinity off. */
    u->affinity_path = path != NULL ? jsonpath_compile(path, err, sizeof(err)) : NULL;
    if (u->affinity_path == NULL)
        u->affinity = AFFINITY_NONE;
}

void pool_affinity_free(struct pool_upstream *u)
{
    jsonpath_free(u->affinity_path);
    u->affinity_path = NULL;
    free(u->homes);
    u->homes = NULL;
    u->nhomes = 0;
}

static struct pool_upstream *with_affinity(struct pool *p, long long id)
{
    size_t i;

    for (i = 0; i < p->nups; i++)
        if (p->ups[i].id == id)
            return p->ups[i].affinity != AFFINITY_NONE ? &p->ups[i] : NULL;
    return NULL;
}

/* Appends a home to u; -1 when memory runs out. */
static int add_home(struct pool_upstream *u, long long id)
{
    long long *h;

    if ((u->nhomes & (u->nhomes + 1)) == 0) { /* 0, 1, 3, 7...: grow to 1, 2, 4, 8... */
        h = realloc(u->homes, (u->nhomes * 2 + 2) * sizeof(*h));
        if (h == NULL)
            return -1;
        u->homes = h;
    }
    u->homes[u->nhomes++] = id;
    return 0;
}

/* The homes are the keys expected to serve (again): active ones, and
 * those disabled or exhausted for a while, in their highest tier.  A
 * banned or deleted key is no one's home, so its ids settle on their next
 * key for good; while a home is only out for a while, the requests its ids
 * send elsewhere are logged as served away from it. */
int pool_affinity_load_homes(struct db *db, struct pool *p)
{
    struct pool_upstream *u;
    struct db_res res;
    long long top = 0;
    unsigned i;
    size_t k;
    int rc;

    for (k = 0; k < p->nups && p->ups[k].affinity == AFFINITY_NONE; k++)
        ;
    if (k == p->nups)
        return DB_OK; /* no upstream uses affinity: no query */
    rc = db_query(db,
                  "SELECT upstream_id, id, priority FROM api_keys WHERE status IN ('active',"
                  " 'disabled', 'exhausted') ORDER BY upstream_id, priority DESC, id",
                  DB_NOARGS, &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        if ((u = with_affinity(p, db_int(&res, i, 0))) == NULL)
            continue;
        if (u->nhomes == 0)
            top = db_int(&res, i, 2);
        if (db_int(&res, i, 2) == top && add_home(u, db_int(&res, i, 1)) != 0)
            rc = DB_EFAIL;
    }
    db_res_free(&res);
    return rc;
}
