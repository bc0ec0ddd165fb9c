#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/reqid.h"
#include "reqcheck.h"

/* Room for each of the two pieces send_head puts around the collected
 * headers: the status line, and X-Gateway-Request-Id with the blank line. */
#define HEAD_FRAME_MAX 256

const char *req_param(const struct req *r, const char *name)
{
    size_t n = strlen(name);
    char **e;

    if (r->env == NULL)
        return NULL;
    for (e = r->env; *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

const char *req_header(const struct req *r, const char *name)
{
    char var[128];
    size_t i, o = 0;

    if (strcasecmp(name, "Content-Type") != 0 && strcasecmp(name, "Content-Length") != 0) {
        memcpy(var, "HTTP_", 5);
        o = 5;
    }
    for (i = 0; name[i] != '\0' && o + 1 < sizeof(var); i++)
        var[o++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
    var[o] = '\0';
    return req_param(r, var);
}

/* Reads and throws away what is left of a body that will not be used, so
 * that the web server can finish sending it and read our answer. */
static void drain_body(struct req *r)
{
    char chunk[16384];

    while (r->io->read(r->io->ctx, chunk, sizeof(chunk)) > 0)
        ;
}

/* Reads the body: CONTENT_LENGTH bytes when it is given, else (a chunked
 * upload passed on by the web server) everything up to the end, never more
 * than max_body_bytes. */
static enum err read_body(struct req *r)
{
    const char *cl = req_header(r, "Content-Length");
    unsigned long long want = ULLONG_MAX, max = (unsigned long long)r->cfg->max_body_bytes;
    char *end, chunk[16384];

    if (cl != NULL && *cl != '\0') {
        errno = 0;
        want = strtoull(cl, &end, 10);
        if (errno != 0 || *end != '\0' || *cl == '-') {
            if (r->io->body_end_mark)
                drain_body(r);
            return ERR_INVALID_FIELD;
        }
        if (want > max) {
            drain_body(r);
            return ERR_BODY_TOO_LARGE;
        }
    } else if (!r->io->body_end_mark && req_param(r, "CONTENT_LENGTH") == NULL &&
               req_header(r, "Transfer-Encoding") == NULL) {
        return ERR_OK; /* CGI without a body */
    }
    while (r->body.len < want) {
        size_t ask = want - r->body.len < sizeof(chunk) ? want - r->body.len : sizeof(chunk);
        long got = r->io->read(r->io->ctx, chunk, ask);
        if (got <= 0)
            break;
        if (r->body.len + (size_t)got > max || buf_append(&r->body, chunk, (size_t)got) != 0) {
            drain_body(r);
            return ERR_BODY_TOO_LARGE;
        }
    }
    /* FastCGI marks the body's end with an empty record, which Apache's
     * mod_proxy_fcgi sends in a write of its own: read it now, or it would
     * later look like the client leaving. */
    if (r->io->body_end_mark)
        drain_body(r);
    return ERR_OK;
}

enum err req_init(struct req *r, struct worker *w, const struct config *cfg,
                  const struct http_io *io, char **env)
{
    const char *q;
    uint64_t rnd;

    memset(r, 0, sizeof(*r));
    r->w = w;
    r->cfg = cfg;
    r->io = io;
    r->env = env;
    r->start_us = clock_mono_us();
    r->start_ms = clock_wall_ms();
    r->status = 200;
    r->query = "";
    buf_init(&r->body, (size_t)cfg->max_body_bytes);
    buf_init(&r->head, HTTP_HEAD_MAX);
    rnd = worker_random(w);
    reqid_make(r->id, sizeof(r->id), r->start_ms, rnd);

    /* Before anything reads a parameter: a refused one is answered here. */
    if (reqcheck_params(env, r->error, sizeof(r->error)) != 0) {
        if (r->io->body_end_mark)
            drain_body(r);
        r->method = "GET";
        r->uri = "/";
        reply_error(r, ERR_INVALID_REQUEST, "%s", r->error);
        return ERR_INVALID_REQUEST;
    }
    r->method = req_param(r, "REQUEST_METHOD");
    if (r->method == NULL || *r->method == '\0')
        r->method = "GET";
    r->uri = req_param(r, "REQUEST_URI");
    if (r->uri == NULL || *r->uri == '\0')
        r->uri = req_param(r, "SCRIPT_URL");
    if (r->uri == NULL || *r->uri == '\0')
        r->uri = "/";
    q = strchr(r->uri, '?');
    if (q != NULL) {
        r->path = strndup(r->uri, (size_t)(q - r->uri));
        r->query = q + 1;
    } else {
        r->path = strdup(r->uri);
    }
    if (r->path == NULL)
        return ERR_INTERNAL;
    return read_body(r);
}

enum query_rc req_query_nth(const struct req *r, const char *name, unsigned nth, char *out,
                            size_t outlen)
{
    return query_nth(r->query, name, nth, out, outlen);
}

enum query_rc req_query_get(const struct req *r, const char *name, char *out, size_t outlen)
{
    return req_query_nth(r, name, 0, out, outlen);
}

bool req_query(const struct req *r, const char *name, char *out, size_t outlen)
{
    return req_query_get(r, name, out, outlen) != QUERY_ABSENT;
}

void resp_status(struct req *r, int status)
{
    if (!r->head_sent)
        r->status = status;
}

static bool header_safe(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s == '\r' || *s == '\n' || ((unsigned char)*s < 0x20 && *s != '\t'))
            return false;
    return true;
}

int resp_header(struct req *r, const char *name, const char *value)
{
    if (r->head_sent || !header_safe(name) || !header_safe(value))
        return -1;
    return buf_cat(&r->head, name, ": ", value, "\r\n", (char *)NULL);
}

/* Writes the status line, the collected headers and the closing lines in
 * three writes (the FastCGI stream buffers them): the headers are not
 * copied nor formatted again. */
static int send_head(struct req *r)
{
    char start[HEAD_FRAME_MAX], end[HEAD_FRAME_MAX];
    int rc, n, m;

    r->head_sent = true;
    n = snprintf(start, sizeof(start), "Status: %d %s\r\n", r->status, http_reason(r->status));
    m = snprintf(end, sizeof(end), "X-Gateway-Request-Id: %s\r\n\r\n", r->id);
    rc = n > 0 && (size_t)n < sizeof(start) && m > 0 && (size_t)m < sizeof(end) ? 0 : -1;
    if (rc == 0)
        rc = r->io->write(r->io->ctx, start, (size_t)n);
    if (rc == 0 && r->head.len > 0)
        rc = r->io->write(r->io->ctx, r->head.data, r->head.len);
    if (rc == 0)
        rc = r->io->write(r->io->ctx, end, (size_t)m);
    if (rc != 0)
        r->client_gone = true;
    return rc;
}

int resp_write(struct req *r, const void *p, size_t n)
{
    if (r->client_gone)
        return -1;
    if (!r->head_sent && send_head(r) != 0)
        return -1;
    if (n == 0)
        return 0;
    if (r->io->write(r->io->ctx, p, n) != 0) {
        r->client_gone = true;
        return -1;
    }
    r->resp_bytes += (long long)n;
    return 0;
}

int resp_flush(struct req *r)
{
    if (r->client_gone)
        return -1;
    if (!r->head_sent && send_head(r) != 0)
        return -1;
    if (r->io->flush(r->io->ctx) != 0) {
        r->client_gone = true;
        return -1;
    }
    return 0;
}

const char *json_text(struct json_object *o, size_t *len)
{
    return json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

void reply_json(struct req *r, int status, struct json_object *o)
{
    const char *text = "{}";
    size_t len = 2;

    if (r->head_sent) {
        json_object_put(o);
        return;
    }
    if (o != NULL)
        text = json_text(o, &len);
    resp_status(r, status);
    resp_header(r, "Content-Type", "application/json; charset=utf-8");
    resp_header(r, "Cache-Control", "no-store");
    {
        char cl[24];
        snprintf(cl, sizeof(cl), "%zu", len);
        resp_header(r, "Content-Length", cl);
    }
    resp_write(r, text, len);
    json_object_put(o);
}

void reply_empty(struct req *r, int status)
{
    if (r->head_sent)
        return;
    resp_status(r, status);
    resp_write(r, NULL, 0);
}

void reply_error(struct req *r, enum err e, const char *fmt, ...)
{
    struct json_object *body, *inner;
    char msg[512];
    va_list ap;

    if (r->head_sent)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->error, sizeof(r->error), "%s", msg);
    inner = json_object_new_object();
    json_object_object_add(inner, "code", json_object_new_string(err_code(e)));
    json_object_object_add(inner, "message", json_object_new_string(msg));
    body = json_object_new_object();
    json_object_object_add(body, "error", inner);
    reply_json(r, err_status(e), body);
}

void req_finish(struct req *r)
{
    if (!r->head_sent)
        reply_error(r, ERR_INTERNAL, "the request produced no response");
    /* No flush here: FCGX_Finish_r sends the rest with the end record in
     * one write, and CGI mode flushes standard output when it is done. */
    buf_free(&r->body);
    buf_free(&r->head);
    free(r->path);
    r->path = NULL;
}
