/*
 * This process's leases of limited keys and client tokens (core/quota.h):
 * one block per key or token, kept in a table by kind and id that lives
 * as long as the process, outside the pool snapshots.  Spending a unit is
 * a lookup under one mutex, with no database round trip; only an empty
 * block asks the database for the next one.  The block's size follows
 * this process's recent rate for that key (the requests of the next
 * LEASE_HORIZON_MS, at least 1, at most LEASE_MAX_BLOCK) and the database
 * shrinks it near the end of a budget.  What was spent, and blocks idle
 * for LEASE_IDLE_MS or whose rpm minute ended, are settled by lease_tick;
 * lease_return_all gives every unused unit back (pool reload, clean stop).
 * A process that dies loses its unused block: the limit is never exceeded.
 */
#ifndef APIGW_LEASE_H
#define APIGW_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/quota.h"

struct db;

#define LEASE_HORIZON_MS 150
#define LEASE_MAX_BLOCK  64
#define LEASE_IDLE_MS    1000
#define LEASE_TICK_MS    200

/* How many more times a grant that kept losing races with other writers
 * of the row (after db.c's statement retries) is asked for before the
 * request gives up on the key (a third node writing the same rows
 * nonstop, in the cluster test, needs it). */
#define LEASE_GRANT_CONFLICTS 4

/* The block to ask for at rate_per_s requests a second: the requests of
 * the next LEASE_HORIZON_MS, rounded up, between 1 and LEASE_MAX_BLOCK. */
long long lease_want(long long rate_per_s);

/* The block the database grants for want when remaining units are left
 * (the same rule as core/quota.c's statement): at most a quarter of what
 * is left, at least 1, never more than remaining; 0 when none is left. */
long long lease_block_size(long long want, long long remaining);

/* Spends one unit of the key's or token's budget, leasing a new block on
 * db when this process's is empty; rpm_limited: its units are good only
 * in the minute they were leased in.  *granted tells whether a unit was
 * spent.  Returns DB_OK or the database's error (*granted false). */
int lease_take(struct db *db, enum quota_kind kind, long long id, bool rpm_limited, bool *granted);

/* Settles with the database what was spent since the last call, and
 * gives back blocks idle for LEASE_IDLE_MS or whose rpm minute ended.
 * What cannot be written is kept for the next call.  Returns DB_OK or
 * the first error. */
int lease_tick(struct db *db);

/* Gives back every unused unit and settles what was spent (after a pool
 * reload, whose keys may have changed, and at a clean stop). */
int lease_return_all(struct db *db);

/* Whether this process holds no unused unit and owes no settlement. */
bool lease_idle(void);

#endif
