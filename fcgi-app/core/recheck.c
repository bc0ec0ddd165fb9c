#include "core/recheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/probe.h"
#include "core/store.h"

/* The banned keys whose re-check is due: banned (or last probed) at least
 * recheck_banned_s ago.  updated_at moves when the key is banned. */
static int due_keys(struct db *db, struct db_res *res)
{
    return db_query(db,
                    "SELECT k.id FROM api_keys k JOIN upstreams u ON u.id = k.upstream_id"
                    " WHERE k.status = 'banned' AND u.recheck_banned_s IS NOT NULL"
                    " AND u.probe_method IS NOT NULL AND u.probe_path IS NOT NULL"
                    " AND GREATEST(COALESCE(k.banned_checked_at, k.updated_at), k.updated_at)"
                    " <= UTC_TIMESTAMP() - INTERVAL u.recheck_banned_s SECOND"
                    " ORDER BY k.id LIMIT ?",
                    DB_ARGS(DB_INT(RECHECK_MAX)), res);
}

static int mark_checked(struct db *db, long long key_id)
{
    return db_exec(db, "UPDATE api_keys SET banned_checked_at = UTC_TIMESTAMP() WHERE id = ?",
                   DB_ARGS(DB_INT(key_id)), NULL, NULL);
}

static int record(struct db *db, const struct probe_target *t, const struct probe_result *r,
                  long long *restored)
{
    struct key_change c;
    char why[96];
    bool changed = false;
    int rc = mark_checked(db, t->key_id);

    if (rc != DB_OK || !r->ok)
        return rc;
    memset(&c, 0, sizeof(c));
    snprintf(why, sizeof(why), "re-check of a banned key: the probe passed (%d)", r->status);
    c.key_id = t->key_id;
    c.to = KEY_ACTIVE;
    c.reason = why;
    c.actor = "job";
    /* A person may have changed the key while it was probed: their
     * change stands. */
    c.only_from = "banned";
    rc = key_change_status(db, &c, &changed);
    if (rc == DB_OK && changed)
        (*restored)++;
    return rc == DB_EFAIL ? DB_OK : rc; /* deleted meanwhile */
}

int recheck_banned(struct db *db, const unsigned char enc_key[32], long long *probed,
                   long long *restored)
{
    struct probe_target *t = NULL, **p = NULL;
    struct probe_result *res = NULL;
    struct db_res due;
    size_t n = 0, i;
    int rc = due_keys(db, &due);

    *probed = *restored = 0;
    if (rc == DB_OK) {
        t = calloc(due.nrows + 1, sizeof(*t));
        p = calloc(due.nrows + 1, sizeof(*p));
        res = calloc(due.nrows + 1, sizeof(*res));
        if (t == NULL || p == NULL || res == NULL)
            rc = DB_EFAIL;
    }
    /* A key that cannot be loaded (deleted meanwhile, not decryptable)
     * waits for its next re-check like any other. */
    for (i = 0; rc == DB_OK && i < due.nrows; i++) {
        long long id = db_int(&due, (unsigned)i, 0);
        if (probe_load(db, enc_key, id, &t[n]) == DB_OK) {
            p[n] = &t[n];
            n++;
        } else {
            rc = mark_checked(db, id);
        }
    }
    if (rc == DB_OK)
        probe_run_many(p, n, RECHECK_PARALLEL, res);
    for (i = 0; rc == DB_OK && i < n; i++)
        rc = record(db, &t[i], &res[i], restored);
    *probed = (long long)n;
    for (i = 0; i < n; i++)
        probe_target_free(&t[i]);
    db_res_free(&due);
    free(t);
    free(p);
    free(res);
    return rc;
}
