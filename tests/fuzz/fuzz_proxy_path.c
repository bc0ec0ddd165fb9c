/* libFuzzer harness: the proxy's path guard, name split and URL building
 * take whatever a client sends; none may crash, overrun or leak, and a
 * path the guard lets through must never leave the upstream's host.
 * fuzz-sources: fcgi-app/proxy/path.c */
#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A URL that libcurl refuses is refused by the proxy too (invalid_path). */
static int parses(const char *url)
{
    CURLU *u = curl_url();
    int ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, CURLU_PATH_AS_IS) == CURLUE_OK;

    curl_url_cleanup(u);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *query, name[72];
    const char *rest = NULL;
    struct buf url;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* The first '?' splits path and query, as in a request line. */
    query = strchr(text, '?');
    if (query != NULL)
        *query++ = '\0';
    else
        query = text + strlen(text);
    if (proxy_path_check(text, query) == NULL && proxy_split(text, name, sizeof(name), &rest)) {
        buf_init(&url, PROXY_URL_MAX);
        if (proxy_build_url(&url, "http://upstream.test/v1", rest, query, "key", NULL) == 0 &&
            parses(buf_str(&url)) && !proxy_same_origin(buf_str(&url), "http://upstream.test/v1"))
            abort(); /* the guard let through a path that changes the host */
        buf_free(&url);
    }
    free(text);
    return 0;
}
