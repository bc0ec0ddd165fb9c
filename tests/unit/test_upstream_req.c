/* proxy/upstream_req.c and proxy/upstream_head.c: the headers an attempt
 * sends upstream (what is dropped, the key by the auth template or query
 * parameter) and the parsing of the upstream answer's head, line by line. */
#include <stdlib.h>
#include <string.h>

#include "core/nelem.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/path.h"
#include "proxy/proxy.h"
#include "proxy/upstream_head.h"
#include "proxy/upstream_req.h"
#include "suites.h"

/* A request and its upstream, as proxy.c would have them after the client
 * token was found in the places marked in strip[]. */
struct fixture {
    struct req r;
    struct pool_upstream up;
    struct pool_key key;
    struct proxy px;
};

static void fixture_init(struct fixture *f, char **env, const char *auth_header,
                         const char *auth_query_param)
{
    memset(f, 0, sizeof(*f));
    f->r.env = env;
    f->r.method = "GET";
    f->up.auth_header = (char *)auth_header;
    f->up.auth_template = (char *)"Key {key}";
    f->up.auth_query_param = (char *)auth_query_param;
    f->key.value = (char *)"sk-1/2";
    f->key.value_len = 6;
    f->px.r = &f->r;
    f->px.up = &f->up;
    buf_init(&f->px.url, PROXY_URL_MAX);
}

/* Builds the request headers of f and checks them, one line each
 * followed by '\n', against want. */
static void check_headers(const struct fixture *f, const char *want)
{
    struct curl_slist *list = upstream_req_headers(&f->px, &f->key), *l;
    struct buf text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    buf_init(&text, 1u << 16);
    for (l = list; l != NULL; l = l->next) {
        buf_puts(&text, l->data);
        buf_puts(&text, "\n");
    }
    CU_ASSERT_STRING_EQUAL(buf_str(&text), want);
    buf_free(&text);
    curl_slist_free_all(list);
}

static void test_dropped_request_headers(void)
{
    char *env[] = {(char *)"REQUEST_METHOD=POST",
                   (char *)"CONTENT_LENGTH=5",
                   (char *)"CONTENT_TYPE=application/json",
                   (char *)"HTTP_HOST=gateway.test",
                   (char *)"HTTP_CONTENT_LENGTH=5",
                   (char *)"HTTP_CONNECTION=keep-alive, X-Hop",
                   (char *)"HTTP_X_HOP=1",
                   (char *)"HTTP_KEEP_ALIVE=timeout=5",
                   (char *)"HTTP_PROXY_AUTHORIZATION=Basic eA==",
                   (char *)"HTTP_PROXY_CONNECTION=close",
                   (char *)"HTTP_TE=trailers",
                   (char *)"HTTP_TRAILER=X",
                   (char *)"HTTP_TRANSFER_ENCODING=chunked",
                   (char *)"HTTP_UPGRADE=h2c",
                   (char *)"HTTP_EXPECT=100-continue",
                   (char *)"HTTP_AUTHORIZATION=Bearer gw-token",
                   (char *)"HTTP_X_API_KEY=gw-token",
                   (char *)"HTTP_X_GOOG_API_KEY=not-a-token",
                   (char *)"HTTP_X_UPSTREAM_KEY=the client's own",
                   (char *)"HTTP_X_CUSTOM=kept",
                   (char *)"HTTP_ACCEPT=*/*",
                   NULL};
    struct fixture f;

    fixture_init(&f, env, "X-Upstream-Key", NULL);
    f.px.strip[0] = f.px.strip[1] = true; /* Authorization and X-Api-Key held the token */
    check_headers(&f, "Content-Type: application/json\n"
                      "X-Goog-Api-Key: not-a-token\n"
                      "X-Custom: kept\n"
                      "Accept: */*\n"
                      "Expect:\n"
                      "X-Upstream-Key: Key sk-1/2\n");
    buf_free(&f.px.url);
}

