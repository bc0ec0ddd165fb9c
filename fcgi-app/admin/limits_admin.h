/*
 * The limits field of keys and client tokens in the admin API
 * (docs/API.md "Limit windows"): checked on save as the pool will load it
 * (core/limits.h), and shown by a single GET with the usage of each
 * limit's current window (limits_usage).
 */
#ifndef APIGW_LIMITS_ADMIN_H
#define APIGW_LIMITS_ADMIN_H

#include <stddef.h>

#include "core/err.h"
#include "core/limit_store.h"

struct req;
struct resource;
struct json_object;

/* Checks the limits member of row (absent or null: none).  Returns ERR_OK,
 * or ERR_INVALID_FIELD with "limits[i].member: why" in msg. */
enum err limits_admin_check(struct json_object *row, char *msg, size_t len);

/* GET one key or client token: the row, with limits_usage when it has
 * limits. */
void limits_admin_get(struct req *r, struct resource *rs, long long id, enum limit_owner kind);

#endif
