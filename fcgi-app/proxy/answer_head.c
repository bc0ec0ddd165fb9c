/* The headers every answer of an attempt carries (proxy/proxy.h): on
 * their own so that attempt.c and proxy.c both add them without calling
 * each other. */
#include <stdio.h>

#include "core/pool.h"
#include "http.h"
#include "proxy/proxy.h"

void proxy_answer_headers(struct proxy *px, int attempts)
{
    char n[16];

    snprintf(n, sizeof(n), "%d", attempts);
    resp_header(px->r, "X-Gateway-Attempts", n);
    resp_header(px->r, "X-Gateway-Upstream",
                px->answer_from != NULL ? px->answer_from : px->up->name);
}
