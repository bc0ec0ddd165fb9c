#include "core/db.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/breaker.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/db_connect.h"
#include "core/db_hosts.h"
#include "core/db_int.h"
#include "core/db_result.h"
#include "core/dbpool.h"
#include "core/log.h"

struct db *db_new(const struct config *cfg, bool multi_statements)
{
    struct db *db = calloc(1, sizeof(*db));

    if (db == NULL)
        return NULL;
    db->cfg = cfg;
    db->multi = multi_statements;
    return db;
}

static void drop_connection(struct db *db)
{
    unsigned i;

    for (i = 0; i < db->nslots; i++)
        mysql_stmt_close(db->slots[i].stmt);
    db->nslots = 0;
    if (db->conn != NULL)
        mysql_close(db->conn);
    db->conn = NULL;
    db->in_tx = false;
}

static void give_back(struct db *h, struct db *c);

void db_free(struct db *db)
{
    if (db == NULL)
        return;
    if (db->held != NULL) {
        db_rollback(db->held);
        give_back(db, db->held);
    }
    drop_connection(db);
    free(db);
}

/* A pool handle's connection for one call: the one it holds inside a
 * transaction, else one taken from the pool (made when its slot is new).
 * NULL when every connection stayed busy for db_pool_wait_ms. */
static struct db *borrow(struct db *h)
{
    void *item;

    if (h->held != NULL)
        return h->held;
    switch (dbpool_take(h->pool->slots, h->pool->wait_ms, &item)) {
    case DBPOOL_ITEM:
        return item;
    case DBPOOL_MAKE:
        item = db_new(h->pool->cfg, false);
        if (item == NULL)
            dbpool_give(h->pool->slots, NULL);
        return item;
    case DBPOOL_TIMEOUT:
        break;
    }
    snprintf(h->err, sizeof(h->err), "no pooled database connection free within %lld ms",
             (long long)h->pool->wait_ms);
    return NULL;
}

/* Ends a borrow: the connection stays with the handle inside a
 * transaction, else it goes back to the pool. */
static void give_back(struct db *h, struct db *c)
{
    memcpy(h->err, c->err, sizeof(h->err));
    h->held = c->in_tx || h->pinned ? c : NULL;
    if (h->held == NULL)
        dbpool_give(h->pool->slots, c);
}

enum db_rc db_pin(struct db *db)
{
    struct db *c;

    if (db->pool == NULL || db->held != NULL)
        return DB_OK;
    if ((c = borrow(db)) == NULL)
        return DB_EDOWN;
    db->pinned = true;
    db->held = c;
    return DB_OK;
}

void db_unpin(struct db *db)
{
    if (db->pool == NULL || !db->pinned)
        return;
    db->pinned = false;
    if (db->held != NULL && !db->held->in_tx) {
        dbpool_give(db->pool->slots, db->held);
        db->held = NULL;
    }
}

/* Runs fn on a connection borrowed for the call. */
static enum db_rc db_pooled(struct db *h, enum db_rc (*fn)(struct db *))
{
    struct db *c = borrow(h);
    enum db_rc rc;

    if (c == NULL)
        return DB_EDOWN;
    rc = fn(c);
    give_back(h, c);
    return rc;
}

static bool is_connection_error(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
           e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED || e == ER_CONNECTION_KILLED ||
           e == ER_SERVER_SHUTDOWN || e == CR_COMMANDS_OUT_OF_SYNC ||
           e == ER_UNKNOWN_COM_ERROR; /* a Galera node that left the cluster */
}

/* Connects if not connected, in a call that passed the gate. */
static int connect_now(struct db *db)
{
    return db->conn != NULL ? DB_OK : db_open(db);
}

enum db_rc db_connect(struct db *db)
{
    if (db->pool != NULL)
        return db_pooled(db, db_connect);
    if (db->conn != NULL)
        return DB_OK;
    return db_gate(db) != DB_OK ? DB_EDOWN : connect_now(db);
}

/* Classifies the error of the last call, dropping a dead connection. */
static int fail(struct db *db, unsigned code, const char *msg, const char *sql)
{
    snprintf(db->err, sizeof(db->err), "%u: %s", code, msg);
    db->last_code = code;
    if (is_connection_error(code)) {
        drop_connection(db);
        /* The server stayed silent for the whole timeout: it is stalled,
         * and every other call would wait as long. */
        db->stalled = db_took(db, db_rw_timeout_s(db));
        if (db->stalled)
            db_unreachable(db, BREAKER_CAUSE_TIMEOUT);
        return DB_EDOWN;
    }
    if (code == ER_DUP_ENTRY)
        return DB_EDUP;
    if (code == ER_LOCK_DEADLOCK || code == ER_LOCK_WAIT_TIMEOUT) {
        db_count_conflict();
        log_info("database: %s; the transaction will run again", db->err);
        return DB_ERETRY;
    }
    log_error("database: %s (in: %.120s)", db->err, sql);
    return DB_EFAIL;
}

