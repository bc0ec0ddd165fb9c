/* The egress proxies of a pool snapshot: each upstream's sealed list and
 * mode, and the keys' own proxies, decrypted (core/egress.h). */
#include "core/db.h"
#include "core/log.h"
#include "core/pool.h"

static struct pool_key *key_of(struct pool_upstream *u, long long id)
{
    size_t i;

    for (i = 0; u != NULL && i < u->nkeys; i++)
        if (u->keys[i].id == id)
            return &u->keys[i];
    return NULL;
}

/* A list that does not open leaves the upstream without proxies; its
 * requests then fail rather than leave directly (see the mode check in
 * egress_choose's caller), so a wrong encryption_key cannot leak the
 * gateway's own address. */
static int load_upstreams(struct db *db, struct pool *p, const unsigned char *enc_key)
{
    struct db_res res;
    unsigned i;
    int rc = db_query(db,
                      "SELECT id, proxy_mode, proxies_enc FROM upstreams"
                      " WHERE proxy_mode <> 'none' AND proxies_enc IS NOT NULL",
                      DB_NOARGS, &res);

    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct pool_upstream *u = pool_upstream_by_id(p, db_int(&res, i, 0));
        if (u == NULL)
            continue;
        if (egress_set_open(&u->egress, enc_key, db_val(&res, i, 2), db_len(&res, i, 2),
                            db_val(&res, i, 1)) != 0)
            log_error("the proxies of upstream %lld cannot be decrypted: is encryption_key the"
                      " one they were stored with?",
                      u->id);
    }
    db_res_free(&res);
    return rc;
}

static int load_keys(struct db *db, struct pool *p, const unsigned char *enc_key)
{
    struct db_res res;
    unsigned i;
    int rc =
        db_query(db, "SELECT id, upstream_id, proxy_enc FROM api_keys WHERE proxy_enc IS NOT NULL",
                 DB_NOARGS, &res);

    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct pool_key *k = key_of(pool_upstream_by_id(p, db_int(&res, i, 1)), db_int(&res, i, 0));
        if (k == NULL)
            continue;
        if (egress_proxy_open(&k->proxy, enc_key, db_val(&res, i, 2), db_len(&res, i, 2)) != 0)
            log_error("the proxy of key %lld cannot be decrypted", k->id);
    }
    db_res_free(&res);
    return rc;
}

int pool_load_egress(struct db *db, struct pool *p, const unsigned char *enc_key)
{
    int rc = load_upstreams(db, p, enc_key);

    return rc == DB_OK ? load_keys(db, p, enc_key) : rc;
}
