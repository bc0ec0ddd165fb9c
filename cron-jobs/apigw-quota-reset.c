/*
 * apigw-quota-reset: the daily reset.  At quota_reset_hour in
 * quota_reset_tz it sets every client token's used_today to 0, and the
 * keys' of every upstream that follows that global reset, and returns
 * their exhausted keys to active (and ends their keys' rests for one model
 * until the reset, core/model_block.h).  An upstream with its own
 * quota_reset_hour / quota_reset_tz has its keys reset at its own hour in
 * its own zone instead.  Run it hourly: each reset acts only within its
 * hour, once (remembered in job_state), unless --force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/db.h"
#include "core/store.h"
#include "core/resettime.h"
#include "core/resetzone.h"
#include "job.h"

static const struct job_info info = {
    .name = "apigw-quota-reset",
    .summary =
        "resets used_today and tokens_today of every key and client token and returns exhausted keys to"
        " active,\n  once a day at quota_reset_hour in quota_reset_tz, or at an upstream's own reset"
        " hour for its keys (run it hourly)",
    .has_force = true,
};

/* The keys of a set of upstreams (ids: a JSON array) go through this. */
#define IN_UPSTREAMS_BARE                                                                          \
    "upstream_id IN (SELECT j.id FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) j)"
#define IN_UPSTREAMS " " IN_UPSTREAMS_BARE

#define UPSTREAMS_MAX 10000

struct counts {
    long long keys, tokens, exhausted, blocks;
};

/* A reset that is due: the keys of the upstreams ids, and the tokens too
 * for the global one (own == NULL).  state/value: what job_state keeps. */
struct due {
    const char *own;
    char ids[32];
    char state[64], value[32];
    char day[16], hour_tz[96];
    struct counts c;
};

static void count(struct job *j, const char *ids, bool tokens, struct counts *c)
{
    struct db_res res;

    if (db_query(
            j->db,
            "SELECT (SELECT COUNT(*) FROM api_keys WHERE (used_today <> 0 OR tokens_today <> 0)"
            " AND" IN_UPSTREAMS "), (SELECT COUNT(*) FROM client_tokens"
            " WHERE ? AND (used_today <> 0 OR tokens_today <> 0)),"
            " (SELECT COUNT(*) FROM api_keys WHERE status = 'exhausted' AND" IN_UPSTREAMS ")",
            DB_ARGS(DB_STR(ids), DB_INT(tokens), DB_STR(ids)), &res) != DB_OK)
        job_fail(j, "cannot read the keys: %s", db_error(j->db));
    c->keys = db_int(&res, 0, 0);
    c->tokens = db_int(&res, 0, 1);
    c->exhausted = db_int(&res, 0, 2);
    db_res_free(&res);
}

static void state_value(struct job *j, const char *name, char *out, size_t len)
{
    struct db_res res;

    if (db_query(j->db, "SELECT value FROM job_state WHERE name = ?", DB_ARGS(DB_STR(name)),
                 &res) != DB_OK)
        job_fail(j, "cannot read job_state: %s", db_error(j->db));
    snprintf(out, len, "%s", res.nrows > 0 && db_val(&res, 0, 0) ? db_val(&res, 0, 0) : "");
    db_res_free(&res);
}

/* The upstreams that follow the global reset, as a JSON array. */
static void global_ids(struct job *j, struct buf *ids)
{
    struct db_res res;
    unsigned i;

    if (db_query(j->db,
                 "SELECT id FROM upstreams WHERE quota_reset_hour IS NULL"
                 " AND quota_reset_tz IS NULL ORDER BY id",
                 DB_NOARGS, &res) != DB_OK)
        job_fail(j, "cannot read the upstreams: %s", db_error(j->db));
    buf_puts(ids, "[");
    for (i = 0; i < res.nrows; i++)
        buf_printf(ids, "%s%lld", i > 0 ? "," : "", db_int(&res, i, 0));
    buf_puts(ids, "]");
    db_res_free(&res);
}

