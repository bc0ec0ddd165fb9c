#include "core/reqlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/rollup.h"
#include "core/usage.h"

#define LOG_COLS       17
#define SPILL_BATCHES  40 /* past this many batches behind, the excess goes to the spool */
#define SPOOL_NAME     "reqlog.spool"
#define REPLAY_PREFIX  "reqlog.replay."
#define SPOOL_LINE_MAX (64u << 10)

struct reqlog {
    const struct config *cfg;
    struct db *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct reqlog_entry *head, *tail;
    long long depth;
    bool stopping;
    atomic_llong spooled;
    int64_t replay_after_ms;
    struct usage *usage;
    struct rollup *rollup;
};

static int spool_append(struct reqlog *q, struct reqlog_entry *list, size_t n, bool sync);

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

void reqlog_push(struct reqlog *q, struct reqlog_entry *e)
{
    e->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->depth >= SPILL_BATCHES * q->cfg->log_batch_rows) {
        /* The database is slower than the traffic: rather than let memory
         * grow, the row goes to the spool (one append, no database), to be
         * replayed when it is quiet. */
        pthread_mutex_unlock(&q->lock);
        if (spool_append(q, e, 1, false) != 0)
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

long long reqlog_spooled(struct reqlog *q)
{
    return atomic_load(&q->spooled);
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

/* The spool line of an entry: a JSON object with every column. */
static struct json_object *entry_json(const struct reqlog_entry *e)
{
    struct json_object *o = json_object_new_object();

#define S(k, v) json_object_object_add(o, k, (v) ? json_object_new_string(v) : NULL)
#define I(k, v) json_object_object_add(o, k, json_object_new_int64(v))
    S("request_id", e->request_id);
    I("ts_ms", e->ts_ms);
    S("method", e->method);
    I("upstream_id", e->upstream_id);
    S("upstream", e->upstream);
    S("path", e->path);
    I("key_id", e->key_id);
    I("token_id", e->token_id);
    I("status", e->status);
    I("latency_ms", e->latency_ms);
    I("attempts", e->attempts);
    I("req_bytes", e->req_bytes);
    I("resp_bytes", e->resp_bytes);
    S("error", e->error);
    S("rules", e->rules);
    S("messages", e->messages);
#undef S
#undef I
    return o;
}

static char *opt_dup(struct json_object *o, const char *k, size_t cap)
{
    struct json_object *v;
    const char *s;

    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    s = json_object_get_string(v);
    return strndup(s, cap);
}

static long long jget(struct json_object *o, const char *k)
{
    struct json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static struct reqlog_entry *entry_from_json(const char *line)
{
    struct json_object *o = json_tokener_parse(line);
    struct reqlog_entry *e;
    char *s;

    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        (e = calloc(1, sizeof(*e))) == NULL) {
        json_object_put(o);
        return NULL;
    }
    if ((s = opt_dup(o, "request_id", sizeof(e->request_id) - 1)) != NULL)
        snprintf(e->request_id, sizeof(e->request_id), "%s", s);
    free(s);
    if ((s = opt_dup(o, "method", sizeof(e->method) - 1)) != NULL)
        snprintf(e->method, sizeof(e->method), "%s", s);
    free(s);
    if ((s = opt_dup(o, "upstream", sizeof(e->upstream) - 1)) != NULL)
        snprintf(e->upstream, sizeof(e->upstream), "%s", s);
    free(s);
    e->ts_ms = jget(o, "ts_ms");
    e->upstream_id = jget(o, "upstream_id");
    e->path = opt_dup(o, "path", REQLOG_PATH_MAX);
    e->key_id = jget(o, "key_id");
    e->token_id = jget(o, "token_id");
    e->status = (int)jget(o, "status");
    e->latency_ms = jget(o, "latency_ms");
    e->attempts = (int)jget(o, "attempts");
    e->req_bytes = jget(o, "req_bytes");
    e->resp_bytes = jget(o, "resp_bytes");
    e->error = opt_dup(o, "error", REQLOG_ERROR_MAX);
    e->rules = opt_dup(o, "rules", REQLOG_RULES_MAX);
    e->messages = opt_dup(o, "messages", REQLOG_MSGS_MAX);
    json_object_put(o);
    if (e->request_id[0] == '\0') {
        reqlog_entry_free(e);
        return NULL;
    }
    return e;
}

static void spool_path(const struct reqlog *q, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", q->cfg->spool_dir, name);
}

/* Appends entries to the spool file, under an exclusive lock so that
 * several processes may share the folder.  Returns 0 or -1 (the rows are
 * then lost, which is logged loudly). */
static int spool_append(struct reqlog *q, struct reqlog_entry *list, size_t n, bool sync)
{
    char path[512];
    struct reqlog_entry *e;
    FILE *f;
    int fd;

    spool_path(q, SPOOL_NAME, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0 || (f = fdopen(fd, "a")) == NULL) {
        log_error("request log: cannot spool %zu rows to %s: %s", n, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (e = list; e != NULL; e = e->next) {
        struct json_object *o = entry_json(e);
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    }
    fflush(f);
    if (sync)
        fsync(fd);
    fclose(f); /* also releases the lock */
    atomic_fetch_add(&q->spooled, (long long)n);
    return 0;
}

/* Inserts the rows of one replay file in batches; removes it when all went
 * in.  Returns DB_OK or the error that stopped it (the file stays). */
static int replay_file(struct reqlog *q, const char *path)
{
    struct reqlog_entry *head = NULL, *tail = NULL, *e;
    char *line = malloc(SPOOL_LINE_MAX);
    size_t n = 0;
    int rc = DB_OK;
    FILE *f;

    f = fopen(path, "r");
    /* One replayer per file, whichever process shares the folder. */
    if (f == NULL || line == NULL || flock(fileno(f), LOCK_EX | LOCK_NB) != 0) {
        free(line);
        if (f != NULL)
            fclose(f);
        return DB_OK;
    }
    while (rc == DB_OK) {
        bool eof = fgets(line, SPOOL_LINE_MAX, f) == NULL;
        if (!eof && (e = entry_from_json(line)) != NULL) {
            if (tail != NULL)
                tail->next = e;
            else
                head = e;
            tail = e;
            n++;
        }
        if (n > 0 && (eof || n == (size_t)q->cfg->log_batch_rows)) {
            rc = write_list(q, head, n, true);
            free_list(head);
            head = tail = NULL;
            n = 0;
        }
        if (eof)
            break;
    }
    free_list(head);
    fclose(f);
    free(line);
    if (rc == DB_OK)
        unlink(path);
    return rc;
}

/* Moves the shared spool aside (rename is atomic) and replays every
 * pending replay file of the folder. */
static void replay_spool(struct reqlog *q)
{
    char from[512], to[512], name[64];
    struct dirent *de;
    bool all_done = true;
    DIR *d;

    spool_path(q, SPOOL_NAME, from, sizeof(from));
    snprintf(name, sizeof(name), REPLAY_PREFIX "%ld.%lld", (long)getpid(),
             (long long)clock_wall_ms());
    spool_path(q, name, to, sizeof(to));
    if (rename(from, to) != 0 && errno != ENOENT)
        log_warn("request log: cannot move the spool aside: %s", strerror(errno));
    d = opendir(q->cfg->spool_dir);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, REPLAY_PREFIX, strlen(REPLAY_PREFIX)) != 0)
            continue;
        spool_path(q, de->d_name, to, sizeof(to));
        if (replay_file(q, to) != DB_OK) {
            all_done = false;
            break;
        }
        log_info("request log: replayed spooled rows from %s", de->d_name);
    }
    closedir(d);
    if (all_done)
        atomic_store(&q->spooled, 0);
}

long long reqlog_spool_bytes(struct reqlog *q)
{
    long long total = 0;
    struct dirent *de;
    struct stat st;
    char path[512];
    DIR *d = opendir(q->cfg->spool_dir);

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, SPOOL_NAME) != 0 &&
            strncmp(de->d_name, REPLAY_PREFIX, strlen(REPLAY_PREFIX)) != 0)
            continue;
        spool_path(q, de->d_name, path, sizeof(path));
        if (stat(path, &st) == 0)
            total += (long long)st.st_size;
    }
    closedir(d);
    return total;
}

static bool spool_pending(struct reqlog *q)
{
    char path[512];
    struct stat st;
    struct dirent *de;
    bool found = false;
    DIR *d;

    spool_path(q, SPOOL_NAME, path, sizeof(path));
    if (stat(path, &st) == 0)
        return true;
    d = opendir(q->cfg->spool_dir);
    if (d == NULL)
        return false;
    while (!found && (de = readdir(d)) != NULL)
        found = strncmp(de->d_name, REPLAY_PREFIX, strlen(REPLAY_PREFIX)) == 0;
    closedir(d);
    return found;
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
            if (spool_append(q, list, n, true) == 0 && rc != DB_EDOWN)
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
    if ((n > 0 || db_ping(q->db) == DB_OK) && spool_pending(q))
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
    if (mkdir(cfg->spool_dir, 0700) != 0 && errno != EEXIST)
        log_warn("request log: cannot create %s: %s", cfg->spool_dir, strerror(errno));
    if (spool_pending(q))
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
