/* One attempt of a proxied request: libcurl with the worker's reused
 * handle, the key injected, the answer streamed (2xx/3xx) or held up to
 * rule_body_limit (4xx/5xx) so that a retry stays possible. */
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/model.h"
#include "core/pool.h"
#include "http.h"
#include "proxy.h"
#include "proxy_path.h"

#define HEAD_CAP (64u << 10)

struct attempt {
    struct proxy *px;
    struct req *r;
    struct pool_key *key;
    int attempt_no;
    int status;
    bool head_done;  /* the final response headers arrived */
    bool has_length; /* the upstream sent Content-Length */
    bool flush_each; /* chunked or event stream: push every chunk at once */
    bool streaming;  /* the answer goes to the client as it comes */
    bool client_gone;
    int64_t next_check_ms; /* when to look for a departed client next */
    int sends;             /* how often libcurl was about to send the request */
    struct buf head;       /* upstream headers that pass on, "Name: value\r\n" each */
    struct buf conn;       /* the upstream's Connection header: more hop-by-hop names */
    struct buf held;       /* the held body of an error answer */
};

/* Whether a comma-separated list of header names (a Connection header)
 * holds name (n bytes), case-insensitively. */
static bool header_listed(const char *list, const char *name, size_t n)
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

bool proxy_status_is_key_failure(int status)
{
    return status == 401 || status == 403 || status == 429 || status >= 500;
}

/* Hop-by-hop headers and those that mean something to the web server in
 * front of us never pass from the upstream to the client. */
static bool response_header_dropped(const char *name, size_t n)
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
    for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strlen(drop[i]) == n && strncasecmp(name, drop[i], n) == 0)
            return true;
    return false;
}

static int parse_status(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    int status = 0;

    if (sp == NULL)
        return 0;
    for (sp++; sp < line + len && *sp >= '0' && *sp <= '9'; sp++)
        status = status * 10 + (*sp - '0');
    return status;
}

static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
    struct attempt *at = ud;
    size_t len = size * nitems, nlen;
    const char *colon, *v, *end = p + len;

    if (at->head_done)
        return len; /* trailers */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        at->status = parse_status(p, len);
        at->has_length = at->flush_each = false;
        buf_reset(&at->head);
        buf_reset(&at->conn);
        return len;
    }
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    if (end == p) {
        if (at->status >= 200) /* 1xx answers are followed by the real one */
            at->head_done = true;
        return len;
    }
    colon = memchr(p, ':', (size_t)(end - p));
    if (colon == NULL)
        return len;
    nlen = (size_t)(colon - p);
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0)
        at->has_length = true;
    if (nlen == 10 && strncasecmp(p, "connection", 10) == 0 &&
        (buf_append(&at->conn, v, (size_t)(end - v)) != 0 || buf_puts(&at->conn, ",") != 0))
        return 0;
    if ((nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) ||
        (nlen == 12 && strncasecmp(p, "content-type", 12) == 0 && end - v >= 17 &&
         strncasecmp(v, "text/event-stream", 17) == 0))
        at->flush_each = true;
    if (response_header_dropped(p, nlen))
        return len;
    if (buf_append(&at->head, p, nlen) != 0 || buf_puts(&at->head, ": ") != 0 ||
        buf_append(&at->head, v, (size_t)(end - v)) != 0 || buf_puts(&at->head, "\r\n") != 0)
        return 0; /* more than 64 KiB of headers: refuse the answer */
    return len;
}

/* Passes the upstream's headers on, less those its Connection header
 * names (hop-by-hop by that naming). */
static void copy_headers(struct attempt *at)
{
    const char *line = buf_str(&at->head);

    while (*line != '\0') {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) + 2 : strlen(line);
        size_t nlen = strcspn(line, ":");
        if (!header_listed(buf_str(&at->conn), line, nlen))
            buf_append(&at->r->head, line, len);
        line += len;
    }
}

