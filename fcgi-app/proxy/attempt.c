/* One attempt of a proxied request: libcurl with the worker's reused
 * handle and the request upstream_req.c builds, the answer's head taken
 * by upstream_head.c, the answer streamed (2xx/3xx) or held up to
 * rule_body_limit (4xx/5xx) so that a retry stays possible, a 2xx event
 * stream held until its first event with stream_peek (peek.h), and the
 * rules judging it. */
#include <curl/curl.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/mask.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/usage_scan.h"
#include "http.h"
#include "proxy/hook.h"
#include "proxy/pace_head.h"
#include "proxy/peek.h"
#include "proxy/egress_curl.h"
#include "proxy/proxy.h"
#include "proxy/rules.h"
#include "proxy/trail.h"
#include "proxy/answer_usage.h"
#include "proxy/upstream_head.h"
#include "proxy/upstream_req.h"
#include "core/rule/rule.h"

struct attempt {
    struct proxy *px;
    struct req *r;
    struct pool_key *key;
    int attempt_no;
    struct upstream_head head; /* the answer's status and the fields that pass on */
    bool flush_each;           /* push every chunk at once (set when the answer begins) */
    bool streaming;            /* the answer goes to the client as it comes */
    bool client_gone;
    bool bad_head;                    /* the upstream's head cannot be passed on (a folded line) */
    int64_t until_ms;                 /* the attempt ends when nothing happens by then */
    bool timed_out;                   /* it did end so */
    int sends;                        /* how often libcurl was about to send the request */
    int64_t started_ms;               /* when the attempt began */
    long long latency_ms;             /* until the answer's headers */
    bool rule_retry;                  /* a rule asked for another key */
    bool script_answered;             /* the client got 502 script_error instead */
    bool held_judged;                 /* the rules have seen the held body */
    bool peeked;                      /* the body rules judged the peek, not the prefix */
    struct peek peek;                 /* holding a 2xx event stream's start (peek.h) */
    struct buf held;                  /* the held body of an error answer, or the peek's */
    struct buf prefix;                /* the first bytes of a 2xx body, for body rules */
    const struct mask_secret *secret; /* the key's forms, scrubbed from what reaches the client */
    struct mask_secret own;           /* the forms when the thread's cache had no memory */
    struct usage_scan *usage;         /* reads the usage of the answer that goes out */
};

#define RULE_HEADERS_MAX 128

/* Runs the rules of a phase on this attempt's answer (body may be NULL).
 * After a peek they also see why it ended, in x-gateway-peek. */
static bool judge(struct attempt *at, enum rule_phase phase, const char *body, size_t n)
{
    struct rule_header h[RULE_HEADERS_MAX + 1];
    struct rule_input in;
    const char *cursor = buf_str(&at->head.fields);
    struct upstream_field f;
    struct script_limits lim;
    bool retry;

    memset(&in, 0, sizeof(in));
    proxy_hook_rule_input(at->px, &in, &lim, at->secret);
    in.status = at->head.status;
    in.latency_ms = at->latency_ms;
    in.body = body;
    in.body_len = n;
    in.headers = h;
    while (in.nheaders < RULE_HEADERS_MAX && upstream_head_next(&cursor, &f)) {
        struct rule_header *x = &h[in.nheaders++];
        x->name = f.name;
        x->name_len = f.name_len;
        x->value = f.value;
        x->value_len = f.value_len;
    }
    if (phase == PHASE_PEEK && at->peek.why != NULL) {
        struct rule_header *x = &h[in.nheaders++];
        x->name = "x-gateway-peek";
        x->name_len = strlen(x->name);
        x->value = at->peek.why;
        x->value_len = strlen(at->peek.why);
    }
    /* The script's onResponse judges first (once per attempt: on the held
     * body or peek, or after a streamed answer went out), then the rules. */
    retry =
        phase != PHASE_HEADERS && proxy_hook_response(at->px, at->key, &in, at->attempt_no, NULL);
    return proxy_rules_run(at->px, at->key, &in, phase, NULL) || retry;
}

/* Whether the first bytes of a streamed answer are kept, for rules that
 * look at the body or the script's onResponse (not after a peek: they
 * judged the held part). */
