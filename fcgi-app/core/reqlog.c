#include "core/reqlog.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alert.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/logloss.h"
#include "core/reqlog_load.h"
#include "core/reqlog_trail.h"
#include "core/rollup.h"
#include "core/spool.h"
#include "core/usage.h"

#define LOG_COLS      31
#define SPILL_BATCHES 40   /* past this many batches behind, the excess goes to the spool */
#define HOLD_MS       1000 /* rows the spool refused wait this long before the next try */

_Static_assert(LOG_COLS == REQLOG_LOAD_COLS, "the INSERT and LOAD DATA take the same columns");

struct reqlog {
    const struct config *cfg;
    struct db *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct reqlog_entry *head, *tail;
    long long depth;
    bool stopping;
    atomic_llong spooled; /* rows spooled since the last complete replay */
    int64_t replay_after_ms;
    struct usage *usage;
    struct rollup *rollup;
    int64_t hold_until_ms;  /* rows the spool refused wait in the queue until then */
    int64_t alert_after_ms; /* the next check whether a loss can be reported */
    struct logloss loss;
    struct alerter *alerter; /* started for the first loss alert when webhook_url is set */
    pthread_mutex_t tally_lock;
    struct spool_tally tally;
    struct reqlog_load *load; /* the rows by LOAD DATA LOCAL, while the server allows it */
};

void reqlog_entry_free(struct reqlog_entry *e)
{
    if (e == NULL)
        return;
    free(e->path);
    free(e->query);
    free(e->error);
    free(e->rules);
    free(e->messages);
    free(e->trail);
    free(e);
}

static void free_list(struct reqlog_entry *e)
{
    while (e != NULL) {
        struct reqlog_entry *next = e->next;
        reqlog_entry_free(e);
        e = next;
    }
}

/* The most entries the memory queue holds. */
static long long queue_max(const struct reqlog *q)
{
    return SPILL_BATCHES * q->cfg->log_batch_rows;
}

/* Counts a refusal of the spool and says so, at most every
 * LOGLOSS_LINE_MS (or now, with force). */
static void note_refusal(struct reqlog *q, const struct logloss_event *ev, bool force)
{
    char line[256];

    if (logloss_note(&q->loss, ev, clock_mono_ms(), clock_wall_ms(), force, line, sizeof(line)))
        log_error("request log: the spool in %s %s", q->cfg->spool_dir, line);
}

/* Appends entries to the spool and counts them.  Returns 0, or -1 with
 * errno set. */
static int spool_list(struct reqlog *q, const struct reqlog_entry *list, size_t n, bool sync)
{
    if (spool_append(q->cfg->spool_dir, list, n, sync) != 0)
        return -1;
    atomic_fetch_add(&q->spooled, (long long)n);
    return 0;
}

void reqlog_push(struct reqlog *q, struct reqlog_entry *e)
{
    e->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->depth >= SPILL_BATCHES * q->cfg->log_batch_rows) {
        /* The database is slower than the traffic: rather than let memory
         * grow, the row goes to the spool (one append, no database), to be
         * replayed when it is quiet. */
        pthread_mutex_unlock(&q->lock);
        if (spool_list(q, e, 1, false) != 0) {
            struct logloss_event ev = {1, 1, queue_max(q), errno};
            note_refusal(q, &ev, false);
        }
        reqlog_entry_free(e);
        return;
    }
    if (q->tail != NULL)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->depth++;
    /* Wake the writer once, when a full batch is waiting; while it works it
     * looks at the depth itself. */
    if (q->depth == q->cfg->log_batch_rows)
        pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void reqlog_note_key(struct reqlog *q, long long key_id, bool counted, bool failed)
{
    if (!counted || failed)
        usage_note(q->usage, key_id, counted, failed);
}

void reqlog_note_tokens(struct reqlog *q, long long key_id, bool key_quota, long long token_id,
                        long long n)
{
    if (q->usage != NULL)
        usage_note_tokens(q->usage, key_id, key_quota, token_id, n);
}

long long reqlog_pending_tokens(struct reqlog *q, long long token_id)
{
    return q->usage != NULL ? usage_pending_tokens(q->usage, token_id) : 0;
}

void reqlog_note_token(struct reqlog *q, long long token_id)
{
    usage_note_token(q->usage, token_id);
}

