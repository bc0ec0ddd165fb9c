#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Makes room for n more bytes plus the NUL, growing geometrically. */
static int buf_reserve(struct buf *b, size_t n)
{
    size_t need, ncap;
    char *p;

    if (n > b->max || b->len > b->max - n)
        return -1;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    p = realloc(b->data, ncap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

size_t buf_append_some(struct buf *b, const void *p, size_t n)
{
    size_t room = b->max - b->len;

    if (n > room)
        n = room;
    return buf_append(b, p, n) == 0 ? n : 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_cat(struct buf *b, ...)
{
    size_t at = b->len;
    const char *s;
    va_list ap;
    int rc = 0;

    va_start(ap, b);
    while (rc == 0 && (s = va_arg(ap, const char *)) != NULL)
        rc = buf_puts(b, s);
    va_end(ap);
    if (rc != 0 && b->data != NULL) {
        b->len = at;
        b->data[at] = '\0';
    }
    return rc;
}

int buf_put_int(struct buf *b, long long v)
{
    char tmp[24];
    size_t at = sizeof(tmp);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        tmp[--at] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[--at] = '-';
    return buf_append(b, tmp + at, sizeof(tmp) - at);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int buf_subst(struct buf *b, const char *text, const char *pattern, const char *with,
              size_t with_len)
{
    size_t plen = strlen(pattern);
    const char *at;
    int rc = 0;

    while (plen > 0 && (at = strstr(text, pattern)) != NULL) {
        rc |= buf_append(b, text, (size_t)(at - text));
        rc |= buf_append(b, with, with_len);
        text = at + plen;
    }
    rc |= buf_puts(b, text);
    return rc;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

const char *buf_str(const struct buf *b)
{
    return b->data != NULL ? b->data : "";
}

char *buf_steal(struct buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