static bool body_wanted(const struct attempt *at)
{
    return !at->peeked && (at->px->up->body_rules || proxy_hook_wants_response(at->px));
}

/* Fills out (initialised here; the caller frees it) with the held body,
 * the key scrubbed from it in every form (mask.h).  Returns how many
 * copies were masked (the length then changed), or -1 when out's cap was
 * reached. */
static int mask_held(struct attempt *at, struct buf *out)
{
    buf_init(out, mask_buf_bound(at->held.len));
    return mask_buf(out, at->held.data != NULL ? at->held.data : "", at->held.len, at->secret);
}

/* Keeps a complete error answer that a rule retried, so that the client
 * gets the last upstream answer when every attempt is retried away. */
static void save_answer(struct attempt *at)
{
    struct proxy *px = at->px;
    struct buf body;
    int hits = mask_held(at, &body);

    proxy_usage_retried(px, at->key, &at->head, at->held.data, at->held.len);
    px->saved_status = at->head.status;
    snprintf(px->saved_from, sizeof(px->saved_from), "%s", px->up->name);
    buf_reset(&px->saved_head);
    upstream_head_copy_masked(&at->head, &px->saved_head, at->secret, hits != 0);
    if (hits != 0)
        buf_printf(&px->saved_head, "Content-Length: %zu\r\n", body.len);
    buf_free(&px->saved_body);
    px->saved_body = body;
}

/* libcurl's header callback: one line of the answer's head. */
static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
    struct attempt *at = ud;
    size_t len = size * nitems;
    enum upstream_head_rc rc = upstream_head_line(&at->head, p, len);

    if (rc == UPSTREAM_HEAD_REFUSED)
        return 0; /* more than HTTP_HEAD_MAX of headers: refuse the answer */
    if (rc == UPSTREAM_HEAD_FOLDED) {
        at->bad_head = true;
        return 0; /* the answer becomes a 502 bad_gateway (proxy_attempt) */
    }
    if (rc != UPSTREAM_HEAD_END)
        return len;
    if (at->head.dropped > 0)
        log_warn("proxy: upstream %s sent %d malformed header line(s), left out (the last: %s)",
                 at->px->name, at->head.dropped, at->head.problem);
    at->latency_ms = clock_mono_ms() - at->started_ms;
    if (at->key->paced) /* pace_by_headers: the budget the answer reports */
        pace_head_learn(at->key, &at->head);
    if (at->head.status < 400 && judge(at, PHASE_HEADERS, NULL, 0) &&
        proxy_can_retry(at->px, at->attempt_no)) {
        at->rule_retry = true;
        return 0; /* nothing went out: drop this answer, try another key */
    }
    /* A 2xx event stream is peeked (an answer to HEAD has no event). */
    peek_start(&at->peek,
               at->head.status >= 200 && at->head.status < 300 && at->head.event_stream &&
                   strcmp(at->r->method, "HEAD") != 0,
               at->px->up->peek_bytes, at->px->up->peek_ms, at->held.max, clock_mono_ms());
    return len;
}

/* Commits to this answer: its status and headers become the response,
 * the key scrubbed from every header value (Content-Length left out with
 * without_length, for a held body that masking changed). */
static void begin_response(struct attempt *at, bool without_length)
{
    struct req *r = at->r;

    at->streaming = true;
    at->usage = proxy_usage_begin(at->px, &at->head);
    resp_status(r, at->head.status);
    upstream_head_copy_masked(&at->head, &r->head, at->secret, without_length);
    proxy_answer_headers(at->px, at->attempt_no);
    at->flush_each = at->head.flush_each || !at->head.has_length;
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
        usage_scan_free(at->usage);
        at->usage = NULL;
    }
}

static int send_body(struct attempt *at, const char *p, size_t n)
{
    /* A stream lives as long as it is not silent for timeout_ms. */
    at->until_ms = clock_mono_ms() + at->px->up->timeout_ms;
    if (at->usage != NULL && p != NULL)
        usage_scan_feed(at->usage, p, n);
    if (resp_write(at->r, p, n) != 0 || (at->flush_each && resp_flush(at->r) != 0)) {
        at->client_gone = true;
        return -1;
    }
    return 0;
}

