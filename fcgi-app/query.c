#include "query.h"

#include <string.h>

#include "core/url.h"

enum query_rc query_nth(const char *query, const char *name, unsigned nth, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = query;

    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len >= nlen && strncmp(p, name, nlen) == 0 && (len == nlen || p[nlen] == '=') &&
            nth-- == 0) {
            const char *v = len == nlen ? p + len : p + nlen + 1;
            size_t vlen = len == nlen ? 0 : len - nlen - 1;
            if (url_decode(v, vlen, true, out, outlen) < 0) {
                out[0] = '\0';
                return QUERY_MALFORMED;
            }
            return QUERY_PRESENT;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return QUERY_ABSENT;
}
