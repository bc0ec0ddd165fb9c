#include "admin/backtest_replay.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/rule/rule.h"

/* At most this many matches are kept (40 bytes each); the rest are
 * counted but not replayed, and the answer says so. */
#define BT_MATCHES_MAX (4u << 20)

void bt_init(struct backtest *bt, const struct rule *r, struct bt_upstream *ups, size_t nups)
{
    memset(bt, 0, sizeof(*bt));
    bt->rule = r;
    bt->ups = ups;
    bt->nups = nups;
    bt->first_held_ms = -1;
}

void bt_free(struct backtest *bt)
{
    free(bt->ups);
    free(bt->m);
    free(bt->keys);
    memset(bt, 0, sizeof(*bt));
}

int bt_add(struct backtest *bt, const struct bt_match *m)
{
    if (bt->nm == bt->cap) {
        size_t cap = bt->cap ? bt->cap * 2 : 4096;
        struct bt_match *bigger;
        if (bt->nm >= BT_MATCHES_MAX) {
            bt->truncated = true;
            return 0;
        }
        if ((bigger = realloc(bt->m, cap * sizeof(*bigger))) == NULL)
            return -1;
        bt->m = bigger;
        bt->cap = cap;
    }
    bt->m[bt->nm++] = *m;
    return 0;
}

const char *bt_would(const struct rule *r)
{
    const char *would = NULL;
    size_t i;

    for (i = 0; i < r->nactions; i++) {
        if (r->actions[i].type == ACTION_BAN)
            return "ban";
        if (r->actions[i].type == ACTION_DISABLE)
            would = r->actions[i].until == UNTIL_QUOTA_RESET ? "exhaust" : "disable";
    }
    return would;
}

/* How long a firing takes the key out, in ms (INT64_MAX: until someone
 * acts).  An exhaust lasts to the next reset, which the replay takes as
 * the rest of the range; a disable until Retry-After, whose header no
 * record keeps, its duration_s or a minute, as live. */
static long long out_for(const struct rule *r)
{
    size_t i;

    for (i = 0; i < r->nactions; i++) {
        const struct rule_action *a = &r->actions[i];
        if (a->type == ACTION_BAN || (a->type == ACTION_DISABLE && a->until == UNTIL_QUOTA_RESET))
            return INT64_MAX;
        if (a->type == ACTION_DISABLE && a->until == UNTIL_RETRY_AFTER)
            return (a->duration_s > 0 ? a->duration_s : 60) * 1000;
        if (a->type == ACTION_DISABLE)
            return a->duration_s > 0 ? a->duration_s * 1000 : INT64_MAX;
    }
    return 0;
}

static int by_key_then_time(const void *a, const void *b)
{
    const struct bt_match *x = a, *y = b;

    if (x->key_id != y->key_id)
        return x->key_id < y->key_id ? -1 : 1;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return x->row_id < y->row_id ? -1 : x->row_id > y->row_id;
}

static int by_time(const void *a, const void *b)
{
    const struct bt_match *x = a, *y = b;

    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return x->key_id < y->key_id ? -1 : x->key_id > y->key_id;
}

static struct bt_upstream *upstream_of(struct backtest *bt, long long id)
{
    size_t i;

    for (i = 0; i < bt->nups; i++)
        if (bt->ups[i].id == id)
            return &bt->ups[i];
    return NULL;
}

/* rulestate_hit on one key's matches, in time order: keeps the firings in
 * place (reusing the array) and returns how many. */
static size_t key_firings(const struct rule *r, struct bt_match *m, size_t n, size_t out)
{
    long long hits = 0, start = 0, last = 0, now;
    size_t i;

    for (i = 0; i < n; i++) {
        if (r->threshold <= 1 && r->cooldown_s == 0) {
            m[out++] = m[i];
            continue;
        }
        now = m[i].ts_ms / 1000;
        if (start <= now - r->window_s) {
            hits = 0;
            start = now;
        }
        if (++hits >= r->threshold && (last == 0 || last <= now - r->cooldown_s)) {
            hits = 0;
            start = last = now;
            m[out++] = m[i];
        }
    }
    return out;
}

/* Keys of an upstream come back when their rest ends. */
static void come_back(struct backtest *bt, struct bt_upstream *u, long long now_ms)
{
    size_t i;

    /* The keys are walked only when one is due: most guard calls find
     * none. */
    if (u->out == 0 || now_ms < u->next_back_ms)
        return;
    u->next_back_ms = INT64_MAX;
    for (i = 0; i < bt->nkeys; i++) {
        struct bt_key *k = &bt->keys[i];
        if (k->upstream_id != u->id || k->out_until_ms == 0)
            continue;
        if (k->out_until_ms <= now_ms) {
            k->out_until_ms = 0;
            u->out--;
        } else if (k->out_until_ms < u->next_back_ms) {
            u->next_back_ms = k->out_until_ms;
        }
    }
}

/* rulestate_guard at the firing's time; true when the action may go. */
static bool guard_allows(struct backtest *bt, struct bt_upstream *u, long long now_ms)
{
    long long budget = u->keys_total * u->max_pct / 100;
    long long min_usable = (u->keys_total * (100 - u->max_pct) + 99) / 100;
    long long now = now_ms / 1000;

    come_back(bt, u, now_ms);
    if (u->window_start <= now - bt->rule->window_s) {
        u->window_start = now;
        u->actions = 0;
        u->alerted = false;
    }
    if (u->keys_total - u->out - 1 >= min_usable && u->actions < budget) {
        u->actions++;
        return true;
    }
    if (!u->alerted) {
        u->alerted = true;
        bt->alerts++;
    }
    return false;
}

