/*
 * One HTTP request as the application sees it, whether it came over
 * FastCGI or plain CGI, and the functions that answer it.
 *
 * A response is started by the first resp_write (or reply_*): the status
 * line and the headers collected so far go out, then the body.  Every
 * response carries X-Gateway-Request-Id.
 */
#ifndef APIGW_HTTP_H
#define APIGW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "query.h"

struct json_object;
struct worker;
struct config;

/* The most bytes of HTTP response headers kept in memory: those a handler
 * adds with resp_header, and those an upstream answers with. */
#define HTTP_HEAD_MAX (64u << 10)

/* Where a request's bytes come from and go to. */
struct http_io {
    long (*read)(void *ctx, char *p, size_t n);       /* < 0 on error, 0 at the end */
    int (*write)(void *ctx, const char *p, size_t n); /* 0 or -1 */
    int (*flush)(void *ctx);                          /* 0 or -1 */
    int fd; /* the connection's socket, -1 when unknown (used to notice a client leaving) */
    void *ctx;
    /* True when the body ends with a mark of its own (FastCGI's empty
     * FCGI_STDIN record): the body is then always read through that mark.
     * False for CGI, where no more than CONTENT_LENGTH may be read. */
    bool body_end_mark;
};

struct req {
    struct worker *w;
    /* The configuration in force when the request started; service_request
     * holds a reference to it until the request ends (app.h). */
    const struct config *cfg;
    const struct http_io *io;
    char **env;

    const char *method;
    const char *uri;   /* raw REQUEST_URI, path and query, not decoded */
    char *path;        /* the raw path part of uri, owned */
    const char *query; /* the raw query part (after '?'), "" when none */
    struct buf body;   /* the request body, capped at max_body_bytes */
    char id[32];       /* X-Gateway-Request-Id (core/reqid.h) */
    int64_t start_us;
    int64_t start_ms; /* wall clock at the start: the log row's ts and the id's time */

    int status;      /* the status sent or to be sent */
    struct buf head; /* response headers not yet sent */
    bool head_sent;
    bool client_gone; /* a write to the client failed */
    long long resp_bytes;

    long long user_id; /* the admin user behind the request; 0 for none or the admin token */
    int role;          /* enum role of an admin caller */
    char actor[80];    /* who the caller is, for history rows: "user:NAME" or "admin-token" */
    char error[512];   /* the message of the error answer, if the gateway gave one */
};

/* Prepares a request from its parameters and reads the body.  Returns
 * ERR_OK, ERR_BODY_TOO_LARGE (the body was drained, not kept),
 * ERR_INVALID_FIELD (a Content-Length that is not a number) or
 * ERR_INVALID_REQUEST (a method, header name or header value that HTTP
 * does not allow, see reqcheck.h: the 400 answer has already been sent). */
enum err req_init(struct req *r, struct worker *w, const struct config *cfg,
                  const struct http_io *io, char **env);

/* Sends an empty 500 if nothing was sent, and frees what the request owns. */
void req_finish(struct req *r);

/* A CGI/FastCGI parameter such as "REQUEST_METHOD", or NULL. */
const char *req_param(const struct req *r, const char *name);

/* A request header by its HTTP name, case-insensitive ("X-Api-Key"), or
 * NULL.  Content-Type and Content-Length are found too. */
const char *req_header(const struct req *r, const char *name);

/* Finds a query parameter and writes its decoded value (%XX and +) into
 * out.  QUERY_MALFORMED: a bad or NUL escape (out is then empty).  Values
 * longer than outlen are cut. */
enum query_rc req_query_get(const struct req *r, const char *name, char *out, size_t outlen);

/* The same for the parameter's nth occurrence (0 is the first). */
enum query_rc req_query_nth(const struct req *r, const char *name, unsigned nth, char *out,
                            size_t outlen);

/* The same, true when present (malformed values come back empty). */
bool req_query(const struct req *r, const char *name, char *out, size_t outlen);

/* Sets the status of the response to come (before any body byte). */
void resp_status(struct req *r, int status);

/* Adds a response header.  Values with CR or LF are refused (-1). */
int resp_header(struct req *r, const char *name, const char *value);

/* Sends body bytes, sending the status and headers first if needed.
 * Returns 0, or -1 when the client has gone. */
int resp_write(struct req *r, const void *p, size_t n);

/* Pushes buffered bytes to the client now (for streaming). */
int resp_flush(struct req *r);

/* Answers with a JSON document; o is consumed (may be NULL for `{}`). */
void reply_json(struct req *r, int status, struct json_object *o);

/* Answers with a status and no body (204, 304 and friends). */
void reply_empty(struct req *r, int status);

/* Answers with the contract's error body for e; the message says what to
 * fix.  Does nothing if a response has already started. */
void reply_error(struct req *r, enum err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Serializes a JSON value compactly; the string belongs to o. */
const char *json_text(struct json_object *o, size_t *len);

#endif
