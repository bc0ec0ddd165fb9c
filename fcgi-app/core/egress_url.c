/* Proxy URLs: what is accepted, and their masked form (core/egress.h). */
#include <stdio.h>
#include <string.h>

#include "core/egress.h"

static const char *const schemes[] = {"http://", "https://", "socks5://", "socks5h://"};

/* The length of the scheme and "://" that url starts with, 0 for none. */
static size_t scheme_len(const char *url)
{
    size_t i;

    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            return strlen(schemes[i]);
    return 0;
}

/* Characters of a user or password: unreserved, sub-delims and %XX. */
static bool userinfo_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~!$&'()*+,;=%:", c) != NULL;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/* Checks host[:port] (n bytes at p, no "/"). */
static const char *check_hostport(const char *p, size_t n)
{
    size_t i = 0, digits;
    long port = 0;

    if (n > 0 && p[0] == '[') {
        for (i = 1; i < n && p[i] != ']'; i++)
            if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
                  (p[i] >= 'A' && p[i] <= 'F') || p[i] == ':' || p[i] == '.'))
                return "has a bad IPv6 address";
        if (i == n || i == 1)
            return "has a bad IPv6 address";
        i++;
    } else {
        while (i < n && host_char(p[i]))
            i++;
        if (i == 0)
            return "must name a host";
    }
    if (i == n)
        return NULL;
    if (p[i] != ':')
        return "has a bad character in its host";
    for (digits = 0, i++; i < n; i++, digits++) {
        if (p[i] < '0' || p[i] > '9' || digits >= 5)
            return "must have a port from 1 to 65535";
        port = port * 10 + (p[i] - '0');
    }
    if (digits == 0 || port < 1 || port > 65535)
        return "must have a port from 1 to 65535";
    return NULL;
}

const char *egress_url_check(const char *url)
{
    size_t s = scheme_len(url), len = strlen(url), end, at = 0, i;
    const char *auth, *slash;

    if (len > EGRESS_URL_MAX)
        return "is too long (at most 512 bytes)";
    if (s == 0)
        return "must start with http://, https://, socks5:// or socks5h://";
    auth = url + s;
    slash = strchr(auth, '/');
    end = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
    if (slash != NULL && slash[1] != '\0')
        return "must not have a path, query or fragment";
    for (i = 0; i < end; i++)
        if (auth[i] == '@')
            at = i + 1; /* the last @ ends the user and password */
    for (i = 0; at > 0 && i + 1 < at; i++)
        if (!userinfo_char(auth[i]))
            return "has a bad character in its user or password (percent-encode it)";
    if (at == 1)
        return "has an empty user";
    return check_hostport(auth + at, end - at);
}

/* Where the password of a checked URL begins and ends (*b == *e: none). */
static void password_span(const char *url, size_t *b, size_t *e)
{
    const char *auth = url + scheme_len(url), *slash = strchr(auth, '/'), *colon;
    size_t end = slash != NULL ? (size_t)(slash - auth) : strlen(auth), at = 0, i;

    *b = *e = 0;
    for (i = 0; i < end; i++)
        if (auth[i] == '@')
            at = i;
    if (at == 0)
        return;
    colon = memchr(auth, ':', at);
    if (colon == NULL)
        return;
    *b = (size_t)(colon + 1 - url);
    *e = (size_t)(auth + at - url);
}

void egress_url_mask(const char *url, char out[EGRESS_MASKED_MAX])
{
    size_t b, e;

    password_span(url, &b, &e);
    if (b == e) {
        snprintf(out, EGRESS_MASKED_MAX, "%s", url);
        return;
    }
    snprintf(out, EGRESS_MASKED_MAX, "%.*s%s%s", (int)b, url, EGRESS_MASK_PASS, url + e);
}

bool egress_url_is_masked(const char *url)
{
    size_t b, e;

    password_span(url, &b, &e);
    return e - b == strlen(EGRESS_MASK_PASS) && memcmp(url + b, EGRESS_MASK_PASS, e - b) == 0;
}

void egress_describe(const struct egress_proxy *p, bool cause, char *text, size_t cap)
{
    char out[1024], *hit;
    size_t b, e, o = 0;
    const char *s = text;

    password_span(p->url, &b, &e);
    if (cause)
        o = (size_t)snprintf(out, sizeof(out), "egress proxy %s failed: ", p->masked);
    while (e > b && (hit = memmem(s, strlen(s), p->url + b, e - b)) != NULL) {
        o += (size_t)snprintf(out + o, o < sizeof(out) ? sizeof(out) - o : 0, "%.*s%s",
                              (int)(hit - s), s, EGRESS_MASK_PASS);
        if (o >= sizeof(out))
            break;
        s = hit + (e - b);
    }
    if (o < sizeof(out))
        snprintf(out + o, sizeof(out) - o, "%s", s);
    snprintf(text, cap, "%s", out);
}

int egress_mode_parse(const char *s, enum egress_mode *out)
{
    if (s != NULL && strcmp(s, "none") == 0)
        *out = EGRESS_NONE;
    else if (s != NULL && strcmp(s, "round_robin") == 0)
        *out = EGRESS_ROUND_ROBIN;
    else if (s != NULL && strcmp(s, "per_key") == 0)
        *out = EGRESS_PER_KEY;
    else
        return -1;
    return 0;
}
