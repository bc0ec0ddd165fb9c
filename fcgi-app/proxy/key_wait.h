/*
 * When no key of the upstream is usable (docs/API.md "When no key is
 * usable"): the honest Retry-After of the 503, and the short wait for a key
 * of an upstream with queue_wait_ms.
 */
#ifndef APIGW_PROXY_KEY_WAIT_H
#define APIGW_PROXY_KEY_WAIT_H

#include <stdbool.h>
#include <stdint.h>

struct proxy;
struct pool_upstream;
struct pool_model;

/* Seconds until a key of u may be usable for model m (NULL: none), clamped
 * to 1..RETRY_AFTER_MAX_S; RETRY_AFTER_MAX_S when none comes back by
 * itself. */
long long key_wait_retry_after_s(const struct pool_upstream *u, const struct pool_model *m);

/* A request that found no usable key and may wait: the caller calls
 * key_wait_begin once (false: the process already has max_waiting waiting
 * requests, answer at once), then key_wait_turn while it returns true,
 * picking again after each; key_wait_end when done (after a true begin).
 * until_ms is the monotonic end of the wait.  A turn sleeps until the
 * earliest time a key may come back or the pool snapshot changes (then
 * px->pool and px->up are the new ones), and returns false when until_ms
 * has come or the upstream is gone. */
bool key_wait_begin(struct proxy *px);
bool key_wait_turn(struct proxy *px, int64_t until_ms);
void key_wait_end(struct proxy *px);

#endif
