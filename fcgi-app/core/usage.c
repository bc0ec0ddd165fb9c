#include "core/usage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/db.h"
#include "core/log.h"

struct tally {
    long long key_id; /* 0: free slot */
    long long requests, failures;
    long long last_used; /* Unix seconds */
};

struct usage {
    pthread_mutex_t lock;
    struct tally *slots;
    size_t cap, used;
};

#define USAGE_MIN_CAP 256

struct usage *usage_new(void)
{
    struct usage *u = calloc(1, sizeof(*u));

    if (u == NULL)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    u->cap = USAGE_MIN_CAP;
    u->slots = calloc(u->cap, sizeof(*u->slots));
    if (u->slots == NULL) {
        free(u);
        return NULL;
    }
    return u;
}

void usage_free(struct usage *u)
{
    if (u == NULL)
        return;
    if (u->used > 0)
        log_warn("key usage of %zu keys was not written before exit", u->used);
    pthread_mutex_destroy(&u->lock);
    free(u->slots);
    free(u);
}

static struct tally *slot_for(struct tally *slots, size_t cap, long long key_id)
{
    size_t i = (size_t)key_id * 2654435761u & (cap - 1);

    while (slots[i].key_id != 0 && slots[i].key_id != key_id)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Doubles the table when it is more than half full. */
static void grow(struct usage *u)
{
    size_t cap = u->cap * 2, i;
    struct tally *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL)
        return;
    for (i = 0; i < u->cap; i++)
        if (u->slots[i].key_id != 0)
            *slot_for(slots, cap, u->slots[i].key_id) = u->slots[i];
    free(u->slots);
    u->slots = slots;
    u->cap = cap;
}

static void add(struct usage *u, long long key_id, long long requests, long long failures,
                long long last_used)
{
    struct tally *t;

    if (u->used * 2 >= u->cap)
        grow(u);
    t = slot_for(u->slots, u->cap, key_id);
    if (t->key_id == 0) {
        t->key_id = key_id;
        u->used++;
    }
    t->requests += requests;
    t->failures += failures;
    if (last_used > t->last_used)
        t->last_used = last_used;
}

void usage_note(struct usage *u, long long key_id, bool counted, bool failed)
{
    pthread_mutex_lock(&u->lock);
    add(u, key_id, counted ? 0 : 1, failed ? 1 : 0, counted ? 0 : (long long)time(NULL));
    pthread_mutex_unlock(&u->lock);
}

int usage_flush(struct usage *u, struct db *db)
{
    struct tally *taken;
    size_t cap, i;
    int rc = DB_OK;

    pthread_mutex_lock(&u->lock);
    if (u->used == 0) {
        pthread_mutex_unlock(&u->lock);
        return DB_OK;
    }
    taken = u->slots;
    cap = u->cap;
    u->slots = calloc(USAGE_MIN_CAP, sizeof(*u->slots));
    if (u->slots == NULL) {
        u->slots = taken;
        pthread_mutex_unlock(&u->lock);
        return DB_EFAIL;
    }
    u->cap = USAGE_MIN_CAP;
    u->used = 0;
    pthread_mutex_unlock(&u->lock);

    rc = db_begin(db);
    for (i = 0; rc == DB_OK && i < cap; i++) {
        struct tally *t = &taken[i];
        if (t->key_id == 0)
            continue;
        rc = db_exec(db,
                     "UPDATE api_keys SET used_today = used_today + ?,"
                     " total_requests = total_requests + ?, total_failures = total_failures + ?,"
                     " last_used_at = IF(? = 0, last_used_at,"
                     " GREATEST(COALESCE(last_used_at, FROM_UNIXTIME(0)), FROM_UNIXTIME(?)))"
                     " WHERE id = ?",
                     DB_ARGS(DB_INT(t->requests), DB_INT(t->requests), DB_INT(t->failures),
                             DB_INT(t->last_used), DB_INT(t->last_used), DB_INT(t->key_id)),
                     NULL, NULL);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    else
        db_rollback(db);
    if (rc != DB_OK) {
        /* Keep the counts for the next try. */
        pthread_mutex_lock(&u->lock);
        for (i = 0; i < cap; i++)
            if (taken[i].key_id != 0)
                add(u, taken[i].key_id, taken[i].requests, taken[i].failures, taken[i].last_used);
        pthread_mutex_unlock(&u->lock);
    }
    free(taken);
    return rc;
}
