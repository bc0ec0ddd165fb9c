/*
 * Where a client token may be, and finding it: three headers, then the
 * `key` query parameter.  credential.c hashes each place's first copy,
 * looks it up in the request's pool snapshot and marks every place that
 * holds a client token in any copy (struct proxy's strip[]), so that
 * neither the upstream request's headers (upstream_req.c) nor its URL
 * (proxy.c) forward one.
 */
#ifndef APIGW_PROXY_CREDENTIAL_H
#define APIGW_PROXY_CREDENTIAL_H

#include <stdbool.h>

#include "core/err.h"

struct proxy;
struct pool_token;

/* The places, in the contract's order: Authorization (its bearer token),
 * X-Api-Key, X-Goog-Api-Key, then ?key= (CRED_QUERY). */
#define CRED_PLACES 4
#define CRED_QUERY  3
/* The copies of one place that are looked at; a request with more is
 * refused rather than let one through unchecked. */
#define CRED_COPIES_MAX 64
extern const char *const credential_headers[CRED_QUERY];

/* Finds the client token of px's request in px->pool: the first place, in
 * the order above, whose first copy is a known token.  Sets *presented when
 * any place held a value and marks px->strip[] for every place whose first
 * copy is a known token, whichever is used.  Returns the token (it belongs
 * to px->pool) or NULL.  A caller whose lookup missed may refresh the pool
 * and ask again. */
const struct pool_token *credential_find_token(struct proxy *px, bool *presented);

/* A client may repeat a credential header (as lines, or as comma-separated
 * items of one line) or ?key= (also with its name %-encoded).  When any
 * copy, trimmed of blanks and a trailing comma, holds a client token, every
 * copy of that place goes (px->strip[]), so that a token behind a first,
 * foreign value does not travel upstream.  Places already marked are not
 * hashed again.  Call it after the last lookup.  Returns ERR_OK, or
 * ERR_INVALID_REQUEST (the answer sent) when a place has more than
 * CRED_COPIES_MAX copies. */
enum err credential_mark_copies(struct proxy *px);

#endif
