/*
 * Pacing (core/pace.h) from the head of an answer: the budget its fields
 * report, kept on the key that got it.
 */
#ifndef APIGW_PROXY_PACE_HEAD_H
#define APIGW_PROXY_PACE_HEAD_H

#include "proxy/upstream_head.h"

struct pool_key;

/* Keeps on k (a key of an upstream with pace_by_headers) what the fields
 * of h say of its remaining budget. */
void pace_head_learn(struct pool_key *k, const struct upstream_head *h);

#endif