/* Commits to this answer: its status and headers become the response. */
static void begin_response(struct attempt *at)
{
    struct req *r = at->r;
    char n[16];

    at->streaming = true;
    resp_status(r, at->status);
    copy_headers(at);
    snprintf(n, sizeof(n), "%d", at->attempt_no);
    resp_header(r, "X-Gateway-Attempts", n);
    if (!at->has_length)
        at->flush_each = true;
    if (at->flush_each) {
        resp_header(r, "X-Accel-Buffering", "no");
        if (resp_flush(r) != 0)
            at->client_gone = true;
    }
}

/* Takes back a response that was begun but of which nothing went out. */
static void undo_response(struct attempt *at)
{
    if (!at->r->head_sent) {
        buf_reset(&at->r->head);
        at->streaming = false;
    }
}

static int send_body(struct attempt *at, const char *p, size_t n)
{
    if (resp_write(at->r, p, n) != 0 || (at->flush_each && resp_flush(at->r) != 0)) {
        at->client_gone = true;
        return -1;
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t nitems, void *ud)
{
    struct attempt *at = ud;
    size_t len = size * nitems, limit = (size_t)at->r->cfg->rule_body_limit;

    if (!at->head_done)
        return 0;
    if (!at->streaming && at->status < 400)
        begin_response(at);
    if (at->streaming)
        return send_body(at, p, len) == 0 ? len : 0;
    if (at->held.len + len <= limit)
        return buf_append(&at->held, p, len) == 0 ? len : 0;
    /* Past what rules may look at: the answer goes out as it is. */
    begin_response(at);
    if (send_body(at, at->held.data, at->held.len) != 0 || send_body(at, p, len) != 0)
        return 0;
    return len;
}

/* Called by libcurl on every turn of its loop (at least once a second
 * while it waits): a client that has gone (the web server closed our
 * connection) ends the transfer.  Looked at every CLIENT_CHECK_MS only, so
 * that short requests make no extra system call. */
#define CLIENT_CHECK_MS 250

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct attempt *at = ud;
    struct pollfd pfd;
    int64_t now;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    if (at->r->io->fd < 0)
        return 0;
    now = clock_mono_ms();
    if (now < at->next_check_ms)
        return 0;
    at->next_check_ms = now + CLIENT_CHECK_MS;
    pfd.fd = at->r->io->fd;
    pfd.events = POLLRDHUP;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
        at->client_gone = true;
        return 1;
    }
    return 0;
}

/* libcurl sends a request again, on a new connection and with the same
 * key, when a kept-alive connection dies before the answer begins.  That
 * would repeat a POST behind our back; instead the attempt fails here and
 * the proxy's own retry takes another key. */
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port)
{
    struct attempt *at = ud;

    (void)ip;
    (void)local_ip;
    (void)port;
    (void)local_port;
    return ++at->sends > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

/* Request headers that never pass on: hop-by-hop, those libcurl sets, and
 * the client's credential. */
static bool request_header_dropped(const struct proxy *px, const char *name)
{
    static const char *const drop[] = {"connection",        "keep-alive",   "proxy-authorization",
                                       "proxy-connection",  "te",           "trailer",
                                       "transfer-encoding", "upgrade",      "host",
                                       "content-length",    "content-type", "expect"};
    const char *conn = req_header(px->r, "Connection");
    size_t i, n = strlen(name);

    for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strcasecmp(name, drop[i]) == 0)
            return true;
    for (i = 0; i < CRED_QUERY; i++)
        if (px->strip[i] && strcasecmp(name, proxy_cred_headers[i]) == 0)
            return true;
    if (px->up->auth_query_param == NULL && strcasecmp(name, px->up->auth_header) == 0)
        return true;
    /* Headers that Connection names are hop-by-hop too. */
    if (header_listed(conn, name, n))
        return true;
    return false;
}