/* Sends the held body of an error answer as the response, after its head,
 * with the key scrubbed from it; more (the rest of an answer too big to
 * hold, or NULL) follows as it comes.  whole says the held body is the
 * whole answer, whose new length then replaces the upstream's.  Returns 0,
 * or -1 when the client has gone. */
static int send_held(struct attempt *at, const char *more, size_t more_len, bool whole)
{
    struct buf b;
    int hits = mask_held(at, &b), rc;

    begin_response(at, hits != 0);
    if (hits != 0 && whole) {
        char n[24];
        snprintf(n, sizeof(n), "%zu", b.len);
        resp_header(at->r, "Content-Length", n);
    }
    rc = send_body(at, b.data, b.len);
    if (rc == 0 && more != NULL)
        rc = send_body(at, more, more_len);
    buf_free(&b);
    return rc;
}

/* What the judgement of a peek came to. */
enum peek_verdict { PEEK_SEND, PEEK_RETRY, PEEK_REFUSED };

/* Ends the peek (why: PEEK_WHY_*): onResponse and the body rules judge
 * what is held, as they judge a held error answer.  PEEK_RETRY when one
 * asked for a retry and another attempt may follow; PEEK_REFUSED when
 * onResponse failed with script_fail closed (the client got 502
 * script_error); else PEEK_SEND: the held bytes are to go out. */
static enum peek_verdict peek_judge(struct attempt *at, const char *why)
{
    at->peek.on = false;
    at->peek.why = why;
    at->peeked = true;
    if (judge(at, PHASE_PEEK, at->held.data != NULL ? at->held.data : "", at->held.len) &&
        proxy_can_retry(at->px, at->attempt_no))
        return PEEK_RETRY;
    if (at->px->hook_failed) {
        proxy_hook_reply_failed(at->px);
        return PEEK_REFUSED;
    }
    return PEEK_SEND;
}

/* Ends a peek while the answer goes on: judged, then retried, refused or
 * sent, followed by more (the latest bytes past the hold, or NULL).
 * Returns 0 while the answer flows on, -1 when the transfer is to stop. */
static int peek_end(struct attempt *at, const char *why, const char *more, size_t more_len)
{
    switch (peek_judge(at, why)) {
    case PEEK_RETRY:
        at->rule_retry = true;
        return -1;
    case PEEK_REFUSED:
        at->script_answered = true;
        return -1;
    case PEEK_SEND:
        break;
    }
    return send_held(at, more, more_len, false);
}

/* Holds the bytes of a peeked answer until its first event came whole or
 * the peek's bytes are held, then ends the peek.  Returns libcurl's
 * answer: len, or 0 to stop the transfer. */
static size_t peek_take(struct attempt *at, const char *p, size_t len)
{
    size_t room = at->peek.bytes - at->held.len, take = len < room ? len : room, used;
    const char *why;

    /* A stream lives as long as it is not silent for timeout_ms. */
    at->until_ms = clock_mono_ms() + at->px->up->timeout_ms;
    if (buf_append(&at->held, p, take) != 0)
        return 0;
    if (peek_scan(&at->peek.scan, p, take, &used))
        why = PEEK_WHY_EVENT;
    else if (at->held.len >= at->peek.bytes)
        why = PEEK_WHY_BYTES;
    else
        return len;
    return peek_end(at, why, take < len ? p + take : NULL, len - take) == 0 ? len : 0;
}

