/*
 * apigw-jobs: runs the key validation jobs that the admin API queued
 * (core/valjob.h), and the re-check of banned keys (core/recheck.h).  Run
 * every minute; each run works for at most --budget-s seconds (default 55)
 * and then stops between two batches, so that runs rarely overlap.
 *
 * Why a cron binary and not a thread of the application: a job lasts
 * minutes to hours, and the application's processes are restarted,
 * scaled and run on several hosts.  Here a job's cursor (its pending
 * results) and counts live in the database, a run takes a lock per job
 * (MariaDB GET_LOCK, so two runs on any hosts never probe the same job),
 * and the probes never take a request worker or a database connection of
 * the gateway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/db.h"
#include "core/mask.h"
#include "core/probe.h"
#include "core/probe_verdict.h"
#include "core/recheck.h"
#include "core/store.h"
#include "core/valjob.h"
#include "job.h"

#define BUDGET_DEFAULT_S 55
#define BUDGET_MAX_S     3600

static const struct job_info info = {
    "apigw-jobs",
    "runs the key validation jobs and re-checks banned keys (upstream recheck_banned_s)",
    "--budget-s SECONDS",
    false,
    false,
    false};

/* A job as a run sees it. */
struct vjob {
    long long id, upstream_id, concurrency, rps;
    /* The last key this run took: keys go in id order, so the next batch
     * reads on from it instead of past every key done (none pending can
     * lie below it). */
    long long after;
    char on_invalid[16];
    struct verdict_rules rules;
};

/* What one batch came to, added to the job's counts in one statement. */
struct tally {
    long long valid, invalid, inconclusive, last_key;
};

static int64_t deadline_ms;

static bool out_of_time(void)
{
    return clock_mono_ms() >= deadline_ms;
}

/* Takes the job's own lock without waiting; false when another run has it. */
static bool lock_job(struct job *j, long long id, bool take)
{
    char name[48];
    struct db_res res;
    bool got;

    snprintf(name, sizeof(name), "apigw_job_%lld", id);
    if (db_query(j->db, take ? "SELECT GET_LOCK(?, 0)" : "SELECT RELEASE_LOCK(?)",
                 DB_ARGS(DB_STR(name)), &res) != DB_OK)
        job_fail(j, "cannot take the lock %s: %s", name, db_error(j->db));
    got = db_int(&res, 0, 0) == 1;
    db_res_free(&res);
    return got;
}

/* Reads the job's state: false when it is no longer queued or running
 * (cancelled meanwhile). */
static bool job_open(struct job *j, struct vjob *v, bool load)
{
    struct db_res res;
    bool open;

    if (db_query(j->db,
                 "SELECT state, upstream_id, concurrency, IFNULL(rps, 0), on_invalid FROM jobs"
                 " WHERE id = ?",
                 DB_ARGS(DB_INT(v->id)), &res) != DB_OK)
        job_fail(j, "cannot read job %lld: %s", v->id, db_error(j->db));
    open = res.nrows == 1 && (strcmp(db_val(&res, 0, 0), "queued") == 0 ||
                              strcmp(db_val(&res, 0, 0), "running") == 0);
    if (open && load) {
        v->upstream_id = db_int(&res, 0, 1);
        v->concurrency = db_int(&res, 0, 2);
        v->rps = db_int(&res, 0, 3);
        snprintf(v->on_invalid, sizeof(v->on_invalid), "%s", db_val(&res, 0, 4));
    }
    db_res_free(&res);
    return open;
}

/* Applies on_invalid to an invalid key; returns what was done ("none",
 * "disabled", "banned", "deleted", or "kept" when the key already was so). */
