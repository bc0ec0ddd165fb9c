/*
 * The proxy's guards on what a client asks for, and the upstream URL built
 * from it.  Pure functions of their input, so that they can be tested and
 * fuzzed on their own.
 */
#ifndef APIGW_PROXY_PATH_H
#define APIGW_PROXY_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define PROXY_URL_MAX (16u << 10)

/* Checks the raw path after /proxy/ (upstream name included) and the raw
 * query.  Refused: control characters, CR or LF, backslashes and `..`
 * segments, raw or percent-encoded (once or twice), a leading slash
 * (`//host`), `@` in the first segment after the name, and absolute URLs.
 * Returns NULL when the request may go on, else why not. */
const char *proxy_path_check(const char *after_proxy, const char *query);

/* Splits the part after /proxy/ into the upstream name (copied into name,
 * which holds namelen bytes) and the rest.  *rest points into after_proxy
 * (after the slash that ends the name) or is NULL when there is no slash.
 * Returns false when the name is not a valid upstream name. */
bool proxy_split(const char *after_proxy, char *name, size_t namelen, const char **rest);

/* Builds the upstream URL into out: base_url (without a trailing slash),
 * then "/" + rest when rest is not NULL, then the query with every
 * parameter named drop_a or drop_b (each may be NULL) removed.  Returns 0,
 * or -1 when it does not fit. */
int proxy_build_url(struct buf *out, const char *base_url, const char *rest, const char *query,
                    const char *drop_a, const char *drop_b);

/* Appends "name=value" to the query of url (percent-encoding the value),
 * with ? or & as needed. */
int proxy_url_add_param(struct buf *url, const char *name, const char *value, size_t vlen);

/* Whether url has the same scheme, host and port as base_url. */
bool proxy_same_origin(const char *url, const char *base_url);

#endif