int db_fail_last(struct db *db, const char *sql)
{
    return fail(db, mysql_errno(db->conn), mysql_error(db->conn), sql);
}

enum db_rc db_ping(struct db *db)
{
    if (db->pool != NULL)
        return db_pooled(db, db_ping);
    if (db_gate(db) != DB_OK || connect_now(db) != DB_OK)
        return DB_EDOWN;
    if (mysql_ping(db->conn) != 0) {
        /* A silent server is not asked twice; a lost connection is opened
         * again once (the server may have restarted). */
        fail(db, mysql_errno(db->conn), mysql_error(db->conn), "PING");
        if (db->stalled || connect_now(db) != DB_OK || mysql_ping(db->conn) != 0) {
            drop_connection(db);
            return DB_EDOWN;
        }
    }
    db_answered();
    return DB_OK;
}

void db_set_timeouts(struct db *db, unsigned connect_s, unsigned rw_s)
{
    db->connect_s = connect_s;
    db->rw_s = rw_s;
}

enum db_health db_health(struct db *db)
{
    if (db_ping(db) == DB_OK)
        return DB_HEALTH_OK;
    if (db->stalled || db_gate_open_by_timeout())
        return DB_HEALTH_TIMEOUT;
    return DB_HEALTH_DOWN;
}

/* Finds or prepares the statement for sql; NULL with *rc set on failure. */
static MYSQL_STMT *get_stmt(struct db *db, const char *sql, int *rc)
{
    struct stmt_slot hit;
    MYSQL_STMT *st;
    my_bool on = 1;
    unsigned i;

    for (i = 0; i < db->nslots; i++) {
        if (db->slots[i].sql == sql) {
            hit = db->slots[i];
            memmove(&db->slots[1], &db->slots[0], i * sizeof(hit));
            db->slots[0] = hit;
            return hit.stmt;
        }
    }
    st = mysql_stmt_init(db->conn);
    if (st == NULL) {
        *rc = fail(db, mysql_errno(db->conn), mysql_error(db->conn), sql);
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0) {
        *rc = fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
        mysql_stmt_close(st);
        return NULL;
    }
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    if (db->nslots == DB_STMT_CACHE)
        mysql_stmt_close(db->slots[--db->nslots].stmt);
    memmove(&db->slots[1], &db->slots[0], db->nslots * sizeof(db->slots[0]));
    db->slots[0].sql = sql;
    db->slots[0].stmt = st;
    db->nslots++;
    return st;
}

static int bind_params(struct db *db, MYSQL_STMT *st, const struct db_param *p, unsigned n,
                       const char *sql)
{
    MYSQL_BIND *b;
    unsigned i;
    int rc = DB_OK;

    if (n != mysql_stmt_param_count(st) || n > DB_MAX_PARAMS) {
        log_error("database: statement wants %lu parameters, given %u (at most %d) (in: %.120s)",
                  mysql_stmt_param_count(st), n, DB_MAX_PARAMS, sql);
        return DB_EFAIL;
    }
    if (n == 0)
        return DB_OK;
    b = calloc(n, sizeof(*b));
    if (b == NULL)
        return DB_EFAIL;
    for (i = 0; i < n; i++) {
        switch (p[i].type) {
        case DBP_T_NULL:
            b[i].buffer_type = MYSQL_TYPE_NULL;
            break;
        case DBP_T_INT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *)&p[i].i;
            break;
        case DBP_T_DOUBLE:
            b[i].buffer_type = MYSQL_TYPE_DOUBLE;
            b[i].buffer = (void *)&p[i].d;
            break;
        case DBP_T_STR:
        case DBP_T_BLOB:
            b[i].buffer_type = p[i].type == DBP_T_STR ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            b[i].buffer = (void *)p[i].p;
            b[i].buffer_length = p[i].n;
            break;
        }
    }
    if (mysql_stmt_bind_param(st, b) != 0)
        rc = fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
    free(b);
    return rc;
}

/* Reads the statement's whole result into res (db_result.c); a failure of
 * the server is logged and classified like any other. */
static int fetch_all(struct db *db, MYSQL_STMT *st, MYSQL_RES *meta, struct db_res *res,
                     const char *sql)
{
    char msg[256];
    unsigned code = db_result_fetch(st, meta, res, msg, sizeof(msg));

    if (code == 0)
        return DB_OK;
    return code == DB_RESULT_NOMEM ? DB_EFAIL : fail(db, code, msg, sql);
}

