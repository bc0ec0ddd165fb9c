#include "core/concurrency.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/log.h"

/* A chained hash table per scope.  Nodes are added when a snapshot is
 * loaded and never removed, so that their counters stay valid for every
 * snapshot and request that points at them; an id that is deleted keeps
 * its small node. */
#define CONCURRENCY_BUCKETS 1024

struct node {
    long long id;
    atomic_llong count;
    struct node *next;
};

static struct {
    pthread_mutex_t lock;
    struct node *buckets[CONCURRENCY_BUCKETS];
    atomic_llong refusals;
} tables[CONCURRENCY__MAX] = {
    [CONCURRENCY_TOKEN] = {.lock = PTHREAD_MUTEX_INITIALIZER},
    [CONCURRENCY_UPSTREAM] = {.lock = PTHREAD_MUTEX_INITIALIZER},
};

atomic_llong *concurrency_counter(enum concurrency_scope scope, long long id)
{
    size_t h = (size_t)((unsigned long long)id * 2654435761u % CONCURRENCY_BUCKETS);
    struct node *n;

    pthread_mutex_lock(&tables[scope].lock);
    for (n = tables[scope].buckets[h]; n != NULL; n = n->next)
        if (n->id == id)
            break;
    if (n == NULL && (n = malloc(sizeof(*n))) != NULL) {
        n->id = id;
        atomic_init(&n->count, 0);
        n->next = tables[scope].buckets[h];
        tables[scope].buckets[h] = n;
    }
    pthread_mutex_unlock(&tables[scope].lock);
    if (n == NULL) {
        log_error("out of memory for the in-flight count of %s %lld", concurrency_scope_name(scope),
                  id);
        return NULL;
    }
    return &n->count;
}

bool concurrency_enter(atomic_llong *count, long long limit)
{
    long long cur;

    if (limit <= 0) {
        atomic_fetch_add(count, 1);
        return true;
    }
    /* Compare and swap, so that a refused request never shows in the
     * count, not even for a moment (which could refuse another). */
    cur = atomic_load(count);
    do {
        if (cur >= limit)
            return false;
    } while (!atomic_compare_exchange_weak(count, &cur, cur + 1));
    return true;
}

void concurrency_leave(atomic_llong *count)
{
    atomic_fetch_sub(count, 1);
}

void concurrency_note_refusal(enum concurrency_scope scope)
{
    atomic_fetch_add(&tables[scope].refusals, 1);
}

long long concurrency_refusals(enum concurrency_scope scope)
{
    return atomic_load(&tables[scope].refusals);
}

const char *concurrency_scope_name(enum concurrency_scope scope)
{
    return scope == CONCURRENCY_TOKEN ? "token" : "upstream";
}
