#include "core/mask.h"
#include "core/probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/egress.h"
#include "core/log.h"

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Chooses the egress proxy of t's key as a request would: the key's own,
 * else by the upstream's proxy_mode (round_robin: any proxy that does not
 * rest in this process). */
static int load_egress(struct db *db, const unsigned char enc_key[32], struct probe_target *t)
{
    struct egress_proxy *own = NULL;
    const struct egress_proxy *p;
    struct egress_set set;
    struct db_res res;
    int rc = db_query(db,
                      "SELECT u.proxy_mode, u.proxies_enc, k.proxy_enc FROM api_keys k"
                      " JOIN upstreams u ON u.id = k.upstream_id WHERE k.id = ?",
                      DB_ARGS(DB_INT(t->key_id)), &res);

    if (rc != DB_OK || res.nrows == 0) {
        db_res_free(&res);
        return rc;
    }
    egress_proxy_open(&own, enc_key, db_val(&res, 0, 2), db_len(&res, 0, 2));
    egress_set_open(&set, enc_key, db_val(&res, 0, 1), db_len(&res, 0, 1), db_val(&res, 0, 0));
    p = egress_choose(&set, own, t->key_id, NULL, clock_mono_ms(), &t->no_egress);
    if (p != NULL && (t->proxy = malloc(sizeof(*t->proxy))) != NULL &&
        egress_proxy_init(t->proxy, p->url) != 0) {
        free(t->proxy);
        t->proxy = NULL;
        t->no_egress = true;
    }
    egress_proxy_free(own);
    egress_set_free(&set);
    db_res_free(&res);
    return DB_OK;
}

/* Rules that do not parse (only a database written around the admin API
 * holds such) are left out, as the pool snapshot leaves them out. */
static void load_rules(struct probe_target *t, const char *text)
{
    char msg[256];

    if (header_rules_parse_text(text, t->auth_query_param == NULL ? t->auth_header : NULL,
                                &t->rules, msg, sizeof(msg)) != 0)
        log_error("key %lld: the probe sends no header rules: %s", t->key_id, msg);
}

int probe_load(struct db *db, const unsigned char enc_key[32], long long key_id,
               struct probe_target *t)
{
    struct db_res res;
    unsigned long n;
    long len;
    int rc;

    memset(t, 0, sizeof(*t));
    rc = db_query(db,
                  "SELECT k.id, k.upstream_id, k.key_enc, k.key_masked, k.status, u.base_url,"
                  " u.auth_header, u.auth_template, u.auth_query_param, u.probe_method,"
                  " u.probe_path, u.timeout_ms, u.connect_timeout_ms, k.probe_failures,"
                  " u.name, u.header_rules, u.probe_body, u.probe_content_type"
                  " FROM api_keys k JOIN upstreams u ON u.id = k.upstream_id WHERE k.id = ?",
                  DB_ARGS(DB_INT(key_id)), &res);
    if (rc == DB_OK && res.nrows == 0)
        rc = DB_EFAIL;
    if (rc != DB_OK)
        goto out;
    n = db_len(&res, 0, 2);
    t->key = malloc(n + 1);
    len = t->key ? crypto_open(enc_key, (const unsigned char *)db_val(&res, 0, 2), n, t->key) : -1;
    if (len < 0) {
        rc = DB_EFAIL;
        goto out;
    }
    t->key_len = (size_t)len;
    t->key_id = db_int(&res, 0, 0);
    t->upstream_id = db_int(&res, 0, 1);
    snprintf(t->masked, sizeof(t->masked), "%s", db_val(&res, 0, 3));
    t->status = dup_or_null(db_val(&res, 0, 4));
    t->base_url = dup_or_null(db_val(&res, 0, 5));
    t->auth_header = dup_or_null(db_val(&res, 0, 6));
    t->auth_template = dup_or_null(db_val(&res, 0, 7));
    t->auth_query_param = dup_or_null(db_val(&res, 0, 8));
    t->method = dup_or_null(db_val(&res, 0, 9));
    t->path = dup_or_null(db_val(&res, 0, 10));
    t->timeout_ms = db_int(&res, 0, 11);
    t->connect_timeout_ms = db_int(&res, 0, 12);
    t->probe_failures = db_int(&res, 0, 13);
    t->upstream_name = dup_or_null(db_val(&res, 0, 14));
    load_rules(t, db_val(&res, 0, 15));
    t->body = dup_or_null(db_val(&res, 0, 16));
    t->content_type = dup_or_null(db_val(&res, 0, 17));
    rc = load_egress(db, enc_key, t);
out:
    db_res_free(&res);
    if (rc != DB_OK)
        probe_target_free(t);
    return rc;
}

