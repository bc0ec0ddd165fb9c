/*
 * The request log as the admin API shows it: the list (logs.c, GET
 * /api/admin/logs) and one request with its attempts (log_detail.c, GET
 * /api/admin/logs/{request_id}) share the columns and their JSON.
 */
#ifndef APIGW_ADMIN_LOGS_H
#define APIGW_ADMIN_LOGS_H

#include "core/db.h"

struct json_object;

/* The time of a row as "YYYY-MM-DDTHH:MM:SS.mmmZ", from the column named
 * col. */
#define LOG_TS_MS(col)                                                                             \
    "CONCAT(DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(" col               \
    ") / 1000), 3, '0'), 'Z')"

/* The columns log_item reads, in its order, of request_logs (no alias). */
#define LOG_COLUMNS                                                                                  \
    "id, request_id, " LOG_TS_MS(                                                                    \
        "ts") ", method, upstream_id, upstream, path,"                                               \
              " key_id, token_id, status, latency_ms, attempts, req_bytes, resp_bytes,"              \
              " error, rules, messages, UNIX_TIMESTAMP(ts) * 1000, model, prompt_tokens,"            \
              " completion_tokens, cached_tokens, total_tokens, usage_source, cost_nanos, currency," \
              " fallback_from, affinity, proxy, endpoint, model_requested"

/* The number of LOG_COLUMNS. */
#define LOG_NCOLUMNS 31

/* Row i of res, whose first LOG_NCOLUMNS columns are LOG_COLUMNS, as the
 * JSON object of a log entry. */
struct json_object *log_item(const struct db_res *res, unsigned i);

/* A JSON array column (rules, messages) as an array; an empty one for
 * NULL or anything else. */
struct json_object *log_json_list(const char *text);

#endif
