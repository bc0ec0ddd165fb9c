/*
 * Upstream scripts in the admin API: the limits a compile check and a test
 * run use, and the check that an upstream's `script` field compiles
 * (admin/scripts.c).  The test route itself is admin/scripts_test.c.
 */
#ifndef APIGW_ADMIN_SCRIPTS_H
#define APIGW_ADMIN_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/script.h"

struct json_object;
struct req;

/* The largest body (request or response) a test run takes. */
#define ADMIN_SCRIPT_BODY_MAX (1024 * 1024)

/* Fills lim with the limits of one compilation or call: the
 * script_timeout_ms and script_memory_kb of r's configuration (the
 * engine's defaults when r or its configuration is NULL). */
void admin_script_limits(const struct req *r, struct script_limits *lim);

/* Compiles the `script` member of obj (absent or null: nothing to check)
 * as an upstream's hooks under r's limits and frees it again.  Returns ERR_OK, or
 * ERR_INVALID_FIELD with "script: line N: <engine's message>" in msg. */
enum err admin_script_check(const struct req *r, struct json_object *obj, char *msg, size_t msglen);

/* The largest number of headers a test run takes in one object. */
#define ADMIN_SCRIPT_HEADERS_MAX 64

/* Copies src (an object of header names to strings, or NULL) into *out
 * with lower-case names.  Returns false, after answering 400 naming where,
 * when it is not one; *out is the caller's either way. */
bool admin_script_headers(struct req *r, struct json_object *src, const char *where,
                          struct json_object **out);

/* Copies request.query (an object of names to a string or an array of
 * strings, or NULL) into *out as names to arrays of strings.  Returns
 * false, after answering 400, when it is not one; *out is the caller's
 * either way. */
bool admin_script_query(struct req *r, struct json_object *src, struct json_object **out);

#endif
