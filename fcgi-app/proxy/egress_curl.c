/* An attempt's egress proxy on the libcurl handle, and whether a failed
 * transfer failed at the proxy (proxy/egress_curl.h). */
#include "proxy/egress_curl.h"

#include <string.h>

/* The attempt's egress proxy, or none.  The handle is reused, so "none"
 * is said every time: an empty proxy and an empty no-proxy list also keep
 * libcurl from the environment's http_proxy and no_proxy.  Through a proxy
 * the request always goes in a tunnel (CONNECT for HTTP proxies), so that
 * what fails before the tunnel stands is the proxy's failure and an answer
 * is always the upstream's. */
void proxy_egress_set(CURL *c, const struct egress_proxy *p)
{
    curl_easy_setopt(c, CURLOPT_PROXY, p != NULL ? p->url : "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "");
    if (p != NULL)
        curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
}

/* Whether the proxy was reached and said that the upstream's host was
 * not: a CONNECT answered 502, 503 or 504, or a SOCKS reply of a refused
 * or unreachable target.  That is the endpoint's failure (its breaker
 * counts it, and another endpoint is tried), not the proxy's. */
static bool target_unreachable(CURL *c, CURLcode cc, long connect_code)
{
    long px = 0;

    if (connect_code == 502 || connect_code == 503 || connect_code == 504)
        return true;
    if (cc != CURLE_PROXY || curl_easy_getinfo(c, CURLINFO_PROXY_ERROR, &px) != CURLE_OK)
        return false;
    return px == CURLPX_REPLY_CONNECTION_REFUSED || px == CURLPX_REPLY_HOST_UNREACHABLE ||
           px == CURLPX_REPLY_NETWORK_UNREACHABLE || px == CURLPX_REPLY_TTL_EXPIRED ||
           px == CURLPX_REPLY_GENERAL_SERVER_FAILURE;
}

/* Whether a failed transfer failed at its egress proxy: the proxy could
 * not be resolved or reached (the only connection made through a proxy is
 * to it), its SOCKS or CONNECT handshake failed, or it refused CONNECT;
 * not when it told that the target could not be reached. */
bool proxy_egress_failed(CURL *c, CURLcode cc, const struct egress_proxy *p)
{
    long code = 0;

    if (p == NULL)
        return false;
    curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &code);
    if (target_unreachable(c, cc, code))
        return false;
    if (cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_PROXY || cc == CURLE_COULDNT_CONNECT)
        return true;
    if (code != 0)
        return code < 200 || code > 299;
    /* An HTTP(S) proxy that hung up or failed TLS before the tunnel stood. */
    return strncmp(p->url, "http", 4) == 0 &&
           (cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
            cc == CURLE_SSL_CONNECT_ERROR);
}