/* Turns HTTP_X_API_KEY into X-Api-Key. */
static void header_name(const char *var, size_t n, char *out, size_t outlen)
{
    size_t i;
    bool upper = true;

    for (i = 0; i < n && i + 1 < outlen; i++) {
        char c = var[i];
        if (c == '_') {
            out[i] = '-';
            upper = true;
        } else {
            out[i] = upper ? c : (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            upper = false;
        }
    }
    out[i] = '\0';
}

static struct curl_slist *add_header(struct curl_slist *list, struct buf *line, bool *failed)
{
    struct curl_slist *l = curl_slist_append(list, buf_str(line));

    buf_reset(line);
    if (l == NULL) {
        *failed = true;
        return list;
    }
    return l;
}

/* Writes the auth template with every {key} replaced by the key. */
static int render_template(struct buf *out, const char *tpl, const struct pool_key *k)
{
    const char *at;
    int rc = 0;

    while ((at = strstr(tpl, "{key}")) != NULL) {
        rc |= buf_append(out, tpl, (size_t)(at - tpl));
        rc |= buf_append(out, k->value, k->value_len);
        tpl = at + 5;
    }
    rc |= buf_puts(out, tpl);
    return rc;
}

static struct curl_slist *build_headers(struct proxy *px, const struct pool_key *k)
{
    struct curl_slist *list = NULL;
    struct buf line;
    bool failed = false, has_ctype = false, has_accept = false;
    char **e;

    buf_init(&line, 64u << 10);
    for (e = px->r->env; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        char name[256];
        if (eq == NULL)
            continue;
        if (strncmp(*e, "CONTENT_TYPE=", 13) == 0) {
            has_ctype = true;
            buf_printf(&line, "Content-Type: %s", eq + 1);
            list = add_header(list, &line, &failed);
            continue;
        }
        if (strncmp(*e, "HTTP_", 5) != 0 || (size_t)(eq - *e) - 5 >= sizeof(name))
            continue;
        header_name(*e + 5, (size_t)(eq - *e) - 5, name, sizeof(name));
        if (request_header_dropped(px, name))
            continue;
        has_accept |= strcasecmp(name, "Accept") == 0;
        buf_printf(&line, "%s: %s", name, eq + 1);
        list = add_header(list, &line, &failed);
    }
    /* libcurl would add these on its own; the request goes as it came. */
    if (!has_ctype) {
        buf_puts(&line, "Content-Type:");
        list = add_header(list, &line, &failed);
    }
    if (!has_accept) {
        buf_puts(&line, "Accept:");
        list = add_header(list, &line, &failed);
    }
    buf_puts(&line, "Expect:");
    list = add_header(list, &line, &failed);
    if (px->up->auth_query_param == NULL) {
        buf_printf(&line, "%s: ", px->up->auth_header);
        if (render_template(&line, px->up->auth_template, k) != 0)
            failed = true;
        list = add_header(list, &line, &failed);
    }
    crypto_wipe(line.data, line.cap);
    buf_free(&line);
    if (failed) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

static void set_method(CURL *c, const struct req *r)
{
    const char *m = r->method;
    bool has_body = r->body.len > 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
                    strcmp(m, "PATCH") == 0;

    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return;
    }
    if (has_body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body.data != NULL ? r->body.data : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
    }
    if (strcmp(m, "POST") != 0 && (has_body || strcmp(m, "GET") != 0))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
}

/* Copies src into dst with every occurrence of the key replaced by its
 * masked form. */
static void mask_key(char *dst, size_t dstlen, const char *src, const struct pool_key *k)
{
    size_t o = 0;

    while (*src != '\0' && o + 1 < dstlen) {
        if (k->value_len > 0 && strncmp(src, k->value, k->value_len) == 0) {
            o += (size_t)snprintf(dst + o, dstlen - o, "%s", k->masked);
            if (o >= dstlen)
                o = dstlen - 1;
            src += k->value_len;
            continue;
        }
        dst[o++] = *src++;
    }
    dst[o] = '\0';
}

static void describe_error(struct attempt *at, CURLcode cc, const char *errbuf,
                           struct attempt_error *err)
{
    char raw[CURL_ERROR_SIZE + 64];

    err->code = cc == CURLE_OPERATION_TIMEDOUT ? ERR_UPSTREAM_TIMEOUT : ERR_UPSTREAM_ERROR;
    snprintf(raw, sizeof(raw), "%s: %s", curl_easy_strerror(cc), errbuf[0] ? errbuf : "no detail");
    mask_key(err->text, sizeof(err->text), raw, at->key);
}

static CURL *worker_curl(struct worker *w)
{
    if (w->curl == NULL)
        w->curl = curl_easy_init();
    else
        curl_easy_reset(w->curl);
    return w->curl;
}

static int setup(CURL *c, struct attempt *at, const char *url, struct curl_slist *hdrs,
                 char *errbuf)
{
    struct proxy *px = at->px;
    long long left = px->deadline_ms - clock_mono_ms();
    long long total = px->up->timeout_ms < left ? px->up->timeout_ms : left;
    long long conn = px->up->connect_timeout_ms < total ? px->up->connect_timeout_ms : total;

    if (total <= 0)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)total);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(conn > 0 ? conn : 1));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, at);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, at);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, at);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, at);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    set_method(c, at->r);
    return 0;
}