void probe_target_free(struct probe_target *t)
{
    if (t->key != NULL)
        crypto_wipe(t->key, t->key_len);
    free(t->key);
    free(t->status);
    free(t->base_url);
    free(t->auth_header);
    free(t->auth_template);
    free(t->auth_query_param);
    free(t->method);
    free(t->path);
    free(t->body);
    free(t->content_type);
    free(t->upstream_name);
    header_rules_free(&t->rules);
    egress_proxy_free(t->proxy);
    memset(t, 0, sizeof(*t));
}

/* Keeps the answer's first bytes (for the rules that judge a probe) and
 * drops the rest. */
static size_t keep_head(char *p, size_t size, size_t n, void *ud)
{
    struct probe_result *res = ud;
    size_t room = sizeof(res->answer) - res->answer_len;

    if (room > size * n)
        room = size * n;
    memcpy(res->answer + res->answer_len, p, room);
    res->answer_len += room;
    return size * n;
}

/* One prepared transfer: its handle, headers and URL (which may hold the
 * key: wiped when done). */
struct probe_xfer {
    CURL *c;
    struct curl_slist *headers;
    struct buf url, auth;
    struct buf ctype; /* the Content-Type line of a probe with a body */
    int64_t started_ms;
    char errbuf[CURL_ERROR_SIZE];
};

static void render(struct buf *out, const char *tpl, const struct probe_target *t)
{
    const char *at;

    while ((at = strstr(tpl, "{key}")) != NULL) {
        buf_append(out, tpl, (size_t)(at - tpl));
        buf_append(out, t->key, t->key_len);
        tpl = at + 5;
    }
    buf_puts(out, tpl);
}

/* Releases what a transfer that cannot start holds (the key among it);
 * returns -1. */
static int xfer_drop(struct probe_xfer *x)
{
    if (x->c != NULL)
        curl_easy_cleanup(x->c);
    x->c = NULL;
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    crypto_wipe(x->url.data, x->url.cap);
    crypto_wipe(x->auth.data, x->auth.cap);
    buf_free(&x->url);
    buf_free(&x->auth);
    buf_free(&x->ctype);
    return -1;
}

/* Appends line to the transfer's headers. */
static int append_header(struct probe_xfer *x, struct buf *line)
{
    struct curl_slist *l = curl_slist_append(x->headers, buf_str(line));

    if (l == NULL)
        return -1;
    x->headers = l;
    return 0;
}

/* The lines the upstream's header rules add, before the key as on the
 * proxy (proxy/upstream_req.c). */
static int add_rule_headers(struct probe_xfer *x, const struct probe_target *t)
{
    struct header_vars v = {NULL, NULL, t->upstream_name};
    struct buf line;
    size_t i;
    int rc = 0;

    buf_init(&line, 4096);
    for (i = 0; i < t->rules.n && rc == 0; i++) {
        if (!t->rules.v[i].emits)
            continue;
        buf_reset(&line);
        rc = header_rule_line(&t->rules.v[i], &v, &line);
        if (rc == 0)
            rc = append_header(x, &line);
    }
    buf_free(&line);
    return rc;
}

