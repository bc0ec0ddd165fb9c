#include "core/db_hosts.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Until when each server of db_hosts is taken for down (monotonic ms). */
static _Atomic int64_t host_down_until[DB_HOSTS_MAX];
static atomic_llong conflicts, stmt_retries, tx_retries, failovers;

static bool is_sep(char ch)
{
    return ch == ',' || ch == ' ' || ch == '\t';
}

/* Parses one entry s[0..n) into out.  Returns 0, or -1 with why set. */
static int parse_entry(const char *s, size_t n, unsigned default_port, struct db_host_addr *out,
                       char *why, size_t whylen)
{
    const char *colon = memchr(s, ':', n);
    size_t hostlen = colon != NULL ? (size_t)(colon - s) : n;
    unsigned long port = default_port;
    size_t i;

    if (hostlen == 0 || hostlen >= sizeof(out->host)) {
        snprintf(why, whylen, "an entry has an empty or too long host name");
        return -1;
    }
    if (colon != NULL) {
        const char *p = colon + 1;
        size_t plen = n - hostlen - 1;

        port = 0;
        for (i = 0; i < plen && port <= 65535; i++) {
            if (p[i] < '0' || p[i] > '9')
                break;
            port = port * 10 + (unsigned long)(p[i] - '0');
        }
        if (plen == 0 || i != plen || port < 1 || port > 65535) {
            snprintf(why, whylen, "entry %.*s: the port must be 1-65535", (int)hostlen, s);
            return -1;
        }
    }
    memcpy(out->host, s, hostlen);
    out->host[hostlen] = '\0';
    out->port = (unsigned)port;
    return 0;
}

int db_hosts_parse(const char *list, unsigned default_port, struct db_host_addr *out, unsigned max,
                   char *why, size_t whylen)
{
    const char *s = list != NULL ? list : "";
    unsigned n = 0;

    while (*s != '\0') {
        size_t len = 0;

        while (is_sep(*s))
            s++;
        while (s[len] != '\0' && !is_sep(s[len]))
            len++;
        if (len == 0)
            break;
        if (n == max) {
            snprintf(why, whylen, "at most %u servers", max);
            return -1;
        }
        if (parse_entry(s, len, default_port, &out[n], why, whylen) != 0)
            return -1;
        n++;
        s += len;
    }
    return (int)n;
}

int db_host_resting(unsigned i, int64_t now_ms)
{
    return i < DB_HOSTS_MAX && atomic_load(&host_down_until[i]) > now_ms;
}

void db_host_failed(unsigned i, int64_t now_ms, long long down_ms)
{
    if (i < DB_HOSTS_MAX)
        atomic_store(&host_down_until[i], now_ms + down_ms);
}

void db_host_answered(unsigned i)
{
    if (i < DB_HOSTS_MAX)
        atomic_store(&host_down_until[i], 0);
}

void db_retry_stats(struct db_retry_stats *s)
{
    s->conflicts = atomic_load(&conflicts);
    s->stmt_retries = atomic_load(&stmt_retries);
    s->tx_retries = atomic_load(&tx_retries);
    s->failovers = atomic_load(&failovers);
}

void db_count_conflict(void)
{
    atomic_fetch_add(&conflicts, 1);
}

void db_count_retry(bool transaction)
{
    atomic_fetch_add(transaction ? &tx_retries : &stmt_retries, 1);
}

void db_count_failover(void)
{
    atomic_fetch_add(&failovers, 1);
}