long long reqlog_depth(struct reqlog *q)
{
    long long n;

    pthread_mutex_lock(&q->lock);
    n = q->depth;
    pthread_mutex_unlock(&q->lock);
    return n;
}

static struct db_multirow insert_sql = DB_MULTIROW_INIT(
    "INSERT IGNORE INTO request_logs (request_id, ts, method, upstream_id, upstream, path, key_id,"
    " token_id, status, status_class, latency_ms, attempts, req_bytes, resp_bytes, error, rules,"
    " messages, model, prompt_tokens, completion_tokens, cached_tokens, total_tokens,"
    " usage_source, cost_nanos, currency, fallback_from, affinity, proxy, endpoint,"
    " model_requested, query) VALUES ",
    "(?, FROM_UNIXTIME(? / 1000), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?, ?, ?, ?, ?)");

/* A token count as a column: NULL when the answer did not report it. */
static struct db_param count_param(const struct usage_counts *u, long long n)
{
    return u->source != USAGE_SOURCE_NONE && n >= 0 ? DB_INT(n) : DB_NULL;
}

static void entry_params(const struct reqlog_entry *e, struct db_param *p)
{
    p[0] = DB_STR(e->request_id);
    p[1] = DB_INT(e->ts_ms);
    p[2] = DB_STR(e->method);
    p[3] = e->upstream_id > 0 ? DB_INT(e->upstream_id) : DB_NULL;
    p[4] = DB_STR(e->upstream[0] ? e->upstream : NULL);
    p[5] = DB_STR(e->path ? e->path : "");
    p[6] = e->key_id > 0 ? DB_INT(e->key_id) : DB_NULL;
    p[7] = e->token_id > 0 ? DB_INT(e->token_id) : DB_NULL;
    p[8] = DB_INT(e->status);
    p[9] = DB_INT(e->status / 100);
    p[10] = DB_INT(e->latency_ms);
    p[11] = DB_INT(e->attempts);
    p[12] = DB_INT(e->req_bytes);
    p[13] = DB_INT(e->resp_bytes);
    p[14] = DB_STR(e->error);
    p[15] = DB_STR(e->rules);
    p[16] = DB_STR(e->messages);
    p[17] = DB_STR(e->usage.model[0] ? e->usage.model : NULL);
    p[18] = count_param(&e->usage, e->usage.prompt);
    p[19] = count_param(&e->usage, e->usage.completion);
    p[20] = count_param(&e->usage, e->usage.cached);
    p[21] = count_param(&e->usage, e->usage.total);
    p[22] = DB_STR(usage_source_name(e->usage.source));
    p[23] = e->currency[0] ? DB_INT(e->cost_nanos) : DB_NULL;
    p[24] = DB_STR(e->currency[0] ? e->currency : NULL);
    p[25] = DB_STR(e->fallback_from[0] ? e->fallback_from : NULL);
    p[26] = e->affine ? DB_INT(e->affine_home ? 1 : 0) : DB_NULL;
    p[27] = DB_STR(e->proxy[0] ? e->proxy : NULL);
    p[28] = DB_STR(e->endpoint[0] ? e->endpoint : NULL);
    p[29] = DB_STR(e->model_requested[0] ? e->model_requested : NULL);
    p[30] = DB_STR(e->query);
}

struct write_tx {
    struct reqlog *q;
    struct reqlog_entry *list;
    size_t n;
    bool replay;
    bool by_insert; /* LOAD DATA did not take the batch as the INSERT would */
};

/* Marks the replayed entries whose rows are in the database already (a
 * batch that was written but whose acknowledgement was lost, or a replay
 * that stopped half-way), so that nothing is counted twice. */
static int mark_stored(struct db *db, struct reqlog_entry *list)
{
    struct json_object *ids = json_object_new_array();
    struct reqlog_entry *e;
    struct db_res res;
    unsigned i;
    int rc;

    /* Each entry as [request_id, ts in ms]: the unique key is (ts,
     * request_id), and a replayed row keeps both. */
    for (e = list; e != NULL; e = e->next) {
        struct json_object *pair = json_object_new_array();

        e->stored = false;
        json_object_array_add(pair, json_object_new_string(e->request_id));
        json_object_array_add(pair, json_object_new_int64(e->ts_ms));
        json_object_array_add(ids, pair);
    }
    rc = db_query(
        db,
        "SELECT l.request_id FROM JSON_TABLE(?, '$[*]' COLUMNS (rid VARCHAR(32)"
        " CHARACTER SET ascii PATH '$[0]', t BIGINT PATH '$[1]')) j"
        " JOIN request_logs l ON l.ts = FROM_UNIXTIME(j.t / 1000) AND l.request_id = j.rid",
        DB_ARGS(DB_STR(json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN))), &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++)
        for (e = list; e != NULL; e = e->next)
            if (strcmp(e->request_id, db_val(&res, i, 0)) == 0)
                e->stored = true;
    db_res_free(&res);
    json_object_put(ids);
    return rc;
}