static void test_empty_defaults_and_the_key_in_the_query(void)
{
    char *env[] = {(char *)"HTTP_X_UPSTREAM_KEY=passes: the key goes in the query",
                   (char *)"HTTP_X_API_KEY=foreign", (char *)"QUERY_STRING=a=1", NULL};
    struct fixture f;
    struct buf url;

    fixture_init(&f, env, "X-Upstream-Key", "api_key");
    /* libcurl would add Content-Type, Accept and Expect: they go empty. */
    check_headers(&f, "X-Upstream-Key: passes: the key goes in the query\n"
                      "X-Api-Key: foreign\n"
                      "Content-Type:\n"
                      "Accept:\n"
                      "Expect:\n");
    buf_puts(&f.px.url, "http://upstream.test/v1/x?a=1");
    CU_ASSERT_EQUAL(upstream_req_url(&url, &f.px, &f.key), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&url), "http://upstream.test/v1/x?a=1&api_key=sk-1%2F2");
    buf_free(&url);
    buf_reset(&f.px.url);
    buf_puts(&f.px.url, "http://upstream.test/v1/x");
    CU_ASSERT_EQUAL(upstream_req_url(&url, &f.px, &f.key), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&url), "http://upstream.test/v1/x?api_key=sk-1%2F2");
    buf_free(&url);
    f.up.auth_query_param = NULL; /* the key in a header: the URL stays as it is */
    CU_ASSERT_EQUAL(upstream_req_url(&url, &f.px, &f.key), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&url), "http://upstream.test/v1/x");
    buf_free(&url);
    buf_free(&f.px.url);
}

static void test_auth_template(void)
{
    static const struct {
        const char *tpl, *want;
    } cases[] = {
        {"Bearer {key}", "Bearer sk-1"},
        {"{key}", "sk-1"},
        {"{key}:{key}", "sk-1:sk-1"},
        {"no placeholder", "no placeholder"},
        {"{ke", "{ke"},
        {"{KEY}", "{KEY}"},
        {"", ""},
    };
    struct buf out;
    size_t i;

    for (i = 0; i < NELEM(cases); i++) {
        buf_init(&out, 256);
        CU_ASSERT_EQUAL(upstream_req_auth_value(&out, cases[i].tpl, "sk-1", 4), 0);
        CU_ASSERT_STRING_EQUAL(buf_str(&out), cases[i].want);
        buf_free(&out);
    }
    buf_init(&out, 8); /* past the cap: refused */
    CU_ASSERT_EQUAL(upstream_req_auth_value(&out, "Bearer {key}", "sk-1", 4), -1);
    buf_free(&out);
}

static void test_header_names(void)
{
    char out[16];

    upstream_req_header_name("X_API_KEY", 9, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "X-Api-Key");
    upstream_req_header_name("ACCEPT", 6, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "Accept");
    upstream_req_header_name("X_GOOG_API_KEY", 14, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "X-Goog-Api-Key");
    upstream_req_header_name("A_VERY_LONG_HEADER_NAME", 23, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "A-Very-Long-Hea"); /* cut to fit */
}

/* Feeds a head line by line (each ends at '\n', as libcurl hands them). */
static enum upstream_head_rc feed(struct upstream_head *h, const char *text)
{
    enum upstream_head_rc rc = UPSTREAM_HEAD_MORE;

    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t len = nl != NULL ? (size_t)(nl - text) + 1 : strlen(text);
        rc = upstream_head_line(h, text, len);
        if (rc == UPSTREAM_HEAD_REFUSED)
            break;
        text += len;
    }
    return rc;
}

