/*
 * The request and ctx as scripts see them (core/script_obj.h), shared by
 * the proxy's hooks and the admin test route so that both describe them,
 * check onRequest's changes and make the new body the same way.
 */
#ifndef APIGW_SCRIPT_REQ_H
#define APIGW_SCRIPT_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "core/script_obj.h"

/* req's fields, in the order scripts see them.  query and headers are
 * lazy: their owner's prepare fills in their pairs. */
enum { REQ_METHOD, REQ_PATH, REQ_QUERY, REQ_HEADERS, REQ_BODY, REQ_TRUNCATED, REQ_JSON, REQ__MAX };
enum { CTX_REQUEST_ID, CTX_UPSTREAM, CTX_TOKEN, CTX_NOW, CTX__MAX };

/* The longest header name a script may set. */
#define SCRIPT_HEADER_NAME_MAX 128

/* Describes req: method and path (path_len bytes) as given, the body's
 * first body_limit bytes (cut back to a whole character) when it is UTF-8
 * text, else null (a binary body must not come back rewritten), and json
 * from the whole body only.  All borrowed: they must outlive the calls. */
void script_req_fields(struct script_field f[REQ__MAX], const char *method, const char *path,
                       size_t path_len, const char *body, size_t body_len, size_t body_limit);

/* Describes ctx (token may be NULL: null). */
void script_ctx_fields(struct script_field f[CTX__MAX], const char *request_id,
                       const char *upstream, const char *token, long long now_ms);

/* After onRequest's read-back: why its changes cannot be taken ("req.x
 * ..." in buf), or NULL when they can: every field of the right shape, a
 * method of 1 to 16 capital letters, a path that begins with /, header
 * names that are HTTP tokens of at most SCRIPT_HEADER_NAME_MAX bytes and
 * values without NUL, CR or LF. */
const char *script_req_check(const struct script_field f[REQ__MAX], char *buf, size_t len);

/* The body onRequest made: json re-serialised when it changed, else body
 * when it changed (null: empty).  Returns false when it made none. */
bool script_req_new_body(const struct script_field f[REQ__MAX], const char **s, size_t *len);

/* Whether name (nlen bytes) may be a header name a script sets and value
 * (vlen bytes) its value. */
bool script_header_ok(const char *name, size_t nlen, const char *value, size_t vlen);

/* Whether a header is one that only the gateway sets, whatever a script
 * leaves: hop-by-hop ones, Host, Content-Length and Expect. */
bool script_header_fixed(const char *name);

#endif
