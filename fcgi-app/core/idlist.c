#include "core/idlist.h"

#include <stdlib.h>

static int cmp_id(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

void idlist_sort(long long *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_id);
}

size_t idlist_unique(long long *v, size_t n)
{
    size_t i, d = 0;

    idlist_sort(v, n);
    for (i = 0; i < n; i++)
        if (d == 0 || v[i] != v[d - 1])
            v[d++] = v[i];
    return d;
}

bool idlist_has(const long long *v, size_t n, long long id)
{
    return n > 0 && bsearch(&id, v, n, sizeof(id), cmp_id) != NULL;
}
