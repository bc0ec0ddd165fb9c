/*
 * apigw-quota-reset: the daily reset.  At quota_reset_hour in
 * quota_reset_tz it sets every key's and client token's used_today to 0 and
 * returns exhausted keys to active (and ends the rests of keys for one
 * model until the reset, core/model_block.h).  Run it hourly: it acts only within the
 * reset hour, once per day (remembered in job_state), unless --force.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/db.h"
#include "core/store.h"
#include "core/resettime.h"
#include "job.h"

static const struct job_info info = {
    .name = "apigw-quota-reset",
    .summary =
        "resets used_today and tokens_today of every key and client token and returns exhausted keys to"
        " active,\n  once a day at quota_reset_hour in quota_reset_tz (run it hourly)",
    .has_force = true,
};

struct counts {
    long long keys, tokens, exhausted, blocks;
};

static void count(struct job *j, struct counts *c)
{
    struct db_res res;

    if (db_query(
            j->db,
            "SELECT (SELECT COUNT(*) FROM api_keys WHERE used_today <> 0 OR tokens_today <> 0),"
            " (SELECT COUNT(*) FROM client_tokens"
            " WHERE used_today <> 0 OR tokens_today <> 0),"
            " (SELECT COUNT(*) FROM api_keys WHERE status = 'exhausted')",
            DB_NOARGS, &res) != DB_OK)
        job_fail(j, "cannot read the keys: %s", db_error(j->db));
    c->keys = db_int(&res, 0, 0);
    c->tokens = db_int(&res, 0, 1);
    c->exhausted = db_int(&res, 0, 2);
    db_res_free(&res);
}

static void last_reset_day(struct job *j, char *out, size_t len)
{
    struct db_res res;

    if (db_query(j->db, "SELECT value FROM job_state WHERE name = 'quota_reset_day'", DB_NOARGS,
                 &res) != DB_OK)
        job_fail(j, "cannot read job_state: %s", db_error(j->db));
    snprintf(out, len, "%s", db_val(&res, 0, 0) ? db_val(&res, 0, 0) : "");
    db_res_free(&res);
}

struct reset_tx {
    const char *day;
    struct counts done;
};

static int reset_body(struct db *db, void *arg)
{
    struct reset_tx *t = arg;
    unsigned long long n = 0;
    int rc;

    rc = db_exec(db,
                 "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor)"
                 " SELECT id, UTC_TIMESTAMP(3), 'exhausted', 'active', 'quota reset', 'cron'"
                 " FROM api_keys WHERE status = 'exhausted'",
                 DB_NOARGS, NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE api_keys SET status = 'active', disabled_until = NULL,"
                     " status_reason = 'quota reset', updated_at = UTC_TIMESTAMP()"
                     " WHERE status = 'exhausted'",
                     DB_NOARGS, &n, NULL);
    t->done.exhausted = (long long)n;
    /* Rests for one model until the reset end with it too. */
    if (rc == DB_OK)
        rc = db_exec(db, "DELETE FROM key_model_blocks WHERE kind = 'exhausted'", DB_NOARGS, &n,
                     NULL);
    t->done.blocks = (long long)n;
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE api_keys SET used_today = 0, tokens_today = 0"
                     " WHERE used_today <> 0 OR tokens_today <> 0",
                     DB_NOARGS, &n, NULL);
    t->done.keys = (long long)n;
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE client_tokens SET used_today = 0, tokens_today = 0"
                     " WHERE used_today <> 0 OR tokens_today <> 0",
                     DB_NOARGS, &n, NULL);
    t->done.tokens = (long long)n;
    /* Blocks leased before the reset are void: a new epoch, nothing leased. */
    if (rc == DB_OK)
        rc = db_exec(db, "UPDATE api_keys SET leased = 0, quota_epoch = quota_epoch + 1", DB_NOARGS,
                     NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec(db, "UPDATE client_tokens SET leased = 0, quota_epoch = quota_epoch + 1",
                     DB_NOARGS, NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "INSERT INTO job_state (name, value, updated_at)"
                     " VALUES ('quota_reset_day', ?, UTC_TIMESTAMP())"
                     " ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = UTC_TIMESTAMP()",
                     DB_ARGS(DB_STR(t->day)), NULL, NULL);
    if (rc == DB_OK)
        rc = store_bump_version(db);
    return rc;
}

int main(int argc, char **argv)
{
    char day[16], done_day[64], next[32];
    struct reset_tx t;
    struct counts c;
    struct job j;
    time_t now = time(NULL), last;

    job_start(&j, &info, argc, argv);
    job_lock(&j, "apigw_quota_reset");
    if (reset_schedule_init(j.cfg.quota_reset_tz, (int)j.cfg.quota_reset_hour, now) != 0)
        job_fail(&j, "unknown time zone %s", j.cfg.quota_reset_tz);
    last = reset_schedule_prev(now);
    reset_schedule_day(now, day);
    last_reset_day(&j, done_day, sizeof(done_day));
    clock_rfc3339(reset_schedule_next(now), next, sizeof(next));
    if (!j.force && strcmp(done_day, day) == 0) {
        printf("nothing to do: the reset of %s is done (next at %s)\n", day, next);
        job_end(&j);
        return 0;
    }
    if (!j.force && now - last >= 3600) {
        printf("nothing to do: outside the reset hour (%02lld:00 %s; next at %s)\n",
               j.cfg.quota_reset_hour, j.cfg.quota_reset_tz, next);
        job_end(&j);
        return 0;
    }
    count(&j, &c);
    if (j.dry_run) {
        printf("would reset used_today of %lld keys and %lld tokens and return %lld exhausted "
               "keys to active (reset of %s)\n",
               c.keys, c.tokens, c.exhausted, day);
        job_end(&j);
        return 0;
    }
    memset(&t, 0, sizeof(t));
    t.day = day;
    if (db_transaction(j.db, reset_body, &t) != DB_OK)
        job_fail(&j, "the reset failed: %s", db_error(j.db));
    printf("reset used_today of %lld keys and %lld tokens, returned %lld exhausted keys to active "
           "(reset of %s)\n",
           t.done.keys, t.done.tokens, t.done.exhausted, day);
    if (t.done.blocks > 0)
        printf("ended %lld rests for a model until the reset\n", t.done.blocks);
    job_end(&j);
    return 0;
}
