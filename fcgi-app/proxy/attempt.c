/* One attempt of a proxied request: libcurl with the worker's reused
 * handle, the key injected, the answer streamed (2xx/3xx) or held up to
 * rule_body_limit (4xx/5xx) so that a retry stays possible. */
#include <curl/curl.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "core/mask.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/store.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/proxy.h"
#include "proxy/path.h"
#include "proxy/rules.h"
#include "core/rule/rule.h"
#include "core/nelem.h"

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
    int64_t until_ms;     /* the attempt ends when nothing happens by then */
    bool timed_out;       /* it did end so */
    int sends;            /* how often libcurl was about to send the request */
    int64_t started_ms;   /* when the attempt began */
    long long latency_ms; /* until the answer's headers */
    bool rule_retry;      /* a rule asked for another key */
    bool held_judged;     /* the rules have seen the held body */
    struct buf head;      /* upstream headers that pass on, "Name: value\r\n" each */
    struct buf conn;      /* the upstream's Connection header: more hop-by-hop names */
    struct buf held;      /* the held body of an error answer */
    struct buf prefix;    /* the first bytes of a 2xx body, for body rules */
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
    for (i = 0; i < NELEM(drop); i++)
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

#define RULE_HEADERS_MAX 128

/* Runs the rules of a phase on this attempt's answer (body may be NULL). */
static bool judge(struct attempt *at, enum rule_phase phase, const char *body, size_t n)
{
    struct rule_header h[RULE_HEADERS_MAX];
    struct rule_input in;
    const char *line = buf_str(&at->head);

    memset(&in, 0, sizeof(in));
    in.status = at->status;
    in.latency_ms = at->latency_ms;
    in.body = body;
    in.body_len = n;
    in.headers = h;
    while (*line != '\0' && in.nheaders < RULE_HEADERS_MAX) {
        const char *eol = strstr(line, "\r\n"), *colon = strchr(line, ':');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (colon != NULL && colon < line + len) {
            struct rule_header *x = &h[in.nheaders++];
            x->name = line;
            x->name_len = (size_t)(colon - line);
            x->value = colon + 2 <= line + len ? colon + 2 : line + len;
            x->value_len = (size_t)(line + len - x->value);
        }
        line += len + (eol ? 2 : 0);
    }
    return proxy_rules_run(at->px, at->key, &in, phase, NULL);
}

/* Keeps a complete error answer that a rule retried, so that the client
 * gets the last upstream answer when every attempt is retried away. */