/* The rows: by LOAD DATA where it takes them as the INSERT would, else by
 * the INSERT.  A batch that LOAD DATA stored otherwise is rolled back
 * (DB_EFAIL with t->by_insert set) and written again by write_list. */
static int write_rows(struct write_tx *t, struct db *db, const struct db_param *p, size_t rows)
{
    enum reqlog_load_outcome how = REQLOG_LOAD_UNUSED;
    int rc = DB_OK;

    if (!t->by_insert)
        rc = reqlog_load_rows(t->q->load, db, p, (unsigned)rows, &how);
    if (rc != DB_OK || how == REQLOG_LOAD_DONE)
        return rc;
    if (how == REQLOG_LOAD_ROLL_BACK) {
        t->by_insert = true;
        return DB_EFAIL;
    }
    return db_insert_rows(db, &insert_sql, p, LOG_COLS, (unsigned)rows, NULL);
}

/* The rows and their rollups, in one transaction: they always agree. */
static int write_body(struct db *db, void *arg)
{
    struct write_tx *t = arg;
    struct db_param *p = calloc(t->n * LOG_COLS + 1, sizeof(*p));
    struct reqlog_entry *e;
    size_t rows = 0;
    int rc = DB_OK;

    if (p == NULL)
        return DB_EFAIL;
    if (t->replay)
        rc = mark_stored(db, t->list);
    for (e = t->list; rc == DB_OK && e != NULL; e = e->next)
        if (!e->stored)
            entry_params(e, &p[LOG_COLS * rows++]);
    if (rc == DB_OK && rows > 0)
        rc = write_rows(t, db, p, rows);
    if (rc == DB_OK && rows > 0)
        rc = reqlog_trail_write(db, t->list);
    free(p);
    if (rc != DB_OK)
        return rc;
    rollup_reset(t->q->rollup);
    for (e = t->list; e != NULL; e = e->next)
        if (!e->stored)
            rollup_add(t->q->rollup, e, t->q->cfg->metrics_models);
    return rollup_write(t->q->rollup, db);
}

/* Inserts a list of entries; returns DB_OK or the error. */
static int write_list(struct reqlog *q, struct reqlog_entry *list, size_t n, bool replay)
{
    struct write_tx t = {q, list, n, replay, false};
    int rc = db_transaction(q->db, write_body, &t);

    if (rc == DB_EFAIL && t.by_insert)
        rc = db_transaction(q->db, write_body, &t);
    return rc;
}

/* Writes a batch of replayed entries and frees them (a spool_write_fn). */
static int write_replayed(void *arg, struct reqlog_entry *list, size_t n)
{
    int rc = write_list(arg, list, n, true);

    free_list(list);
    return rc;
}

/* Replays the spool; the count of spooled rows starts again from 0 once
 * every replay file went in. */
static void replay_spool(struct reqlog *q)
{
    if (spool_replay(q->cfg->spool_dir, (size_t)q->cfg->log_batch_rows, write_replayed, q) == 0)
        atomic_store(&q->spooled, 0);
}

long long reqlog_spool_bytes(struct reqlog *q)
{
    return spool_bytes(q->cfg->spool_dir);
}

long long reqlog_spool_rows(struct reqlog *q)
{
    long long n;

    pthread_mutex_lock(&q->tally_lock);
    n = spool_count_rows(q->cfg->spool_dir, &q->tally);
    pthread_mutex_unlock(&q->tally_lock);
    return n;
}

long long reqlog_rows_dropped(struct reqlog *q)
{
    long long n;

    logloss_counts(&q->loss, &n, NULL);
    return n;
}

/* Takes up to max entries off the queue. */
static struct reqlog_entry *take(struct reqlog *q, size_t max, size_t *n)
{
    struct reqlog_entry *head = q->head, *e = head, *last = NULL;

