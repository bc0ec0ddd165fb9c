#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Written on SIGHUP by the signal thread while workers read it. */
static atomic_int max_level = LOG_INFO;

static const char *const level_names[LOG__MAX] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    atomic_store_explicit(&max_level, (int)level, memory_order_relaxed);
}

enum log_level log_level_from_name(const char *name)
{
    int i;

    for (i = 0; i < LOG__MAX; i++)
        if (name != NULL && strcmp(name, level_names[i]) == 0)
            return (enum log_level)i;
    return LOG_INFO;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[1024], stamp[32];
    struct tm tm;
    time_t now;
    va_list ap;

    if ((int)level > atomic_load_explicit(&max_level, memory_order_relaxed))
        return;
    now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fprintf per line keeps lines from different threads whole. */
    fprintf(stderr, "%s apigw[%s] %s\n", stamp, level_names[level], line);
}