static const char *apply(struct job *j, const struct vjob *v, const struct probe_target *t,
                         const struct probe_result *r, const char *rule)
{
    struct key_change c;
    struct mask_secret secret;
    char reason[200], excerpt[512];
    bool changed = false;
    int rc;

    if (strcmp(v->on_invalid, "none") == 0)
        return "none";
    if (strcmp(v->on_invalid, "delete") == 0) {
        unsigned long long n = 0;
        if (db_exec(j->db, "DELETE FROM api_keys WHERE id = ?", DB_ARGS(DB_INT(t->key_id)), &n,
                    NULL) != DB_OK ||
            store_bump_version(j->db) != DB_OK)
            job_fail(j, "cannot delete key %lld: %s", t->key_id, db_error(j->db));
        return n > 0 ? "deleted" : "kept";
    }
    memset(&c, 0, sizeof(c));
    c.key_id = t->key_id;
    c.to = strcmp(v->on_invalid, "ban") == 0 ? KEY_BANNED : KEY_DISABLED;
    /* A ban is never softened into a disable. */
    if (c.to == KEY_DISABLED && t->status != NULL && strcmp(t->status, "banned") == 0)
        return "kept";
    snprintf(reason, sizeof(reason), "validation job %lld: invalid (rule %s)", v->id, rule);
    mask_secret_init(&secret, t->key, t->key_len, t->masked);
    mask_text(excerpt, sizeof(excerpt), r->answer, r->answer_len, &secret, true);
    mask_secret_free(&secret);
    c.reason = reason;
    c.actor = "job";
    c.excerpt = excerpt;
    rc = key_change_status(j->db, &c, &changed);
    if (rc != DB_OK && rc != DB_EFAIL) /* DB_EFAIL: deleted meanwhile */
        job_fail(j, "cannot change key %lld: %s", t->key_id, db_error(j->db));
    if (!changed)
        return "kept";
    return c.to == KEY_BANNED ? "banned" : "disabled";
}

static void write_result(struct job *j, const struct vjob *v, long long key_id, const char *verdict,
                         const struct probe_result *r, const char *rule, const char *action)
{
    if (db_exec(j->db,
                "UPDATE job_results SET verdict = ?, status = ?, latency_ms = ?, rule_name = ?,"
                " action = ?, error = LEFT(?, 255), checked_at = UTC_TIMESTAMP()"
                " WHERE job_id = ? AND key_id = ?",
                DB_ARGS(DB_STR(verdict), r != NULL && r->status > 0 ? DB_INT(r->status) : DB_NULL,
                        r != NULL ? DB_INT(r->latency_ms) : DB_NULL,
                        rule != NULL && rule[0] ? DB_STR(rule) : DB_NULL, DB_STR(action),
                        r != NULL && r->error[0] ? DB_STR(r->error) : DB_NULL, DB_INT(v->id),
                        DB_INT(key_id)),
                NULL, NULL) != DB_OK)
        job_fail(j, "cannot write a result of job %lld: %s", v->id, db_error(j->db));
}

/* Judges and records one probed key. */
static void judge(struct job *j, const struct vjob *v, const struct probe_target *t,
                  const struct probe_result *r, struct tally *n)
{
    char rule[128];
    enum probe_verdict verdict = probe_verdict(&v->rules, t, r, rule, sizeof(rule));
    const char *action = verdict == VERDICT_INVALID ? apply(j, v, t, r, rule) : NULL;

    write_result(j, v, t->key_id, probe_verdict_name(verdict), r, rule, action);
    n->valid += verdict == VERDICT_VALID;
    n->invalid += verdict == VERDICT_INVALID;
    n->inconclusive += verdict == VERDICT_INCONCLUSIVE;
}

/* A key that cannot be probed (deleted meanwhile, not decryptable, or its
 * upstream lost its probe) is inconclusive, with why. */
static void unprobed(struct job *j, const struct vjob *v, long long key_id, const char *why,
                     struct tally *n)
{
    struct probe_result r;

    memset(&r, 0, sizeof(r));
    snprintf(r.error, sizeof(r.error), "%s", why);
    write_result(j, v, key_id, "inconclusive", &r, NULL, NULL);
    n->inconclusive++;
}

static void add_tally(struct job *j, const struct vjob *v, const struct tally *n, long long ms)
{
    if (db_exec(j->db,
                "UPDATE jobs SET processed = processed + ?, valid_count = valid_count + ?,"
                " invalid_count = invalid_count + ?, inconclusive_count = inconclusive_count + ?,"
                " cursor_key_id = GREATEST(cursor_key_id, ?), run_ms = run_ms + ?,"
                " updated_at = UTC_TIMESTAMP() WHERE id = ?",
                DB_ARGS(DB_INT(n->valid + n->invalid + n->inconclusive), DB_INT(n->valid),
                        DB_INT(n->invalid), DB_INT(n->inconclusive), DB_INT(n->last_key),
                        DB_INT(ms), DB_INT(v->id)),
                NULL, NULL) != DB_OK)
        job_fail(j, "cannot count job %lld: %s", v->id, db_error(j->db));
}

/* Counts the job's results again from its rows: a run that stopped between
 * writing a batch's results and counting them (killed, the database gone)
 * left the counts short, and those keys are not probed again. */
