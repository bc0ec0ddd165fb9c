/*
 * Limit windows of a request (core/limits.h, docs/API.md "Limit
 * windows"): when a key is picked, its windows and, on the request's first
 * reservation, its client token's are reserved together in one
 * transaction (the model is then the one sent upstream); the tokens of the
 * answer are added to the windows that count tokens.  Keys and tokens
 * without limits cost nothing here.
 */
#ifndef APIGW_PROXY_LIMIT_CHECK_H
#define APIGW_PROXY_LIMIT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct proxy;
struct pool_key;

/* What the windows of a picked key (and the token) said. */
enum limits_verdict {
    LIMITS_GRANTED,    /* reserved, or none to reserve */
    LIMITS_KEY_FULL,   /* a window of the key is full: the key is skipped */
    LIMITS_TOKEN_FULL, /* a window of the client token is full: 429 (proxy_limits_reply) */
    LIMITS_DB_DOWN     /* the database cannot say: the key is skipped for a second */
};

/* Reserves the windows of key k, with those of the client token while
 * they are still to be reserved for this request (not on a public
 * upstream).  A full key window sets the key aside in this process until
 * it ends: for every model (window_until_ms) or, when the limit names
 * models, for the request's model only; the Retry-After of
 * no_available_key reads both. */
enum limits_verdict proxy_limits_key(struct proxy *px, struct pool_key *k, int64_t now_ms);

/* After proxy_limits_key granted key k, whose lease then refused it (or
 * could not be asked): takes the request back out of the windows that
 * reservation counted it in, the token's included, which are then
 * reserved again with the next key. */
void proxy_limits_undo(struct proxy *px, const struct pool_key *k);

/* Whether a window of the client token refused the request; then
 * proxy_limits_reply answers it. */
bool proxy_limits_refused(const struct proxy *px);

/* 429 rate_limited naming the token's full window, with Retry-After its
 * end. */
void proxy_limits_reply(struct proxy *px);

/* Answers 503 no_available_key (Retry-After 1) for a client token whose
 * limits (its quotas) the database cannot check now; returns
 * ERR_NO_AVAILABLE_KEY. */
enum err proxy_limits_unchecked(struct proxy *px);

/* Adds the answer's n tokens to the windows of the token and of the key
 * that served (px->last_key) that count tokens. */
void proxy_limits_note_tokens(struct proxy *px, long long n);

#endif
