/*
 * The attempt's egress proxy on the worker's libcurl handle (docs/API.md
 * "Egress proxies"), and the judgement of a failed transfer: the proxy's
 * failure (cause proxy), or not.
 */
#ifndef APIGW_PROXY_EGRESS_CURL_H
#define APIGW_PROXY_EGRESS_CURL_H

#include <curl/curl.h>
#include <stdbool.h>

#include "core/egress.h"

/* Sets p (NULL: none, said explicitly) on the reused handle c. */
void proxy_egress_set(CURL *c, const struct egress_proxy *p);

/* Whether the transfer that ended with cc failed at its egress proxy p:
 * not reached, handshake failed or refused; false without a proxy, and when
 * the proxy said that the target could not be reached (the endpoint's
 * failure). */
bool proxy_egress_failed(CURL *c, CURLcode cc, const struct egress_proxy *p);

#endif
