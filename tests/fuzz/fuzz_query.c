/* libFuzzer harness: the query string is whatever the client sends after
 * '?'; looking a parameter up must never crash or overrun, a value found
 * must come back terminated within out's size, a malformed value must
 * come back empty, and occurrences must end: once the nth is absent, so
 * is every later one.
 * fuzz-sources: fcgi-app/query.c */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Buffer sizes the callers use, and the smallest. */
static const size_t sizes[] = {1, 2, 8, 24, 256};

/* Looks name up in query up to five times per size; aborts when a
 * promise of query_nth is broken. */
static void look_up(const char *query, const char *name)
{
    char out[256 + 16];
    size_t s, raw = strlen(query);
    unsigned nth;

    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        bool ended = false;
        for (nth = 0; nth < 5; nth++) {
            enum query_rc rc;
            memset(out, 'x', sizeof(out));
            rc = query_nth(query, name, nth, out, sizes[s]);
            if (out[sizes[s]] != 'x')
                abort(); /* written past outlen */
            if (rc != QUERY_ABSENT && memchr(out, '\0', sizes[s]) == NULL)
                abort(); /* not terminated */
            if (rc == QUERY_MALFORMED && out[0] != '\0')
                abort();
            if (rc == QUERY_PRESENT && strlen(out) > raw)
                abort(); /* decoding never lengthens */
            if (ended && rc != QUERY_ABSENT)
                abort();
            ended = rc == QUERY_ABSENT;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *query;
    const char *name = "key";

    if (size > 1 << 16)
        return 0;
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* Up to the first newline is the name looked up, when there is one. */
    query = strchr(text, '\n');
    if (query != NULL) {
        *query++ = '\0';
        name = text;
    } else {
        query = text;
    }
    look_up(query, name);
    look_up(query, "");
    free(text);
    return 0;
}
