/*
 * The head of an upstream's answer as libcurl hands it over, one line per
 * call: the status, the header fields that pass on to the client, and what
 * the attempt needs to know of the rest (Content-Length, chunked or event
 * stream, the names the upstream's Connection header makes hop-by-hop).
 * Pure: no libcurl and no FastCGI, so that the unit tests and the fuzz
 * harness (tests/fuzz/fuzz_response_headers.c) use it alone.
 */
#ifndef APIGW_PROXY_UPSTREAM_HEAD_H
#define APIGW_PROXY_UPSTREAM_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/mask.h"

/* The upstream's Connection header values, each followed by ','. */
#define UPSTREAM_HEAD_CONN_MAX 4096

struct upstream_head {
    int status;          /* of the last status line; 0 before one or when unreadable */
    bool done;           /* the final head ended: later lines (trailers) are ignored */
    bool has_length;     /* the upstream sent Content-Length */
    bool flush_each;     /* chunked or event stream: push every chunk at once */
    bool event_stream;   /* Content-Type: text/event-stream (proxy/peek.h) */
    struct buf fields;   /* fields that pass on, "Name: value\r\n" each, capped at HTTP_HEAD_MAX */
    struct buf conn;     /* the Connection header's values, capped at UPSTREAM_HEAD_CONN_MAX */
    int dropped;         /* malformed field lines left out of `fields` */
    const char *problem; /* what was wrong with the last of them (static), or NULL */
};

/* What one line did to the head. */
enum upstream_head_rc {
    UPSTREAM_HEAD_MORE,    /* taken (or ignored); the head goes on */
    UPSTREAM_HEAD_END,     /* the blank line that ends a final (not 1xx) head */
    UPSTREAM_HEAD_REFUSED, /* a cap was reached: refuse the answer (the head is then
                              incomplete and must not be used) */
    UPSTREAM_HEAD_DROPPED, /* a malformed field line was left out (h->problem says why);
                              the head goes on */
    UPSTREAM_HEAD_FOLDED   /* a folded continuation line (obs-fold): the answer cannot
                              be passed on as it is and becomes a 502 bad_gateway */
};

/* One field of a head's `fields`, pointing into it. */
struct upstream_field {
    const char *line; /* the whole line, "\r\n" included */
    size_t line_len;
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Prepares an empty head; upstream_head_free releases it. */
void upstream_head_init(struct upstream_head *h);
void upstream_head_free(struct upstream_head *h);

/* Takes one line of len bytes, its CR LF included or not.  A status line
 * ("HTTP/...") starts the head again (a 1xx answer is followed by the real
 * one).  A field line is split at its first colon, the value's leading
 * blanks and the line's LF and one CR before it dropped, and kept unless it
 * is hop-by-hop or means something to the web server in front of us.
 * Malformed lines never pass on, since the web server would refuse the
 * whole answer for them: a line without a colon, a name that is not an
 * HTTP token (empty, blanks before the colon, control or separator
 * characters) or a value with a control character other than a tab (a
 * bare CR, NUL, ...) is dropped (UPSTREAM_HEAD_DROPPED); a folded line
 * (one that starts with a blank) gives UPSTREAM_HEAD_FOLDED, since its
 * field cannot be passed on whole and a cut value would change meaning.
 * Returns what the line did. */
enum upstream_head_rc upstream_head_line(struct upstream_head *h, const char *p, size_t len);

/* Appends to out the kept fields the upstream's Connection header does not
 * name (those are hop-by-hop too).  Returns 0, or -1 when out's cap was
 * reached (the fields that fitted stay). */
int upstream_head_copy(const struct upstream_head *h, struct buf *out);

/* Like upstream_head_copy, with every field's value passed through
 * mask_buf so that the secret k (NULL: none) never reaches the client in
 * any of its forms (a Location that keeps a query-parameter key, an echo
 * of a key header); without_length leaves Content-Length out, for a body
 * whose length the masking changed.  Returns 0, or -1 when out's cap was
 * reached (the fields that fitted stay). */
int upstream_head_copy_masked(const struct upstream_head *h, struct buf *out,
                              const struct mask_secret *k, bool without_length);

/* Walks the kept fields: *cursor starts at buf_str(&h->fields).  Fills f
 * and returns true while there is a field; f points into the head. */
bool upstream_head_next(const char **cursor, struct upstream_field *f);

/* Whether a comma-separated list of header names (a Connection header's
 * value, the upstream's or the client's) holds name (n bytes),
 * case-insensitively. */
bool upstream_head_listed(const char *list, const char *name, size_t n);

#endif