static void recount(struct job *j, long long id)
{
    if (db_exec(j->db,
                "UPDATE jobs SET processed = (SELECT COUNT(*) FROM job_results WHERE job_id = ?"
                " AND verdict IS NOT NULL), valid_count = (SELECT COUNT(*) FROM job_results"
                " WHERE job_id = ? AND verdict = 'valid'), invalid_count = (SELECT COUNT(*)"
                " FROM job_results WHERE job_id = ? AND verdict = 'invalid'),"
                " inconclusive_count = (SELECT COUNT(*) FROM job_results WHERE job_id = ?"
                " AND verdict = 'inconclusive') WHERE id = ?",
                DB_ARGS(DB_INT(id), DB_INT(id), DB_INT(id), DB_INT(id), DB_INT(id)), NULL,
                NULL) != DB_OK)
        job_fail(j, "cannot count job %lld: %s", id, db_error(j->db));
}

/* rps: a batch of n probes takes at least n/rps seconds from its start. */
static void pace(const struct vjob *v, size_t n, int64_t started)
{
    int64_t wait = v->rps > 0 ? (int64_t)n * 1000 / v->rps - (clock_mono_ms() - started) : 0;
    struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};

    if (wait > 0)
        nanosleep(&ts, NULL);
}

/* Probes the next batch of pending keys.  Returns how many keys it took
 * (0: none left).  The job's run_ms counts the batch's whole time, the
 * pacing included, so that its ETA holds. */
static size_t run_batch(struct job *j, struct vjob *v, size_t size)
{
    struct probe_target t[VALJOB_CONCURRENCY_MAX], *p[VALJOB_CONCURRENCY_MAX];
    struct probe_result r[VALJOB_CONCURRENCY_MAX];
    struct tally n = {0};
    int64_t started = clock_mono_ms();
    size_t np = 0, i;
    struct db_res keys;

    if (db_query(j->db,
                 "SELECT key_id FROM job_results WHERE job_id = ? AND key_id > ?"
                 " AND verdict IS NULL ORDER BY key_id LIMIT ?",
                 DB_ARGS(DB_INT(v->id), DB_INT(v->after), DB_INT((long long)size)), &keys) != DB_OK)
        job_fail(j, "cannot read job %lld: %s", v->id, db_error(j->db));
    memset(r, 0, sizeof(r));
    for (i = 0; i < keys.nrows; i++) {
        long long id = db_int(&keys, (unsigned)i, 0);
        n.last_key = id;
        v->after = id;
        if (probe_load(j->db, j->cfg.enc_key, id, &t[np]) != DB_OK)
            unprobed(j, v, id, "the key no longer exists or cannot be decrypted", &n);
        else if (t[np].method == NULL || t[np].path == NULL) {
            unprobed(j, v, id, "the upstream has no probe", &n);
            probe_target_free(&t[np]);
        } else {
            p[np] = &t[np];
            np++;
        }
    }
    probe_run_many(p, np, (int)v->concurrency, r);
    for (i = 0; i < np; i++) {
        judge(j, v, &t[i], &r[i], &n);
        probe_target_free(&t[i]);
    }
    pace(v, keys.nrows, started);
    if (keys.nrows > 0)
        add_tally(j, v, &n, clock_mono_ms() - started);
    i = keys.nrows;
    db_res_free(&keys);
    return i;
}

/* Whether the upstream still has a probe (it may have lost it since the
 * job was queued). */
static bool has_probe(struct job *j, long long upstream_id)
{
    struct db_res res;
    bool yes;

    if (db_query(j->db,
                 "SELECT 1 FROM upstreams WHERE id = ? AND probe_method IS NOT NULL"
                 " AND probe_path IS NOT NULL",
                 DB_ARGS(DB_INT(upstream_id)), &res) != DB_OK)
        job_fail(j, "cannot read upstream %lld: %s", upstream_id, db_error(j->db));
    yes = res.nrows > 0;
    db_res_free(&res);
    return yes;
}

/* Ends a job that cannot go on, saying why. */
static void fail_job(struct job *j, long long id, const char *why)
{
    if (db_exec(j->db,
                "UPDATE jobs SET state = 'failed', error = ?, finished_at = UTC_TIMESTAMP(),"
                " updated_at = UTC_TIMESTAMP() WHERE id = ? AND state IN ('queued', 'running')",
                DB_ARGS(DB_STR(why), DB_INT(id)), NULL, NULL) != DB_OK)
        job_fail(j, "cannot end job %lld: %s", id, db_error(j->db));
}