static int reset_keys(struct db *db, const char *ids, struct counts *done)
{
    unsigned long long n = 0;
    int rc;

    rc = db_exec(db,
                 "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor)"
                 " SELECT id, UTC_TIMESTAMP(3), 'exhausted', 'active', 'quota reset', 'cron'"
                 " FROM api_keys WHERE status = 'exhausted' AND" IN_UPSTREAMS,
                 DB_ARGS(DB_STR(ids)), NULL, NULL);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE api_keys SET status = 'active', disabled_until = NULL,"
                     " status_reason = 'quota reset', updated_at = UTC_TIMESTAMP()"
                     " WHERE status = 'exhausted' AND" IN_UPSTREAMS,
                     DB_ARGS(DB_STR(ids)), &n, NULL);
    done->exhausted = (long long)n;
    /* Rests of these keys for one model until the reset end with it too. */
    if (rc == DB_OK)
        rc = db_exec(db,
                     "DELETE b FROM key_model_blocks b JOIN api_keys k ON k.id = b.key_id"
                     " WHERE b.kind = 'exhausted' AND k." IN_UPSTREAMS_BARE,
                     DB_ARGS(DB_STR(ids)), &n, NULL);
    done->blocks = (long long)n;
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE api_keys SET used_today = 0, tokens_today = 0"
                     " WHERE (used_today <> 0 OR tokens_today <> 0) AND" IN_UPSTREAMS,
                     DB_ARGS(DB_STR(ids)), &n, NULL);
    done->keys = (long long)n;
    /* Blocks leased before the reset are void: a new epoch, nothing leased. */
    if (rc == DB_OK)
        rc = db_exec(
            db, "UPDATE api_keys SET leased = 0, quota_epoch = quota_epoch + 1 WHERE" IN_UPSTREAMS,
            DB_ARGS(DB_STR(ids)), NULL, NULL);
    return rc;
}

static int reset_tokens(struct db *db, struct counts *done)
{
    unsigned long long n = 0;
    int rc;

    rc = db_exec(db,
                 "UPDATE client_tokens SET used_today = 0, tokens_today = 0"
                 " WHERE used_today <> 0 OR tokens_today <> 0",
                 DB_NOARGS, &n, NULL);
    done->tokens = (long long)n;
    if (rc == DB_OK)
        rc = db_exec(db, "UPDATE client_tokens SET leased = 0, quota_epoch = quota_epoch + 1",
                     DB_NOARGS, NULL, NULL);
    return rc;
}

struct reset_tx {
    struct due *due;
    size_t ndue;
    const char *global_ids;
};

/* Every due reset in one transaction, with what job_state remembers. */
static int reset_body(struct db *db, void *arg)
{
    struct reset_tx *t = arg;
    size_t i;
    int rc = DB_OK;

    for (i = 0; rc == DB_OK && i < t->ndue; i++) {
        struct due *d = &t->due[i];
        rc = reset_keys(db, d->own != NULL ? d->ids : t->global_ids, &d->c);
        if (rc == DB_OK && d->own == NULL)
            rc = reset_tokens(db, &d->c);
        if (rc == DB_OK)
            rc = db_exec(db,
                         "INSERT INTO job_state (name, value, updated_at)"
                         " VALUES (?, ?, UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE"
                         " value = VALUES(value), updated_at = UTC_TIMESTAMP()",
                         DB_ARGS(DB_STR(d->state), DB_STR(d->value)), NULL, NULL);
    }
    /* What deleted upstreams left behind. */
    if (rc == DB_OK)
        rc = db_exec(db,
                     "DELETE FROM job_state WHERE name LIKE 'quota\\_reset\\_up:%'"
                     " AND CAST(SUBSTRING(name, 16) AS UNSIGNED) NOT IN (SELECT id FROM upstreams)",
                     DB_NOARGS, NULL, NULL);
    if (rc == DB_OK)
        rc = store_bump_version(db);
    return rc;
}

/* The upstreams with their own reset whose reset is due now (all with
 * --force), appended to due; each remembers the instant of the reset it
 * did (job_state quota_reset_up:ID), so that a change of its hour or zone
 * neither repeats nor skips one. */
static size_t own_due(struct job *j, time_t now, struct due *due, size_t max)
{
    struct db_res res;
    size_t n = 0;
    unsigned i;

    if (db_query(j->db,
                 "SELECT id, name, COALESCE(quota_reset_hour, -1), COALESCE(quota_reset_tz, '')"
                 " FROM upstreams WHERE quota_reset_hour IS NOT NULL OR quota_reset_tz IS NOT NULL"
                 " ORDER BY id",
                 DB_NOARGS, &res) != DB_OK)
        job_fail(j, "cannot read the upstreams: %s", db_error(j->db));
    for (i = 0; i < res.nrows && n < max; i++) {
        struct due *d = &due[n];
        const char *tz = db_val(&res, i, 3);
        int hour = (int)db_int(&res, i, 2);
        char done[64];
        time_t last;

        memset(d, 0, sizeof(*d));
        last = reset_day_for(tz, hour, now, d->day);
        snprintf(d->ids, sizeof(d->ids), "[%lld]", db_int(&res, i, 0));
        snprintf(d->state, sizeof(d->state), "quota_reset_up:%lld", db_int(&res, i, 0));
        clock_rfc3339(last, d->value, sizeof(d->value));
        snprintf(d->hour_tz, sizeof(d->hour_tz), "%02d:00 %s",
                 hour >= 0 ? hour : (int)j->cfg.quota_reset_hour,
                 tz[0] != '\0' && reset_zone_known(tz) ? tz : j->cfg.quota_reset_tz);
        state_value(j, d->state, done, sizeof(done));
        if (!j->force && (strcmp(done, d->value) >= 0 || now - last >= 3600))
            continue;
        d->own = strdup(db_val(&res, i, 1));
        if (d->own == NULL)
            job_fail(j, "out of memory");
        n++;
    }
    db_res_free(&res);
    return n;
}