static void save_answer(struct attempt *at)
{
    struct proxy *px = at->px;
    struct buf tmp;

    px->saved_status = at->status;
    tmp = px->saved_head;
    px->saved_head = at->head;
    at->head = tmp;
    buf_reset(&at->head);
    tmp = px->saved_body;
    px->saved_body = at->held;
    at->held = tmp;
    buf_reset(&at->held);
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
        if (at->status < 200) /* 1xx answers are followed by the real one */
            return len;
        at->head_done = true;
        at->latency_ms = clock_mono_ms() - at->started_ms;
        if (at->status < 400 && judge(at, PHASE_HEADERS, NULL, 0) &&
            proxy_can_retry(at->px, at->attempt_no)) {
            at->rule_retry = true;
            return 0; /* nothing went out: drop this answer, try another key */
        }
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
    /* A stream lives as long as it is not silent for timeout_ms. */
    at->until_ms = clock_mono_ms() + at->px->up->timeout_ms;
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
    if (at->streaming) {
        if (at->px->up->body_rules && at->status < 400)
            buf_append_some(&at->prefix, p, len);
        return send_body(at, p, len) == 0 ? len : 0;
    }
    if (at->held.len + len <= limit)
        return buf_append(&at->held, p, len) == 0 ? len : 0;
    /* Past what rules may look at: they decide on what is held, then the
     * answer goes out as it is. */
    at->held_judged = true;
    if (judge(at, PHASE_HELD, at->held.data, at->held.len) &&
        proxy_can_retry(at->px, at->attempt_no)) {
        at->rule_retry = true;
        return 0;
    }
    begin_response(at);
    if (send_body(at, at->held.data, at->held.len) != 0 || send_body(at, p, len) != 0)
        return 0;
    return len;
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

    for (i = 0; i < NELEM(drop); i++)
        if (strcasecmp(name, drop[i]) == 0)
            return true;
    for (i = 0; i < CRED_QUERY; i++)
        if (px->strip[i] && strcasecmp(name, credential_headers[i]) == 0)
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

    buf_init(&line, HTTP_HEAD_MAX);
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

static void describe_error(struct attempt *at, CURLcode cc, const char *errbuf,
                           struct attempt_error *err)
{
    char raw[CURL_ERROR_SIZE + 64];
    struct mask_secret secret = {at->key->value, at->key->value_len, at->key->masked};

    err->code = cc == CURLE_OPERATION_TIMEDOUT ? ERR_UPSTREAM_TIMEOUT : ERR_UPSTREAM_ERROR;
    if (at->sends > 1)
        snprintf(raw, sizeof(raw), "the upstream closed the connection without answering");
    else if (at->timed_out)
        snprintf(raw, sizeof(raw), "%s within %lld ms",
                 at->streaming ? "the answer stopped: nothing came" : "no answer",
                 at->px->up->timeout_ms);
    else
        snprintf(raw, sizeof(raw), "%s: %s", curl_easy_strerror(cc),
                 errbuf[0] ? errbuf : "no detail");
    mask_text(err->text, sizeof(err->text), raw, strlen(raw), &secret, false);
}

/* Whether the web server closed our connection: the client has gone. */
static bool client_left(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

    /* Nothing else arrives on it while a request runs: data means an abort. */
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || n > 0;
}

/* Runs the transfer with the worker's multi handle, which keeps its
 * connections alive between requests, and waits on the upstream and on
 * the client's connection at once: a client that leaves ends the transfer
 * at once, and the attempt's own deadline ends it when due. */
static CURLcode run_transfer(struct attempt *at, CURL *c)
{
    struct worker *w = at->r->w;
    CURLcode result = CURLE_OK;
    int running = 1, fd = at->r->io->fd, left;
    CURLMsg *msg;

    if (w->multi == NULL && (w->multi = curl_multi_init()) == NULL)
        return CURLE_OUT_OF_MEMORY;
    if (curl_multi_add_handle(w->multi, c) != CURLM_OK)
        return CURLE_FAILED_INIT;
    while (running) {
        struct curl_waitfd wfd = {fd, CURL_WAIT_POLLIN, 0};
        int64_t now;
        if (curl_multi_perform(w->multi, &running) != CURLM_OK || !running)
            break;
        now = clock_mono_ms();
        if (now >= at->until_ms) {
            at->timed_out = true;
            break;
        }
        curl_multi_poll(w->multi, fd >= 0 ? &wfd : NULL, fd >= 0 ? 1 : 0,
                        (int)(at->until_ms - now < 1000 ? at->until_ms - now : 1000), NULL);
        if (wfd.revents != 0 && client_left(fd)) {
            at->client_gone = true;
            break;
        }
    }
    while ((msg = curl_multi_info_read(w->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == c)
            result = msg->data.result;
    if (at->timed_out)
        result = CURLE_OPERATION_TIMEDOUT;
    else if (at->client_gone && result == CURLE_OK && running)
        result = CURLE_ABORTED_BY_CALLBACK;
    curl_multi_remove_handle(w->multi, c);
    return result;
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
    int64_t now = clock_mono_ms();
    long long left = px->deadline_ms - now;
    long long total = px->up->timeout_ms < left ? px->up->timeout_ms : left;
    long long conn = px->up->connect_timeout_ms < total ? px->up->connect_timeout_ms : total;

    if (total <= 0)
        return -1;
    /* The wait for an answer is bounded here; once a 2xx answer streams,
     * only silence longer than timeout_ms ends it (run_transfer). */
    at->until_ms = now + total;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(conn > 0 ? conn : 1));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, at);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, at);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, at);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    set_method(c, at->r);
    return 0;
}

