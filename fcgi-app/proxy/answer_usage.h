/*
 * The token usage and model of the answer that goes to a client
 * (core/usage_scan.h reads them; this file decides which answer is read
 * and where the result goes: the request's log entry).  Only the answer that went to the client
 * is read, so a client token is charged for what it received; an attempt
 * that a rule retried before anything went out is not read.
 */
#ifndef APIGW_PROXY_ANSWER_USAGE_H
#define APIGW_PROXY_ANSWER_USAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct pool_key;
struct pool_token;
struct proxy;
struct upstream_head;
struct usage_scan;

/* Starts reading the answer whose head is h, as it begins to go out: NULL
 * when the upstream's usage_format is none, or when the answer is neither
 * JSON nor an event stream (the log then says the usage is absent). */
struct usage_scan *proxy_usage_begin(struct proxy *px, const struct upstream_head *h);

/* Ends the reading: the counts and the model go into the log entry;
 * complete says the whole answer went out.  Frees s (NULL is fine). */
void proxy_usage_end(struct proxy *px, struct usage_scan *s, bool complete);

/* After the attempts: when the answer named no model, the model the
 * request named (its forwarded path and body).  Only for an upstream whose
 * usage_format is not none: with none the gateway reads no body. */
void proxy_usage_request_model(struct proxy *px);

/* An attempt a rule retried after its answer (or the answer's start) was
 * held: the usage that part reports counts to the key k's tokens_today
 * (and its token quota), not to the client token, which got nothing. */
void proxy_usage_retried(struct proxy *px, const struct pool_key *k, const struct upstream_head *h,
                         const char *body, size_t n);

/* Once the request is over: prices the answer (its cost at its model's
 * price goes into the log entry) and counts its tokens for its key and
 * client token (tokens_today and the token quotas). */
void proxy_usage_note(struct proxy *px);

/* The client token's daily_token_quota: admitted (ERR_OK) while the
 * tokens used so far (written by every process, and noted here but not
 * yet written) are under it.  Else answers 429 rate_limited, or 503 when
 * the database cannot say, and returns that error. */
enum err proxy_usage_token_admit(struct proxy *px, const struct pool_token *t);

#endif