static struct bt_key *key_slot(struct backtest *bt, long long key_id)
{
    size_t lo = 0, hi = bt->nkeys;

    /* The keys were added in key order. */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bt->keys[mid].key_id < key_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < bt->nkeys && bt->keys[lo].key_id == key_id ? &bt->keys[lo] : NULL;
}

/* The guard, in time order over every key's firings. */
static void run_guard(struct backtest *bt, size_t nf)
{
    long long rest = out_for(bt->rule);
    bool acts = bt_would(bt->rule) != NULL;
    size_t i;

    for (i = 0; i < nf; i++) {
        const struct bt_match *f = &bt->m[i];
        struct bt_key *k = key_slot(bt, f->key_id);
        struct bt_upstream *u = upstream_of(bt, f->upstream_id);
        if (k == NULL)
            continue;
        /* A key the replay has taken out would have had no answers. */
        if (k->out_until_ms != 0 && k->out_until_ms > f->ts_ms)
            continue;
        if (k->out_until_ms != 0) { /* its rest is over */
            k->out_until_ms = 0;
            if (u != NULL)
                u->out--;
        }
        bt->fired++;
        if (!acts || u == NULL || guard_allows(bt, u, f->ts_ms)) {
            k->times++;
            if (k->at_ms < 0)
                k->at_ms = f->ts_ms;
            if (acts && u != NULL && rest > 0) {
                k->out_until_ms = rest == INT64_MAX ? INT64_MAX : f->ts_ms + rest;
                if (k->out_until_ms < u->next_back_ms || u->out == 0)
                    u->next_back_ms = k->out_until_ms;
                u->out++;
            }
            continue;
        }
        k->held++;
        bt->held++;
        if (k->held_at_ms < 0)
            k->held_at_ms = f->ts_ms;
        if (bt->first_held_ms < 0)
            bt->first_held_ms = f->ts_ms;
    }
}

/* The sample: the first matches in time order (ties in the order they
 * were read, as a stable sort would give), chosen in one pass rather than
 * by sorting a million matches for twenty. */
static void pick_sample(struct backtest *bt)
{
    size_t i, n = 0, at;

    for (i = 0; i < bt->nm; i++) {
        const struct bt_match *m = &bt->m[i];
        if (n == BT_SAMPLE && by_time(m, &bt->sample[n - 1]) >= 0)
            continue;
        at = n < BT_SAMPLE ? n++ : n - 1;
        while (at > 0 && by_time(m, &bt->sample[at - 1]) < 0) {
            bt->sample[at] = bt->sample[at - 1];
            at--;
        }
        bt->sample[at] = *m;
    }
    bt->nsample = n;
}

int bt_replay(struct backtest *bt)
{
    size_t i, j, nf = 0, c;

    pick_sample(bt);
    /* No matches leave m NULL, which qsort may not be given. */
    if (bt->nm > 1)
        qsort(bt->m, bt->nm, sizeof(*bt->m), by_key_then_time);
    for (i = 0; i < bt->nm; i = j) {
        for (j = i; j < bt->nm && bt->m[j].key_id == bt->m[i].key_id; j++)
            ;
        bt->nkeys++;
    }
    bt->keys = calloc(bt->nkeys ? bt->nkeys : 1, sizeof(*bt->keys));
    if (bt->keys == NULL)
        return -1;
    /* Each key's firings replace the matches, packed at the front. */
    bt->nkeys = 0;
    for (i = 0; i < bt->nm; i = j) {
        struct bt_key *k = &bt->keys[bt->nkeys++];
        for (j = i; j < bt->nm && bt->m[j].key_id == bt->m[i].key_id; j++)
            ;
        k->key_id = bt->m[i].key_id;
        k->upstream_id = bt->m[i].upstream_id;
        k->at_ms = k->held_at_ms = -1;
        c = key_firings(bt->rule, bt->m + i, j - i, 0);
        memmove(bt->m + nf, bt->m + i, c * sizeof(*bt->m));
        nf += c;
    }
    if (nf > 1)
        qsort(bt->m, nf, sizeof(*bt->m), by_time);
    run_guard(bt, nf);
    return 0;
}

struct json_object *bt_guard_json(const struct backtest *bt)
{
    struct json_object *g = json_object_new_object(), *ups = json_object_new_array();
    char when[32];
    size_t i;

    json_object_object_add(g, "held", json_object_new_int64(bt->held));
    json_object_object_add(g, "alerts", json_object_new_int64(bt->alerts));
    json_object_object_add(
        g, "first_held_at",
        bt->first_held_ms < 0
            ? NULL
            : json_object_new_string(clock_rfc3339(bt->first_held_ms / 1000, when, sizeof(when))));
    for (i = 0; i < bt->nups; i++) {
        struct json_object *u = json_object_new_object();
        json_object_object_add(u, "upstream_id", json_object_new_int64(bt->ups[i].id));
        json_object_object_add(u, "keys_total", json_object_new_int64(bt->ups[i].keys_total));
        json_object_object_add(u, "auto_disable_max_pct",
                               json_object_new_int64(bt->ups[i].max_pct));
        json_object_array_add(ups, u);
    }
    json_object_object_add(g, "upstreams", ups);
    return g;
}
