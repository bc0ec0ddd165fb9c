#include "query.h"

#include <stdbool.h>
#include <string.h>

#include "core/url.h"

/* Whether the raw name of a query item (nlen bytes, still %-encoded) is
 * name once decoded: ?%6bey= is ?key=.  Names that do not decode, or decode
 * to more than 255 bytes, match nothing. */
static bool name_is(const char *raw, size_t nlen, const char *name)
{
    char decoded[256];

    if (nlen == strlen(name) && strncmp(raw, name, nlen) == 0)
        return true;
    /* Only an escape or a '+' can make the decoded name differ. */
    if (memchr(raw, '%', nlen) == NULL && memchr(raw, '+', nlen) == NULL)
        return false;
    return url_decode(raw, nlen, true, decoded, sizeof(decoded)) >= 0 && strcmp(decoded, name) == 0;
}

enum query_rc query_nth(const char *query, const char *name, unsigned nth, char *out, size_t outlen)
{
    const char *p = query;

    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        if (name_is(p, nlen, name) && nth-- == 0) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vlen = eq ? len - nlen - 1 : 0;
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
