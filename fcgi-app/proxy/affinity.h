/*
 * Sticky keys on the request path (core/pool_affinity.c has the hash and
 * the pick): finds a request's affinity id once, before the first attempt,
 * where its upstream says (the X-Gateway-Affinity header, the client
 * token, or a JSON path of the body as it goes out, after onRequest), and
 * keeps only its hash.
 */
#ifndef APIGW_PROXY_AFFINITY_H
#define APIGW_PROXY_AFFINITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proxy;
struct jsonpath;

#define AFFINITY_HEADER_NAME "X-Gateway-Affinity"

/* Sets px->affine and px->affinity_hash from the request, by the mode of
 * px->up; an absent or empty id leaves px->affine false (the strategy
 * picks). */
void proxy_affinity_find(struct proxy *px);

/* At the end of a request with an affinity id that a key served: counts
 * whether it was the id's preferred key (apigw_affinity_total). */
void proxy_affinity_count(const struct proxy *px);

/* The hash of the value at path in a JSON body: a string's bytes, or a
 * number's JSON text.  Returns false when the body is not JSON, or the
 * path is missing, empty or holds another type. */
bool proxy_affinity_body(const struct jsonpath *path, const char *body, size_t len, uint64_t *hash);

#endif