/* Works on one job until it is done, cancelled, or the run's time is up.
 * Returns how many keys it judged. */
static long long run_job(struct job *j, long long id)
{
    struct vjob v;
    size_t size, took;
    long long judged = 0;

    memset(&v, 0, sizeof(v));
    v.id = id;
    if (!job_open(j, &v, true))
        return 0;
    if (db_exec(j->db,
                "UPDATE jobs SET state = 'running', started_at = IFNULL(started_at,"
                " UTC_TIMESTAMP()), updated_at = UTC_TIMESTAMP() WHERE id = ? AND state = 'queued'",
                DB_ARGS(DB_INT(id)), NULL, NULL) != DB_OK ||
        verdict_rules_load(j->db, v.upstream_id, &v.rules) != DB_OK)
        job_fail(j, "cannot start job %lld: %s", id, db_error(j->db));
    recount(j, id);
    if (!has_probe(j, v.upstream_id)) {
        fail_job(j, id, "the upstream has no probe; set its probe_method and probe_path");
        verdict_rules_free(&v.rules);
        return 0;
    }
    size = v.concurrency < 1 ? 1 : (size_t)v.concurrency;
    if (size > VALJOB_CONCURRENCY_MAX)
        size = VALJOB_CONCURRENCY_MAX;
    if (v.rps > 0 && (size_t)v.rps < size)
        size = (size_t)v.rps;
    while (!out_of_time() && job_open(j, &v, false)) {
        if ((took = run_batch(j, &v, size)) == 0) {
            if (db_exec(j->db,
                        "UPDATE jobs SET state = 'done', finished_at = UTC_TIMESTAMP(),"
                        " updated_at = UTC_TIMESTAMP() WHERE id = ? AND state = 'running'",
                        DB_ARGS(DB_INT(id)), NULL, NULL) != DB_OK)
                job_fail(j, "cannot end job %lld: %s", id, db_error(j->db));
            break;
        }
        judged += (long long)took;
    }
    verdict_rules_free(&v.rules);
    return judged;
}

static void run_jobs(struct job *j, long long *ran, long long *keys)
{
    struct db_res open;
    unsigned i;

    if (db_query(j->db,
                 "SELECT id FROM jobs WHERE state IN ('queued', 'running') ORDER BY id LIMIT 100",
                 DB_NOARGS, &open) != DB_OK)
        job_fail(j, "cannot read the jobs: %s", db_error(j->db));
    for (i = 0; i < open.nrows && !out_of_time(); i++) {
        long long id = db_int(&open, i, 0);
        if (!lock_job(j, id, true))
            continue; /* another run has it */
        *keys += run_job(j, id);
        lock_job(j, id, false);
        (*ran)++;
    }
    db_res_free(&open);
}

static void recheck(struct job *j, long long *probed, long long *restored)
{
    struct db_res res;
    bool got;

    /* One run at a time re-checks: two would probe the same keys. */
    if (db_query(j->db, "SELECT GET_LOCK('apigw_jobs_recheck', 0)", DB_NOARGS, &res) != DB_OK)
        job_fail(j, "cannot take the lock apigw_jobs_recheck: %s", db_error(j->db));
    got = db_int(&res, 0, 0) == 1;
    db_res_free(&res);
    if (got && recheck_banned(j->db, j->cfg.enc_key, probed, restored) != DB_OK)
        job_fail(j, "cannot re-check banned keys: %s", db_error(j->db));
}

int main(int argc, char **argv)
{
    long long budget = BUDGET_DEFAULT_S, ran = 0, keys = 0, probed = 0, restored = 0;
    struct job j;
    char *end;

    job_start(&j, &info, argc, argv);
    if (j.extra != NULL) {
        budget = strtoll(j.extra, &end, 10);
        if (*end != '\0' || budget < 1 || budget > BUDGET_MAX_S) {
            fprintf(stderr, "apigw-jobs: --budget-s must be 1 to %d\n", BUDGET_MAX_S);
            job_end(&j);
            return 2;
        }
    }
    deadline_ms = clock_mono_ms() + budget * 1000;
    if (j.dry_run) {
        job_say(&j, "would run the queued validation jobs and re-check due banned keys");
        job_end(&j);
        return 0;
    }
    recheck(&j, &probed, &restored);
    run_jobs(&j, &ran, &keys);
    job_say(&j,
            "worked on %lld validation jobs (%lld keys); re-checked %lld banned keys, %lld active"
            " again",
            ran, keys, probed, restored);
    job_end(&j);
    return 0;
}
