/*
 * Who is calling the admin API: the bootstrap admin token from the
 * configuration, or a login session (stored as a SHA-256 hash) of an
 * enabled user.  Secrets are compared in constant time.
 */
#ifndef APIGW_AUTH_H
#define APIGW_AUTH_H

#include <stddef.h>

#include "core/err.h"

struct req;

/* What a caller may do, from least to most.  Every admin route names the
 * least role it needs (route.h). */
enum role {
    ROLE_PUBLIC = 0, /* no credential needed */
    ROLE_VIEWER,
    ROLE_OPERATOR,
    ROLE_ADMIN,
    ROLE__MAX
};

/* The name of a role ("viewer"), or NULL; role_parse does the reverse and
 * returns ROLE_PUBLIC for an unknown name. */
const char *role_name(enum role role);
enum role role_parse(const char *name);

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