/* After a complete transfer: the rules judge a held error answer (which
 * may still be retried), or the body of a 2xx answer that went out. */
static enum outcome finish_response(struct attempt *at)
{
    if (at->status >= 400 && !at->streaming) {
        if (!at->held_judged && judge(at, PHASE_HELD, at->held.data, at->held.len) &&
            proxy_can_retry(at->px, at->attempt_no)) {
            save_answer(at);
            return OUTCOME_RETRY;
        }
        begin_response(at);
        send_body(at, at->held.data, at->held.len);
    } else {
        if (!at->streaming)
            begin_response(at);
        send_body(at, NULL, 0); /* headers still unsent when the body was empty */
        /* An error answer too big to hold was judged on its first bytes. */
        if (at->px->up->body_rules && at->status < 400)
            judge(at, PHASE_AFTER, at->prefix.data != NULL ? at->prefix.data : "", at->prefix.len);
    }
    return at->client_gone ? OUTCOME_CLIENT_GONE : OUTCOME_DONE;
}

static enum transport_kind transport_kind(CURLcode cc)
{
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return TRANSPORT_TIMEOUT;
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
        return TRANSPORT_CONNECT;
    return TRANSPORT_OTHER;
}

/* No answer: the rules see the kind of failure (and may act on the key). */
static void judge_transport(struct attempt *at, CURLcode cc, const struct attempt_error *err)
{
    struct rule_input in;

    memset(&in, 0, sizeof(in));
    in.transport = transport_kind(cc);
    in.latency_ms = clock_mono_ms() - at->started_ms;
    proxy_rules_run(at->px, at->key, &in, PHASE_TRANSPORT, err->text);
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
    at.started_ms = clock_mono_ms();
    buf_init(&at.head, HTTP_HEAD_MAX);
    buf_init(&at.conn, 4096);
    buf_init(&at.held, (size_t)px->r->cfg->rule_body_limit);
    buf_init(&at.prefix, (size_t)px->r->cfg->rule_body_limit);
    buf_init(&url, PROXY_URL_MAX + KEY_VALUE_MAX * 3 + 256);
    buf_append(&url, px->url.data, px->url.len);
    if (px->up->auth_query_param != NULL)
        proxy_url_add_param(&url, px->up->auth_query_param, k->value, k->value_len);
    hdrs = build_headers(px, k);
    if (c == NULL || hdrs == NULL || setup(c, &at, buf_str(&url), hdrs, errbuf) != 0) {
        cc = c == NULL || hdrs == NULL ? CURLE_OUT_OF_MEMORY : CURLE_OPERATION_TIMEDOUT;
        goto out;
    }
    cc = run_transfer(&at, c);
    if (at.client_gone) {
        out = OUTCOME_CLIENT_GONE;
    } else if (at.rule_retry) {
        undo_response(&at);
        snprintf(err->text, sizeof(err->text), "the answer (status %d) was retried by a rule",
                 at.status);
        err->code = ERR_UPSTREAM_ERROR;
        cc = CURLE_OK;
    } else if (cc == CURLE_OK) {
        out = finish_response(&at);
        if (out == OUTCOME_RETRY)
            snprintf(err->text, sizeof(err->text), "the answer (status %d) was retried by a rule",
                     at.status);
    } else if (px->r->head_sent) {
        out = OUTCOME_DONE; /* cut off mid-answer: the client has part of it */
    } else {
        undo_response(&at);
        describe_error(&at, cc, errbuf, err);
        judge_transport(&at, cc, err);
        cc = CURLE_OK;
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
    buf_free(&at.prefix);
    return out;
}
