/*
 * apigw-recover: returns disabled keys whose disabled_until has passed to
 * active.  When the key's upstream has a probe (probe_method, probe_path),
 * each key is probed first, a few at a time: one that passes comes back,
 * one that fails stays disabled for longer (1 min, 2, 4, ... up to a day)
 * with a row in its history.  Banned and exhausted keys are left alone
 * (exhausted ones come back with apigw-quota-reset).
 *
 * Rests of a key for one model (core/model_block.h) whose time has passed
 * are deleted; they are never probed, on any upstream: the pool stops
 * honouring them when their time passes, and the key's other models tell
 * its health meanwhile (a probe names no model).
 *
 * Then it checks capacity (core/capacity.h) and raises the capacity alerts,
 * delivering their webhooks before it ends.  The check lives here because
 * this job already runs every minute on every installation under one
 * cross-host lock, and it sees the keys it has just recovered; a job of its
 * own would need one more timer for the same minute.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alert.h"
#include "core/capacity.h"
#include "core/db.h"
#include "core/store.h"
#include "core/probe.h"
#include "job.h"

#define PARALLEL      4
#define BACKOFF_MIN_S 60
#define BACKOFF_MAX_S 86400

static const struct job_info info = {
    "apigw-recover",
    "returns disabled keys whose disabled_until has passed to active, probing each first\n"
    "  when its upstream has a probe",
    NULL,
    false,
    false,
    false};

static struct db_res due_keys(struct job *j)
{
    struct db_res res;

    if (db_query(j->db,
                 "SELECT id FROM api_keys WHERE status = 'disabled' AND disabled_until IS NOT NULL"
                 " AND disabled_until <= UTC_TIMESTAMP() ORDER BY id LIMIT 10000",
                 DB_NOARGS, &res) != DB_OK)
        job_fail(j, "cannot read the keys: %s", db_error(j->db));
    return res;
}

/* Deletes the rests for one model whose time has passed: the pool already
 * ignores them, so the pool version stays.  Returns how many. */
static long long delete_ended_blocks(struct job *j)
{
    unsigned long long n = 0;

    if (db_exec(
            j->db,
            "DELETE FROM key_model_blocks WHERE until IS NOT NULL AND until <= UTC_TIMESTAMP(6)",
            DB_NOARGS, &n, NULL) != DB_OK)
        job_fail(j, "cannot delete the ended rests for a model: %s", db_error(j->db));
    return (long long)n;
}

static void recover(struct job *j, const struct probe_target *t, const char *why, long long *n)
{
    struct key_change c;
    bool changed = false;

    memset(&c, 0, sizeof(c));
    c.key_id = t->key_id;
    c.to = KEY_ACTIVE;
    c.reason = why;
    c.actor = "cron";
    c.only_from = "disabled";
    c.only_due = true;
    /* A person may have changed the key while it was probed: their change
     * stands, and the key is not counted. */
    if (key_change_status(j->db, &c, &changed) != DB_OK ||
        (changed && db_exec(j->db, "UPDATE api_keys SET probe_failures = 0 WHERE id = ?",
                            DB_ARGS(DB_INT(t->key_id)), NULL, NULL) != DB_OK))
        job_fail(j, "cannot change key %lld: %s", t->key_id, db_error(j->db));
    if (changed)
        (*n)++;
}

