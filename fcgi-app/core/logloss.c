/*
 * The account of request-log rows the spool refused (see logloss.h).
 */
#include "core/logloss.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

void logloss_init(struct logloss *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
}

void logloss_destroy(struct logloss *l)
{
    pthread_mutex_destroy(&l->lock);
}

bool logloss_note(struct logloss *l, const struct logloss_event *ev, int64_t now_ms,
                  int64_t wall_ms, bool force, char *line, size_t size)
{
    bool due;

    pthread_mutex_lock(&l->lock);
    l->refused += ev->refused;
    l->lost += ev->lost;
    l->queued = ev->queued;
    if (ev->err != 0)
        l->err = ev->err;
    if (ev->lost > 0) {
        if (l->unreported == 0)
            l->since_wall_ms = wall_ms;
        l->lost_total += ev->lost;
        l->unreported += ev->lost;
        l->unreported_err = l->err;
    }
    due = (l->refused > 0 || l->lost > 0) &&
          (force || l->line_ms == 0 || now_ms - l->line_ms >= LOGLOSS_LINE_MS);
    if (due) {
        snprintf(line, size,
                 "refused %lld rows since the last report (%lld lost; %lld rows wait in"
                 " memory): %s",
                 l->refused, l->lost, l->queued, strerror(l->err));
        l->line_ms = now_ms;
        l->refused = l->lost = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return due;
}

void logloss_counts(struct logloss *l, long long *total, long long *unreported)
{
    pthread_mutex_lock(&l->lock);
    if (total != NULL)
        *total = l->lost_total;
    if (unreported != NULL)
        *unreported = l->unreported;
    pthread_mutex_unlock(&l->lock);
}

long long logloss_alert(struct logloss *l, const char *host, long pid, const char *dir,
                        long long queue_max, char *msg, size_t size)
{
    char since[32];
    long long n;

    pthread_mutex_lock(&l->lock);
    n = l->unreported;
    if (n > 0)
        snprintf(msg, size,
                 "request log: %lld rows lost on %s (pid %ld) since %s: the database did not"
                 " take them, the spool in %s refused them (%s) and the memory queue (%lld"
                 " rows) was full",
                 n, host, pid,
                 clock_rfc3339((time_t)(l->since_wall_ms / 1000), since, sizeof(since)), dir,
                 strerror(l->unreported_err), queue_max);
    else if (size > 0)
        msg[0] = '\0';
    pthread_mutex_unlock(&l->lock);
    return n;
}

void logloss_reported(struct logloss *l, long long n)
{
    pthread_mutex_lock(&l->lock);
    l->unreported = n < l->unreported ? l->unreported - n : 0;
    pthread_mutex_unlock(&l->lock);
}