    *n = 0;
    while (e != NULL && *n < max) {
        last = e;
        e = e->next;
        (*n)++;
    }
    if (last != NULL)
        last->next = NULL;
    q->head = e;
    if (e == NULL)
        q->tail = NULL;
    q->depth -= (long long)*n;
    return head;
}

/* Puts the entries of list back at the head of the queue, as many as the
 * bound leaves room for, to wait HOLD_MS for the database; frees the rest.
 * Returns how many it freed; *depth is the queue's depth afterwards. */
static long long hold(struct reqlog *q, struct reqlog_entry *list, long long *depth)
{
    struct reqlog_entry *e, *last = NULL, *rest = list;
    long long room, kept = 0, lost = 0;

    pthread_mutex_lock(&q->lock);
    room = queue_max(q) - q->depth;
    for (e = list; e != NULL && kept < room; e = e->next) {
        last = e;
        kept++;
    }
    if (last != NULL) {
        rest = last->next;
        last->next = q->head;
        q->head = list;
        if (q->tail == NULL)
            q->tail = last;
        q->depth += kept;
    }
    q->hold_until_ms = clock_mono_ms() + HOLD_MS;
    *depth = q->depth;
    pthread_mutex_unlock(&q->lock);
    for (e = rest; e != NULL; e = e->next)
        lost++;
    free_list(rest);
    return lost;
}

/* A batch the database did not take: to the spool, else back to the queue
 * (with can_hold; at the stop, rows that cannot go anywhere are lost).
 * Takes the list. */
static void store_elsewhere(struct reqlog *q, struct reqlog_entry *list, size_t n, int rc,
                            bool can_hold)
{
    struct logloss_event ev = {0, 0, 0, 0};
    struct reqlog_entry *e;

    if (spool_list(q, list, n, true) == 0) {
        if (rc != DB_EDOWN)
            log_error("request log: %zu rows spooled after a database error", n);
        free_list(list);
        return;
    }
    ev.err = errno;
    for (e = list; e != NULL; e = e->next) {
        ev.refused += e->held ? 0 : 1;
        e->held = true;
    }
    if (can_hold) {
        ev.lost = hold(q, list, &ev.queued);
    } else {
        ev.lost = (long long)n;
        ev.queued = reqlog_depth(q);
        free_list(list);
    }
    note_refusal(q, &ev, !can_hold);
}

/* Once the database answers, writes an alert about the rows lost since the
 * last one (and logs it).  db_up: a write has just gone through. */
static void report_loss(struct reqlog *q, bool db_up)
{
    char msg[1024], host[128] = "";
    struct alert al = {.message = msg, .kind = "log_loss"};
    long long n, id;

    logloss_counts(&q->loss, NULL, &n);
    if (n == 0)
        return;
    if (!db_up) {
        /* Without traffic, a round trip a second says when it is back. */
        if (clock_mono_ms() < q->alert_after_ms)
            return;
        q->alert_after_ms = clock_mono_ms() + 1000;
        if (db_ping(q->db) != DB_OK)
            return;
    }
    gethostname(host, sizeof(host) - 1);
    n = logloss_alert(&q->loss, host, (long)getpid(), q->cfg->spool_dir, queue_max(q), msg,
                      sizeof(msg));
    if (q->alerter == NULL && q->cfg->webhook_url[0] != '\0')
        q->alerter = alerter_start(q->cfg);
    id = alert_raise(q->alerter, q->db, &al);
    if (id == 0)
        return; /* the next batch or check tries again */
    logloss_reported(&q->loss, n);
    log_error("%s (alert %lld)", msg, id);
}

/* Writes one batch: to the database, else to the spool, else back to the
 * queue.  Then, when rows wait in the spool and the database answers,
 * replays them (also when no traffic comes: an idle gateway catches up on
 * its own). */
static void flush_batch(struct reqlog *q, struct reqlog_entry *list, size_t n, bool quiet,
                        bool can_hold)
{
    struct reqlog_entry *e;
    bool held = false;
    int rc = DB_OK;

    if (n > 0) {
        for (e = list; e != NULL; e = e->next)
            held = held || e->held;
        /* Held rows may be in already, when a commit's answer was lost. */
        rc = write_list(q, list, n, held);
        if (rc != DB_OK) {
            store_elsewhere(q, list, n, rc, can_hold);
            list = NULL;
            q->replay_after_ms = clock_mono_ms() + 1000;
        }
    }
    free_list(list);
    if (rc == DB_OK)
        report_loss(q, n > 0);
    /* Replays wait for a quiet moment, so as not to add to a peak. */
    if (!quiet || rc != DB_OK || atomic_load(&q->spooled) == 0 ||
        clock_mono_ms() < q->replay_after_ms)
        return;
    q->replay_after_ms = clock_mono_ms() + 1000;
    if ((n > 0 || db_ping(q->db) == DB_OK) && spool_pending(q->cfg->spool_dir))
        replay_spool(q);
}

