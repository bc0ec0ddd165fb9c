#include "core/dbpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct dbpool {
    pthread_mutex_t lock;
    pthread_cond_t freed; /* a slot was given back */
    unsigned size;
    unsigned taken;
    unsigned nidle; /* idle items in idle[0..nidle), the newest last */
    void **idle;
    unsigned long long waits, timeouts;
};

struct dbpool *dbpool_new(unsigned size)
{
    struct dbpool *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;

    if (p == NULL)
        return NULL;
    p->size = size > 0 ? size : 1;
    p->idle = calloc(p->size, sizeof(*p->idle));
    if (p->idle == NULL) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void dbpool_free(struct dbpool *p, void (*free_item)(void *item))
{
    unsigned i;

    if (p == NULL)
        return;
    for (i = 0; i < p->nidle; i++)
        free_item(p->idle[i]);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p->idle);
    free(p);
}

/* The monotonic time wait_ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_after(int64_t wait_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(wait_ms / 1000);
    ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

enum dbpool_rc dbpool_take(struct dbpool *p, int64_t wait_ms, void **item)
{
    struct timespec until;
    enum dbpool_rc rc = DBPOOL_TIMEOUT;

    *item = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->taken == p->size) {
        p->waits++;
        until = deadline_after(wait_ms);
        while (p->taken == p->size)
            if (pthread_cond_timedwait(&p->freed, &p->lock, &until) == ETIMEDOUT)
                break;
    }
    if (p->taken < p->size) {
        p->taken++;
        if (p->nidle > 0) {
            *item = p->idle[--p->nidle];
            rc = DBPOOL_ITEM;
        } else {
            rc = DBPOOL_MAKE;
        }
    } else {
        p->timeouts++;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void dbpool_give(struct dbpool *p, void *item)
{
    pthread_mutex_lock(&p->lock);
    if (item != NULL)
        p->idle[p->nidle++] = item;
    p->taken--;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

void dbpool_stats(struct dbpool *p, struct dbpool_stats *out)
{
    pthread_mutex_lock(&p->lock);
    out->size = p->size;
    out->taken = p->taken;
    out->waits = p->waits;
    out->timeouts = p->timeouts;
    pthread_mutex_unlock(&p->lock);
}
