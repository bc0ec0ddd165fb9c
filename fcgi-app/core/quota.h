/*
 * Exact limits shared by every process and host, by leases: a process
 * reserves a block of a key's or client token's budget in one atomic
 * UPDATE (quota_grant) and spends it in memory (core/lease.h); what it
 * spent and what it gives back are settled later in one statement per
 * row (quota_settle).  The invariant kept in the database is
 * used_today + leased <= daily_quota, where used_today counts spent units
 * and leased the units that processes hold; rpm_count counts the units
 * leased in the current calendar minute of the database's clock.
 * quota_epoch moves at every daily reset, which zeroes leased, so that a
 * block leased before a reset never lowers the new day's counters.
 */
#ifndef APIGW_QUOTA_H
#define APIGW_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

struct db;

enum quota_kind { QUOTA_KEY, QUOTA_TOKEN };

/* A block granted by quota_grant. */
struct quota_block {
    long long units;   /* 0: refused */
    long long epoch;   /* the row's quota_epoch */
    long long window;  /* the database minute the rpm part belongs to */
    long long left_ms; /* milliseconds left in that minute when granted */
};

/* Leases up to want units (want >= 1) of a key (only while it is active)
 * or token: fewer near the end of either budget (a quarter of what is
 * left, at least 1; see lease_block_size).  b->units is 0 when a limit
 * refused it.  Returns DB_OK or a DB_E* error. */
int quota_grant(struct db *db, enum quota_kind kind, long long id, long long want,
                struct quota_block *b);

/* Leases exactly want units of a key (only while it is active) or token
 * that has a daily quota and no rpm limit, in one UPDATE with nothing to
 * read back: only while a quarter of the daily budget left covers want
 * (where quota_grant would grant want too) and the row's quota_epoch is
 * still epoch.  *whole tells whether it did; when not, quota_grant decides.
 * Returns DB_OK or a DB_E* error (*whole false). */
int quota_grant_whole(struct db *db, enum quota_kind kind, long long id, long long want,
                      long long epoch, bool *whole);

/* What a process settles for one row. */
struct quota_settlement {
    enum quota_kind kind;
    long long id;
    long long epoch;    /* the epoch of the block spent and given back */
    long long spent;    /* units spent: added to used_today, taken from leased */
    long long stale;    /* units spent from a block of an older epoch */
    long long unused;   /* units given back: taken from leased */
    long long rpm_back; /* of those, units given back to the rpm window */
    long long window;   /* the window rpm_back belongs to */
};

/* Settles s in one UPDATE: used_today and leased only while the row's
 * epoch is still s->epoch, the rpm count only while s->window is the
 * current minute; keys also count total_requests (spent and stale) and
 * last_used_at.  Returns DB_OK or a DB_E* error. */
int quota_settle(struct db *db, enum quota_kind kind, const struct quota_settlement *s);

/* After a refused token lease: whether the daily quota (true) or the rpm
 * window (false) refused it, and the seconds until the next minute. */
int quota_token_refusal(struct db *db, long long token_id, bool *daily, long long *retry_after_s);

#endif
