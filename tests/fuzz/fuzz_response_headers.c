/* libFuzzer harness: an upstream's answer head, cut into lines at '\n' as
 * libcurl hands them over, goes through upstream_head_line; nothing may
 * crash, overrun or leak, the caps hold, and what is kept is well formed:
 * "Name: value\r\n" lines whose name is an HTTP token and whose value has
 * no control character but a tab (no bare CR, no NUL), none of them
 * hop-by-hop, and the copy for the client leaves out every name the
 * Connection header lists.
 * fuzz-sources: fcgi-app/proxy/upstream_head.c fcgi-app/proxy/peek.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "proxy/upstream_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether a kept field's name and value are well formed. */
static int well_formed(const struct upstream_field *f)
{
    size_t i;

    if (f->name_len == 0)
        return 0;
    for (i = 0; i < f->name_len; i++) {
        unsigned char c = (unsigned char)f->name[i];
        if (c <= ' ' || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL)
            return 0;
    }
    for (i = 0; i < f->value_len; i++) {
        unsigned char c = (unsigned char)f->value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Checks the kept fields and their copy for the client; aborts on a flaw. */
static void check(const struct upstream_head *h)
{
    const char *cursor = buf_str(&h->fields);
    struct upstream_field f;
    size_t total = 0;
    struct buf out;

    while (upstream_head_next(&cursor, &f)) {
        total += f.line_len;
        if (f.line_len < f.name_len + 4 || memcmp(f.name + f.name_len, ": ", 2) != 0 ||
            memcmp(f.line + f.line_len - 2, "\r\n", 2) != 0 ||
            f.value + f.value_len != f.line + f.line_len - 2)
            abort(); /* not a "Name: value\r\n" line */
        if (!well_formed(&f))
            abort(); /* a malformed field would pass on */
        if ((f.name_len == 10 && strncasecmp(f.name, "connection", 10) == 0) ||
            (f.name_len == 17 && strncasecmp(f.name, "transfer-encoding", 17) == 0) ||
            (f.name_len == 6 && strncasecmp(f.name, "status", 6) == 0))
            abort(); /* a hop-by-hop field was kept */
    }
    if (total != h->fields.len)
        abort(); /* the walk lost part of the fields */
    buf_init(&out, HTTP_HEAD_MAX);
    if (upstream_head_copy(h, &out) != 0 || out.len > h->fields.len)
        abort();
    cursor = buf_str(&out);
    while (upstream_head_next(&cursor, &f))
        if (upstream_head_listed(buf_str(&h->conn), f.name, f.name_len))
            abort(); /* a field the Connection header names went to the client */
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    enum upstream_head_rc rc = UPSTREAM_HEAD_MORE;
    struct upstream_head h;

    upstream_head_init(&h);
    while (p < end && rc != UPSTREAM_HEAD_REFUSED && rc != UPSTREAM_HEAD_FOLDED) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        rc = upstream_head_line(&h, p, len);
        if (h.fields.len > HTTP_HEAD_MAX || h.conn.len > UPSTREAM_HEAD_CONN_MAX)
            abort();
        if (rc == UPSTREAM_HEAD_END && (!h.done || h.status < 200))
            abort();
        if ((rc == UPSTREAM_HEAD_DROPPED && (h.dropped == 0 || h.problem == NULL)) ||
            (rc == UPSTREAM_HEAD_FOLDED && h.problem == NULL))
            abort(); /* a refused line without its reason */
        p += len;
    }
    /* No kept field holds a NUL (it would end the walk early). */
    if (rc != UPSTREAM_HEAD_REFUSED)
        check(&h);
    upstream_head_free(&h);
    return 0;
}
