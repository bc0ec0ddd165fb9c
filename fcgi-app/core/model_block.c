/* Keys rested for one model: the stored side (core/model_block.h). */
#include "core/model_block.h"

#include <stdio.h>
#include <string.h>

#include "core/store.h"

struct put_tx {
    const struct model_block *b;
    char model[MODEL_BLOCK_MODEL_MAX + 1];
    const char *until; /* NULL: until enabled */
    bool put;
};

static int put_body(struct db *db, void *arg)
{
    struct put_tx *t = arg;
    const struct model_block *b = t->b;
    const char *kind = b->exhausted ? "exhausted" : "disabled";
    struct db_res res;
    int rc;

    t->put = false;
    rc = db_query(db, "SELECT status FROM api_keys WHERE id = ? FOR UPDATE",
                  DB_ARGS(DB_INT(b->key_id)), &res);
    /* Gone, or changed meanwhile (a ban by hand, a key-wide rest in
     * another process): that decision stands. */
    if (rc != DB_OK || res.nrows == 0 || strcmp(db_val(&res, 0, 0), "active") != 0)
        goto out;
    rc = db_exec(db,
                 "INSERT INTO key_model_blocks (key_id, model, kind, until, reason, created_at)"
                 " VALUES (?, ?, ?, ?, LEFT(?, 255), UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE"
                 " kind = VALUES(kind), until = VALUES(until), reason = VALUES(reason),"
                 " created_at = VALUES(created_at)",
                 DB_ARGS(DB_INT(b->key_id), DB_STR(t->model), DB_STR(kind), DB_STR(t->until),
                         DB_STR(b->reason)),
                 NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor,"
                     " rule_id, request_id, excerpt, model) VALUES (?, UTC_TIMESTAMP(3), 'active',"
                     " ?, LEFT(?, 255), ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_INT(b->key_id), DB_STR(kind), DB_STR(b->reason), DB_STR(b->actor),
                             b->rule_id > 0 ? DB_INT(b->rule_id) : DB_NULL, DB_STR(b->request_id),
                             DB_STR(b->excerpt), DB_STR(t->model)),
                     NULL, NULL);
    if (rc == DB_OK)
        rc = store_bump_version(db);
    t->put = rc == DB_OK;
out:
    db_res_free(&res);
    return rc;
}

enum db_rc model_block_put(struct db *db, const struct model_block *b, bool *put)
{
    struct put_tx t;
    char until[24];
    enum db_rc rc;

    memset(&t, 0, sizeof(t));
    t.b = b;
    snprintf(t.model, sizeof(t.model), "%s", b->model);
    t.until = store_sql_time(b->until, until, sizeof(until));
    rc = db_transaction(db, put_body, &t);
    if (put != NULL)
        *put = rc == DB_OK && t.put;
    return rc;
}