/* How many entries to write next: bigger batches (fewer commits) when
 * behind. */
static size_t batch_size(const struct reqlog *q)
{
    size_t batch = (size_t)q->cfg->log_batch_rows;

    return q->depth > 2 * (long long)batch ? 4 * batch : batch;
}

/* Says so, at most every 10 s, when the writer is far behind. */
static void warn_if_behind(struct reqlog *q, long long depth, int64_t *last_ms)
{
    int64_t now = clock_mono_ms();

    if (depth < 10 * q->cfg->log_batch_rows || now - *last_ms < 10000)
        return;
    *last_ms = now;
    log_warn("request log: %lld rows wait to be written (the database is slower than the traffic,"
             " or away while the spool refuses rows)",
             depth);
}

/* Waits, with q->lock held, until a full batch waits (and no refused rows
 * rest: see hold), log_flush_ms has passed (or the rest of a hold), or the
 * logger stops. */
static void wait_for_rows(struct reqlog *q)
{
    int64_t now = clock_mono_ms(), until = now + q->cfg->log_flush_ms;
    struct timespec ts;

    if (until < q->hold_until_ms)
        until = q->hold_until_ms;
    while (!q->stopping && now < until &&
           (q->depth < q->cfg->log_batch_rows || now < q->hold_until_ms)) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)((until - now) / 1000);
        ts.tv_nsec += (long)((until - now) % 1000) * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&q->wake, &q->lock, &ts);
        now = clock_mono_ms();
    }
}

static void *logger_main(void *arg)
{
    struct reqlog *q = arg;
    int64_t warned_ms = 0;
    bool stop = false, quiet;

    db_thread_init();
    while (!stop) {
        struct reqlog_entry *batch;
        size_t n;

        pthread_mutex_lock(&q->lock);
        wait_for_rows(q);
        stop = q->stopping;
        warn_if_behind(q, q->depth, &warned_ms);
        batch = take(q, batch_size(q), &n);
        quiet = q->depth < q->cfg->log_batch_rows;
        pthread_mutex_unlock(&q->lock);
        flush_batch(q, batch, n, quiet, !stop);
        usage_flush(q->usage, q->db);
        pthread_mutex_lock(&q->lock);
        while (stop && q->head != NULL) {
            batch = take(q, (size_t)q->cfg->log_batch_rows, &n);
            pthread_mutex_unlock(&q->lock);
            flush_batch(q, batch, n, false, false);
            pthread_mutex_lock(&q->lock);
        }
        pthread_mutex_unlock(&q->lock);
    }
    usage_flush(q->usage, q->db);
    db_thread_end();
    return NULL;
}

struct reqlog *reqlog_start(const struct config *cfg)
{
    struct reqlog *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->cfg = cfg;
    q->db = db_new(cfg, false);
    q->usage = usage_new();
    q->rollup = rollup_new();
    q->load = q->db != NULL ? reqlog_load_new(q->db) : NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    pthread_mutex_init(&q->tally_lock, NULL);
    logloss_init(&q->loss);
    spool_init(cfg->spool_dir);
    if (spool_pending(cfg->spool_dir))
        atomic_store(&q->spooled, 1);
    if (q->db == NULL || q->usage == NULL || q->rollup == NULL || q->load == NULL ||
        pthread_create(&q->thread, NULL, logger_main, q) != 0) {
        db_free(q->db);
        usage_free(q->usage);
        rollup_free(q->rollup);
        reqlog_load_free(q->load);
        logloss_destroy(&q->loss);
        pthread_mutex_destroy(&q->tally_lock);
        free(q);
        return NULL;
    }
    return q;
}

void reqlog_stop(struct reqlog *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    alerter_stop(q->alerter);
    db_free(q->db);
    usage_free(q->usage);
    rollup_free(q->rollup);
    reqlog_load_free(q->load);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->tally_lock);
    logloss_destroy(&q->loss);
    free(q);
}
