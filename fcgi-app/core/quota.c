#include "core/quota.h"

#include "core/db.h"

/* The current minute of the database's clock, shared by every host. */
#define MINUTE "(UNIX_TIMESTAMP() DIV 60)"

int quota_reserve_key(struct db *db, long long key_id, bool *granted)
{
    unsigned long long n = 0;
    int rc;

    /* SET assignments run left to right: rpm_count reads the old window. */
    rc = db_exec(db,
                 "UPDATE api_keys SET rpm_count = IF(rpm_window = " MINUTE ", rpm_count + 1, 1),"
                 " rpm_window = " MINUTE ", used_today = used_today + 1,"
                 " total_requests = total_requests + 1, last_used_at = UTC_TIMESTAMP()"
                 " WHERE id = ? AND status = 'active'"
                 " AND (daily_quota = 0 OR used_today < daily_quota)"
                 " AND (rpm_limit = 0 OR rpm_window <> " MINUTE " OR rpm_count < rpm_limit)",
                 DB_ARGS(DB_INT(key_id)), &n, NULL);
    *granted = rc == DB_OK && n == 1;
    return rc;
}

int quota_reserve_token(struct db *db, long long token_id, bool *granted)
{
    unsigned long long n = 0;
    int rc;

    rc = db_exec(db,
                 "UPDATE client_tokens SET rpm_count = IF(rpm_window = " MINUTE
                 ", rpm_count + 1, 1), rpm_window = " MINUTE ", used_today = used_today + 1,"
                 " last_used_at = UTC_TIMESTAMP() WHERE id = ?"
                 " AND (daily_quota = 0 OR used_today < daily_quota)"
                 " AND (rpm_limit = 0 OR rpm_window <> " MINUTE " OR rpm_count < rpm_limit)",
                 DB_ARGS(DB_INT(token_id)), &n, NULL);
    *granted = rc == DB_OK && n == 1;
    return rc;
}

int quota_token_refusal(struct db *db, long long token_id, bool *daily, long long *retry_after_s)
{
    struct db_res res;
    int rc;

    rc = db_query(db,
                  "SELECT daily_quota > 0 AND used_today >= daily_quota,"
                  " 60 - UNIX_TIMESTAMP() MOD 60 FROM client_tokens WHERE id = ?",
                  DB_ARGS(DB_INT(token_id)), &res);
    *daily = db_int(&res, 0, 0) != 0;
    *retry_after_s = res.nrows > 0 ? db_int(&res, 0, 1) : 1;
    db_res_free(&res);
    return rc;
}
