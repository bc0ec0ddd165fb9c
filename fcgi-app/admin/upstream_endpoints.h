/*
 * An upstream's endpoints in the admin API (docs/API.md, "Endpoints").
 */
#ifndef APIGW_UPSTREAM_ENDPOINTS_H
#define APIGW_UPSTREAM_ENDPOINTS_H

#include <stddef.h>

#include "core/err.h"

struct json_object;

/* On a create or update: checks endpoints in patch and completes each
 * entry's defaults; keeps base_url and endpoints of after in agreement.
 * endpoints given: base_url becomes its first enabled URL (a base_url
 * given beside it must be that URL); base_url alone: the one-endpoint
 * form (endpoints null).  Returns ERR_OK or ERR_INVALID_FIELD with
 * "field: why" in msg. */
enum err upstream_endpoints_write(struct json_object *patch, struct json_object *after, char *msg,
                                  size_t len);

/* A row as answers show it: the one-endpoint form (endpoints null) reads
 * as [{"url": base_url, "weight": 1, "enabled": true}], and each endpoint
 * has its breaker as this process sees it: {"state", "failures",
 * "open_until"} (ignored when a body sends it back). */
void upstream_endpoints_shown(struct json_object *row);

#endif
