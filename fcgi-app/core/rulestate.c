#include "rulestate.h"

#include "db.h"

/* Unix seconds of the database's clock, shared by every host. */
#define NOW "UNIX_TIMESTAMP()"

int rulestate_hit(struct db *db, long long rule_id, long long key_id, long long threshold,
                  long long window_s, long long cooldown_s, bool *fire)
{
    unsigned long long n = 0;
    int rc;

    *fire = false;
    /* A match in an expired window starts a new one (assignments run left
     * to right: hits reads the old window_start). */
    rc = db_exec(db,
                 "INSERT INTO rule_hits (rule_id, key_id, window_start, hits, last_fired)"
                 " VALUES (?, ?, " NOW ", 1, 0) ON DUPLICATE KEY UPDATE"
                 " hits = IF(window_start <= " NOW " - ?, 1, hits + 1),"
                 " window_start = IF(window_start <= " NOW " - ?, " NOW ", window_start)",
                 DB_ARGS(DB_INT(rule_id), DB_INT(key_id), DB_INT(window_s), DB_INT(window_s)), NULL,
                 NULL);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(db,
                 "UPDATE rule_hits SET last_fired = " NOW ", hits = 0, window_start = " NOW
                 " WHERE rule_id = ? AND key_id = ? AND hits >= ?"
                 " AND (last_fired = 0 OR last_fired <= " NOW " - ?)",
                 DB_ARGS(DB_INT(rule_id), DB_INT(key_id), DB_INT(threshold), DB_INT(cooldown_s)),
                 &n, NULL);
    *fire = rc == DB_OK && n == 1;
    return rc;
}

int rulestate_guard(struct db *db, long long upstream_id, long long keys_total, long long max_pct,
                    long long window_s, bool *allowed, bool *alert)
{
    long long budget = keys_total * max_pct / 100;
    unsigned long long n = 0;
    int rc;

    *allowed = *alert = false;
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
