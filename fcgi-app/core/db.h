/*
 * One MariaDB/MySQL connection and its prepared statements.
 *
 * A struct db is one connection, or a handle onto a pool of them that
 * the worker threads share (db_pool_handle).  Statements are named by the
 * address of their SQL text, which must therefore live as long as the
 * process (a string literal or a string built once at start-up); each is
 * prepared on first use and again after a reconnect.  Data only ever
 * reaches the server as bound parameters.
 *
 * A lost connection is reopened on the next call; a statement that failed
 * because the connection was lost is run once more on a new connection,
 * except inside a transaction.
 *
 * Every handle of a process shares one breaker: a connection that fails,
 * or a server that stays silent for a whole timeout, makes every call fail
 * at once with DB_EDOWN for db_breaker_ms; then one call at a time tests
 * the server again, and the first answer closes the breaker.
 */
#ifndef APIGW_DB_H
#define APIGW_DB_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>

struct config;
struct db;
struct db_pool;

/* What every db_ call that can fail returns; err_from_db (core/err.h)
 * turns one into the error a client sees. */
enum db_rc {
    DB_OK = 0,
    DB_EDOWN = -1, /* the server cannot be reached */
    DB_EDUP = -2,  /* a unique key would be duplicated */
    DB_EFAIL = -3, /* any other failure, logged where it happened */
    DB_ERETRY = -4 /* a deadlock or lock wait timeout: the transaction may run again */
};

enum db_ptype { DBP_T_NULL, DBP_T_INT, DBP_T_DOUBLE, DBP_T_STR, DBP_T_BLOB };

struct db_param {
    enum db_ptype type;
    long long i;
    double d;
    const void *p;
    unsigned long n;
};

/* A text parameter; NULL becomes SQL NULL. */
static inline struct db_param db_str(const char *s)
{
    struct db_param p = {DBP_T_NULL, 0, 0, NULL, 0};
    size_t n = 0;

    if (s != NULL) {
        while (s[n] != '\0')
            n++;
        p.type = DBP_T_STR;
        p.p = s;
        p.n = (unsigned long)n;
    }
    return p;
}

#define DB_INT(v)     ((struct db_param){DBP_T_INT, (long long)(v), 0, NULL, 0})
#define DB_DOUBLE(v)  ((struct db_param){DBP_T_DOUBLE, 0, (double)(v), NULL, 0})
#define DB_STR(s)     db_str(s)
#define DB_STRN(s, l) ((struct db_param){DBP_T_STR, 0, 0, (s), (unsigned long)(l)})
#define DB_BLOB(b, l) ((struct db_param){DBP_T_BLOB, 0, 0, (b), (unsigned long)(l)})
#define DB_NULL       ((struct db_param){DBP_T_NULL, 0, 0, NULL, 0})
/* DB_ARGS(a, b, ...) expands to the two arguments `params, count`. */
#define DB_ARGS(...)                                                                               \
    (const struct db_param[]){__VA_ARGS__},                                                        \
        (unsigned)(sizeof((const struct db_param[]){__VA_ARGS__}) / sizeof(struct db_param))
#define DB_NOARGS NULL, 0u

/* A whole result set held in memory.  Values are NUL-terminated text (the
 * server converts numbers and times); NULL stands for SQL NULL. */
struct db_res {
    unsigned nrows, ncols;
    char **vals;         /* nrows * ncols pointers into the same allocation */
    unsigned long *lens; /* byte length of each value */
    char *arena;
};

/* Creates a handle (not yet connected).  cfg must outlive it.  When
 * multi_statements is true the connection may run whole SQL scripts. */
struct db *db_new(const struct config *cfg, bool multi_statements);

/* Closes the connection and frees the handle and its statements. */
void db_free(struct db *db);

/* Connects now if not connected.  Returns DB_OK or DB_EDOWN. */
enum db_rc db_connect(struct db *db);

/* Checks the connection with a round trip; returns DB_OK or DB_EDOWN. */
enum db_rc db_ping(struct db *db);

/* Gives this handle its own timeouts in seconds (0 keeps the
 * configuration's db_connect_timeout_s or db_rw_timeout_s); takes effect on
 * its next connection.  For the health check's short checks and the cron
 * jobs' long statements. */
void db_set_timeouts(struct db *db, unsigned connect_s, unsigned rw_s);

/* What the health check found. */
enum db_health { DB_HEALTH_OK, DB_HEALTH_DOWN, DB_HEALTH_TIMEOUT };

/* Checks the server like db_ping; while the breaker is open it answers at
 * once from the breaker (DB_HEALTH_TIMEOUT when a timeout opened it). */
enum db_health db_health(struct db *db);

/* The process's breaker (shared by every handle): open or not, the calls
 * it failed at once, and how many times it opened. */
struct db_breaker_stats {
    bool open;
    long long fast_failures, opened;
};

void db_breaker_stats(struct db_breaker_stats *s);

/* Runs a statement that returns no rows.  affected (rows matched, since the
 * connection uses CLIENT_FOUND_ROWS) and insert_id may be NULL. */
enum db_rc db_exec(struct db *db, const char *sql, const struct db_param *params, unsigned nparams,
                   unsigned long long *affected, unsigned long long *insert_id);

/* Runs a query and stores every row in res, which the caller frees with
 * db_res_free (also after a failure). */
enum db_rc db_query(struct db *db, const char *sql, const struct db_param *params, unsigned nparams,
                    struct db_res *res);

