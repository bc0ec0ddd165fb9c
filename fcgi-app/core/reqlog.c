#include "core/reqlog.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/rollup.h"
#include "core/spool.h"
#include "core/usage.h"

#define LOG_COLS      17
#define SPILL_BATCHES 40 /* past this many batches behind, the excess goes to the spool */

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
};

void reqlog_entry_free(struct reqlog_entry *e)
{
    if (e == NULL)
        return;
    free(e->path);
    free(e->error);
    free(e->rules);
    free(e->messages);
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

/* Appends entries to the spool and counts them.  Returns 0 or -1 (the rows
 * are then lost, which spool_append logged). */
static int spool_rows(struct reqlog *q, const struct reqlog_entry *list, size_t n, bool sync)
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
        if (spool_rows(q, e, 1, false) != 0)
            log_error("request log: a row was lost: the queue is full and the spool failed");
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
    " messages) VALUES ",
    "(?, FROM_UNIXTIME(? / 1000), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

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
}

struct write_tx {
    struct reqlog *q;
    struct reqlog_entry *list;
    size_t n;
    bool replay;
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

    for (e = list; e != NULL; e = e->next) {
        e->stored = false;
        json_object_array_add(ids, json_object_new_string(e->request_id));
    }
    rc = db_query(db,
                  "SELECT l.request_id FROM JSON_TABLE(?, '$[*]' COLUMNS (rid VARCHAR(32)"
                  " CHARACTER SET ascii PATH '$')) j JOIN request_logs l ON l.request_id = j.rid",
                  DB_ARGS(DB_STR(json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN))),
                  &res);
    for (i = 0; rc == DB_OK && i < res.nrows; i++)
        for (e = list; e != NULL; e = e->next)
            if (strcmp(e->request_id, db_val(&res, i, 0)) == 0)
                e->stored = true;
    db_res_free(&res);
    json_object_put(ids);
    return rc;
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
        rc = db_insert_rows(db, &insert_sql, p, LOG_COLS, (unsigned)rows, NULL);
    free(p);
    if (rc != DB_OK)
        return rc;
    rollup_reset(t->q->rollup);
    for (e = t->list; e != NULL; e = e->next)
        if (!e->stored)
            rollup_add(t->q->rollup, e);
    return rollup_write(t->q->rollup, db);
}

/* Inserts a list of entries; returns DB_OK or the error. */
static int write_list(struct reqlog *q, struct reqlog_entry *list, size_t n, bool replay)
{
    struct write_tx t = {q, list, n, replay};

    return db_transaction(q->db, write_body, &t);
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

/* Writes one batch: to the database, else to the spool.  Then, when rows
 * wait in the spool and the database answers, replays them (also when no
 * traffic comes: an idle gateway catches up on its own). */
static void flush_batch(struct reqlog *q, struct reqlog_entry *list, size_t n, bool quiet)
{
    int rc = DB_OK;

    if (n > 0) {
        rc = write_list(q, list, n, false);
        if (rc != DB_OK) {
            if (spool_rows(q, list, n, true) == 0 && rc != DB_EDOWN)
                log_error("request log: %zu rows spooled after a database error", n);
            q->replay_after_ms = clock_mono_ms() + 1000;
        }
    }
    free_list(list);
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
    log_warn("request log: %lld rows wait to be written (the database is slower than the traffic)",
             depth);
}

static void *logger_main(void *arg)
{
    struct reqlog *q = arg;
    int64_t warned_ms = 0;
    bool stop = false, quiet;

    db_thread_init();
    while (!stop) {
        struct reqlog_entry *batch;
        struct timespec ts;
        size_t n;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(q->cfg->log_flush_ms % 1000) * 1000000L;
        ts.tv_sec += (time_t)(q->cfg->log_flush_ms / 1000) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&q->lock);
        if (!q->stopping && q->depth < q->cfg->log_batch_rows)
            pthread_cond_timedwait(&q->wake, &q->lock, &ts);
        stop = q->stopping;
        warn_if_behind(q, q->depth, &warned_ms);
        batch = take(q, batch_size(q), &n);
        quiet = q->depth < q->cfg->log_batch_rows;
        pthread_mutex_unlock(&q->lock);
        flush_batch(q, batch, n, quiet);
        usage_flush(q->usage, q->db);
        pthread_mutex_lock(&q->lock);
        while (stop && q->head != NULL) {
            batch = take(q, (size_t)q->cfg->log_batch_rows, &n);
            pthread_mutex_unlock(&q->lock);
            flush_batch(q, batch, n, false);
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
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    spool_init(cfg->spool_dir);
    if (spool_pending(cfg->spool_dir))
        atomic_store(&q->spooled, 1);
    if (q->db == NULL || q->usage == NULL || q->rollup == NULL ||
        pthread_create(&q->thread, NULL, logger_main, q) != 0) {
        db_free(q->db);
        usage_free(q->usage);
        rollup_free(q->rollup);
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
    db_free(q->db);
    usage_free(q->usage);
    rollup_free(q->rollup);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    free(q);
}
