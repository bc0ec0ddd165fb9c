/*
 * The database servers a process may use, in order of preference
 * (db_hosts), and what the database layer counts about them: write
 * conflicts that made a statement or a transaction run again (a deadlock,
 * or a Galera certification conflict, both ER_LOCK_DEADLOCK), and
 * connections made to a server other than the first.
 */
#ifndef APIGW_DB_HOSTS_H
#define APIGW_DB_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_HOSTS_MAX 8

struct db_host_addr {
    char host[256];
    unsigned port;
};

/* Parses a db_hosts list: "host[:port]" entries separated by commas or
 * spaces, default_port for those without one.  Returns the number of
 * entries (0 for an empty list), or -1 with the fault in why. */
int db_hosts_parse(const char *list, unsigned default_port, struct db_host_addr *out, unsigned max,
                   char *why, size_t whylen);

/* Whether host i failed to connect in the last down_ms (it is tried after
 * the others), and the marks for a failure and a success. */
int db_host_resting(unsigned i, int64_t now_ms);
void db_host_failed(unsigned i, int64_t now_ms, long long down_ms);
void db_host_answered(unsigned i);

/* What the database layer counted in this process. */
struct db_retry_stats {
    long long conflicts;    /* ER_LOCK_DEADLOCK or lock wait timeouts met */
    long long stmt_retries; /* statements outside a transaction run again after one */
    long long tx_retries;   /* transactions run again after one */
    long long failovers;    /* connections made to a server other than db_hosts' first */
};

void db_retry_stats(struct db_retry_stats *s);
void db_count_conflict(void);
void db_count_retry(bool transaction);
void db_count_failover(void);

#endif