void db_res_free(struct db_res *res);

/* The value at (row, col), or NULL for SQL NULL or out of range. */
const char *db_val(const struct db_res *res, unsigned row, unsigned col);

/* The value as an integer (0 for NULL). */
long long db_int(const struct db_res *res, unsigned row, unsigned col);

/* The byte length of a value (0 for NULL). */
unsigned long db_len(const struct db_res *res, unsigned row, unsigned col);

/* Multi-row INSERTs: the statement for `head` followed by n copies of
 * `row` (comma-separated) is built once per process for each power of two
 * n up to DB_MULTIROW_MAX and then prepared like any other. */
#define DB_MULTIROW_LEVELS 9 /* 1, 2, 4, ... 256 rows */
#define DB_MULTIROW_MAX    (1u << (DB_MULTIROW_LEVELS - 1))

struct db_multirow {
    const char *head; /* "INSERT INTO t (a, b) VALUES " */
    const char *row;  /* "(?, ?)" */
    const char *tail; /* after the rows, e.g. "ON DUPLICATE KEY UPDATE ...", or NULL */
    const char *_Atomic sql[DB_MULTIROW_LEVELS];
};

/* clang-format off */
#define DB_MULTIROW_INIT(h, r) {(h), (r), NULL, {NULL}}
#define DB_MULTIROW_INIT_TAIL(h, r, t) {(h), (r), (t), {NULL}}
/* clang-format on */

/* Inserts nrows rows of ncols parameters each (p holds them row after row)
 * in as few statements as the power-of-two chunks allow.  *affected (may be
 * NULL) receives the rows the server reports inserted. */
enum db_rc db_insert_rows(struct db *db, struct db_multirow *m, const struct db_param *p,
                          unsigned ncols, unsigned nrows, unsigned long long *affected);

/* Lets the connections this handle makes from now on run LOAD DATA LOCAL
 * INFILE through db_load (MYSQL_OPT_LOCAL_INFILE); every other handle's
 * connections refuse it.  For a handle of its own (db_new), before it
 * connects. */
void db_allow_local_infile(struct db *db);

/* What the server reported for a db_load: the rows it read (Records),
 * those it skipped as duplicates (Skipped), those it inserted and its
 * warnings.  refused: the server or the client does not allow LOAD DATA
 * LOCAL on this connection (the call returned DB_EFAIL, logged nothing). */
struct db_load_result {
    unsigned long long records, skipped, inserted;
    unsigned warnings;
    bool refused;
};

/* Runs sql, a LOAD DATA LOCAL INFILE statement of constant text, and
 * streams it the len bytes at data as the file's content from memory (the
 * file name in sql is not opened).  data stays the caller's.  Like db_exec
 * it is not retried inside a transaction.  Returns DB_OK with *res filled
 * in, or the error (res->refused tells a refusal from other failures). */
enum db_rc db_load(struct db *db, const char *sql, const char *data, size_t len,
                   struct db_load_result *res);

/* Transactions: statements are not retried on a new connection inside one. */
enum db_rc db_begin(struct db *db);
enum db_rc db_commit(struct db *db);
void db_rollback(struct db *db);

/* Keeps one connection for a pool handle's calls until db_unpin, outside
 * any transaction: for statements that read what an earlier one left in
 * the session (user variables).  A handle of its own is always pinned.
 * Returns DB_OK, or DB_EDOWN when no connection was free in time. */
enum db_rc db_pin(struct db *db);

/* Gives the pinned connection back to the pool. */
void db_unpin(struct db *db);

/* Runs body(db, arg) inside a transaction and commits it; when the server
 * ends it for a deadlock or lock wait timeout, runs it again (up to five
 * times in all).  body returns DB_OK or another enum db_rc value, which
 * rolls back. */
enum db_rc db_transaction(struct db *db, int (*body)(struct db *db, void *arg), void *arg);

/* Runs a script of several ;-separated statements (only on a handle made
 * with multi_statements).  For schema migrations, never for data. */
enum db_rc db_exec_script(struct db *db, const char *sql);

/* Connections shared by the threads of a process (core/dbpool.h keeps
 * them).  A pool handle is a struct db whose calls each borrow one of the
 * pool's connections for the call (a transaction keeps it from db_begin
 * to db_commit or db_rollback) and give it back after; waiting for one is
 * bounded by wait_ms, and a call that waited in vain returns DB_EDOWN,
 * like a database that is down.  cfg must outlive the pool; NULL when
 * memory runs out. */
struct db_pool *db_pool_new(const struct config *cfg, unsigned size, long long wait_ms);

/* Closes the idle connections and frees the pool (every handle's
 * connection must be back, and the handles freed first). */
void db_pool_free(struct db_pool *p);

/* A new handle onto the pool, for one thread at a time; the caller frees
 * it with db_free (which gives back a connection held in a transaction).
 * NULL when memory runs out. */
struct db *db_pool_handle(struct db_pool *p);

struct dbpool_stats;

/* The pool's counts (core/dbpool.h). */
void db_pool_stats(struct db_pool *p, struct dbpool_stats *out);

/* Process- and thread-wide set-up of the client library: db_library_init
 * once before any thread starts, db_thread_init/db_thread_end in every
 * thread that uses a handle. */
void db_library_init(void);
void db_library_end(void);
void db_thread_init(void);
void db_thread_end(void);

/* The last error text (never contains parameter values). */
const char *db_error(const struct db *db);

#endif
