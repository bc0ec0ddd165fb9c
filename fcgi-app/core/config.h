/*
 * The configuration: `key = value` lines, `#` comments, every key
 * overridable by the environment variable APIGW_<KEY>.  The keys, their
 * types, ranges and defaults live in one table in config.c.
 */
#ifndef APIGW_CONFIG_H
#define APIGW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_PATH "var/apigw.conf"

/* Threads that proxied requests can never take: max_inflight may be at
 * most max_threads minus these. */
#define CONFIG_RESERVED_THREADS 16

struct config {
    char *path; /* the file it was read from */

    long long port;
    long long workers;
    char *fcgi_socket;
    char *db_host;
    char *db_hosts; /* servers tried in order (Galera); empty: db_host */
    long long db_port;
    char *db_socket;
    char *db_user;
    char *db_password;
    char *db_name;
    long long db_connect_timeout_s;
    long long db_rw_timeout_s;
    long long db_job_rw_timeout_s; /* the cron jobs' connections (bulk work) */
    long long db_breaker_ms;       /* how long a stalled database is taken for down */
    char *admin_token;
    char *encryption_key;
    unsigned char enc_key[32]; /* encryption_key decoded */
    long long max_body_bytes;
    long long rule_body_limit;
    long long log_retention_days;
    long long quota_reset_hour;
    char *quota_reset_tz;
    char *webhook_url;
    char *spool_dir;
    long long session_ttl_s;
    char *log_level;
    long long pool_refresh_ms;
    long long log_flush_ms;
    long long log_batch_rows;
    long long drain_timeout_s;
    long long max_threads;            /* threads at most, however many requests */
    long long max_inflight;           /* proxied requests in flight at most */
    long long max_waiting;            /* of them, waiting for a usable key at most */
    long long db_pool_size;           /* database connections shared by the threads */
    long long db_pool_wait_ms;        /* the longest wait for a pooled connection */
    long long client_send_timeout_ms; /* a client that reads nothing that long is dropped */
    char *fcgi_socket_group;          /* the group of the FastCGI socket; "": the process's own */
    /* Login throttling (core/throttle.h) and password hashing slots. */
    long long login_free_failures;
    long long login_address_free_failures;
    long long login_delay_max_s;
    long long login_throttle_window_s;
    long long login_throttle_entries;
    long long login_hash_concurrency;
    long long login_hash_wait_ms;
    long long key_min_length; /* the shortest key an import accepts */
    /* Where alert webhooks may go: comma-separated hosts or URL prefixes;
     * "": anywhere (core/alert.h, alert_url_allowed). */
    char *webhook_allow;
    long long script_timeout_ms; /* issue 17 */
    long long script_memory_kb;  /* issue 17 */
    long long script_body_limit; /* issue 17: how much of a request body scripts see */
    char *script_fail;           /* issue 17: "open" or "closed" */
    char *metrics_models;        /* issue 18: models /metrics shows, comma-separated */
};

/* Reads the file at path (NULL: $APIGW_CONFIG, else CONFIG_DEFAULT_PATH),
 * applies APIGW_<KEY> overrides and checks every value.  Returns 0, or -1
 * with one line `FILE:LINE: KEY: what is wrong` in err.  The caller owns
 * the strings in c and frees them with config_free. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Parses text as if it were the file named name (used by tests and fuzzers);
 * environment overrides are applied when use_env is true. */
int config_parse(struct config *c, const char *name, const char *text, bool use_env, char *err,
                 size_t errlen);

/* Frees the strings of a loaded configuration. */
void config_free(struct config *c);

/* Writes the effective value of key into out as text.  Returns 0, or -1 for
 * an unknown key. */
int config_get_text(const struct config *c, const char *key, char *out, size_t outlen);

#endif