static void test_head_fields(void)
{
    struct upstream_head h;
    struct upstream_field f;
    const char *cursor;

    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 201 Created\r\n"
                             "Content-Type:application/json\r\n"
                             "X-Spaced: \t two words \r\n"
                             "X-Lf-Only: yes\n"
                             "X-Empty:\r\n"
                             "X-Colons: a:b: c\r\n"),
                    UPSTREAM_HEAD_MORE);
    CU_ASSERT_EQUAL(upstream_head_line(&h, "X-Bare: no line end", 19), UPSTREAM_HEAD_MORE);
    CU_ASSERT_EQUAL(upstream_head_line(&h, "\r\n", 2), UPSTREAM_HEAD_END);
    CU_ASSERT_EQUAL(h.status, 201);
    CU_ASSERT_TRUE(h.done);
    /* The value's leading blanks go; its trailing ones stay. */
    CU_ASSERT_STRING_EQUAL(buf_str(&h.fields), "Content-Type: application/json\r\n"
                                               "X-Spaced: two words \r\n"
                                               "X-Lf-Only: yes\r\n"
                                               "X-Empty: \r\n"
                                               "X-Colons: a:b: c\r\n"
                                               "X-Bare: no line end\r\n");
    cursor = buf_str(&h.fields);
    CU_ASSERT_TRUE_FATAL(upstream_head_next(&cursor, &f));
    CU_ASSERT_EQUAL(f.name_len, 12);
    CU_ASSERT_EQUAL(strncmp(f.name, "Content-Type", 12), 0);
    CU_ASSERT_EQUAL(f.value_len, 16);
    CU_ASSERT_EQUAL(strncmp(f.value, "application/json", 16), 0);
    CU_ASSERT_EQUAL(f.line_len, strlen("Content-Type: application/json\r\n"));
    CU_ASSERT_TRUE_FATAL(upstream_head_next(&cursor, &f));
    CU_ASSERT_TRUE_FATAL(upstream_head_next(&cursor, &f));
    CU_ASSERT_TRUE_FATAL(upstream_head_next(&cursor, &f));
    CU_ASSERT_EQUAL(f.value_len, 0); /* X-Empty */
    CU_ASSERT_TRUE_FATAL(upstream_head_next(&cursor, &f));
    CU_ASSERT_EQUAL(f.name_len, 8); /* X-Colons: split at the first colon */
    CU_ASSERT_EQUAL(strncmp(f.value, "a:b: c", f.value_len), 0);
    CU_ASSERT_TRUE(upstream_head_next(&cursor, &f));
    CU_ASSERT_FALSE(upstream_head_next(&cursor, &f));
    /* Trailers after the end are ignored. */
    CU_ASSERT_EQUAL(upstream_head_line(&h, "X-Trailer: 1\r\n", 14), UPSTREAM_HEAD_MORE);
    CU_ASSERT_PTR_NULL(strstr(buf_str(&h.fields), "X-Trailer"));
    upstream_head_free(&h);
}

static void test_head_odd_lines(void)
{
    struct upstream_head h;

    upstream_head_init(&h);
    /* A line without a colon is dropped and counted; a line of CRs alone
     * ends the head, as libcurl takes it. */
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\n"
                             "no colon here\r\n"
                             "X-Kept: first\r\n"
                             "\r\r\n"),
                    UPSTREAM_HEAD_END);
    CU_ASSERT_STRING_EQUAL(buf_str(&h.fields), "X-Kept: first\r\n");
    CU_ASSERT_EQUAL(h.dropped, 1);
    CU_ASSERT_STRING_EQUAL(h.problem, "a header line without a colon");
    upstream_head_free(&h);
}

