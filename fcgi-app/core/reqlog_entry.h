/*
 * One row of the request log as the proxy fills it in, the logger writes
 * it (reqlog.c), the spool keeps it (spool.c) and the rollups count it
 * (rollup.c).  On its own so that those modules share the row without
 * including each other.  Free an entry with reqlog_entry_free (reqlog.h).
 */
#ifndef APIGW_REQLOG_ENTRY_H
#define APIGW_REQLOG_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/usage_scan.h"

#define REQLOG_PATH_MAX  2048
#define REQLOG_QUERY_MAX 2048
#define REQLOG_ERROR_MAX 512
#define REQLOG_RULES_MAX 4096
#define REQLOG_MSGS_MAX  4096
#define REQLOG_TRAIL_MAX 65536

struct reqlog_entry {
    char request_id[32];
    int64_t ts_ms; /* wall clock when the request arrived */
    char method[16];
    long long upstream_id; /* 0 for none */
    char upstream[65];
    char endpoint[128]; /* the origin of the last attempt's endpoint, "" for none */
    char *path;         /* owned; without the query */
    char *query;        /* owned or NULL: "?..." less the client token's `key` */
    long long key_id;   /* the last key tried, 0 for none */
    long long token_id; /* 0 for none */
    int status;
    long long latency_ms;
    int attempts;
    long long req_bytes, resp_bytes;
    char *error;    /* owned or NULL; never holds a key value */
    char *rules;    /* owned or NULL: JSON array of the names of rules that fired */
    char *messages; /* owned or NULL: JSON array of `log` action messages */
    /* Owned or NULL: the attempts for request_attempts when one failed, a
     * JSON array of objects (proxy/trail.h, core/reqlog_trail.h). */
    char *trail;
    /* Tokens and model of the answer the client got (counts -1 and
     * source USAGE_SOURCE_NONE when not read; reqlog_entry_usage_init). */
    struct usage_counts usage;
    /* Its cost at the model's price when the row was made, in billionths
     * of currency; currency "" when no price matched (core/price.h). */
    long long cost_nanos;
    char currency[4];
    char fallback_from[65]; /* the upstream the request named, when a fallback served it */
    /* The model the request named before the upstream's model_map, "" when
     * the upstream has no model_allow or model_map or no model was found. */
    char model_requested[USAGE_MODEL_MAX];
    /* Sticky keys: whether the request had an affinity id, and then
     * whether its preferred key served it (column affinity: NULL, 1, 0). */
    bool affine, affine_home;
    char proxy[520]; /* the masked egress proxy of the final attempt, "" for none */
    bool stored;     /* a replayed row the database already has: neither row nor rollup */
    bool held;       /* the spool refused it: it waits in memory for the database */
    struct reqlog_entry *next;
};

#endif
