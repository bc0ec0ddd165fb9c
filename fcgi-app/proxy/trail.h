/*
 * The attempts of a request, for request_attempts (sql/024): each attempt
 * that failed, and the one after a failure, noted as it ends (attempt.c)
 * into a small JSON array that travels with the request's log entry, so
 * that the logger writes them in the same transaction as the row, and the
 * spool keeps them with it when the database is away (core/reqlog_trail.h).
 * A request whose only attempt succeeded notes nothing: its log row says
 * all there is, and the common case costs no allocation.
 */
#ifndef APIGW_PROXY_TRAIL_H
#define APIGW_PROXY_TRAIL_H

#include <stddef.h>
#include <stdint.h>

struct proxy;
struct pool_key;
struct mask_secret;
struct buf;

/* Notes attempt attempt_no with key k, begun at started_ms (monotonic),
 * when it failed (status 400 or more, or error not "": why, key values
 * masked) or an earlier one did.  held is the held answer, unmasked;
 * secret masks the key out of its excerpt. */
void proxy_trail_note(struct proxy *px, const struct pool_key *k, int attempt_no,
                      int64_t started_ms, int status, const char *error, const struct buf *held,
                      const struct mask_secret *secret);

/* The query of the request for its log row: "?..." without the `key`
 * parameter, where a client token may be (proxy/credential.h), cut to
 * REQLOG_QUERY_MAX; NULL when nothing is left.  The caller frees it. */
char *proxy_trail_query(const char *query);

/* Moves the attempts noted to the log entry (px->log->trail); called once
 * the request ends, before the entry goes to the logger. */
void proxy_trail_log(struct proxy *px);

#endif
