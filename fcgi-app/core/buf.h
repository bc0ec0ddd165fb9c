/*
 * A growable byte buffer with a hard size cap.
 *
 * Every buffer filled from outside the process (request bodies, upstream
 * bodies, headers) is a struct buf whose cap is set at init time; appends
 * past the cap fail instead of growing.  The data is always NUL-terminated
 * so that text can be used as a C string without a copy.
 */
#ifndef APIGW_BUF_H
#define APIGW_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NULL until the first append; owned by the buffer */
    size_t len; /* bytes used, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* the cap: len never exceeds it */
};

/* Prepares an empty buffer that will never hold more than max bytes. */
void buf_init(struct buf *b, size_t max);

/* Appends n bytes.  Returns 0, or -1 when the cap would be passed or memory
 * ran out; on failure the buffer is left unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends a C string; same return as buf_append. */
int buf_puts(struct buf *b, const char *s);

/* Appends each string argument in turn, up to a NULL: the cheap form of
 * buf_printf("%s%s...") on the hot path.  Same return as buf_append; on
 * failure nothing is appended. */
int buf_cat(struct buf *b, ...) __attribute__((sentinel));

/* Appends an integer in decimal, without printf's cost; same return as
 * buf_append. */
int buf_put_int(struct buf *b, long long v);

/* Appends printf-style formatted text; same return as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Appends as many of the n bytes as fit under the cap; returns how many. */
size_t buf_append_some(struct buf *b, const void *p, size_t n);

/* Appends text with every occurrence of pattern (non-empty) replaced by
 * the with_len bytes at with.  Returns 0, or -1 when the cap was reached. */
int buf_subst(struct buf *b, const char *text, const char *pattern, const char *with,
              size_t with_len);

/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Frees the memory; the buffer may be reused after buf_init. */
void buf_free(struct buf *b);

/* Returns the text ("" when empty); the buffer still owns it. */
const char *buf_str(const struct buf *b);

/* Hands the data to the caller, who must free() it; the buffer is emptied.
 * Never returns NULL unless memory ran out. */
char *buf_steal(struct buf *b);

#endif
