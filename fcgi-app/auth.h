/*
 * Who is calling the admin API: the bootstrap admin token from the
 * configuration, or a login session (stored as a SHA-256 hash) of an
 * enabled user.  Secrets are compared in constant time.
 */
#ifndef APIGW_AUTH_H
#define APIGW_AUTH_H

#include <stddef.h>

#include "core/err.h"
#include "route.h"

struct req;

/* Copies the bearer token of the Authorization header into out; returns
 * its length, or 0 when there is none. */
size_t auth_bearer(const struct req *r, char *out, size_t outlen);

/* The same for one Authorization header value h (which may be NULL). */
size_t auth_bearer_value(const char *h, char *out, size_t outlen);

/* Identifies the caller: sets r->role, r->user_id and r->actor.  Returns
 * ERR_OK, ERR_UNAUTHORIZED (no or unknown credential) or
 * ERR_DB_UNAVAILABLE (a session could not be checked). */
enum err auth_admin(struct req *r);

#endif