/* A probe with a body sends it with its Content-Type (JSON by default). */
static int add_body(struct probe_xfer *x, const struct probe_target *t)
{
    if (t->body == NULL)
        return 0;
    buf_printf(&x->ctype, "Content-Type: %s",
               t->content_type != NULL ? t->content_type : "application/json");
    if (append_header(x, &x->ctype) != 0)
        return -1;
    curl_easy_setopt(x->c, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(x->c, CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
    return 0;
}

static int xfer_prepare(struct probe_xfer *x, const struct probe_target *t,
                        struct probe_result *res)
{
    long long timeout = t->timeout_ms < PROBE_TIMEOUT_MAX_MS ? t->timeout_ms : PROBE_TIMEOUT_MAX_MS;
    size_t blen = strlen(t->base_url);

    memset(x, 0, sizeof(*x));
    if (t->no_egress)
        return -1; /* never directly when the upstream wants a proxy */
    buf_init(&x->url, 16384);
    buf_init(&x->auth, 4096);
    buf_init(&x->ctype, 256);
    res->answer_len = 0;
    while (blen > 0 && t->base_url[blen - 1] == '/')
        blen--;
    buf_append(&x->url, t->base_url, blen);
    buf_puts(&x->url, t->path);
    if (t->auth_query_param != NULL) {
        char *enc = curl_easy_escape(NULL, t->key, (int)t->key_len);
        buf_printf(&x->url, "%s%s=%s", strchr(t->path, '?') ? "&" : "?", t->auth_query_param,
                   enc ? enc : "");
        curl_free(enc);
    }
    if (add_rule_headers(x, t) != 0)
        return xfer_drop(x);
    if (t->auth_query_param == NULL) {
        buf_printf(&x->auth, "%s: ", t->auth_header);
        render(&x->auth, t->auth_template, t);
        if (append_header(x, &x->auth) != 0)
            return xfer_drop(x);
    }
    x->c = curl_easy_init();
    if (x->c == NULL || add_body(x, t) != 0)
        return xfer_drop(x);
    curl_easy_setopt(x->c, CURLOPT_URL, buf_str(&x->url));
    curl_easy_setopt(x->c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(x->c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(t->connect_timeout_ms < timeout ? t->connect_timeout_ms : timeout));
    curl_easy_setopt(x->c, CURLOPT_CUSTOMREQUEST, t->method);
    if (strcmp(t->method, "HEAD") == 0)
        curl_easy_setopt(x->c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, keep_head);
    curl_easy_setopt(x->c, CURLOPT_WRITEDATA, res);
    curl_easy_setopt(x->c, CURLOPT_ERRORBUFFER, x->errbuf);
    /* As the proxy's attempts do (proxy/attempt.c): an empty proxy keeps
     * the environment's http_proxy out. */
    curl_easy_setopt(x->c, CURLOPT_PROXY, t->proxy != NULL ? t->proxy->url : "");
    curl_easy_setopt(x->c, CURLOPT_NOPROXY, "");
    if (t->proxy != NULL)
        curl_easy_setopt(x->c, CURLOPT_HTTPPROXYTUNNEL, 1L);
    x->started_ms = clock_mono_ms();
    return 0;
}

static void xfer_finish(struct probe_xfer *x, const struct probe_target *t, CURLcode cc,
                        struct probe_result *res)
{
    long status = 0;

    res->latency_ms = clock_mono_ms() - x->started_ms;
    curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
    res->status = (int)status;
    res->ok = cc == CURLE_OK && status >= 200 && status < 300;
    res->error[0] = '\0';
    res->transport_failed = cc != CURLE_OK;
    res->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
    if (cc != CURLE_OK) {
        char raw[CURL_ERROR_SIZE + 64];
        struct mask_secret secret;
        snprintf(raw, sizeof(raw), "%s: %s", curl_easy_strerror(cc),
                 x->errbuf[0] ? x->errbuf : "no detail");
        mask_secret_init(&secret, t->key, t->key_len, t->masked);
        mask_text(res->error, sizeof(res->error), raw, strlen(raw), &secret, false);
        mask_secret_free(&secret);
        if (t->proxy != NULL)
            egress_describe(t->proxy, false, res->error, sizeof(res->error));
    } else if (!res->ok) {
        snprintf(res->error, sizeof(res->error), "the upstream answered %ld", status);
    }
    curl_easy_cleanup(x->c);
    curl_slist_free_all(x->headers);
    crypto_wipe(x->url.data, x->url.cap);
    crypto_wipe(x->auth.data, x->auth.cap);
    buf_free(&x->url);
    buf_free(&x->auth);
    buf_free(&x->ctype);
}

void probe_run(const struct probe_target *t, struct probe_result *res)
{
    struct probe_target *one = (struct probe_target *)t;

    probe_run_many(&one, 1, 1, res);
}

void probe_run_many(struct probe_target *const *t, size_t n, int parallel, struct probe_result *res)
{
    struct probe_xfer *x = calloc(n + 1, sizeof(*x));
    CURLM *m = curl_multi_init();
    size_t next = 0, done = 0, i;
    int running = 0;

    if (x == NULL || m == NULL) {
        for (i = 0; i < n; i++)
            snprintf(res[i].error, sizeof(res[i].error), "out of memory");
        free(x);
        if (m != NULL)
            curl_multi_cleanup(m);
        return;
    }
    while (done < n) {
        CURLMsg *msg;
        int left;
        /* Keep `parallel` probes in flight. */
        while (next < n && running < parallel) {
            if (xfer_prepare(&x[next], t[next], &res[next]) != 0) {
                snprintf(res[next].error, sizeof(res[next].error), "cannot start the probe");
                next++;
                done++;
                continue;
            }
            curl_easy_setopt(x[next].c, CURLOPT_PRIVATE, (void *)(uintptr_t)next);
            curl_multi_add_handle(m, x[next].c);
            next++;
            running++;
        }
        curl_multi_perform(m, &left);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            void *priv = NULL;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            i = (size_t)(uintptr_t)priv;
            curl_multi_remove_handle(m, msg->easy_handle);
            xfer_finish(&x[i], t[i], msg->data.result, &res[i]);
            running--;
            done++;
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    curl_multi_cleanup(m);
    free(x);
}
