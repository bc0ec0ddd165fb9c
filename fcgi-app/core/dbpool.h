/*
 * A bounded pool of shared items (database connections, in db.c) that
 * threads take for a moment and give back.
 *
 * The pool knows nothing of what it holds: it counts slots.  A slot is
 * either idle (it holds an item), taken, or not made yet; a taker that
 * gets an unmade slot makes the item itself.  Takers wait, at most as
 * long as they say, while every slot is taken.  Idle items are handed
 * out most recently returned first, so that few of them stay warm.
 */
#ifndef APIGW_DBPOOL_H
#define APIGW_DBPOOL_H

#include <stdint.h>

struct dbpool;

/* What dbpool_take came to. */
enum dbpool_rc {
    DBPOOL_ITEM,    /* *item is an idle item, now the caller's */
    DBPOOL_MAKE,    /* a slot is the caller's but holds nothing: make the item */
    DBPOOL_TIMEOUT, /* every slot stayed taken for wait_ms */
};

/* Counts for /metrics. */
struct dbpool_stats {
    unsigned size;               /* slots */
    unsigned taken;              /* slots in use now */
    unsigned long long waits;    /* takes that had to wait */
    unsigned long long timeouts; /* takes that gave up */
};

/* A pool of size slots (at least 1), none made yet.  NULL when memory
 * runs out.  The caller frees it with dbpool_free. */
struct dbpool *dbpool_new(unsigned size);

/* Frees the pool, calling free_item on every idle item; slots still taken
 * are the takers' to free. */
void dbpool_free(struct dbpool *p, void (*free_item)(void *item));

/* Takes a slot, waiting up to wait_ms while all are taken. */
enum dbpool_rc dbpool_take(struct dbpool *p, int64_t wait_ms, void **item);

/* Gives a taken slot back with its item (NULL when the caller could not
 * make one: the slot is unmade again). */
void dbpool_give(struct dbpool *p, void *item);

/* Fills out with the pool's counts. */
void dbpool_stats(struct dbpool *p, struct dbpool_stats *out);

#endif
