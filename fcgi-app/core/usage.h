/*
 * Key usage counted in memory and added to the database in batches by the
 * request-log writer: used_today, total_requests, total_failures and
 * last_used_at.  Keys with a daily quota or an rpm limit are counted by
 * their reservation instead (quota.h); only their failures come here.
 * Client tokens without limits are counted here too (used_today and
 * last_used_at); tokens with limits are counted by their reservation.
 * Tokens of usage (core/usage_scan.h) are counted here for every key and
 * client token (tokens_today), and a key that reaches its
 * daily_token_quota is made exhausted after the batch is written.
 */
#ifndef APIGW_USAGE_H
#define APIGW_USAGE_H

#include <stdbool.h>

struct db;
struct usage;

struct usage *usage_new(void);
void usage_free(struct usage *u);

/* Notes one attempt with a key.  counted: the reservation already counted
 * the request (only the failure, if any, is added here). */
void usage_note(struct usage *u, long long key_id, bool counted, bool failed);

/* Notes one request with a client token that has no limits. */
void usage_note_token(struct usage *u, long long token_id);

/* Notes the tokens an answer used, for the key that served it and the
 * client token that asked (0: none).  key_quota: the key has a
 * daily_token_quota (it is then checked after the batch is written). */
void usage_note_tokens(struct usage *u, long long key_id, bool key_quota, long long token_id,
                       long long n);

/* Tokens noted for a client token and not written yet. */
long long usage_pending_tokens(struct usage *u, long long token_id);

/* Adds what was noted to the database in one transaction.  What could not
 * be written is kept for the next call.  Returns DB_OK or the error. */
int usage_flush(struct usage *u, struct db *db);

#endif
