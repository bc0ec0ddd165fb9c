/*
 * The request an attempt sends upstream: the client's headers less the
 * hop-by-hop ones and every place that held a client token, the key in
 * the upstream's auth header (by its template) or query parameter, and
 * the method and body as libcurl options.  attempt.c runs the transfer.
 */
#ifndef APIGW_PROXY_UPSTREAM_REQ_H
#define APIGW_PROXY_UPSTREAM_REQ_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct proxy;
struct pool_key;
struct req;

/* Builds the request headers for an attempt with key k: every client
 * header that may pass on (see upstream_req.c), less those the upstream's
 * strip_forwarding_headers and header rules take out, then the lines the
 * rules add (proxy/shape_headers.h), empty Content-Type, Accept
 * and Expect where libcurl would add its own, and the upstream's auth
 * header with the key unless the key goes in the query.  Returns a list
 * the caller frees with curl_slist_free_all (it holds the key), or NULL
 * when memory or a line's cap ran out. */
struct curl_slist *upstream_req_headers(const struct proxy *px, const struct pool_key *k);

/* Whether a request header (name, any case) never passes on: hop-by-hop,
 * Host, those libcurl sets (Content-Length, Content-Type, Expect), every
 * place that held the client's token, the key's injection header, and
 * those that conn (the request's Connection header, or NULL; looked up
 * once per request by the caller) names. */
bool upstream_req_header_dropped(const struct proxy *px, const char *conn, const char *name);

/* For one CGI variable of the request (entry, "NAME=value"): when it is a
 * client header that passes on (CONTENT_TYPE or HTTP_*, see
 * upstream_req_header_dropped), writes its name ("Content-Type",
 * "X-Api-Key") into name (namelen bytes) and returns its value (inside
 * entry); else returns NULL. */
const char *upstream_req_env_header(const struct proxy *px, const char *conn, const char *entry,
                                    char *name, size_t namelen);

/* Initialises url and writes the request's upstream URL (px->url) into it,
 * with the key as the upstream's auth query parameter when it has one.
 * Returns 0 or -1 (the buffer's cap).  The caller wipes (the key) and
 * frees url. */
int upstream_req_url(struct buf *url, const struct proxy *px, const struct pool_key *k);

/* Sets the libcurl options for r's method and body: HEAD asks for no body;
 * a body (always for POST, PUT and PATCH) is sent as it came; every method
 * but POST and a GET without a body is set by name.  The body stays r's
 * and must outlive the transfer. */
void upstream_req_method(CURL *c, const struct req *r);

/* Turns a CGI variable's name after "HTTP_" (n bytes, "X_API_KEY") into a
 * header name ("X-Api-Key") in out, cut to outlen - 1 bytes. */
void upstream_req_header_name(const char *var, size_t n, char *out, size_t outlen);

/* Appends the auth template tpl to out with every "{key}" replaced by the
 * key (n bytes).  Returns 0 or -1 (out's cap; out may then hold part). */
int upstream_req_auth_value(struct buf *out, const char *tpl, const char *key, size_t n);

#endif
