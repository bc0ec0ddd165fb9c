/*
 * The request log: one row per client request of the proxy.  Workers hand
 * entries to an in-memory queue and never wait on the database; a logger
 * thread writes them in multi-row INSERTs at least every log_flush_ms or
 * log_batch_rows rows.  When the database cannot take a batch, the batch is
 * appended to a spool file under spool_dir and replayed once the database
 * is back (spool.h); request_id is unique, so a replay never doubles a row.
 * When the spool refuses rows too, they wait in the queue for the database
 * as far as its bound allows; the rest are lost, counted, logged (at most a
 * line every 10 s) and reported in an alert once the database is back.
 */
#ifndef APIGW_REQLOG_H
#define APIGW_REQLOG_H

#include <stdbool.h>

#include "core/reqlog_entry.h"

struct config;

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

/* Counts one request with a client token without limits (see usage.h);
 * the logger adds the counts to the database with its next batch. */
void reqlog_note_token(struct reqlog *q, long long token_id);

/* Counts the tokens an answer used, for its key and client token (0:
 * none); the logger adds them with its next batch (see usage.h). */
void reqlog_note_tokens(struct reqlog *q, long long key_id, bool key_quota, long long token_id,
                        long long n);

/* Tokens of a client token noted in this process and not written yet. */
long long reqlog_pending_tokens(struct reqlog *q, long long token_id);

/* Entries waiting in memory (for /metrics). */
long long reqlog_depth(struct reqlog *q);

/* Bytes waiting in the spool folder, whichever process wrote them. */
long long reqlog_spool_bytes(struct reqlog *q);

/* Rows waiting in the spool folder, whichever process wrote them (for
 * /metrics; reads only what was appended since the last call). */
long long reqlog_spool_rows(struct reqlog *q);

/* Rows this process lost since it started: neither the database, the
 * spool nor the memory queue could take them (for /metrics). */
long long reqlog_rows_dropped(struct reqlog *q);

#endif
