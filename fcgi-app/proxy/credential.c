/* Credential discovery: the client token's places (credential.h), hashed
 * once each and looked up in the pool snapshot; every place that holds a
 * client token, in any copy, is marked so that none goes upstream. */
#include <string.h>

#include "auth.h"
#include "core/crypto.h"
#include "core/pool.h"
#include "http.h"
#include "proxy/credential.h"
#include "proxy/proxy.h"

/* The candidates for the client token, in the contract's order (the
 * fourth place is the `key` query parameter). */
const char *const credential_headers[CRED_QUERY] = {"Authorization", "X-Api-Key", "X-Goog-Api-Key"};

/* Writes the first copy of credential place i into out (the bearer token
 * of Authorization, a header's value, or ?key= decoded) and returns its
 * length; 0 when the place is empty or its value does not fit. */
static size_t credential_at(struct proxy *px, int i, char *out, size_t outlen)
{
    const char *v;
    size_t n;

    if (i == 0)
        return auth_bearer(px->r, out, outlen);
    if (i < 3) {
        v = req_header(px->r, credential_headers[i]);
        n = v ? strlen(v) : 0;
        if (n == 0 || n >= outlen)
            return 0;
        memcpy(out, v, n + 1);
        return n;
    }
    if (!req_query(px->r, "key", out, outlen))
        return 0;
    return strlen(out);
}

/* Whether value, found at credential place `place` (0 is Authorization,
 * whose value is "Bearer TOKEN"), is a known client token. */
static bool value_is_token(const struct proxy *px, int place, const char *value)
{
    unsigned char hash[SHA256_LEN];
    char v[512];
    size_t n;

    if (place == 0) {
        n = auth_bearer_value(value, v, sizeof(v));
    } else {
        n = strlen(value);
        if (n >= sizeof(v))
            n = 0;
        else
            memcpy(v, value, n + 1);
    }
    if (n == 0)
        return false;
    crypto_sha256(v, n, hash);
    crypto_wipe(v, sizeof(v));
    return pool_find_token(px->pool, hash) != NULL;
}

void credential_mark_copies(struct proxy *px)
{
    static const struct {
        const char *var;
        size_t len;
    } vars[CRED_QUERY] = {{"HTTP_AUTHORIZATION=", sizeof("HTTP_AUTHORIZATION=") - 1},
                          {"HTTP_X_API_KEY=", sizeof("HTTP_X_API_KEY=") - 1},
                          {"HTTP_X_GOOG_API_KEY=", sizeof("HTTP_X_GOOG_API_KEY=") - 1}};
    char **e, v[512];
    unsigned nth;
    int i;

    for (e = px->r->env; e != NULL && *e != NULL; e++)
        for (i = 0; i < CRED_QUERY; i++)
            if (!px->strip[i] && strncmp(*e, vars[i].var, vars[i].len) == 0 &&
                value_is_token(px, i, *e + vars[i].len))
                px->strip[i] = true;
    for (nth = 0; nth < 64 && !px->strip[CRED_QUERY]; nth++) {
        enum query_rc rc = req_query_nth(px->r, "key", nth, v, sizeof(v));
        if (rc == QUERY_ABSENT)
            break;
        if (rc == QUERY_PRESENT && value_is_token(px, CRED_QUERY, v))
            px->strip[CRED_QUERY] = true;
    }
    crypto_wipe(v, sizeof(v));
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
