/*
 * What the files of the database layer share and nobody else may use: the
 * handle's fields, and the breaker's gate that every call passes
 * (db_gate.c).  db.c runs the statements; db_result.c reads their rows;
 * db_multirow.c builds multi-row INSERTs over db_exec.
 */
#ifndef APIGW_DB_INT_H
#define APIGW_DB_INT_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/breaker.h"
#include "core/db.h"

/* Statements kept prepared per connection, most recently used first.  The
 * cap keeps many workers from reaching the server's max_prepared_stmt_count. */
#define DB_STMT_CACHE 64
#define DB_MAX_PARAMS 65535 /* the protocol allows no more */

/* What db_load streams to the server through the local-infile handler:
 * only during a db_load call; otherwise p is NULL and a request of the
 * server for a file gets nothing. */
struct db_load_src {
    const char *p;
    size_t len, pos;
};

struct stmt_slot {
    const char *sql;
    MYSQL_STMT *stmt;
};

struct db {
    const struct config *cfg;
    MYSQL *conn;
    bool multi;
    bool in_tx;
    unsigned connect_s, rw_s; /* this handle's own timeouts; 0: the configuration's */
    int64_t call_ms;          /* when the current call started */
    bool stalled;             /* the current call timed out: the server is not answering */
    bool probe;               /* the current call tests the server for the open breaker */
    unsigned host_index;      /* the connection's server: its place in db_hosts */
    int64_t connected_ms;     /* when the connection was made */
    struct stmt_slot slots[DB_STMT_CACHE];
    unsigned nslots;
    char err[256];
    unsigned last_code; /* the server's error code of the last failure */
    /* A pool handle (db_pool_handle) has no connection of its own: each
     * call borrows one of the pool's, and a transaction keeps it (held). */
    struct db_pool *pool;
    struct db *held;
    bool pinned;             /* db_pin: held keeps its connection between calls */
    bool local_infile;       /* db_allow_local_infile: connect with LOAD DATA LOCAL */
    struct db_load_src load; /* db_load's data while it runs */
};

/* Connections shared by threads: the slots hold struct db (db_new). */
struct db_pool {
    struct dbpool *slots;
    const struct config *cfg;
    int64_t wait_ms;
};

/* The timeouts of a handle: its own, else the configuration's. */
unsigned db_connect_timeout_s(const struct db *db);
unsigned db_rw_timeout_s(const struct db *db);

/* Starts a call: DB_EDOWN at once (db->err says why) while the breaker is
 * open, else DB_OK; the caller may be the one probe that tests whether the
 * server is back. */
int db_gate(struct db *db);

/* Whether the current call lasted about timeout_s (the server was silent). */
bool db_took(const struct db *db, unsigned timeout_s);

/* The server answered: closes the breaker if it was open. */
void db_answered(void);

/* The server could not be reached (db->err says how): opens the breaker,
 * unless a handle with shorter timeouts than the gateway's (the health
 * check) only found the server slow. */
void db_unreachable(const struct db *db, enum breaker_cause cause);

/* Classifies the failure of the last plain (not prepared) call on db's
 * connection like that of any statement: logs it, drops a dead
 * connection, and returns the enum db_rc value.  sql names it in the log. */
int db_fail_last(struct db *db, const char *sql);

/* Whether the breaker is open; whether a timeout opened it. */
bool db_gate_is_open(void);
bool db_gate_open_by_timeout(void);

#endif
