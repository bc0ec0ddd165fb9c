/*
 * The OpenAPI 3.1 document of the gateway (GET /api/openapi.json), made at
 * run time from the route table and the field tables that validate the
 * bodies, so that what it says and what the server checks cannot drift.
 */
#ifndef APIGW_OPENAPI_H
#define APIGW_OPENAPI_H

#include <stddef.h>

#include "route.h"

struct req;
struct json_object;

/* How a field table is used: a body that creates (required fields are
 * required), a body that changes (nothing is required), or an answer. */
enum openapi_use { OA_CREATE, OA_UPDATE, OA_ANSWER };

/* The JSON Schema of an object made of the fields of t, as used; the
 * caller owns it (openapi_schema.c). */
struct json_object *openapi_fields_schema(const struct vtable *t, enum openapi_use use);

/* The document's components: the credentials (bearer for the admin API,
 * clientToken for the proxy), the Error schema and the Error answer. */
struct json_object *openapi_components(void);

/* The whole document for the n routes; the caller owns it. */
struct json_object *openapi_document(const struct route *routes, size_t n);

/* Answers 200 with the document for the n routes. */
void openapi_reply(struct req *r, const struct route *routes, size_t n);

#endif
