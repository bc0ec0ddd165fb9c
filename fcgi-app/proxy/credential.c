/* Credential discovery: the client token's places (credential.h), hashed
 * once each and looked up in the pool snapshot; every place that holds a
 * client token, in any copy, is marked so that none goes upstream.  A copy
 * is one comma-separated item of a header line (nginx 1.23+ joins repeated
 * headers with ", ") or one ?key= whose decoded name is `key`; its value is
 * taken with surrounding spaces and tabs and a trailing comma trimmed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/credential.h"
#include "proxy/proxy.h"

/* The candidates for the client token, in the contract's order (the
 * fourth place is the `key` query parameter). */
const char *const credential_headers[CRED_QUERY] = {"Authorization", "X-Api-Key", "X-Goog-Api-Key"};

/* The FastCGI variables of the headers above. */
static const struct {
    const char *var;
    size_t len;
} header_vars[CRED_QUERY] = {{"HTTP_AUTHORIZATION=", sizeof("HTTP_AUTHORIZATION=") - 1},
                             {"HTTP_X_API_KEY=", sizeof("HTTP_X_API_KEY=") - 1},
                             {"HTTP_X_GOOG_API_KEY=", sizeof("HTTP_X_GOOG_API_KEY=") - 1}};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Writes the value of one copy (n bytes at s) of credential place `place`
 * into out, trimmed: blanks on both sides and a trailing comma go, and at
 * place 0 (Authorization) the "Bearer" scheme and the blanks after it.
 * Returns the value's length; 0 when it is empty, not a bearer token, or
 * does not fit in outlen. */
static size_t copy_value(int place, const char *s, size_t n, char *out, size_t outlen)
{
    while (n > 0 && is_blank(*s))
        s++, n--;
    while (n > 0 && (is_blank(s[n - 1]) || s[n - 1] == ','))
        n--;
    if (place == 0) {
        if (n < 7 || strncasecmp(s, "Bearer", 6) != 0 || !is_blank(s[6]))
            return 0;
        s += 7, n -= 7;
        while (n > 0 && is_blank(*s))
            s++, n--;
    }
    if (n == 0 || n >= outlen)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

/* Decodes the nth ?key= (by decoded name) into a buffer the size of the
 * query, so that no padding cuts the value off, and writes it trimmed into
 * out (*n its length, 0 when empty or too long for out).  Returns the
 * query_nth code, or -1 when out of memory. */
static int key_param(const struct proxy *px, unsigned nth, char *out, size_t outlen, size_t *n)
{
    size_t cap = strlen(px->r->query) + 1;
    char local[1024];
    char *all;
    enum query_rc rc;

    *n = 0;
    if (cap == 1)
        return (int)QUERY_ABSENT; /* every request without a query: no work */
    /* Queries that fit (nearly all) are decoded on the stack: no
     * allocation per request. */
    all = cap <= sizeof(local) ? local : malloc(cap);
    if (all == NULL)
        return -1;
    rc = query_nth(px->r->query, "key", nth, all, cap);
    if (rc == QUERY_PRESENT)
        *n = copy_value(CRED_QUERY, all, strlen(all), out, outlen);
    crypto_wipe(all, cap);
    if (all != local)
        free(all);
    return (int)rc;
}

/* Writes the first copy of credential place i into out (the bearer token
 * of Authorization, a header's first item, or ?key= decoded) and returns
 * its length; 0 when the place is empty or its value does not fit. */
static size_t credential_at(struct proxy *px, int i, char *out, size_t outlen)
{
    const char *v;
    size_t n;

    if (i < CRED_QUERY) {
        v = req_header(px->r, credential_headers[i]);
        return v != NULL ? copy_value(i, v, strcspn(v, ","), out, outlen) : 0;
    }
    if (key_param(px, 0, out, outlen, &n) < 0)
        return 0;
    return n;
}

/* Whether the n bytes of v are a known client token. */
static bool value_is_token(const struct proxy *px, const char *v, size_t n)
{
    unsigned char hash[SHA256_LEN];

    if (n == 0)
        return false;
    crypto_sha256(v, n, hash);
    return pool_find_token(px->pool, hash) != NULL;
}

/* Checks every comma-separated copy in header value s of place i, counting
 * them in *copies; marks px->strip[i] when one is a client token. */
static void mark_header_line(struct proxy *px, int i, const char *s, unsigned *copies)
{
    char v[512];

    for (;;) {
        size_t len = strcspn(s, ","), n = copy_value(i, s, len, v, sizeof(v));
        if (len > 0 && strspn(s, " \t") < len)
            (*copies)++;
        if (!px->strip[i] && *copies <= CRED_COPIES_MAX && value_is_token(px, v, n))
            px->strip[i] = true;
        if (s[len] == '\0')
            break;
        s += len + 1;
    }
    crypto_wipe(v, sizeof(v));
}

/* Marks ?key= when any of its copies is a client token; returns the number
 * of copies looked at (CRED_COPIES_MAX + 1 when there are more). */
static unsigned mark_query(struct proxy *px)
{
    char v[512];
    unsigned nth;
    size_t n;

    for (nth = 0; nth <= CRED_COPIES_MAX; nth++) {
        int rc = key_param(px, nth, v, sizeof(v), &n);
        if (rc == (int)QUERY_ABSENT)
            break;
        if (rc < 0 || (!px->strip[CRED_QUERY] && nth < CRED_COPIES_MAX && value_is_token(px, v, n)))
            px->strip[CRED_QUERY] = true;
    }
    crypto_wipe(v, sizeof(v));
    return nth;
}

enum err credential_mark_copies(struct proxy *px)
{
    unsigned copies[CRED_QUERY] = {0};
    char **e;
    int i;

    for (e = px->r->env; e != NULL && *e != NULL; e++)
        for (i = 0; i < CRED_QUERY; i++)
            if (strncmp(*e, header_vars[i].var, header_vars[i].len) == 0)
                mark_header_line(px, i, *e + header_vars[i].len, &copies[i]);
    for (i = 0; i < CRED_QUERY; i++)
        if (copies[i] > CRED_COPIES_MAX) {
            reply_error(px->r, ERR_INVALID_REQUEST,
                        "the %s header holds more than %d values: send one credential",
                        credential_headers[i], CRED_COPIES_MAX);
            return ERR_INVALID_REQUEST;
        }
    if (mark_query(px) > CRED_COPIES_MAX) {
        reply_error(px->r, ERR_INVALID_REQUEST,
                    "the query holds more than %d key parameters: send one credential",
                    CRED_COPIES_MAX);
        return ERR_INVALID_REQUEST;
    }
    return ERR_OK;
}

const struct pool_token *credential_find_token(struct proxy *px, bool *presented)
{
    const struct pool_token *found = NULL;
    unsigned char hash[SHA256_LEN];
    char v[512];
    int i;

    *presented = false;
    for (i = 0; i < CRED_PLACES; i++) {
        const struct pool_token *t;
        size_t n = credential_at(px, i, v, sizeof(v));
        if (n == 0)
            continue;
        *presented = true;
        crypto_sha256(v, n, hash);
        if ((t = pool_find_token(px->pool, hash)) == NULL)
            continue;
        px->strip[i] = true;
        if (found == NULL)
            found = t;
    }
    crypto_wipe(v, sizeof(v));
    return found;
}