/* Lines the web server in front would refuse the whole answer for. */
static void test_head_malformed_fields(void)
{
#define BAD(line, why)                                                                             \
    {                                                                                              \
        line, sizeof(line) - 1, why                                                                \
    }
    static const struct {
        const char *line;
        size_t len; /* a NUL may be inside */
        const char *problem;
    } bad[] = {
        BAD("X-Cr: a\rb\r\n", "a bare CR in a header value"),
        BAD("X-Cr-End: a\r\r\n", "a bare CR in a header value"),
        BAD("X-Nul: a\0b\r\n", "a control character in a header value"),
        BAD("X-Del: a\x7f\r\n", "a control character in a header value"),
        BAD("X-Space : a\r\n", "an invalid character in a header name"),
        BAD("X(Paren): a\r\n", "an invalid character in a header name"),
        BAD("\rX-Lead: a\r\n", "an invalid character in a header name"),
        BAD(": no name\r\n", "an empty header name"),
    };
#undef BAD
    struct upstream_head h;
    size_t i;

    for (i = 0; i < NELEM(bad); i++) {
        upstream_head_init(&h);
        CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\nX-Before: 1\r\n"), UPSTREAM_HEAD_MORE);
        CU_ASSERT_EQUAL(upstream_head_line(&h, bad[i].line, bad[i].len), UPSTREAM_HEAD_DROPPED);
        CU_ASSERT_EQUAL(feed(&h, "X-After: 2\r\n\r\n"), UPSTREAM_HEAD_END);
        CU_ASSERT_STRING_EQUAL(buf_str(&h.fields), "X-Before: 1\r\nX-After: 2\r\n");
        CU_ASSERT_EQUAL(h.dropped, 1);
        CU_ASSERT_STRING_EQUAL(h.problem, bad[i].problem);
        upstream_head_free(&h);
    }
    /* A tab inside a value and bytes above 0x7f are fine. */
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\nX-Tab: a\tb\r\nX-Utf8: \xc3\xa9\r\n"
                             "X-Tok!#$%&'*+-.^_`|~09: 1\r\n\r\n"),
                    UPSTREAM_HEAD_END);
    CU_ASSERT_EQUAL(h.dropped, 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&h.fields),
                           "X-Tab: a\tb\r\nX-Utf8: \xc3\xa9\r\nX-Tok!#$%&'*+-.^_`|~09: 1\r\n");
    upstream_head_free(&h);
    /* A folded line (obs-fold) refuses the answer; a 1xx head resets the count. */
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\nX-Folded: first\r\n second part\r\n"),
                    UPSTREAM_HEAD_FOLDED);
    CU_ASSERT_STRING_EQUAL(h.problem, "a folded header line (obs-fold)");
    upstream_head_free(&h);
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\n\tX-Tab-Folded: x\r\n"), UPSTREAM_HEAD_FOLDED);
    upstream_head_free(&h);
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 100 Continue\r\nbad\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
                    UPSTREAM_HEAD_END);
    CU_ASSERT_EQUAL(h.dropped, 0);
    CU_ASSERT_PTR_NULL(h.problem);
    upstream_head_free(&h);
}

static void test_head_interim_answers(void)
{
    struct upstream_head h;

    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"), UPSTREAM_HEAD_MORE);
    CU_ASSERT_FALSE(h.done);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 503 Busy\r\nRetry-After: 2\r\n\r\n"), UPSTREAM_HEAD_END);
    CU_ASSERT_EQUAL(h.status, 503);
    CU_ASSERT_STRING_EQUAL(buf_str(&h.fields), "Retry-After: 2\r\n");
    upstream_head_free(&h);
    /* A status line without a readable status counts as an interim one. */
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1\r\n\r\n"), UPSTREAM_HEAD_MORE);
    CU_ASSERT_EQUAL(h.status, 0);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/2 204\r\n\r\n"), UPSTREAM_HEAD_END);
    CU_ASSERT_EQUAL(h.status, 204);
    upstream_head_free(&h);
    /* A long run of digits cannot overflow the status. */
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 2004444444444444 OK\r\n\r\n"), UPSTREAM_HEAD_END);
    CU_ASSERT_EQUAL(h.status, 2004);
    upstream_head_free(&h);
}

