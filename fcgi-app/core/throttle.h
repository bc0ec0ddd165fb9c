/*
 * The login throttle: failed logins slow down per (username, client
 * address) pair and per client address, in a bounded table in memory.
 *
 * Each key counts failures.  Once a key has `free` failures, every further
 * failure locks it for a delay that doubles from base_ms up to max_ms; a
 * key with no failure for window_ms starts over.  A login is refused while
 * its pair or its address is locked.  The username alone is never a key:
 * failures from one address never lock the same user out from another
 * address (the address limit bounds what one address may try in all).
 *
 * Keys are kept as salted SHA-256 digests (no username is kept in memory);
 * the table holds at most `capacity` keys and evicts the least recently
 * touched one when full.  Every function takes the time from its caller,
 * so that tests can drive the clock.  All functions are thread-safe.
 */
#ifndef APIGW_THROTTLE_H
#define APIGW_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct throttle;

struct throttle_limits {
    unsigned pair_free; /* failures of one username from one address before delays */
    unsigned addr_free; /* failures from one address, any usernames, before delays */
    int64_t base_ms;    /* the first delay */
    int64_t max_ms;     /* the longest delay */
    int64_t window_ms;  /* a key without failures for this long starts over */
};

/* How a login that throttle_begin let through ended. */
enum throttle_outcome {
    THROTTLE_FAILED,    /* wrong username or password */
    THROTTLE_SUCCEEDED, /* the right password: the pair starts over */
    THROTTLE_UNDECIDED  /* nothing was checked (database down, hashing busy) */
};

struct throttle_stats {
    long long refused;   /* logins throttle_begin refused */
    long long failures;  /* logins that ended THROTTLE_FAILED */
    long long busy;      /* logins refused for want of a hashing slot (throttle_note_busy) */
    long long evictions; /* keys dropped to make room */
    size_t keys;         /* keys in the table now */
};

/* Makes a table for at most capacity keys (at least 16), salted with seed.
 * Returns NULL when memory runs out; the caller frees it with
 * throttle_free. */
struct throttle *throttle_new(size_t capacity, uint64_t seed);

/* Frees a table made by throttle_new; NULL is ignored. */
void throttle_free(struct throttle *t);

/* Asks whether a login of user from addr may go ahead at now_ms.  Returns
 * 0 and counts the attempt as a failure until throttle_end says how it
 * ended; or returns the milliseconds until the login may be tried again,
 * counting nothing.  addr is the client's address as text (an IPv6
 * address counts by its /64); NULL or "" stands for an unknown address. */
int64_t throttle_begin(struct throttle *t, const struct throttle_limits *lim, const char *user,
                       const char *addr, int64_t now_ms);

/* Records how a login let through by throttle_begin ended. */
void throttle_end(struct throttle *t, const struct throttle_limits *lim, const char *user,
                  const char *addr, enum throttle_outcome outcome);

/* Counts a login refused because no hashing slot came free in time. */
void throttle_note_busy(struct throttle *t);

/* Copies the table's counters into out (all zero for NULL). */
void throttle_get_stats(struct throttle *t, struct throttle_stats *out);

/* The process's login throttle: made on the first call with a capacity
 * above 0, with a random salt; later calls return the same table whatever
 * their capacity.  Returns NULL before that first call, or when memory ran
 * out.  The table lives until the process exits. */
struct throttle *throttle_process(size_t capacity);

#endif
