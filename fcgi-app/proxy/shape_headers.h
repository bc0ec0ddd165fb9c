/*
 * Header shaping (docs/API.md, "Header rules"): what an upstream's
 * strip_forwarding_headers and header_rules do to the headers an attempt
 * sends.  They apply to the headers that would otherwise pass on (the
 * client's, or those onRequest left), before the key is added, the same
 * on every attempt: first the forwarding headers go, then the rules in
 * their order.  A set or remove drops every line of its name from the
 * client (and from rules before it); the lines the rules add are those
 * marked `emits`, written by header_rule_line (core/header_rules.h).
 * Pure: upstream_req.c turns the answers into libcurl's list.
 */
#ifndef APIGW_PROXY_SHAPE_HEADERS_H
#define APIGW_PROXY_SHAPE_HEADERS_H

#include <stdbool.h>

#include "core/header_rules.h"

/* Whether name (any case) is a forwarding header: X-Forwarded-*,
 * Forwarded, X-Real-IP, Via, CF-Connecting-IP or True-Client-IP. */
bool shape_forwarding_header(const char *name);

/* Whether a header that would pass on is left out: a forwarding header
 * when strip is set, or a name that a set or remove rule names. */
bool shape_drops(const struct header_rules *rules, bool strip, const char *name);

#endif
