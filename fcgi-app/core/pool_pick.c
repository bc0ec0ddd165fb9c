/*
 * Key choice within an upstream's pool: which keys are worth trying now,
 * and the pick itself.  Keys are loaded highest priority first
 * (pool.c), so each priority tier is a run of the array: a pick takes the
 * highest tier that has a usable key and applies the upstream's strategy
 * inside it.  A retry excludes the keys tried, so it takes another key of
 * the same tier while one is usable, then the next tier down.  A key
 * rested for the request's model (pool_blocks.c) is not usable for it.
 */
#include "core/pool.h"

#include <stdatomic.h>

static bool usable(struct pool_key *k, const struct pool_model *m, const long long *tried,
                   size_t ntried, int64_t now_ms)
{
    size_t i;

    if (atomic_load(&k->skip_until_ms) > now_ms || atomic_load(&k->window_until_ms) > now_ms)
        return false;
    if (m != NULL && pool_key_blocked(k, m, now_ms))
        return false;
    if (k->rest_until_ms > now_ms)
        return false;
    /* No requests or tokens left by its provider's word: a 429 foretold. */
    if (k->paced && pace_rest_left_ms(&k->pace, now_ms) > 0)
        return false;
    if (k->daily_quota > 0 && k->used_today + atomic_load(&k->used_here) >= k->daily_quota)
        return false;
    for (i = 0; i < ntried; i++)
        if (tried[i] == k->id)
            return false;
    return true;
}

/* weight × remaining daily quota; keys without a quota count as weight ×
 * 1000.  A paced key's is scaled by its share of PACE_FULL_REQUESTS. */
static long long key_weight(struct pool_key *k, int64_t now_ms)
{
    long long left, w;

    if (k->daily_quota == 0) {
        w = k->weight * 1000;
    } else {
        left = k->daily_quota - k->used_today - atomic_load(&k->used_here);
        w = left > 0 ? k->weight * left : 0;
    }
    return k->paced && w > 0 ? pace_weigh(&k->pace, w, now_ms) : w;
}

/* One tier: the keys [first, first + n) of the upstream. */
struct tier {
    struct pool_key *keys;
    size_t n;
};

static struct pool_key *pick_weighted(struct tier t, const struct pool_model *m,
                                      const long long *tried, size_t ntried, uint64_t rnd,
                                      int64_t now_ms)
{
    struct pool_key *last = NULL;
    long long total = 0, at;
    size_t i;

    for (i = 0; i < t.n; i++)
        if (usable(&t.keys[i], m, tried, ntried, now_ms))
            total += key_weight(&t.keys[i], now_ms);
    if (total <= 0)
        return NULL;
    at = (long long)(rnd % (uint64_t)total);
    for (i = 0; i < t.n; i++) {
        if (!usable(&t.keys[i], m, tried, ntried, now_ms))
            continue;
        last = &t.keys[i];
        at -= key_weight(last, now_ms);
        if (at < 0)
            return last;
    }
    /* Weights that fell since the sum (another thread's reservation, an
     * answer's budget) leave the draw past the end: the last usable key. */
    return last;
}

bool pool_has_untried(struct pool_upstream *u, const struct pool_model *m, const long long *tried,
                      size_t ntried, int64_t now_ms)
{
    size_t i;

    for (i = 0; i < u->nkeys; i++)
        if (usable(&u->keys[i], m, tried, ntried, now_ms))
            return true;
    return false;
}

/* The highest tier with a usable key; n 0 when there is none. */
static struct tier usable_tier(struct pool_upstream *u, const struct pool_model *m,
                               const long long *tried, size_t ntried, int64_t now_ms)
{
    struct tier t = {NULL, 0};
    size_t i = 0, end;

    while (i < u->nkeys) {
        bool any = false;
        for (end = i; end < u->nkeys && u->keys[end].priority == u->keys[i].priority; end++)
            any = any || usable(&u->keys[end], m, tried, ntried, now_ms);
        if (any) {
            t.keys = &u->keys[i];
            t.n = end - i;
            return t;
        }
        i = end;
    }
    return t;
}

struct pool_key *pool_pick(struct pool_upstream *u, const struct pool_model *m,
                           const long long *tried, size_t ntried, uint64_t rnd, int64_t now_ms)
{
    struct tier t = usable_tier(u, m, tried, ntried, now_ms);
    size_t start, i;

    if (t.n == 0)
        return NULL;
    switch (u->strategy) {
    case STRATEGY_WEIGHTED:
        return pick_weighted(t, m, tried, ntried, rnd, now_ms);
    case STRATEGY_RANDOM:
        start = (size_t)(rnd % t.n);
        break;
    case STRATEGY_ROUND_ROBIN:
    default:
        start = (size_t)(atomic_fetch_add(u->rr, 1) % t.n);
        break;
    }
    for (i = 0; i < t.n; i++) {
        struct pool_key *k = &t.keys[(start + i) % t.n];
        if (usable(k, m, tried, ntried, now_ms))
            return k;
    }
    return NULL;
}

struct pool_key *pool_pick_affine(struct pool_upstream *u, const struct pool_model *m,
                                  uint64_t id_hash, const long long *tried, size_t ntried,
                                  int64_t now_ms)
{
    struct tier t = usable_tier(u, m, tried, ntried, now_ms);
    struct pool_key *best = NULL;
    uint64_t best_score = 0, score;
    size_t i;

    for (i = 0; i < t.n; i++) {
        if (!usable(&t.keys[i], m, tried, ntried, now_ms))
            continue;
        score = pool_affinity_score(id_hash, t.keys[i].id);
        if (best == NULL || score > best_score) {
            best = &t.keys[i];
            best_score = score;
        }
    }
    return best;
}