/* Runs sql once on the current connection. */
static int run_once(struct db *db, const char *sql, const struct db_param *p, unsigned n,
                    unsigned long long *affected, unsigned long long *insert_id, struct db_res *res)
{
    MYSQL_STMT *st;
    MYSQL_RES *meta;
    int rc = DB_EFAIL;

    if ((rc = connect_now(db)) != DB_OK)
        return rc;
    if ((st = get_stmt(db, sql, &rc)) == NULL)
        return rc;
    if ((rc = bind_params(db, st, p, n, sql)) != DB_OK)
        return rc;
    if (mysql_stmt_execute(st) != 0)
        return fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
    if (affected != NULL)
        *affected = mysql_stmt_affected_rows(st);
    if (insert_id != NULL)
        *insert_id = mysql_stmt_insert_id(st);
    meta = mysql_stmt_result_metadata(st);
    if (meta == NULL)
        return DB_OK;
    if (res != NULL) {
        rc = fetch_all(db, st, meta, res, sql);
    } else {
        mysql_stmt_store_result(st);
        mysql_stmt_free_result(st);
        rc = DB_OK;
    }
    mysql_free_result(meta);
    return rc;
}

#define STMT_TRIES 6

/* A statement outside a transaction that met a conflict (a deadlock, or a
 * Galera certification failure once the server's own wsrep_retry_autocommit
 * is spent; both ER_LOCK_DEADLOCK, and both at once) ran to no effect: runs
 * it again, a bounded number of times.  A lock wait timeout is not run
 * again: it has already waited innodb_lock_wait_timeout. */
static int run_again(struct db *db, const char *sql, const struct db_param *p, unsigned n,
                     unsigned long long *affected, unsigned long long *insert_id,
                     struct db_res *res)
{
    int rc = DB_ERETRY, attempt;

    for (attempt = 1; attempt < STMT_TRIES && rc == DB_ERETRY && db->last_code == ER_LOCK_DEADLOCK;
         attempt++) {
        if (res != NULL) {
            db_res_free(res);
            memset(res, 0, sizeof(*res));
        }
        /* Waits 1, 2, 4, 8, 16 ms (with jitter) so that two writers of one
         * hot row on different nodes stop meeting each other. */
        usleep((useconds_t)(500 * (1 << attempt) + clock_mono_us() % 1000));
        db_count_retry(false);
        rc = run_once(db, sql, p, n, affected, insert_id, res);
    }
    return rc;
}

static int run(struct db *db, const char *sql, const struct db_param *p, unsigned n,
               unsigned long long *affected, unsigned long long *insert_id, struct db_res *res)
{
    bool had_conn = db->conn != NULL, in_tx = db->in_tx;
    struct db *c;
    int rc;

    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if (db->pool != NULL) {
        if ((c = borrow(db)) == NULL)
            return DB_EDOWN;
        rc = run(c, sql, p, n, affected, insert_id, res);
        give_back(db, c);
        return rc;
    }
    if ((rc = db_gate(db)) != DB_OK)
        return rc;
    if (db_should_fail_back(db))
        drop_connection(db);
    rc = run_once(db, sql, p, n, affected, insert_id, res);
    /* A connection that died while idle (server restart) is only noticed
     * now; run the statement once more on a fresh one.  Inside a
     * transaction the earlier statements are gone, so the caller decides;
     * a server that stayed silent is not asked again. */
    if (rc == DB_EDOWN && had_conn && !in_tx && !db->stalled) {
        if (res != NULL) {
            db_res_free(res);
            memset(res, 0, sizeof(*res));
        }
        rc = run_once(db, sql, p, n, affected, insert_id, res);
    }
    if (rc == DB_ERETRY && !in_tx)
        rc = run_again(db, sql, p, n, affected, insert_id, res);
    if (rc != DB_EDOWN)
        db_answered();
    return rc;
}

enum db_rc db_exec(struct db *db, const char *sql, const struct db_param *params, unsigned nparams,
                   unsigned long long *affected, unsigned long long *insert_id)
{
    return run(db, sql, params, nparams, affected, insert_id, NULL);
}

enum db_rc db_query(struct db *db, const char *sql, const struct db_param *params, unsigned nparams,
                    struct db_res *res)
{
    return run(db, sql, params, nparams, NULL, NULL, res);
}

enum db_rc db_begin(struct db *db)
{
    int rc;

