/*
 * Limit windows of a request (core/limits.h, docs/API.md "Limit
 * windows"): the client token's, reserved once the request is shaped
 * (its model is then the one sent upstream), and each key's, reserved when
 * the key is picked; the tokens of the answer, added to the windows that
 * count tokens.  Keys and tokens without limits cost nothing here.
 */
#ifndef APIGW_PROXY_LIMIT_CHECK_H
#define APIGW_PROXY_LIMIT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct proxy;
struct pool_key;

/* The client token's limits (none, or a public upstream: ERR_OK at once).
 * A full window answers 429 rate_limited naming it, with Retry-After its
 * end; a database that cannot say answers 503.  Returns ERR_OK or the
 * error answered. */
enum err proxy_limits_token(struct proxy *px);

/* Answers 503 no_available_key (Retry-After 1) for a client token whose
 * limits (these, its quotas) the database cannot check now; returns
 * ERR_NO_AVAILABLE_KEY. */
enum err proxy_limits_unchecked(struct proxy *px);

/* Whether key k's limits (none: true at once) admit the request.  A full
 * window sets the key aside in this process until it ends (skip_until_ms,
 * which the Retry-After of no_available_key reads); a database that cannot
 * say sets it aside for a second and sets *db_down. */
bool proxy_limits_key(struct proxy *px, struct pool_key *k, int64_t now_ms, bool *db_down);

/* Adds the answer's n tokens to the windows of the token and of the key
 * that served (px->last_key) that count tokens. */
void proxy_limits_note_tokens(struct proxy *px, long long n);

#endif
