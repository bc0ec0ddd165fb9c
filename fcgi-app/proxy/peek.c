/* The stream peek's event boundary and limits (peek.h). */
#include "proxy/peek.h"

#include <string.h>
#include <strings.h>

/* struct peek_scan.field: 0 to 4 bytes of "data" matched at the line's
 * start, then one of these. */
#define FIELD_DATA  5u /* "data:" (the name ended at its colon) */
#define FIELD_OTHER 6u /* a comment, or another field */

static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};

void peek_scan_init(struct peek_scan *s)
{
    memset(s, 0, sizeof(*s));
    s->line_start = true;
}

/* A byte of a line (not a line end). */
static void line_byte(struct peek_scan *s, unsigned char c)
{
    if (s->line_start) {
        s->line_start = false;
        s->field = 0;
    }
    if (s->field < 4)
        s->field = c == (unsigned char)"data"[s->field] ? s->field + 1 : FIELD_OTHER;
    else if (s->field == 4)
        s->field = c == ':' ? FIELD_DATA : FIELD_OTHER;
}

/* A line end.  Returns true when it ends the first event (the line was
 * empty and its block has a data field). */
static bool line_end(struct peek_scan *s)
{
    if (!s->line_start) {
        /* "data" alone is the data field with an empty value. */
        if (s->field == 4 || s->field == FIELD_DATA)
            s->has_data = true;
        s->line_start = true;
        return false;
    }
    /* An empty line after a block of comments, or of fields without
     * data, dispatches no event. */
    return s->has_data;
}

/* The stream's first bytes: a byte order mark is dropped.  Returns true
 * when c was taken as part of it. */
static bool bom_byte(struct peek_scan *s, unsigned char c)
{
    if (s->bom < 3 && c == bom[s->bom]) {
        s->bom++;
        return true;
    }
    if (s->bom > 0 && s->bom < 3) {
        /* Not a byte order mark after all: its bytes began a line that
         * is no data field. */
        s->line_start = false;
        s->field = FIELD_OTHER;
    }
    s->bom = PEEK_BOM_PAST;
    return false;
}

bool peek_scan(struct peek_scan *s, const char *p, size_t n, size_t *used)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = u[i];
        bool was_cr = s->cr;
        if (s->bom != PEEK_BOM_PAST && bom_byte(s, c))
            continue;
        s->cr = c == '\r';
        if (c == '\n' && was_cr)
            continue; /* the LF of a CR LF: the CR ended the line */
        if (c != '\r' && c != '\n') {
            line_byte(s, c);
            continue;
        }
        if (line_end(s)) {
            *used = i + 1 + (c == '\r' && i + 1 < n && u[i + 1] == '\n');
            return true;
        }
    }
    *used = n;
    return false;
}

bool peek_is_event_stream(const char *value, size_t n)
{
    size_t i;

    while (n > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        n--;
    }
    if (n < 17 || strncasecmp(value, "text/event-stream", 17) != 0)
        return false;
    for (i = 17; i < n && (value[i] == ' ' || value[i] == '\t'); i++)
        ;
    return i == n || value[i] == ';';
}

void peek_start(struct peek *pk, bool want, long long bytes, long long ms, size_t cap,
                int64_t now_ms)
{
    memset(pk, 0, sizeof(*pk));
    if (!want || (bytes <= 0 && ms <= 0) || cap == 0)
        return;
    pk->on = true;
    pk->bytes = bytes > 0 && (unsigned long long)bytes < cap ? (size_t)bytes : cap;
    pk->until_ms = ms > 0 ? now_ms + ms : 0;
    peek_scan_init(&pk->scan);
}

int64_t peek_wake(const struct peek *pk, int64_t until_ms)
{
    return pk->on && pk->until_ms != 0 && pk->until_ms < until_ms ? pk->until_ms : until_ms;
}

bool peek_due(const struct peek *pk, int64_t now_ms)
{
    return pk->on && pk->until_ms != 0 && now_ms >= pk->until_ms;
}