static void say(struct job *j, const struct due *d)
{
    if (d->own != NULL && j->dry_run)
        job_say(j,
                "upstream %s: would reset used_today of %lld keys and return %lld exhausted keys to"
                " active (reset of %s, %s)",
                d->own, d->c.keys, d->c.exhausted, d->day, d->hour_tz);
    else if (d->own != NULL)
        job_say(j,
                "upstream %s: reset used_today of %lld keys, returned %lld exhausted keys to active"
                " (reset of %s, %s)",
                d->own, d->c.keys, d->c.exhausted, d->day, d->hour_tz);
    else if (j->dry_run)
        job_say(j,
                "would reset used_today of %lld keys and %lld tokens and return %lld exhausted "
                "keys to active (reset of %s)",
                d->c.keys, d->c.tokens, d->c.exhausted, d->day);
    else
        job_say(j,
                "reset used_today of %lld keys and %lld tokens, returned %lld exhausted keys to "
                "active (reset of %s)",
                d->c.keys, d->c.tokens, d->c.exhausted, d->day);
    if (!j->dry_run && d->c.blocks > 0)
        job_say(j, "ended %lld rests for a model until the reset", d->c.blocks);
}

int main(int argc, char **argv)
{
    char done_day[64], next[32];
    struct due *due;
    struct reset_tx t;
    struct buf ids;
    struct job j;
    time_t now = time(NULL), last;
    size_t i, n;
    bool global;

    job_start(&j, &info, argc, argv);
    job_lock(&j, "apigw_quota_reset");
    if (reset_schedule_init(j.cfg.quota_reset_tz, (int)j.cfg.quota_reset_hour, now) != 0)
        job_fail(&j, "unknown time zone %s", j.cfg.quota_reset_tz);
    if ((due = calloc(UPSTREAMS_MAX + 1, sizeof(*due))) == NULL)
        job_fail(&j, "out of memory");
    n = own_due(&j, now, due, UPSTREAMS_MAX);

    /* The global reset: the tokens, and the keys of upstreams without their own. */
    last = reset_schedule_prev(now);
    reset_schedule_day(now, due[n].day);
    snprintf(due[n].state, sizeof(due[n].state), "quota_reset_day");
    snprintf(due[n].value, sizeof(due[n].value), "%s", due[n].day);
    state_value(&j, "quota_reset_day", done_day, sizeof(done_day));
    clock_rfc3339(reset_schedule_next(now), next, sizeof(next));
    global = j.force || (strcmp(done_day, due[n].day) != 0 && now - last < 3600);
    buf_init(&ids, (size_t)UPSTREAMS_MAX * 24);
    global_ids(&j, &ids);
    t.due = due;
    t.ndue = n + global;
    t.global_ids = ids.data;
    for (i = 0; j.dry_run && i < t.ndue; i++)
        count(&j, due[i].own != NULL ? due[i].ids : ids.data, due[i].own == NULL, &due[i].c);
    if (!j.dry_run && t.ndue > 0 && db_transaction(j.db, reset_body, &t) != DB_OK)
        job_fail(&j, "the reset failed: %s", db_error(j.db));
    for (i = 0; i < t.ndue; i++)
        say(&j, &due[i]);
    if (!global && strcmp(done_day, due[n].day) == 0)
        job_say(&j, "nothing to do: the reset of %s is done (next at %s)", due[n].day, next);
    else if (!global)
        job_say(&j, "nothing to do: outside the reset hour (%02lld:00 %s; next at %s)",
                j.cfg.quota_reset_hour, j.cfg.quota_reset_tz, next);
    for (i = 0; i < n; i++)
        free((char *)due[i].own);
    free(due);
    buf_free(&ids);
    job_end(&j);
    return 0;
}
