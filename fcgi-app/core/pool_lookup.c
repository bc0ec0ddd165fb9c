/* Lookups in a pool snapshot: an upstream by name or id, a client token
 * by the hash of its value, and whether a token may call an upstream.  On
 * their own so that the loaders (pool.c, pool_egress.c) and the proxy share
 * them without calling each other. */
#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

struct pool_upstream *pool_upstream_by_id(struct pool *p, long long id)
{
    size_t i;

    for (i = 0; i < p->nups; i++)
        if (p->ups[i].id == id)
            return &p->ups[i];
    return NULL;
}

static int cmp_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct pool_upstream *)elem)->name);
}

struct pool_upstream *pool_find_upstream(const struct pool *p, const char *name)
{
    return bsearch(name, p->ups, p->nups, sizeof(*p->ups), cmp_name);
}

static int cmp_hash(const void *key, const void *elem)
{
    return memcmp(key, ((const struct pool_token *)elem)->hash, SHA256_LEN);
}

const struct pool_token *pool_find_token(const struct pool *p, const unsigned char *hash)
{
    return bsearch(hash, p->tokens, p->ntokens, sizeof(*p->tokens), cmp_hash);
}

bool pool_token_allows(const struct pool_token *t, long long upstream_id)
{
    size_t i;

    if (t->nupstreams == 0)
        return true;
    for (i = 0; i < t->nupstreams; i++)
        if (t->upstreams[i] == upstream_id)
            return true;
    return false;
}
