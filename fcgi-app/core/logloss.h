/*
 * The request log's account of rows the spool refused (reqlog.c): how many
 * wait in memory instead and how many were lost, the rate-limited line for
 * the application log, the total for /metrics and the alert that reports
 * the lost rows once the database is back.  No I/O here: the caller logs
 * the lines and writes the alert, and passes the clock in.
 */
#ifndef APIGW_LOGLOSS_H
#define APIGW_LOGLOSS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGLOSS_LINE_MS 10000 /* at most one line per this many ms */

struct logloss {
    pthread_mutex_t lock;
    int64_t line_ms;         /* when the last line was due; 0: never */
    long long refused, lost; /* since the last line */
    long long queued;        /* rows in the memory queue after the last refusal */
    int err;                 /* errno of the last refusal */
    long long lost_total;    /* since the start */
    long long unreported;    /* lost rows no alert has reported yet */
    int64_t since_wall_ms;   /* wall clock of the first unreported loss */
    int unreported_err;      /* errno of the last unreported loss */
};

/* What one refusal did: rows the spool refused for the first time, rows
 * lost (held rows refused again included), and the rows in the memory
 * queue afterwards. */
struct logloss_event {
    long long refused, lost, queued;
    int err;
};

/* Prepares an empty account. */
void logloss_init(struct logloss *l);

/* Frees what logloss_init took. */
void logloss_destroy(struct logloss *l);

/* Adds a refusal at now_ms (monotonic) and wall_ms (wall clock).  When a
 * line is due (the first refusal, LOGLOSS_LINE_MS after the last line, or
 * force), writes it into line (counts since the last line, the rows in
 * memory now and the errno text), starts the next period and returns true;
 * else returns false. */
bool logloss_note(struct logloss *l, const struct logloss_event *ev, int64_t now_ms,
                  int64_t wall_ms, bool force, char *line, size_t size);

/* Rows lost since the start (for /metrics) into *total, and lost rows no
 * alert has reported yet into *unreported; either may be NULL. */
void logloss_counts(struct logloss *l, long long *total, long long *unreported);

/* Writes the alert message for the unreported lost rows into msg: how
 * many, on which host and process, since when, and why (the spool folder
 * dir, the errno text, the memory bound queue_max).  Returns how many rows
 * it reports (0: none, msg is then empty); logloss_reported takes them off
 * once the alert is written. */
long long logloss_alert(struct logloss *l, const char *host, long pid, const char *dir,
                        long long queue_max, char *msg, size_t size);

/* Takes n reported rows off the unreported count. */
void logloss_reported(struct logloss *l, long long n);

#endif
