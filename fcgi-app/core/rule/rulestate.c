#include "core/rule/rulestate.h"

#include "core/db.h"

/* Unix seconds of the database's clock, shared by every host. */
#define NOW "UNIX_TIMESTAMP()"

struct hit_tx {
    long long rule_id, key_id, threshold, window_s, cooldown_s;
    bool fire;
};

/* Counts the match and decides on the locked row, so that matches from
 * other processes wait their turn instead of being lost between a count
 * and a reset. */
static int hit_body(struct db *db, void *arg)
{
    struct hit_tx *t = arg;
    struct db_res res;
    long long now, hits, start, last;
    int rc;

    t->fire = false;
    /* The row's lock first: an INSERT IGNORE of an existing row would take
     * a shared lock that FOR UPDATE then upgrades, which deadlocks. */
    rc = db_query(db,
                  "SELECT " NOW ", hits, window_start, last_fired FROM rule_hits"
                  " WHERE rule_id = ? AND key_id = ? FOR UPDATE",
                  DB_ARGS(DB_INT(t->rule_id), DB_INT(t->key_id)), &res);
    if (rc != DB_OK) {
        db_res_free(&res);
        return rc;
    }
    if (res.nrows == 0) {
        /* The first match: a concurrent first match makes this a duplicate,
         * and the transaction runs again, then finding the row. */
        db_res_free(&res);
        rc = db_exec(db,
                     "INSERT INTO rule_hits (rule_id, key_id, window_start, hits, last_fired)"
                     " VALUES (?, ?, " NOW ", 0, 0)",
                     DB_ARGS(DB_INT(t->rule_id), DB_INT(t->key_id)), NULL, NULL);
        if (rc == DB_EDUP)
            return DB_ERETRY;
        if (rc != DB_OK)
            return rc;
        rc = db_query(db,
                      "SELECT " NOW ", hits, window_start, last_fired FROM rule_hits"
                      " WHERE rule_id = ? AND key_id = ? FOR UPDATE",
                      DB_ARGS(DB_INT(t->rule_id), DB_INT(t->key_id)), &res);
        if (rc != DB_OK || res.nrows == 0) {
            db_res_free(&res);
            return rc != DB_OK ? rc : DB_EFAIL;
        }
    }
    now = db_int(&res, 0, 0);
    hits = db_int(&res, 0, 1);
    start = db_int(&res, 0, 2);
    last = db_int(&res, 0, 3);
    db_res_free(&res);
    /* A match in an expired window starts a new one. */
    if (start <= now - t->window_s) {
        hits = 0;
        start = now;
    }
    hits++;
    if (hits >= t->threshold && (last == 0 || last <= now - t->cooldown_s)) {
        t->fire = true;
        hits = 0; /* firing starts a new count */
        start = now;
        last = now;
    }
    return db_exec(
        db,
        "UPDATE rule_hits SET hits = ?, window_start = ?, last_fired = ?"
        " WHERE rule_id = ? AND key_id = ?",
        DB_ARGS(DB_INT(hits), DB_INT(start), DB_INT(last), DB_INT(t->rule_id), DB_INT(t->key_id)),
        NULL, NULL);
}

int rulestate_hit(struct db *db, long long rule_id, long long key_id, long long threshold,
                  long long window_s, long long cooldown_s, bool *fire)
{
    struct hit_tx t = {rule_id, key_id, threshold, window_s, cooldown_s, false};
    int rc = db_transaction(db, hit_body, &t);

    *fire = rc == DB_OK && t.fire;
    return rc;
}

int rulestate_guard(struct db *db, long long upstream_id, long long keys_total, long long max_pct,
                    long long window_s, bool *allowed, bool *alert)
{
    long long budget = keys_total * max_pct / 100;
    long long min_usable = (keys_total * (100 - max_pct) + 99) / 100;
    unsigned long long n = 0;
    struct db_res res;
    bool room;
    int rc;

    *allowed = *alert = false;
    /* Keys taken out before this window count too: never fewer than
     * (100 - max_pct)% of the keys stay active. */
    rc = db_query(db, "SELECT COUNT(*) FROM api_keys WHERE upstream_id = ? AND status = 'active'",
                  DB_ARGS(DB_INT(upstream_id)), &res);
    room = rc == DB_OK && db_int(&res, 0, 0) - 1 >= min_usable;
    db_res_free(&res);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(db,
                 "INSERT INTO upstream_guard (upstream_id, window_start, actions, alerted)"
                 " VALUES (?, " NOW ", 0, 0) ON DUPLICATE KEY UPDATE"
                 " actions = IF(window_start <= " NOW " - ?, 0, actions),"
                 " alerted = IF(window_start <= " NOW " - ?, 0, alerted),"
                 " window_start = IF(window_start <= " NOW " - ?, " NOW ", window_start)",
                 DB_ARGS(DB_INT(upstream_id), DB_INT(window_s), DB_INT(window_s), DB_INT(window_s)),
                 NULL, NULL);
    if (rc != DB_OK)
        return rc;
    if (room)
        rc = db_exec(db,
                     "UPDATE upstream_guard SET actions = actions + 1"
                     " WHERE upstream_id = ? AND actions < ?",
                     DB_ARGS(DB_INT(upstream_id), DB_INT(budget)), &n, NULL);
    if (rc != DB_OK)
        return rc;
    if (n == 1) {
        *allowed = true;
        return DB_OK;
    }
    rc = db_exec(db, "UPDATE upstream_guard SET alerted = 1 WHERE upstream_id = ? AND alerted = 0",
                 DB_ARGS(DB_INT(upstream_id)), &n, NULL);
    *alert = rc == DB_OK && n == 1;
    return rc;
}
