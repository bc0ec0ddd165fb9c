/*
 * Splits an event stream (text/event-stream, the WHATWG HTML standard's
 * "event stream interpretation") into the data of its events, for
 * usage_scan.c, as the bytes arrive: nothing of an event is held.  Lines
 * end in LF, CR LF or CR, split anywhere between pieces.  The values of an
 * event's "data" fields (one space after the colon dropped) are passed on
 * joined by LF; an empty line dispatches the event if it had data.
 * Comments (lines starting with ':') and other fields are skipped, and
 * so is a UTF-8 byte order mark at the start of the stream.
 */
#ifndef APIGW_USAGE_SSE_H
#define APIGW_USAGE_SSE_H

#include <stdbool.h>
#include <stddef.h>

struct usage_sse_sink {
    /* The next n bytes of the current event's data. */
    void (*data)(void *ctx, const char *p, size_t n);
    /* The current event ends (dispatched): its data is complete. */
    void (*event)(void *ctx);
    void *ctx;
};

struct usage_sse {
    int state;
    bool after_cr;  /* the last byte was CR: a LF right after it is skipped */
    unsigned bom;   /* bytes of a leading byte order mark seen (3: past it) */
    bool has_data;  /* the event has had a data line */
    unsigned nname; /* bytes of the field name read */
    char name[4];   /* its first bytes, enough to tell "data" */
    struct usage_sse_sink sink;
};

void usage_sse_init(struct usage_sse *e, const struct usage_sse_sink *sink);

/* Reads the next n bytes of the stream. */
void usage_sse_feed(struct usage_sse *e, const char *p, size_t n);

/* Whether an event has had data but was not dispatched yet (the stream
 * stopped before its empty line: by the standard, it is dropped). */
bool usage_sse_pending(const struct usage_sse *e);

#endif
