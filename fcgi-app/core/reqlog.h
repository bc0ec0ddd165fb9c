/*
 * The request log: one row per client request of the proxy.  Workers hand
 * entries to an in-memory queue and never wait on the database; a logger
 * thread writes them in multi-row INSERTs at least every log_flush_ms or
 * log_batch_rows rows.  When the database cannot take a batch, the batch is
 * appended to a spool file under spool_dir and replayed once the database
 * is back (spool.h); request_id is unique, so a replay never doubles a row.
 */
#ifndef APIGW_REQLOG_H
#define APIGW_REQLOG_H

#include <stdbool.h>
#include <stdint.h>

struct config;

#define REQLOG_PATH_MAX  2048
#define REQLOG_ERROR_MAX 512
#define REQLOG_RULES_MAX 4096
#define REQLOG_MSGS_MAX  4096

struct reqlog_entry {
    char request_id[24];
    int64_t ts_ms; /* wall clock when the request arrived */
    char method[16];
    long long upstream_id; /* 0 for none */
    char upstream[65];
    char *path;         /* owned; without the query */
    long long key_id;   /* the last key tried, 0 for none */
    long long token_id; /* 0 for none */
    int status;
    long long latency_ms;
    int attempts;
    long long req_bytes, resp_bytes;
    char *error;    /* owned or NULL; never holds a key value */
    char *rules;    /* owned or NULL: JSON array of the names of rules that fired */
    char *messages; /* owned or NULL: JSON array of `log` action messages */
    bool stored;    /* a replayed row the database already has: neither row nor rollup */
    struct reqlog_entry *next;
};

struct reqlog;

/* Starts the logger thread with its own database connection.  cfg must
 * outlive the logger.  Returns NULL when the thread cannot start. */
struct reqlog *reqlog_start(const struct config *cfg);

/* Queues an entry; the logger owns it from now on.  Never blocks on I/O. */
void reqlog_push(struct reqlog *q, struct reqlog_entry *e);

/* Frees an entry that was not pushed. */
void reqlog_entry_free(struct reqlog_entry *e);

/* Writes what is queued (to the database or the spool), stops the thread
 * and frees the logger. */
void reqlog_stop(struct reqlog *q);

/* Counts one attempt with a key (see usage.h); the logger adds the counts
 * to the database with its next batch. */
void reqlog_note_key(struct reqlog *q, long long key_id, bool counted, bool failed);

/* Entries waiting in memory (for /metrics). */
long long reqlog_depth(struct reqlog *q);

/* Bytes waiting in the spool folder, whichever process wrote them. */
long long reqlog_spool_bytes(struct reqlog *q);

#endif