/* A failed probe: the key rests longer each time, and its history says why. */
static void back_off(struct job *j, const struct probe_target *t, const struct probe_result *r,
                     long long *n)
{
    long long wait = BACKOFF_MIN_S << (t->probe_failures < 12 ? t->probe_failures : 12);
    char until[24], reason[96];
    unsigned long long changed = 0;
    time_t at;
    struct tm tm;
    int rc;

    if (wait > BACKOFF_MAX_S)
        wait = BACKOFF_MAX_S;
    at = time(NULL) + (time_t)wait;
    gmtime_r(&at, &tm);
    strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(reason, sizeof(reason), "probe failed; next try in %lld s", wait);
    rc = db_exec(j->db,
                 "UPDATE api_keys SET disabled_until = ?, probe_failures = probe_failures + 1,"
                 " status_reason = 'probe failed', updated_at = UTC_TIMESTAMP() WHERE id = ?"
                 " AND status = 'disabled' AND disabled_until <= UTC_TIMESTAMP()",
                 DB_ARGS(DB_STR(until), DB_INT(t->key_id)), &changed, NULL);
    /* Only a key that is still disabled and due rests longer: one that a
     * person changed while it was probed keeps their change. */
    if (rc == DB_OK && changed == 0)
        return;
    if (rc == DB_OK)
        rc = db_exec(j->db,
                     "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor,"
                     " excerpt) VALUES (?, UTC_TIMESTAMP(3), 'disabled', 'disabled', ?, 'cron', ?)",
                     DB_ARGS(DB_INT(t->key_id), DB_STR(reason), DB_STR(r->error)), NULL, NULL);
    if (rc == DB_OK)
        rc = store_bump_version(j->db);
    if (rc != DB_OK)
        job_fail(j, "cannot change key %lld: %s", t->key_id, db_error(j->db));
    (*n)++;
}

/* Raises the capacity alerts and waits for their webhooks.  Says nothing
 * on success: the job's one line stays the keys' account. */
static void check_capacity(struct job *j)
{
    struct alerter *a = j->cfg.webhook_url[0] != '\0' ? alerter_start(&j->cfg) : NULL;
    struct capacity_run run;
    enum db_rc rc = capacity_check(j->db, a, &run);

    alerter_stop(a);
    if (rc != DB_OK)
        job_fail(j, "cannot check capacity: %s", db_error(j->db));
}

int main(int argc, char **argv)
{
    struct probe_target *targets, **probed;
    struct probe_result *results;
    long long recovered = 0, failing = 0, skipped = 0, blocks;
    size_t n = 0, np = 0, i;
    struct db_res due;
    struct job j;
    char why[96];

    job_start(&j, &info, argc, argv);
    job_lock(&j, "apigw_recover");
    due = due_keys(&j);
    targets = calloc(due.nrows + 1, sizeof(*targets));
    probed = calloc(due.nrows + 1, sizeof(*probed));
    results = calloc(due.nrows + 1, sizeof(*results));
    if (targets == NULL || probed == NULL || results == NULL)
        job_fail(&j, "out of memory");
    for (i = 0; i < due.nrows; i++) {
        if (probe_load(j.db, j.cfg.enc_key, db_int(&due, (unsigned)i, 0), &targets[n]) != DB_OK) {
            skipped++; /* deleted meanwhile, or not decryptable: logged by the next proxy load */
            continue;
        }
        if (targets[n].method != NULL && targets[n].path != NULL)
            probed[np++] = &targets[n];
        n++;
    }
    db_res_free(&due);
    if (j.dry_run) {
        job_say(&j, "would recover up to %zu keys (%zu after a probe)", n, np);
    } else {
        probe_run_many(probed, np, PARALLEL, results);
        for (i = 0; i < np; i++) {
            if (results[i].ok) {
                snprintf(why, sizeof(why), "recovered: the probe passed (%d)", results[i].status);
                recover(&j, probed[i], why, &recovered);
            } else {
                back_off(&j, probed[i], &results[i], &failing);
            }
        }
        for (i = 0; i < n; i++)
            if (targets[i].method == NULL || targets[i].path == NULL)
                recover(&j, &targets[i], "recovered: disabled_until passed", &recovered);
        job_say(&j, "recovered %lld keys, %lld still failing", recovered, failing);
        if ((blocks = delete_ended_blocks(&j)) > 0)
            job_say(&j, "deleted %lld ended rests for a model", blocks);
        check_capacity(&j);
    }
    if (skipped > 0)
        fprintf(stderr, "apigw-recover: %lld keys could not be read\n", skipped);
    for (i = 0; i < n; i++)
        probe_target_free(&targets[i]);
    free(targets);
    free(probed);
    free(results);
    job_end(&j);
    return 0;
}
