#ifndef APIGW_IDLIST_H
#define APIGW_IDLIST_H

#include <stdbool.h>
#include <stddef.h>

/* Lists of row ids (long long), sorted for lookups and de-duplication.
 * An empty list may be NULL: qsort and bsearch are never handed one. */

void idlist_sort(long long *v, size_t n);

/* Sorts v and packs its distinct ids at the front; returns their count. */
size_t idlist_unique(long long *v, size_t n);

/* Whether the sorted list v holds id. */
bool idlist_has(const long long *v, size_t n, long long id);

#endif
