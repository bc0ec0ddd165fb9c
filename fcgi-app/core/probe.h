/*
 * The key probe: the upstream's cheap request (probe_method probe_path)
 * sent with one key, as the proxy would send it.  POST /keys/{id}/test and
 * apigw-recover use it; it changes nothing.
 */
#ifndef APIGW_PROBE_H
#define APIGW_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/header_rules.h"

struct db;
struct config;
struct egress_proxy;

#define PROBE_TIMEOUT_MAX_MS 10000
/* The largest probe_body, and how much of an answer a probe keeps for the
 * rules that judge it (validation jobs). */
#define PROBE_BODY_MAX   16384
#define PROBE_ANSWER_MAX 4096

/* A key and what is needed to probe it, loaded from the database. */
struct probe_target {
    long long key_id, upstream_id;
    char *key; /* decrypted; wiped by probe_target_free */
    size_t key_len;
    char masked[40];
    char *status;
    char *base_url, *auth_header, *auth_template, *auth_query_param;
    char *method, *path;       /* NULL when the upstream has no probe */
    char *body, *content_type; /* the probe's body (NULL: none) and its type */
    long long timeout_ms, connect_timeout_ms;
    long long probe_failures;
    /* The egress proxy the key would use (core/egress.h), NULL for none;
     * no_egress: the upstream has a proxy_mode but no proxy that opens, so
     * the probe is not sent (it would leave directly). */
    struct egress_proxy *proxy;
    bool no_egress;
    /* The upstream's name and header rules: a probe carries the headers
     * its set and append rules add (a provider may need one, such as a
     * version header), with no request id or token name. */
    char *upstream_name;
    struct header_rules rules;
};

struct probe_result {
    bool ok; /* a 2xx answer */
    int status;
    long long latency_ms;
    char error[512]; /* empty when there was an answer; never holds the key */
    /* The first PROBE_ANSWER_MAX bytes of the answer, and whether curl
     * failed (then `transport` says how, for the rules). */
    char answer[PROBE_ANSWER_MAX];
    size_t answer_len;
    bool transport_failed, timed_out;
};

/* Loads key key_id with its upstream.  Returns DB_OK (t filled), DB_EFAIL
 * when the key does not exist or cannot be decrypted, or the error. */
int probe_load(struct db *db, const unsigned char enc_key[32], long long key_id,
               struct probe_target *t);

void probe_target_free(struct probe_target *t);

/* Sends the probe; the target must have a method and path. */
void probe_run(const struct probe_target *t, struct probe_result *res);

/* Runs the probes of n targets, at most `parallel` at a time. */
void probe_run_many(struct probe_target *const *t, size_t n, int parallel,
                    struct probe_result *res);

#endif