static size_t on_body(char *p, size_t size, size_t nitems, void *ud)
{
    struct attempt *at = ud;
    size_t len = size * nitems, limit = (size_t)at->r->cfg->rule_body_limit;

    if (!at->head.done)
        return 0;
    if (at->peek.on)
        return peek_take(at, p, len);
    if (!at->streaming && at->head.status < 400)
        begin_response(at, false);
    if (at->streaming) {
        if (body_wanted(at) && at->head.status < 400)
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
    if (at->px->hook_failed) {
        /* onResponse failed with script_fail closed: nothing went out. */
        at->script_answered = true;
        proxy_hook_reply_failed(at->px);
        return 0;
    }
    return send_held(at, p, len, false) == 0 ? len : 0;
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

static void describe_error(struct attempt *at, CURLcode cc, const char *errbuf,
                           struct attempt_error *err)
{
    char raw[CURL_ERROR_SIZE + 64];

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
    mask_text(err->text, sizeof(err->text), raw, strlen(raw), at->secret, false);
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
 * at once, and the attempt's own deadline ends it when due; a peek's time
 * limit wakes it up to judge and send what is held. */
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
        int64_t now, wake;
        if (curl_multi_perform(w->multi, &running) != CURLM_OK || !running)
            break;
        now = clock_mono_ms();
        if (now >= at->until_ms) {
            at->timed_out = true;
            break;
        }
        if (peek_due(&at->peek, now) && peek_end(at, PEEK_WHY_MS, NULL, 0) != 0)
            break;
        wake = peek_wake(&at->peek, at->until_ms);
        curl_multi_poll(w->multi, fd >= 0 ? &wfd : NULL, fd >= 0 ? 1 : 0,
                        (int)(wake - now < 1000 ? wake - now : 1000), NULL);
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
    proxy_egress_set(c, px->egress.cur);
    upstream_req_method(c, at->r);
    return 0;
}

/* After a complete transfer: the rules judge a held error answer or a
 * peek (which may still be retried), or the body of a 2xx answer that
 * went out. */
static enum outcome finish_response(struct attempt *at)
{
    if (at->peek.on) {
        switch (peek_judge(at, PEEK_WHY_END)) {
        case PEEK_RETRY:
            save_answer(at);
            return OUTCOME_RETRY;
        case PEEK_REFUSED:
            return OUTCOME_DONE;
        case PEEK_SEND:
            send_held(at, NULL, 0, true);
            return at->client_gone ? OUTCOME_CLIENT_GONE : OUTCOME_DONE;
        }
    }
    if (at->head.status >= 400 && !at->streaming) {
        if (!at->held_judged && judge(at, PHASE_HELD, at->held.data, at->held.len) &&
            proxy_can_retry(at->px, at->attempt_no)) {
            save_answer(at);
            return OUTCOME_RETRY;
        }
        if (at->px->hook_failed) {
            proxy_hook_reply_failed(at->px);
            return OUTCOME_DONE;
        }
        send_held(at, NULL, 0, true);
    } else {
        if (!at->streaming)
            begin_response(at, false);
        send_body(at, NULL, 0); /* headers still unsent when the body was empty */
        /* An error answer too big to hold was judged on its first bytes. */
        if (body_wanted(at) && at->head.status < 400)
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
    struct script_limits lim;

    memset(&in, 0, sizeof(in));
    proxy_hook_rule_input(at->px, &in, &lim, at->secret);
    in.transport = at->px->egress.cause ? TRANSPORT_PROXY : transport_kind(cc);
    in.latency_ms = clock_mono_ms() - at->started_ms;
    proxy_hook_response(at->px, at->key, &in, at->attempt_no, err->text);
    proxy_rules_run(at->px, at->key, &in, PHASE_TRANSPORT, err->text);
}

/* The upstream answered with a head that cannot be passed on: the client
 * gets a 502 bad_gateway instead (no other key is tried: the answer came,
 * and a retry would repeat the request).  Nothing of the answer went out
 * yet, since its head had not ended. */
static enum outcome reply_bad_head(struct attempt *at, struct attempt_error *err)
{
    log_warn("proxy: upstream %s answered with %s: refused as 502 bad_gateway", at->px->name,
             at->head.problem);
    snprintf(err->text, sizeof(err->text), "the upstream's answer had %s", at->head.problem);
    err->code = ERR_BAD_GATEWAY;
    proxy_answer_headers(at->px, at->attempt_no);
    reply_error(at->r, ERR_BAD_GATEWAY, "upstream %s answered with %s, which cannot be passed on",
                at->px->name, at->head.problem);
    return OUTCOME_DONE;
}

static void attempt_init(struct attempt *at, struct proxy *px, struct pool_key *k, int attempt_no)
{
    memset(at, 0, sizeof(*at));
    at->px = px;
    at->r = px->r;
    at->key = k;
    at->attempt_no = attempt_no;
    at->started_ms = clock_mono_ms();
    upstream_head_init(&at->head);
    buf_init(&at->held, (size_t)px->r->cfg->rule_body_limit);
    buf_init(&at->prefix, (size_t)px->r->cfg->rule_body_limit);
    at->secret = mask_secret_cached(k->value, k->value_len, k->masked);
    if (at->secret == NULL) {
        mask_secret_init(&at->own, k->value, k->value_len, k->masked);
        at->secret = &at->own;
    }
}

static void attempt_free(struct attempt *at)
{
    upstream_head_free(&at->head);
    buf_free(&at->held);
    buf_free(&at->prefix);
    mask_secret_free(&at->own);
}

enum outcome proxy_attempt(struct proxy *px, struct pool_key *k, int attempt_no,
                           struct attempt_error *err)
{
    struct attempt at;
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct buf url;
    int url_rc;
    enum outcome out = OUTCOME_RETRY;
    CURLcode cc = CURLE_OUT_OF_MEMORY;
    CURL *c = worker_curl(px->r->w);

    attempt_init(&at, px, k, attempt_no);
    url_rc = upstream_req_url(&url, px, k);
    hdrs = upstream_req_headers(px, k);
    if (c == NULL || hdrs == NULL || url_rc != 0 ||
        setup(c, &at, buf_str(&url), hdrs, errbuf) != 0) {
        cc = c == NULL || hdrs == NULL || url_rc != 0 ? CURLE_OUT_OF_MEMORY
                                                      : CURLE_OPERATION_TIMEDOUT;
        goto out;
    }
    cc = run_transfer(&at, c);
    if (at.client_gone) {
        out = OUTCOME_CLIENT_GONE;
    } else if (at.script_answered) {
        out = OUTCOME_DONE;
        cc = CURLE_OK;
    } else if (at.bad_head) {
        out = reply_bad_head(&at, err);
        cc = CURLE_OK;
    } else if (at.rule_retry) {
        undo_response(&at);
        proxy_usage_retried(px, k, &at.head, at.held.data, at.held.len);
        snprintf(err->text, sizeof(err->text), "the answer (status %d) was retried by a rule",
                 at.head.status);
        err->code = ERR_UPSTREAM_ERROR;
        cc = CURLE_OK;
    } else if (cc == CURLE_OK) {
        out = finish_response(&at);
        if (out == OUTCOME_RETRY)
            snprintf(err->text, sizeof(err->text), "the answer (status %d) was retried by a rule",
                     at.head.status);
    } else if (px->r->head_sent) {
        out = OUTCOME_DONE; /* cut off mid-answer: the client has part of it */
    } else {
        undo_response(&at);
        describe_error(&at, cc, errbuf, err);
        px->egress.cause = proxy_egress_failed(c, cc, px->egress.cur);
        if (px->egress.cur != NULL)
            egress_describe(px->egress.cur, px->egress.cause, err->text, sizeof(err->text));
        /* A failed egress proxy says nothing about the endpoint. */
        if (px->egress.cause)
            proxy_endpoint_done(px, 0, false, false);
        else
            proxy_endpoint_done(px, 0, true, at.sends > 0);
        judge_transport(&at, cc, err);
        cc = CURLE_OK;
    }
out:
    if (cc != CURLE_OK)
        describe_error(&at, cc, errbuf, err);
    proxy_trail_note(px, k, attempt_no, at.started_ms, at.head.status,
                     out == OUTCOME_RETRY || cc != CURLE_OK ? err->text : "", &at.held, at.secret);
    proxy_endpoint_done(px, at.head.status, false, true);
    /* Whole only when the transfer ended well and the client took it all. */
    proxy_usage_end(px, at.usage, out == OUTCOME_DONE && cc == CURLE_OK && !at.client_gone);
    at.usage = NULL;
    curl_slist_free_all(hdrs);
    crypto_wipe(url.data, url.cap);
    buf_free(&url);
    attempt_free(&at);
    return out;
}
