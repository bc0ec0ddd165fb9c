/* proxy/peek.c: where the first event of an event stream ends (however the
 * stream is cut into reads, with LF, CR LF or CR line ends, comments and
 * blocks without data before it), the Content-Type check, and the limits
 * of a peek. */
#include <string.h>

#include "proxy/peek.h"
#include "proxy/upstream_head.h"
#include "suites.h"

/* A stream and where its first event ends (0: it has none yet). */
struct stream_case {
    const char *text;
    size_t end;
};

static const struct stream_case cases[] = {
    {"data: a\n\n", 9},
    {"data: a\r\n\r\n", 11},
    {"data: a\r\r", 9},
    {"data: a\r\n\r\ndata: b\r\n\r\n", 11},
    {": ping\n\ndata: x\n\n", 17},
    {": ping\r\n\r\n:\r\rdata: x\r\n\r\n", 24},
    {"event: e\nid: 1\n\nretry: 5\n\ndata\n\n", 32},
    {"\n\n\r\n\rdata:1\n\n", 13},
    {"\xef\xbb\xbf"
     "data: x\n\n",
     12},
    {"database: x\n\ndatum\n\ndata:y\n\n", 28},
    {": comment\ndata: y\n: more\n\n", 26},
    {"event: error\ndata: {\"error\": {\"code\": 1}}\n\n", 43},
    {"data: a\ndata: b\n\nx", 17},
    /* None yet. */
    {": ping\n\n", 0},
    {"data: x\n", 0},
    {"data: x\r\n", 0},
    {"event: e\n\n", 0},
    {"\xef\xbb"
     "data: x\n\n",
     0}, /* not a byte order mark: no data field */
    {" data: x\n\n", 0},
    {"", 0},
};

/* Feeds text in up to three reads, cut at a and b (a <= b); returns where
 * the event ended counted in the whole text, or 0. */
static size_t feed3(const char *text, size_t n, size_t a, size_t b)
{
    const size_t cut[4] = {0, a, b, n};
    struct peek_scan s;
    size_t i, used;

    peek_scan_init(&s);
    for (i = 0; i < 3; i++) {
        if (peek_scan(&s, text + cut[i], cut[i + 1] - cut[i], &used))
            return cut[i] + used;
        CU_ASSERT_EQUAL(used, cut[i + 1] - cut[i]);
    }
    return 0;
}

/* Where an event that a CR LF ends may be found when the reads part its CR
 * and LF: at the CR (its line ended there; the LF goes out after). */
static bool end_ok(const struct stream_case *c, size_t got, size_t a, size_t b)
{
    bool parted = c->end >= 2 && c->text[c->end - 2] == '\r' && c->text[c->end - 1] == '\n' &&
                  (a == c->end - 1 || b == c->end - 1);
    return got == c->end || (parted && got == c->end - 1);
}

static void test_split_anywhere(void)
{
    size_t k, a, b;

    for (k = 0; k < NELEM(cases); k++) {
        const struct stream_case *c = &cases[k];
        size_t n = strlen(c->text);
        for (a = 0; a <= n; a++) {
            for (b = a; b <= n; b++) {
                size_t got = feed3(c->text, n, a, b);
                if (!end_ok(c, got, a, b)) {
                    CU_FAIL("wrong end of the first event");
                    fprintf(stderr, "\ncase %zu cut at %zu,%zu: got %zu, want %zu\n", k, a, b, got,
                            c->end);
                    return;
                }
            }
        }
    }
}

static void test_byte_by_byte(void)
{
    const char *text = ": ping\r\n\r\ndata: {\"error\":1}\r\n\r\ndata: next\r\n\r\n";
    size_t n = strlen(text), i, used = 0;
    struct peek_scan s;

    peek_scan_init(&s);
    for (i = 0; i < n; i++)
        if (peek_scan(&s, text + i, 1, &used))
            break;
    /* The CR of the blank line ends the event; its LF is in the next read. */
    CU_ASSERT_EQUAL(i, 29);
    CU_ASSERT_EQUAL(used, 1);
    CU_ASSERT_EQUAL(text[i], '\r');
}