/* After a complete transfer: send what was held, or note the end. */
static void finish_response(struct attempt *at)
{
    if (!at->streaming) {
        begin_response(at);
        send_body(at, at->held.data, at->held.len);
    } else {
        send_body(at, NULL, 0); /* headers still unsent when the body was empty */
    }
}

enum outcome proxy_attempt(struct proxy *px, struct pool_key *k, int attempt_no,
                           struct attempt_error *err)
{
    struct attempt at;
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct buf url;
    enum outcome out = OUTCOME_RETRY;
    CURLcode cc = CURLE_OUT_OF_MEMORY;
    CURL *c = worker_curl(px->r->w);

    memset(&at, 0, sizeof(at));
    at.px = px;
    at.r = px->r;
    at.key = k;
    at.attempt_no = attempt_no;
    at.next_check_ms = clock_mono_ms() + CLIENT_CHECK_MS;
    buf_init(&at.head, HEAD_CAP);
    buf_init(&at.conn, 4096);
    buf_init(&at.held, (size_t)px->r->cfg->rule_body_limit);
    buf_init(&url, PROXY_URL_MAX + KEY_VALUE_MAX * 3 + 256);
    buf_append(&url, px->url.data, px->url.len);
    if (px->up->auth_query_param != NULL)
        proxy_url_add_param(&url, px->up->auth_query_param, k->value, k->value_len);
    hdrs = build_headers(px, k);
    if (c == NULL || hdrs == NULL || setup(c, &at, buf_str(&url), hdrs, errbuf) != 0) {
        cc = c == NULL || hdrs == NULL ? CURLE_OUT_OF_MEMORY : CURLE_OPERATION_TIMEDOUT;
        goto out;
    }
    cc = curl_easy_perform(c);
    if (at.client_gone) {
        out = OUTCOME_CLIENT_GONE;
    } else if (cc == CURLE_OK) {
        finish_response(&at);
        out = at.client_gone ? OUTCOME_CLIENT_GONE : OUTCOME_DONE;
    } else if (px->r->head_sent) {
        out = OUTCOME_DONE; /* cut off mid-answer: the client has part of it */
    } else {
        undo_response(&at);
    }
out:
    if (cc != CURLE_OK)
        describe_error(&at, cc, errbuf, err);
    curl_slist_free_all(hdrs);
    crypto_wipe(url.data, url.cap);
    buf_free(&url);
    buf_free(&at.head);
    buf_free(&at.conn);
    buf_free(&at.held);
    return out;
}
