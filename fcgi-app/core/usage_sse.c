/*
 * Event-stream splitting for usage scans (usage_sse.h).  A line is read in
 * three steps: its field name (up to ':' or the line's end), the one
 * optional space after the colon, then its value, passed on at once when
 * the field is "data" and skipped otherwise.
 */
#include "core/usage_sse.h"

#include <string.h>

enum {
    L_START, /* at the start of a line */
    L_NAME,  /* in the field name */
    L_SPACE, /* right after the colon of a data field */
    L_DATA,  /* in the value of a data field */
    L_SKIP,  /* in a line that is not data */
};

void usage_sse_init(struct usage_sse *e, const struct usage_sse_sink *sink)
{
    memset(e, 0, sizeof(*e));
    e->state = L_START;
    e->sink = *sink;
}

bool usage_sse_pending(const struct usage_sse *e)
{
    return e->has_data;
}

static bool is_data(const struct usage_sse *e)
{
    return e->nname == 4 && memcmp(e->name, "data", 4) == 0;
}

/* A data field starts: lines after the first are joined with LF. */
static void data_begin(struct usage_sse *e)
{
    if (e->has_data)
        e->sink.data(e->sink.ctx, "\n", 1);
    e->has_data = true;
}

/* The line ends (its CR or LF is consumed by the caller). */
static void line_end(struct usage_sse *e)
{
    if (e->state == L_START) {
        if (e->has_data)
            e->sink.event(e->sink.ctx);
        e->has_data = false;
    } else if (e->state == L_NAME && is_data(e)) {
        data_begin(e); /* "data" alone: an empty value */
    }
    e->state = L_START;
}

/* Reads name bytes from p[i]; returns the index after those it took. */
static size_t name_bytes(struct usage_sse *e, const char *p, size_t i, size_t n)
{
    for (; i < n && p[i] != ':' && p[i] != '\n' && p[i] != '\r'; i++) {
        if (e->nname < sizeof(e->name))
            e->name[e->nname] = p[i];
        if (e->nname <= sizeof(e->name))
            e->nname++;
    }
    if (i < n && p[i] == ':') {
        if (is_data(e)) {
            data_begin(e);
            e->state = L_SPACE;
        } else {
            e->state = L_SKIP;
        }
        i++;
    }
    return i;
}

void usage_sse_feed(struct usage_sse *e, const char *p, size_t n)
{
    static const char bom[] = "\xef\xbb\xbf";
    size_t i = 0, start;

    for (; e->bom < 3 && i < n; i++, e->bom++)
        if (p[i] != bom[e->bom]) {
            e->bom = 3; /* no mark (the bytes of a partial one are lost) */
            break;
        }
    while (i < n) {
        if (p[i] == '\n' || p[i] == '\r') {
            if (!(p[i] == '\n' && e->after_cr))
                line_end(e);
            e->after_cr = p[i] == '\r';
            i++;
            continue;
        }
        e->after_cr = false;
        switch (e->state) {
        case L_START:
            e->nname = 0;
            e->state = L_NAME;
            /* fall through */
        case L_NAME:
            i = name_bytes(e, p, i, n);
            break;
        case L_SPACE:
            e->state = L_DATA;
            if (p[i] == ' ')
                i++;
            break;
        case L_DATA:
            for (start = i; i < n && p[i] != '\n' && p[i] != '\r'; i++)
                ;
            e->sink.data(e->sink.ctx, p + start, i - start);
            break;
        default: /* L_SKIP */
            while (i < n && p[i] != '\n' && p[i] != '\r')
                i++;
        }
    }
}