static void test_event_stream_type(void)
{
    CU_ASSERT_TRUE(peek_is_event_stream("text/event-stream", 17));
    CU_ASSERT_TRUE(peek_is_event_stream("Text/Event-Stream; charset=utf-8", 32));
    CU_ASSERT_TRUE(peek_is_event_stream(" text/event-stream ;x=1", 23));
    CU_ASSERT_FALSE(peek_is_event_stream("text/event-streams", 18));
    CU_ASSERT_FALSE(peek_is_event_stream("application/json", 16));
    CU_ASSERT_FALSE(peek_is_event_stream("text/event", 10));
    CU_ASSERT_FALSE(peek_is_event_stream("", 0));
}

static void test_head_marks_event_streams(void)
{
    static const char *const heads[][2] = {
        {"Content-Type: text/event-stream\r\n", "1"},
        {"content-type: text/event-stream; charset=utf-8\r\n", "1"},
        {"Content-Type: application/x-ndjson\r\n", "0"},
        {"Content-Type: text/event-streamx\r\n", "0"},
    };
    size_t i;

    for (i = 0; i < NELEM(heads); i++) {
        struct upstream_head h;
        upstream_head_init(&h);
        upstream_head_line(&h, "HTTP/1.1 200 OK\r\n", 17);
        upstream_head_line(&h, heads[i][0], strlen(heads[i][0]));
        upstream_head_line(&h, "\r\n", 2);
        CU_ASSERT_EQUAL(h.event_stream, heads[i][1][0] == '1');
        upstream_head_free(&h);
    }
    /* The head of a 1xx answer does not count for the one after it. */
    {
        struct upstream_head h;
        upstream_head_init(&h);
        upstream_head_line(&h, "HTTP/1.1 103 Early Hints\r\n", 26);
        upstream_head_line(&h, heads[0][0], strlen(heads[0][0]));
        upstream_head_line(&h, "\r\n", 2);
        CU_ASSERT_TRUE(h.event_stream);
        upstream_head_line(&h, "HTTP/1.1 200 OK\r\n", 17);
        upstream_head_line(&h, "\r\n", 2);
        CU_ASSERT_FALSE(h.event_stream);
        upstream_head_free(&h);
    }
}

static void test_limits(void)
{
    struct peek pk;

    peek_start(&pk, false, 100, 100, 4096, 1000);
    CU_ASSERT_FALSE(pk.on);
    peek_start(&pk, true, 0, 0, 4096, 1000); /* both 0: off */
    CU_ASSERT_FALSE(pk.on);
    CU_ASSERT_EQUAL(peek_wake(&pk, 5000), 5000);
    CU_ASSERT_FALSE(peek_due(&pk, 999999));

    peek_start(&pk, true, 100, 0, 4096, 1000); /* no time limit */
    CU_ASSERT_TRUE(pk.on);
    CU_ASSERT_EQUAL(pk.bytes, 100);
    CU_ASSERT_EQUAL(peek_wake(&pk, 5000), 5000);
    CU_ASSERT_FALSE(peek_due(&pk, 999999));

    peek_start(&pk, true, 0, 250, 4096, 1000); /* bytes 0: the hold's cap */
    CU_ASSERT_TRUE(pk.on);
    CU_ASSERT_EQUAL(pk.bytes, 4096);
    CU_ASSERT_EQUAL(peek_wake(&pk, 5000), 1250);
    CU_ASSERT_EQUAL(peek_wake(&pk, 1100), 1100);
    CU_ASSERT_FALSE(peek_due(&pk, 1249));
    CU_ASSERT_TRUE(peek_due(&pk, 1250));

    peek_start(&pk, true, 65536, 10, 4096, 0); /* never more than the cap */
    CU_ASSERT_EQUAL(pk.bytes, 4096);
    pk.on = false; /* ended: no more waking */
    CU_ASSERT_EQUAL(peek_wake(&pk, 5000), 5000);
    CU_ASSERT_FALSE(peek_due(&pk, 20));
}

void suite_peek(void)
{
    ADD_SUITE("peek", TEST(test_split_anywhere), TEST(test_byte_by_byte),
              TEST(test_event_stream_type), TEST(test_head_marks_event_streams), TEST(test_limits));
}
