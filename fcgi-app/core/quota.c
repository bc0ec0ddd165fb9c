#include "core/quota.h"

#include "core/db.h"

/* The current minute of the database's clock, shared by every host. */
#define MINUTE "(UNIX_TIMESTAMP() DIV 60)"

/* The block: the smallest of what is asked, a quarter of the daily budget
 * left (at least 1) and a quarter of the minute's budget left (at least
 * 1).  SET assignments run left to right, so every later one reads @g
 * and the old rpm window. */
#define GRANT_SET                                                                                  \
    " SET leased = leased + (@g := LEAST(?,"                                                       \
    " IF(daily_quota = 0, ?, GREATEST(1, (daily_quota - used_today - leased) DIV 4)),"             \
    " IF(rpm_limit = 0, ?, GREATEST(1, (rpm_limit - IF(rpm_window = " MINUTE                       \
    ", rpm_count, 0)) DIV 4)))),"                                                                  \
    " rpm_count = IF(rpm_window = " MINUTE ", rpm_count + @g, @g),"                                \
    " rpm_window = (@w := " MINUTE "), quota_epoch = (@e := quota_epoch)"                          \
    " WHERE id = ?"

#define GRANT_LIMITS                                                                               \
    " AND (daily_quota = 0 OR used_today + leased < daily_quota)"                                  \
    " AND (rpm_limit = 0 OR rpm_window <> " MINUTE " OR rpm_count < rpm_limit)"

struct grant {
    enum quota_kind kind;
    long long id, want;
    struct quota_block *b;
};

/* The grant's UPDATE and the SELECT of what it set, on one connection
 * (the caller pins it): @g, @e and @w are that connection's session
 * variables.  Both run outside a transaction, so that the UPDATE alone is
 * what other writers of the row can conflict with, and a conflict runs it
 * again at once (db.c's statement retry). */
static int grant_body(struct db *db, void *arg)
{
    struct grant *g = arg;
    const char *sql = g->kind == QUOTA_KEY ? "UPDATE api_keys" GRANT_SET
                                             " AND status = 'active'" GRANT_LIMITS
                                           : "UPDATE client_tokens" GRANT_SET GRANT_LIMITS;
    unsigned long long n = 0;
    struct db_res res;
    int rc;

    g->b->units = 0;
    rc = db_exec(db, sql, DB_ARGS(DB_INT(g->want), DB_INT(g->want), DB_INT(g->want), DB_INT(g->id)),
                 &n, NULL);
    if (rc != DB_OK || n != 1)
        return rc;
    rc = db_query(db, "SELECT @g, @e, @w, (@w + 1) * 60000 - FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000)",
                  DB_NOARGS, &res);
    if (rc == DB_OK && res.nrows != 1)
        rc = DB_EFAIL;
    if (rc == DB_OK) {
        g->b->units = db_int(&res, 0, 0);
        g->b->epoch = db_int(&res, 0, 1);
        g->b->window = db_int(&res, 0, 2);
        g->b->left_ms = db_int(&res, 0, 3);
    }
    db_res_free(&res);
    return rc;
}

int quota_grant(struct db *db, enum quota_kind kind, long long id, long long want,
                struct quota_block *b)
{
    struct grant g = {kind, id, want, b};
    int rc = db_pin(db);

    if (rc == DB_OK)
        rc = grant_body(db, &g);
    db_unpin(db);
    if (rc != DB_OK)
        b->units = 0; /* units the UPDATE leased stay leased: never too many */
    return rc;
}

/* quota_grant's statement when its block is want (a quarter of what is
 * left covers it) and no rpm limit applies: the same changes, with no @g
 * to read back. */
#define GRANT_WHOLE_SET                                                                            \
    " SET leased = leased + ?,"                                                                    \
    " rpm_count = IF(rpm_window = " MINUTE ", rpm_count + ?, ?), rpm_window = " MINUTE             \
    " WHERE id = ? AND quota_epoch = ? AND rpm_limit = 0 AND daily_quota > 0"                      \
    " AND (daily_quota - used_today - leased) DIV 4 >= ?"

int quota_grant_whole(struct db *db, enum quota_kind kind, long long id, long long want,
                      long long epoch, bool *whole)
{
    const char *sql = kind == QUOTA_KEY ? "UPDATE api_keys" GRANT_WHOLE_SET " AND status = 'active'"
                                        : "UPDATE client_tokens" GRANT_WHOLE_SET;
    unsigned long long n = 0;
    int rc;

    rc = db_exec(
        db, sql,
        DB_ARGS(DB_INT(want), DB_INT(want), DB_INT(want), DB_INT(id), DB_INT(epoch), DB_INT(want)),
        &n, NULL);
    *whole = rc == DB_OK && n == 1;
    return rc;
}

/* What a settlement changes on either table: spent units from leased to
 * used_today (only within the lease's epoch), unused ones back from leased
 * and, while their minute lasts, from rpm_count. */
#define SETTLE_SET                                                                                 \
    " SET used_today = used_today + IF(quota_epoch = ?, ?, 0),"                                    \
    " leased = IF(quota_epoch = ?, GREATEST(leased - ? - ?, 0), leased),"                          \
    " rpm_count = IF(rpm_window = ? AND rpm_window = " MINUTE                                      \
    ", GREATEST(rpm_count - ?, 0), rpm_count),"                                                    \
    " last_used_at = IF(? = 0, last_used_at, UTC_TIMESTAMP())"

int quota_settle(struct db *db, enum quota_kind kind, const struct quota_settlement *s)
{
    long long used = s->spent + s->stale;

    if (kind == QUOTA_TOKEN)
        return db_exec(db, "UPDATE client_tokens" SETTLE_SET " WHERE id = ?",
                       DB_ARGS(DB_INT(s->epoch), DB_INT(s->spent), DB_INT(s->epoch),
                               DB_INT(s->spent), DB_INT(s->unused), DB_INT(s->window),
                               DB_INT(s->rpm_back), DB_INT(used), DB_INT(s->id)),
                       NULL, NULL);
    /* Keys count their requests here too. */
    return db_exec(
        db, "UPDATE api_keys" SETTLE_SET ", total_requests = total_requests + ? WHERE id = ?",
        DB_ARGS(DB_INT(s->epoch), DB_INT(s->spent), DB_INT(s->epoch), DB_INT(s->spent),
                DB_INT(s->unused), DB_INT(s->window), DB_INT(s->rpm_back), DB_INT(used),
                DB_INT(used), DB_INT(s->id)),
        NULL, NULL);
}

int quota_token_refusal(struct db *db, long long token_id, bool *daily, long long *retry_after_s)
{
    struct db_res res;
    int rc;

    rc = db_query(db,
                  "SELECT daily_quota > 0 AND used_today + leased >= daily_quota,"
                  " 60 - UNIX_TIMESTAMP() MOD 60 FROM client_tokens WHERE id = ?",
                  DB_ARGS(DB_INT(token_id)), &res);
    *daily = db_int(&res, 0, 0) != 0;
    *retry_after_s = res.nrows > 0 ? db_int(&res, 0, 1) : 1;
    db_res_free(&res);
    return rc;
}
