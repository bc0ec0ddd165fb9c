#include "proxy/path.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "core/url.h"

#define DECODE_ROUNDS 3

static bool has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Whether a path has a ".." segment, taking / and \ as separators. */
static bool has_dotdot(const char *s)
{
    const char *seg = s;

    for (;; s++) {
        if (*s == '/' || *s == '\\' || *s == '\0') {
            if (s - seg == 2 && seg[0] == '.' && seg[1] == '.')
                return true;
            if (*s == '\0')
                return false;
            seg = s + 1;
        }
    }
}

static bool looks_absolute(const char *s)
{
    const char *p = s;

    if (!isalpha((unsigned char)*p))
        return false;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '.' || *p == '-')
        p++;
    return p[0] == ':' && p[1] == '/' && p[2] == '/';
}

/* The checks that apply to the path at every level of decoding. */
static const char *check_level(const char *p)
{
    const char *slash, *first;

    if (has_ctl(p))
        return "the path contains control characters or CR/LF";
    if (strchr(p, '\\') != NULL)
        return "the path contains a backslash";
    if (has_dotdot(p))
        return "the path contains a .. segment";
    slash = strchr(p, '/');
    if (slash == NULL)
        return NULL;
    first = slash + 1; /* what follows the upstream name */
    if (*first == '/')
        return "the path after the upstream name must not start with / (//host)";
    if (looks_absolute(first))
        return "the path must not be an absolute URL";
    {
        size_t seglen = strcspn(first, "/");
        if (memchr(first, '@', seglen) != NULL)
            return "the path must not contain @ in its first segment (@host)";
    }
    return NULL;
}

const char *proxy_path_check(const char *after_proxy, const char *query)
{
    char a[PROXY_URL_MAX], b[PROXY_URL_MAX];
    const char *cur = after_proxy, *why;
    char *next = a;
    int round;

    if (strlen(after_proxy) >= sizeof(a) || strlen(query) >= sizeof(a))
        return "the path or query is too long";
    for (round = 0; round <= DECODE_ROUNDS; round++) {
        long n;
        if ((why = check_level(cur)) != NULL)
            return why;
        if (strchr(cur, '%') == NULL)
            break;
        n = url_decode(cur, strlen(cur), false, next, sizeof(a));
        if (n < 0)
            return "the path has a malformed or NUL percent-escape";
        cur = next;
        next = next == a ? b : a;
    }
    cur = query;
    for (round = 0; round <= DECODE_ROUNDS; round++) {
        if (has_ctl(cur))
            return "the query contains control characters or CR/LF";
        if (strchr(cur, '%') == NULL)
            break;
        if (url_decode(cur, strlen(cur), true, next, sizeof(a)) < 0)
            return "the query has a malformed or NUL percent-escape";
        cur = next;
        next = next == a ? b : a;
    }
    return NULL;
}

bool proxy_split(const char *after_proxy, char *name, size_t namelen, const char **rest)
{
    size_t n = strcspn(after_proxy, "/"), i;

    if (n == 0 || n >= namelen || n > 64)
        return false;
    for (i = 0; i < n; i++) {
        char c = after_proxy[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_' || c == '-'))
            return false;
    }
    memcpy(name, after_proxy, n);
    name[n] = '\0';
    *rest = after_proxy[n] == '/' ? after_proxy + n + 1 : NULL;
    return true;
}

/* Whether a raw query item (name or name=value) is named name. */
static bool item_named(const char *item, size_t len, const char *name)
{
    char decoded[256];
    size_t nlen = strcspn(item, "=&");
    long n;

    if (nlen > len)
        nlen = len;
    n = url_decode(item, nlen, true, decoded, sizeof(decoded));
    return n >= 0 && strcmp(decoded, name) == 0;
}

int proxy_build_url(struct buf *out, const char *base_url, const char *rest, const char *query,
                    const char *drop_a, const char *drop_b)
{
    size_t blen = strlen(base_url);
    bool first = true;
    int rc = 0;

    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    rc |= buf_append(out, base_url, blen);
    if (rest != NULL) {
        rc |= buf_append(out, "/", 1);
        rc |= buf_puts(out, rest);
    }
    while (*query != '\0') {
        size_t len = strcspn(query, "&");
        if (len > 0 && (drop_a == NULL || !item_named(query, len, drop_a)) &&
            (drop_b == NULL || !item_named(query, len, drop_b))) {
            rc |= buf_append(out, first ? "?" : "&", 1);
            rc |= buf_append(out, query, len);
            first = false;
        }
        query += len;
        if (*query == '&')
            query++;
    }
    return rc != 0 ? -1 : 0;
}

int proxy_url_add_param(struct buf *url, const char *name, const char *value, size_t vlen)
{
    char *enc = curl_easy_escape(NULL, value, (int)vlen);
    int rc;

    if (enc == NULL)
        return -1;
    rc = buf_printf(url, "%s%s=%s", strchr(buf_str(url), '?') ? "&" : "?", name, enc);
    curl_free(enc);
    return rc;
}

static bool same_part(CURLU *a, CURLU *b, CURLUPart part, unsigned flags)
{
    char *x = NULL, *y = NULL;
    bool same;

    curl_url_get(a, part, &x, flags);
    curl_url_get(b, part, &y, flags);
    same = x != NULL && y != NULL && strcasecmp(x, y) == 0;
    curl_free(x);
    curl_free(y);
    return same;
}

/* Whether url is base_url followed by plain bytes, with the base's
 * authority ended inside the base (a /, ? or # after "scheme://"): what
 * follows it then cannot change the scheme, host or port, and the two
 * parses below (about a tenth of a proxied request's instructions) are not
 * needed.  Any byte that a parse could refuse (space, controls, non-ASCII)
 * leaves the answer to the parse. */
static bool extends_base(const char *url, const char *base_url)
{
    const char *scheme_end = strstr(base_url, "://");
    size_t n = strlen(base_url);

    if (scheme_end == NULL || strpbrk(scheme_end + 3, "/?#") == NULL ||
        strncmp(url, base_url, n) != 0)
        return false;
    for (url += n; *url != '\0'; url++)
        if ((unsigned char)*url <= ' ' || (unsigned char)*url >= 0x7f)
            return false;
    return true;
}

bool proxy_same_origin(const char *url, const char *base_url)
{
    CURLU *a, *b;
    bool same = false;

    if (extends_base(url, base_url))
        return true;
    a = curl_url();
    b = curl_url();

    if (a != NULL && b != NULL && curl_url_set(a, CURLUPART_URL, url, CURLU_PATH_AS_IS) == 0 &&
        curl_url_set(b, CURLUPART_URL, base_url, 0) == 0)
        same = same_part(a, b, CURLUPART_SCHEME, 0) && same_part(a, b, CURLUPART_HOST, 0) &&
               same_part(a, b, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    curl_url_cleanup(a);
    curl_url_cleanup(b);
    return same;
}
