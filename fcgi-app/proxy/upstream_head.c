/* The head of an upstream's answer, one line at a time (upstream_head.h):
 * the status line, the fields that pass on, and what the attempt needs to
 * know of the rest. */
#include "proxy/upstream_head.h"

#include <string.h>
#include <strings.h>

#include "core/nelem.h"
#include "core/valid.h"
#include "http.h"
#include "proxy/peek.h"

void upstream_head_init(struct upstream_head *h)
{
    memset(h, 0, sizeof(*h));
    buf_init(&h->fields, HTTP_HEAD_MAX);
    buf_init(&h->conn, UPSTREAM_HEAD_CONN_MAX);
}

void upstream_head_free(struct upstream_head *h)
{
    buf_free(&h->fields);
    buf_free(&h->conn);
}

bool upstream_head_listed(const char *list, const char *name, size_t n)
{
    while (list != NULL && *list != '\0') {
        size_t len;
        while (*list == ' ' || *list == ',' || *list == '\t')
            list++;
        len = strcspn(list, " ,\t");
        if (len == n && strncasecmp(list, name, n) == 0)
            return true;
        list += len;
    }
    return false;
}

/* Hop-by-hop headers and those that mean something to the web server in
 * front of us never pass from the upstream to the client. */
static bool dropped(const char *name, size_t n)
{
    static const char *const drop[] = {"connection",
                                       "keep-alive",
                                       "proxy-authenticate",
                                       "proxy-authorization",
                                       "te",
                                       "trailer",
                                       "trailers",
                                       "transfer-encoding",
                                       "upgrade",
                                       "status",
                                       "x-sendfile",
                                       "x-gateway-request-id",
                                       "x-gateway-attempts"};
    size_t i;

    if (n >= 8 && strncasecmp(name, "x-accel-", 8) == 0)
        return true;
    for (i = 0; i < NELEM(drop); i++)
        if (strlen(drop[i]) == n && strncasecmp(name, drop[i], n) == 0)
            return true;
    return false;
}

/* The status of "HTTP/x SSS reason": the digits after the first space, 0
 * when there are none.  A run of digits stops growing the number past
 * four of them (libcurl refuses such a line anyway), so that it cannot
 * overflow. */
static int parse_status(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    int status = 0;

    if (sp == NULL)
        return 0;
    for (sp++; sp < line + len && *sp >= '0' && *sp <= '9' && status < 1000; sp++)
        status = status * 10 + (*sp - '0');
    return status;
}

/* What is wrong with the field p..end whose name ends at colon, or NULL
 * when it is well formed. */
static const char *malformed(const char *p, const char *colon, const char *end)
{
    const char *q;

    if (colon == p)
        return "an empty header name";
    for (q = p; q < colon; q++)
        if (!http_tchar((unsigned char)*q))
            return "an invalid character in a header name";
    for (q = colon + 1; q < end; q++)
        if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
            return *q == '\r' ? "a bare CR in a header value"
                              : "a control character in a header value";
    return NULL;
}

/* Takes the field p..end (no CR LF) whose name ends at colon. */
static enum upstream_head_rc take_field(struct upstream_head *h, const char *p, const char *colon,
                                        const char *end)
{
    size_t nlen = (size_t)(colon - p);
    const char *v, *problem = malformed(p, colon, end);

    if (problem != NULL) {
        h->dropped++;
        h->problem = problem;
        return UPSTREAM_HEAD_DROPPED;
    }
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0)
        h->has_length = true;
    if (nlen == 10 && strncasecmp(p, "connection", 10) == 0 &&
        (buf_append(&h->conn, v, (size_t)(end - v)) != 0 || buf_puts(&h->conn, ",") != 0))
        return UPSTREAM_HEAD_REFUSED;
    if ((nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) ||
        (nlen == 12 && strncasecmp(p, "content-type", 12) == 0 && end - v >= 17 &&
         strncasecmp(v, "text/event-stream", 17) == 0))
        h->flush_each = true;
    if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0)
        h->event_stream = peek_is_event_stream(v, (size_t)(end - v));
    if (dropped(p, nlen))
        return UPSTREAM_HEAD_MORE;
    if (buf_append(&h->fields, p, nlen) != 0 || buf_puts(&h->fields, ": ") != 0 ||
        buf_append(&h->fields, v, (size_t)(end - v)) != 0 || buf_puts(&h->fields, "\r\n") != 0)
        return UPSTREAM_HEAD_REFUSED; /* more than HTTP_HEAD_MAX of fields */
    return UPSTREAM_HEAD_MORE;
}

