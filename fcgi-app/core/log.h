/*
 * Diagnostics to standard error, one line each, with a UTC timestamp and a
 * level.  Never pass a key value or any other secret to these functions.
 */
#ifndef APIGW_LOG_H
#define APIGW_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG__MAX };

/* Sets the most verbose level printed (LOG_INFO unless changed).  Safe to
 * call while other threads log. */
void log_set_level(enum log_level level);

/* The level for a configuration name ("error", "warn", "info", "debug");
 * LOG_INFO for anything else. */
enum log_level log_level_from_name(const char *name);

/* Prints one line at the given level. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
