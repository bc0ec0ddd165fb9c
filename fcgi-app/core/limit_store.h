/*
 * The counters of limit windows (core/limits.h) in the database table
 * limit_counters: one row per owner (a key or a client token), limit list
 * version, limit (slot) and window start.  A request reserves every limit
 * of its client token and of a key that apply to it in one transaction:
 * each counter's requests go up by one, and when any limit is then over,
 * the transaction rolls back, so that no window admits one request more
 * than its limit, across processes and hosts.  The tokens of answers are added later, in
 * batches (limit_tokens_note, limit_tokens_flush).
 */
#ifndef APIGW_LIMIT_STORE_H
#define APIGW_LIMIT_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"

struct db;

enum limit_owner { LIMIT_OWNER_KEY = 1, LIMIT_OWNER_TOKEN = 2 };

/* One counter row. */
struct limit_counter {
    enum limit_owner kind;
    long long owner_id, version;
    int slot;
    long long window_start;
};

/* The counters a reservation took whose limits count tokens: where the
 * tokens of the answer go. */
struct limit_held {
    struct limit_counter c[LIMITS_MAX];
    size_t n;
};

/* What refused a reservation: the limit, and the seconds until its window
 * ends. */
struct limit_refusal {
    size_t slot;
    bool by_tokens; /* its tokens, not its requests, are used up */
    long long retry_s;
};

/* One owner's part of a reservation. */
#define LIMIT_CLAIMS_MAX 2 /* a client token and a key */
struct limit_claim {
    enum limit_owner kind;
    long long owner_id;
    struct limit_day day; /* its day windows' reset (a key's upstream's; {NULL, -1} global) */
    const struct limit_set *s;
    struct limit_held *held; /* granted: the counters that count tokens */
    /* granted: every counter the request was counted in (limit_release);
     * NULL when not wanted */
    struct limit_held *counted;
    bool refused; /* a window of this owner was full */
    struct limit_refusal ref;
};

/* Reserves, in one transaction, the limits of every claim (at most
 * LIMIT_CLAIMS_MAX) that apply to a request for model.  *granted tells
 * whether every window had room; when not, nothing was counted, and each
 * claim says whether one of its windows was full and why.  Returns DB_OK
 * or the database's error (*granted false). */
int limit_reserve(struct db *db, struct limit_claim *c, size_t n, const char *model, bool *granted);

/* Takes the request back out of the counters of h (a claim's counted, when
 * the key it was reserved for cannot serve after all) and empties h.
 * Returns DB_OK or the first error (the count then stays: one too many,
 * never one too few). */
int limit_release(struct db *db, struct limit_held *h);

/* The current window of each limit of s, as the admin API shows it. */
struct limit_usage {
    long long requests_used, tokens_used;
    long long resets_at; /* epoch seconds: the window's end */
};

/* Reads the current windows of every limit of s into use (s->n of them).
 * Returns DB_OK or the error. */
int limit_usage_read(struct db *db, enum limit_owner kind, long long owner_id,
                     const struct limit_day *day, const struct limit_set *s,
                     struct limit_usage *use);

/* Notes n tokens of an answer for the counters in h (none: nothing). */
void limit_tokens_note(const struct limit_held *h, long long n);

/* Adds the tokens noted so far to the database, one UPDATE per counter.
 * What cannot be written is kept for the next call.  Returns DB_OK or the
 * first error. */
int limit_tokens_flush(struct db *db);

/* Whether no tokens wait to be written. */
bool limit_tokens_idle(void);

#endif