static void test_head_dropped_and_flags(void)
{
    struct upstream_head h;
    struct buf out;

    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\n"
                             "Connection: keep-alive, X-Hop\r\n"
                             "Keep-Alive: timeout=5\r\n"
                             "Transfer-Encoding: chunked\r\n"
                             "Trailer: X-T\r\n"
                             "Upgrade: h2c\r\n"
                             "Proxy-Authenticate: Basic\r\n"
                             "Status: 500\r\n"
                             "X-Accel-Redirect: /internal\r\n"
                             "X-Sendfile: /etc/passwd\r\n"
                             "X-Gateway-Attempts: 9\r\n"
                             "X-Gateway-Request-Id: forged\r\n"
                             "X-Hop: named by Connection\r\n"
                             "X-Kept: 1\r\n"
                             "\r\n"),
                    UPSTREAM_HEAD_END);
    CU_ASSERT_TRUE(h.flush_each); /* chunked */
    CU_ASSERT_FALSE(h.has_length);
    /* X-Hop is kept in the head (the rules see it) but does not pass on. */
    CU_ASSERT_STRING_EQUAL(buf_str(&h.fields), "X-Hop: named by Connection\r\nX-Kept: 1\r\n");
    buf_init(&out, 4096);
    CU_ASSERT_EQUAL(upstream_head_copy(&h, &out), 0);
    CU_ASSERT_STRING_EQUAL(buf_str(&out), "X-Kept: 1\r\n");
    buf_free(&out);
    upstream_head_free(&h);
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                             "content-type: Text/Event-Stream; charset=utf-8\r\n\r\n"),
                    UPSTREAM_HEAD_END);
    CU_ASSERT_TRUE(h.has_length);
    CU_ASSERT_TRUE(h.flush_each);
    upstream_head_free(&h);
}

static void test_head_caps(void)
{
    size_t n = HTTP_HEAD_MAX;
    char *line = malloc(n + 3);
    struct upstream_head h;

    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    memcpy(line, "X-Big: ", 7);
    memset(line + 7, 'v', n - 7);
    memcpy(line + n, "\r\n", 3);
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\nX-Small: 1\r\n"), UPSTREAM_HEAD_MORE);
    CU_ASSERT_EQUAL(upstream_head_line(&h, line, n + 2), UPSTREAM_HEAD_REFUSED);
    CU_ASSERT(h.fields.len <= HTTP_HEAD_MAX);
    upstream_head_free(&h);
    /* The Connection header has a cap of its own. */
    memcpy(line, "Connection: ", 12);
    memset(line + 12, 'c', UPSTREAM_HEAD_CONN_MAX);
    memcpy(line + 12 + UPSTREAM_HEAD_CONN_MAX, "\r\n", 3);
    upstream_head_init(&h);
    CU_ASSERT_EQUAL(feed(&h, "HTTP/1.1 200 OK\r\n"), UPSTREAM_HEAD_MORE);
    CU_ASSERT_EQUAL(upstream_head_line(&h, line, 12 + UPSTREAM_HEAD_CONN_MAX + 2),
                    UPSTREAM_HEAD_REFUSED);
    upstream_head_free(&h);
    free(line);
}

static void test_connection_lists(void)
{
    CU_ASSERT_TRUE(upstream_head_listed("close, X-Hop", "x-hop", 5));
    CU_ASSERT_TRUE(upstream_head_listed(" ,X-A,\tX-B ,", "X-B", 3));
    CU_ASSERT_FALSE(upstream_head_listed("X-Hop-2", "X-Hop", 5));
    CU_ASSERT_FALSE(upstream_head_listed("X-Ho", "X-Hop", 5));
    CU_ASSERT_FALSE(upstream_head_listed(NULL, "X-Hop", 5));
    CU_ASSERT_FALSE(upstream_head_listed("", "X-Hop", 5));
}

void suite_upstream_req(void)
{
    ADD_SUITE("upstream_req", TEST(test_dropped_request_headers),
              TEST(test_empty_defaults_and_the_key_in_the_query), TEST(test_auth_template),
              TEST(test_header_names), TEST(test_head_fields), TEST(test_head_odd_lines),
              TEST(test_head_malformed_fields), TEST(test_head_interim_answers),
              TEST(test_head_dropped_and_flags), TEST(test_head_caps), TEST(test_connection_lists));
}