    if (db->pool != NULL)
        return db_pooled(db, db_begin);
    if ((rc = db_gate(db)) != DB_OK || (rc = connect_now(db)) != DB_OK)
        return rc;
    if (mysql_query(db->conn, "START TRANSACTION") != 0) {
        rc = fail(db, mysql_errno(db->conn), mysql_error(db->conn), "START TRANSACTION");
        /* The connection may have died while idle: one more try. */
        if (rc == DB_EDOWN && !db->stalled && connect_now(db) == DB_OK &&
            mysql_query(db->conn, "START TRANSACTION") == 0)
            rc = DB_OK;
        if (rc != DB_OK)
            return rc;
    }
    db->in_tx = true;
    return DB_OK;
}

enum db_rc db_commit(struct db *db)
{
    int rc = DB_OK;

    if (db->pool != NULL)
        return db->held != NULL ? db_pooled(db, db_commit) : DB_EDOWN;
    if (db->conn == NULL)
        return DB_EDOWN;
    /* While the breaker is open the transaction is given up: closing the
     * connection rolls it back without waiting on the server. */
    if ((rc = db_gate(db)) != DB_OK) {
        drop_connection(db);
        return rc;
    }
    if (mysql_commit(db->conn) != 0)
        rc = fail(db, mysql_errno(db->conn), mysql_error(db->conn), "COMMIT");
    db->in_tx = false;
    return rc;
}

void db_rollback(struct db *db)
{
    if (db->pool != NULL) {
        if (db->held != NULL) {
            db_rollback(db->held);
            give_back(db, db->held);
        }
        return;
    }
    db->call_ms = clock_mono_ms();
    db->stalled = false;
    if (db->conn != NULL && db_gate_is_open())
        drop_connection(db); /* rolls back on the server without waiting on it */
    else if (db->conn != NULL && mysql_rollback(db->conn) != 0)
        fail(db, mysql_errno(db->conn), mysql_error(db->conn), "ROLLBACK");
    db->in_tx = false;
}

#define TX_TRIES 5

enum db_rc db_transaction(struct db *db, int (*body)(struct db *db, void *arg), void *arg)
{
    int rc = DB_EFAIL, attempt;

    for (attempt = 0; attempt < TX_TRIES; attempt++) {
        if ((rc = db_begin(db)) != DB_OK)
            return rc;
        rc = body(db, arg);
        if (rc == DB_OK)
            rc = db_commit(db);
        else
            db_rollback(db);
        if (rc != DB_ERETRY)
            return rc;
        if (attempt + 1 < TX_TRIES)
            db_count_retry(true);
        usleep((useconds_t)(5000 * (attempt + 1)));
    }
    return rc;
}

enum db_rc db_exec_script(struct db *db, const char *sql)
{
    int rc, more;

    if (db->pool != NULL)
        return DB_EFAIL; /* scripts run on a handle of their own */
    if ((rc = db_gate(db)) != DB_OK || (rc = connect_now(db)) != DB_OK)
        return rc;
    if (mysql_real_query(db->conn, sql, (unsigned long)strlen(sql)) != 0)
        return fail(db, mysql_errno(db->conn), mysql_error(db->conn), sql);
    do {
        MYSQL_RES *r = mysql_store_result(db->conn);
        if (r != NULL)
            mysql_free_result(r);
        else if (mysql_errno(db->conn) != 0)
            return fail(db, mysql_errno(db->conn), mysql_error(db->conn), sql);
        more = mysql_next_result(db->conn);
        if (more > 0)
            return fail(db, mysql_errno(db->conn), mysql_error(db->conn), sql);
    } while (more == 0);
    return DB_OK;
}

const char *db_error(const struct db *db)
{
    return db->err;
}

struct db_pool *db_pool_new(const struct config *cfg, unsigned size, long long wait_ms)
{
    struct db_pool *p = calloc(1, sizeof(*p));

    if (p == NULL || (p->slots = dbpool_new(size)) == NULL) {
        free(p);
        return NULL;
    }
    p->cfg = cfg;
    p->wait_ms = wait_ms;
    return p;
}

static void free_pooled(void *item)
{
    db_free(item);
}

void db_pool_free(struct db_pool *p)
{
    if (p == NULL)
        return;
    dbpool_free(p->slots, free_pooled);
    free(p);
}

struct db *db_pool_handle(struct db_pool *p)
{
    struct db *h = db_new(p->cfg, false);

    if (h != NULL)
        h->pool = p;
    return h;
}

void db_pool_stats(struct db_pool *p, struct dbpool_stats *out)
{
    dbpool_stats(p->slots, out);
}

void db_library_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

void db_library_end(void)
{
    mysql_library_end();
}

void db_thread_init(void)
{
    mysql_thread_init();
}

void db_thread_end(void)
{
    mysql_thread_end();
}