/* Whether p..end holds nothing but CR and LF: the blank line that ends a
 * head (libcurl takes a line that starts with CR or LF for it too). */
static bool blank_line(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != '\r' && *p != '\n')
            return false;
    return true;
}

enum upstream_head_rc upstream_head_line(struct upstream_head *h, const char *p, size_t len)
{
    const char *colon, *end = p + len;

    if (h->done)
        return UPSTREAM_HEAD_MORE; /* trailers */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        h->status = parse_status(p, len);
        h->has_length = h->flush_each = h->event_stream = false;
        h->dropped = 0;
        h->problem = NULL;
        buf_reset(&h->fields);
        buf_reset(&h->conn);
        return UPSTREAM_HEAD_MORE;
    }
    if (blank_line(p, end)) {
        if (h->status < 200) /* 1xx answers are followed by the real one */
            return UPSTREAM_HEAD_MORE;
        h->done = true;
        return UPSTREAM_HEAD_END;
    }
    if (*p == ' ' || *p == '\t') {
        h->problem = "a folded header line (obs-fold)";
        return UPSTREAM_HEAD_FOLDED;
    }
    if (end > p && end[-1] == '\n')
        end--;
    if (end > p && end[-1] == '\r')
        end--;
    colon = memchr(p, ':', (size_t)(end - p));
    if (colon == NULL) {
        h->dropped++;
        h->problem = "a header line without a colon";
        return UPSTREAM_HEAD_DROPPED;
    }
    return take_field(h, p, colon, end);
}

bool upstream_head_next(const char **cursor, struct upstream_field *f)
{
    const char *line = *cursor;

    while (*line != '\0') {
        const char *eol = strstr(line, "\r\n"), *colon = strchr(line, ':');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        *cursor = line + len + (eol ? 2 : 0);
        if (colon != NULL && colon < line + len) {
            f->line = line;
            f->line_len = (size_t)(*cursor - line);
            f->name = line;
            f->name_len = (size_t)(colon - line);
            f->value = colon + 2 <= line + len ? colon + 2 : line + len;
            f->value_len = (size_t)(line + len - f->value);
            return true;
        }
        line = *cursor;
    }
    return false;
}

int upstream_head_copy(const struct upstream_head *h, struct buf *out)
{
    return upstream_head_copy_masked(h, out, NULL, false);
}

int upstream_head_copy_masked(const struct upstream_head *h, struct buf *out,
                              const struct mask_secret *k, bool without_length)
{
    const char *cursor = buf_str(&h->fields);
    struct upstream_field f;
    size_t before;
    int rc = 0;

    while (upstream_head_next(&cursor, &f)) {
        if (upstream_head_listed(buf_str(&h->conn), f.name, f.name_len) ||
            (without_length && f.name_len == 14 && strncasecmp(f.name, "content-length", 14) == 0))
            continue;
        if (k == NULL) {
            if (buf_append(out, f.line, f.line_len) != 0)
                rc = -1;
            continue;
        }
        before = out->len;
        if (buf_append(out, f.name, (size_t)(f.value - f.name)) != 0 ||
            mask_buf(out, f.value, f.value_len, k) < 0 || buf_puts(out, "\r\n") != 0) {
            rc = -1;
            if (out->data != NULL) { /* a field passes whole or not at all */
                out->len = before;
                out->data[before] = '\0';
            }
        }
    }
    return rc;
}
