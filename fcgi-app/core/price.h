/*
 * Prices per million tokens by model, and the cost of one answer's usage
 * (docs/USAGE.md).  The pool loads the prices with every snapshot; the
 * proxy computes a request's cost when its log row is made, so that a
 * price changed later never rewrites what was recorded.
 */
#ifndef APIGW_PRICE_H
#define APIGW_PRICE_H

#include <stddef.h>

#include "core/usage_scan.h"

struct price {
    char *model;   /* a model name, or a prefix ending in '*' */
    double prompt; /* per million tokens, in the currency */
    double completion;
    double cached; /* the prompt price when none was set */
    char currency[4];
};

/* The price of a model among n: the one named exactly, else the longest
 * prefix pattern that matches; NULL when none does (or model is ""). */
const struct price *price_match(const struct price *list, size_t n, const char *model);

/* The cost of u at price p in billionths of the currency: prompt tokens
 * that were not cached at the prompt price, cached ones at the cached
 * price, completion at the completion price.  -1 when u reported no count. */
long long price_cost_nanos(const struct price *p, const struct usage_counts *u);

/* Checks a price's model pattern: printable ASCII, '*' only as the last
 * character.  NULL when fine, else why not. */
const char *price_check_model(const char *s);

struct db;

/* Loads every price (with the pool's snapshot).  Returns DB_OK with *out
 * (n of them; free with price_free) or the database error. */
int price_load(struct db *db, struct price **out, size_t *n);
void price_free(struct price *list, size_t n);

#endif
