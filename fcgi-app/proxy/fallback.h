/*
 * Fallback upstreams (docs/API.md "Fallback upstreams"): when no key of the
 * upstream a request named is usable, or every attempt failed before any
 * byte went to the client, the request goes on to the first of its
 * fallback_upstreams that may take it, with that upstream's keys,
 * injection, rules and limits.  Depth 1: a fallback's own fallbacks are not
 * followed, so lists that name each other cannot loop.
 */
#ifndef APIGW_PROXY_FALLBACK_H
#define APIGW_PROXY_FALLBACK_H

#include <stdbool.h>

struct proxy;

/* Moves px to the next fallback of the upstream the request named that the
 * client may use, is enabled and is under its max_concurrent; true when it
 * did (px->up, the held in-flight count and the log entry are then the
 * fallback's; each attempt builds its URL from the fallback's endpoints),
 * false when none is left. */
bool proxy_fallback_next(struct proxy *px);

/* Whether a fallback is still to be tried: a retry that the upstream's own
 * keys and retries cannot make may still go there (proxy_can_retry). */
bool proxy_fallback_left(const struct proxy *px);

#endif
