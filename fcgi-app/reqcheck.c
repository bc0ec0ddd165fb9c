#include "reqcheck.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/valid.h"

/* The longest header name a message quotes; longer ones are cut. */
#define LABEL_MAX 64

/* The index of the first byte of s[0..n) that is not a tchar, or -1. */
static long first_non_token(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!http_tchar((unsigned char)s[i]))
            return (long)i;
    return -1;
}

/* Describes a refused byte without copying it: CR and LF by name, any
 * other by its code. */
static const char *byte_name(unsigned char c, char *tmp, size_t n)
{
    if (c == '\r')
        return "a carriage return (CR)";
    if (c == '\n')
        return "a line feed (LF)";
    snprintf(tmp, n, "the byte 0x%02x", c);
    return tmp;
}

/* Writes the HTTP name of the header behind an HTTP_ parameter (the part
 * after HTTP_, already checked to be a token): lower case, '_' as '-'. */
static void header_label(const char *name, size_t n, char *out, size_t outlen)
{
    size_t i, o = 0;

    for (i = 0; i < n && i < LABEL_MAX && o + 1 < outlen; i++) {
        char c = name[i];
        out[o++] = c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[o] = '\0';
}

static bool name_is(const char *entry, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(entry, name, n) == 0;
}

/* Checks a header name (the part of an HTTP_ parameter after HTTP_). */
static int header_name_problem(const char *name, size_t n, char *why, size_t whylen)
{
    char tmp[16];
    long bad;

    if (n == 0) {
        snprintf(why, whylen, "a request header has an empty name");
        return -1;
    }
    bad = first_non_token(name, n);
    if (bad >= 0) {
        snprintf(why, whylen,
                 "a request header name contains %s (header names are HTTP tokens: letters, "
                 "digits and !#$%%&'*+-.^_`|~)",
                 byte_name((unsigned char)name[bad], tmp, sizeof(tmp)));
        return -1;
    }
    return 0;
}

/* Checks one "NAME=value" entry; see reqcheck_params. */
static int check_entry(const char *entry, size_t index, char *why, size_t whylen)
{
    const char *eq = strchr(entry, '='), *value, *crlf;
    char tmp[16], label[LABEL_MAX + 16];
    size_t n;
    long bad;

    if (eq == NULL) {
        snprintf(why, whylen, "request parameter %zu has a NUL byte in its name", index + 1);
        return -1;
    }
    n = (size_t)(eq - entry);
    value = eq + 1;
    if (name_is(entry, n, "REQUEST_METHOD")) {
        bad = first_non_token(value, strlen(value));
        if (bad >= 0) {
            snprintf(why, whylen, "the method contains %s (a method is an HTTP token)",
                     byte_name((unsigned char)value[bad], tmp, sizeof(tmp)));
            return -1;
        }
        return 0;
    }
    if (n >= 5 && memcmp(entry, "HTTP_", 5) == 0) {
        if (header_name_problem(entry + 5, n - 5, why, whylen) != 0)
            return -1;
        memcpy(label, "header ", 7);
        header_label(entry + 5, n - 5, label + 7, sizeof(label) - 7);
    } else if (name_is(entry, n, "CONTENT_TYPE")) {
        snprintf(label, sizeof(label), "header content-type");
    } else if (name_is(entry, n, "CONTENT_LENGTH")) {
        snprintf(label, sizeof(label), "header content-length");
    } else if (name_is(entry, n, "REQUEST_URI") || name_is(entry, n, "SCRIPT_URL")) {
        snprintf(label, sizeof(label), "the request target");
    } else {
        return 0;
    }
    crlf = strpbrk(value, "\r\n");
    if (crlf != NULL) {
        snprintf(why, whylen, "%s: the value contains %s", label,
                 byte_name((unsigned char)*crlf, tmp, sizeof(tmp)));
        return -1;
    }
    return 0;
}

int reqcheck_params(char *const *env, char *why, size_t whylen)
{
    size_t i;

    for (i = 0; env != NULL && env[i] != NULL; i++)
        if (check_entry(env[i], i, why, whylen) != 0)
            return -1;
    return 0;
}
