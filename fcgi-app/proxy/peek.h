/*
 * The stream peek (issue 18, docs/RULES.md "Judging the first event of a
 * stream"): with an upstream's stream_peek set, a 2xx text/event-stream
 * answer is held until its first event has come whole, until `bytes` are
 * held, or until `ms` have passed since the answer's headers, whichever
 * comes first; the rules and onResponse then judge what is held, and may
 * still retry, before any byte reaches the client.  attempt.c holds the
 * bytes and judges; this file finds where the first event ends and keeps
 * the limits.  Pure: no libcurl and no FastCGI, for the unit tests.
 */
#ifndef APIGW_PROXY_PEEK_H
#define APIGW_PROXY_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where an event stream's reader is, byte by byte: the state of
 * peek_scan between calls.  Start it with peek_scan_init. */
struct peek_scan {
    unsigned bom;    /* bytes of a leading UTF-8 byte order mark matched; PEEK_BOM_PAST after */
    unsigned field;  /* how the current line's field name reads so far (peek.c) */
    bool cr;         /* the last byte was CR: a LF right after it ends no other line */
    bool line_start; /* nothing of the current line came yet */
    bool has_data;   /* the current block has a data field */
};

#define PEEK_BOM_PAST 4u

/* Why a peek ended: what the rules and onResponse see in the header
 * x-gateway-peek. */
#define PEEK_WHY_EVENT "event" /* the first event came whole */
#define PEEK_WHY_BYTES "bytes" /* `bytes` were held first */
#define PEEK_WHY_MS    "ms"    /* `ms` passed first */
#define PEEK_WHY_END   "end"   /* the answer ended first (maybe without any event) */

/* One attempt's peek. */
struct peek {
    bool on;          /* holding the answer */
    size_t bytes;     /* ends when this many are held (never more than the hold's cap) */
    int64_t until_ms; /* monotonic: ends then; 0 for no time limit */
    const char *why;  /* why it ended (PEEK_WHY_*), NULL before */
    struct peek_scan scan;
};

void peek_scan_init(struct peek_scan *s);

/* Reads the next n bytes of an event stream (the WHATWG rules: lines end
 * with LF, CR LF or CR; a block of lines ends with an empty line; a line
 * that starts with ':' is a comment; the field name is what comes before
 * the first ':', or the whole line).  Returns true when the first event
 * ends within these bytes: the first block with a `data` field (a block of
 * comments, or of other fields alone, dispatches no event and does not
 * count), *used then being how many of the n bytes come up to and with the
 * empty line that ends it (its LF too when a CR LF ends it and both are
 * here).  Returns false, with *used = n, while it has not ended. */
bool peek_scan(struct peek_scan *s, const char *p, size_t n, size_t *used);

/* Whether a Content-Type value (n bytes) names text/event-stream, any
 * case, with or without parameters. */
bool peek_is_event_stream(const char *value, size_t n);

/* Starts a peek (pk->on) for an answer whose headers came at now_ms when
 * want says the answer is one to peek at (2xx, an event stream) and the
 * upstream's limits are not both 0.  bytes 0 means no limit of its own:
 * cap, what the attempt may hold (rule_body_limit), bounds it either way;
 * ms 0 means no time limit. */
void peek_start(struct peek *pk, bool want, long long bytes, long long ms, size_t cap,
                int64_t now_ms);

/* The time at which the transfer must wake up: until_ms, or the peek's
 * end when that comes first. */
int64_t peek_wake(const struct peek *pk, int64_t until_ms);

/* Whether the peek's time is up at now_ms. */
bool peek_due(const struct peek *pk, int64_t now_ms);

#endif
