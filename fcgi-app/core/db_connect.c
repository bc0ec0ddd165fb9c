#include "core/db_connect.h"

#include <mysql.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/db_hosts.h"
#include "core/db_int.h"

/* A connection to a server other than db_hosts' first is closed when it
 * is this old and idle, so that the process comes back to the first one
 * once it answers again. */
#define DB_FAILBACK_MS 10000

/* Sets a new connection's options: its timeouts, and a lock wait shorter
 * than the read timeout, so that a wait on a row lock ends in the server's
 * error (DB_ERETRY), not in a silence taken for a stalled server. */
static void set_options(struct db *db, MYSQL *m)
{
    unsigned ct = db_connect_timeout_s(db), rw = db_rw_timeout_s(db);
    unsigned local_infile = db->local_infile ? 1 : 0;
    char lock_wait[64];

    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* LOAD DATA LOCAL only where db_load runs (the request log's writer):
     * every other connection refuses a server's request for a file. */
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    mysql_options(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (rw <= 50) {
        snprintf(lock_wait, sizeof(lock_wait), "SET SESSION innodb_lock_wait_timeout = %u",
                 rw > 1 ? rw - 1 : 1);
        mysql_options(m, MYSQL_INIT_COMMAND, lock_wait);
    }
}

/* Whether a Galera node takes queries (wsrep_ready ON); a server without
 * Galera has no such status and always does. */
static bool node_ready(MYSQL *m)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    bool ready;

    if (mysql_query(m, "SHOW STATUS LIKE 'wsrep_ready'") != 0)
        return false;
    if ((r = mysql_store_result(m)) == NULL)
        return false;
    row = mysql_fetch_row(r);
    ready = row == NULL || (row[1] != NULL && strcmp(row[1], "ON") == 0);
    mysql_free_result(r);
    return ready;
}

/* One connection attempt; NULL with db->err set when it fails. */
static MYSQL *try_server(struct db *db, const char *host, unsigned port, const char *sock,
                         bool check_ready)
{
    const struct config *c = db->cfg;
    unsigned long flags = CLIENT_FOUND_ROWS | (db->multi ? CLIENT_MULTI_STATEMENTS : 0);
    MYSQL *m = mysql_init(NULL);

    if (m == NULL) {
        snprintf(db->err, sizeof(db->err), "connect: out of memory");
        return NULL;
    }
    set_options(db, m);
    if (mysql_real_connect(m, host, c->db_user, c->db_password,
                           c->db_name[0] != '\0' ? c->db_name : NULL, port, host ? NULL : sock,
                           flags) == NULL) {
        snprintf(db->err, sizeof(db->err), "connect%s%.100s: %s", host ? " to " : "",
                 host ? host : "", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    if (check_ready && !node_ready(m)) {
        snprintf(db->err, sizeof(db->err), "connect to %.100s: the cluster node is not ready",
                 host);
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* Tries the servers of db_hosts in order, those that failed a moment ago
 * last.  Returns the connection, with db->host_index set, or NULL. */
static MYSQL *try_list(struct db *db)
{
    struct db_host_addr hosts[DB_HOSTS_MAX];
    int n = db_hosts_parse(db->cfg->db_hosts, (unsigned)db->cfg->db_port, hosts, DB_HOSTS_MAX,
                           db->err, sizeof(db->err));
    int resting[DB_HOSTS_MAX];
    int64_t now = clock_mono_ms();
    int pass, i;
    MYSQL *m;

    for (i = 0; i < n; i++)
        resting[i] = db_host_resting((unsigned)i, now);
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            if (resting[i] != pass)
                continue;
            now = clock_mono_ms();
            m = try_server(db, hosts[i].host, hosts[i].port, NULL, true);
            if (m == NULL) {
                db_host_failed((unsigned)i, now, db->cfg->db_breaker_ms);
                continue;
            }
            db_host_answered((unsigned)i);
            if (i > 0)
                db_count_failover();
            db->host_index = (unsigned)i;
            return m;
        }
    }
    return NULL;
}

int db_open(struct db *db)
{
    const struct config *c = db->cfg;
    MYSQL *m;

    if (c->db_hosts[0] != '\0') {
        m = try_list(db);
    } else {
        db->host_index = 0;
        m = try_server(db, c->db_host[0] != '\0' ? c->db_host : NULL, (unsigned)c->db_port,
                       c->db_socket[0] != '\0' ? c->db_socket : NULL, false);
    }
    if (m == NULL) {
        db->stalled = db_took(db, db_connect_timeout_s(db));
        db_unreachable(db, db->stalled ? BREAKER_CAUSE_TIMEOUT : BREAKER_CAUSE_DOWN);
        return DB_EDOWN;
    }
    db->conn = m;
    db->connected_ms = clock_mono_ms();
    db_answered();
    return DB_OK;
}

bool db_should_fail_back(const struct db *db)
{
    return db->conn != NULL && !db->in_tx && db->host_index > 0 &&
           clock_mono_ms() - db->connected_ms >= DB_FAILBACK_MS;
}
