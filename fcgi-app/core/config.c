#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alert.h"
#include "core/buf.h"
#include "core/db_hosts.h"
#include "core/nelem.h"
#include "core/resetzone.h"

enum cfg_type { CFG_INT, CFG_SIZE, CFG_STR, CFG_HEX32, CFG_TZ, CFG_URL, CFG_LEVEL };

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t offset;
    long long min, max; /* integer range, or string length range */
    const char *def;    /* NULL: required */
};

#define F(field) offsetof(struct config, field)

/* Every key the configuration knows.  Strings use min/max as length bounds. */
static const struct cfg_key keys[] = {
    {"port", CFG_INT, F(port), 1, 65535, "8080"},
    {"workers", CFG_INT, F(workers), 1, 1024, "64"},
    {"fcgi_socket", CFG_STR, F(fcgi_socket), 0, 100, ""},
    {"db_host", CFG_STR, F(db_host), 0, 255, ""},
    {"db_hosts", CFG_STR, F(db_hosts), 0, 2000, ""},
    {"db_port", CFG_INT, F(db_port), 1, 65535, "3306"},
    {"db_socket", CFG_STR, F(db_socket), 0, 100, ""},
    {"db_user", CFG_STR, F(db_user), 1, 128, "root"},
    {"db_password", CFG_STR, F(db_password), 0, 256, ""},
    {"db_name", CFG_STR, F(db_name), 1, 64, "apigw"},
    {"db_connect_timeout_s", CFG_INT, F(db_connect_timeout_s), 1, 60, "3"},
    {"db_rw_timeout_s", CFG_INT, F(db_rw_timeout_s), 1, 3600, "3"},
    {"db_job_rw_timeout_s", CFG_INT, F(db_job_rw_timeout_s), 1, 86400, "600"},
    {"db_breaker_ms", CFG_INT, F(db_breaker_ms), 100, 600000, "2000"},
    {"admin_token", CFG_STR, F(admin_token), 0, 256, ""},
    {"encryption_key", CFG_HEX32, F(encryption_key), 64, 64, NULL},
    {"max_body_bytes", CFG_SIZE, F(max_body_bytes), 1, 1LL << 30, "32M"},
    {"rule_body_limit", CFG_SIZE, F(rule_body_limit), 1024, 16LL << 20, "64K"},
    {"log_retention_days", CFG_INT, F(log_retention_days), 1, 3650, "30"},
    {"quota_reset_hour", CFG_INT, F(quota_reset_hour), 0, 23, "0"},
    {"quota_reset_tz", CFG_TZ, F(quota_reset_tz), 1, 64, "UTC"},
    {"webhook_url", CFG_URL, F(webhook_url), 0, 2048, ""},
    {"spool_dir", CFG_STR, F(spool_dir), 1, 200, "var/spool"},
    {"session_ttl_s", CFG_INT, F(session_ttl_s), 60, 31536000, "86400"},
    {"log_level", CFG_LEVEL, F(log_level), 1, 8, "info"},
    {"pool_refresh_ms", CFG_INT, F(pool_refresh_ms), 50, 60000, "1000"},
    {"log_flush_ms", CFG_INT, F(log_flush_ms), 10, 10000, "200"},
    {"log_batch_rows", CFG_INT, F(log_batch_rows), 1, 5000, "500"},
    {"drain_timeout_s", CFG_INT, F(drain_timeout_s), 1, 3600, "30"},
    {"max_threads", CFG_INT, F(max_threads), 16, 65536, "4096"},
    {"max_inflight", CFG_INT, F(max_inflight), 1, 65536, "2000"},
    {"max_waiting", CFG_INT, F(max_waiting), 0, 65536, "100"},
    {"db_pool_size", CFG_INT, F(db_pool_size), 1, 1024, "16"},
    {"db_pool_wait_ms", CFG_INT, F(db_pool_wait_ms), 1, 60000, "1000"},
    {"client_send_timeout_ms", CFG_INT, F(client_send_timeout_ms), 100, 3600000, "60000"},
    {"fcgi_socket_group", CFG_STR, F(fcgi_socket_group), 0, 64, "www-data"},
    {"login_free_failures", CFG_INT, F(login_free_failures), 1, 1000, "5"},
    {"login_address_free_failures", CFG_INT, F(login_address_free_failures), 1, 100000, "20"},
    {"login_delay_max_s", CFG_INT, F(login_delay_max_s), 1, 86400, "300"},
    {"login_throttle_window_s", CFG_INT, F(login_throttle_window_s), 1, 86400, "900"},
    {"login_throttle_entries", CFG_INT, F(login_throttle_entries), 16, 1000000, "10000"},
    {"login_hash_concurrency", CFG_INT, F(login_hash_concurrency), 1, 64, "2"},
    {"login_hash_wait_ms", CFG_INT, F(login_hash_wait_ms), 0, 60000, "1000"},
    {"key_min_length", CFG_INT, F(key_min_length), 1, 512, "8"},
    {"webhook_allow", CFG_STR, F(webhook_allow), 0, 4000, ""},
    /* Issue 17: upstream scripts (core/script.h). */
    {"script_timeout_ms", CFG_INT, F(script_timeout_ms), 1, 1000, "10"},
    {"script_memory_kb", CFG_INT, F(script_memory_kb), 256, 262144, "16384"},
    {"script_body_limit", CFG_SIZE, F(script_body_limit), 1024, 16LL << 20, "1M"},
    {"script_fail", CFG_STR, F(script_fail), 4, 6, "open"},
    /* Issue 18: the models /metrics counts requests for (comma-separated). */
    {"metrics_models", CFG_STR, F(metrics_models), 0, 4000, ""},
};

#define NKEYS (NELEM(keys))

static const struct cfg_key *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int parse_int(const char *s, bool allow_suffix, long long *out)
{
    char *end;
    long long v, mul = 1;

    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (allow_suffix && *end != '\0') {
        switch (tolower((unsigned char)*end)) {
        case 'k':
            mul = 1LL << 10;
            break;
        case 'm':
            mul = 1LL << 20;
            break;
        case 'g':
            mul = 1LL << 30;
            break;
        default:
            return -1;
        }
        end++;
    }
    if (*end != '\0')
        return -1;
    if (v > 0 && v > (1LL << 40) / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* A zone the reset reader (core/resetzone.h) can load, not merely a file. */
static bool valid_tz(const char *s)
{
    return reset_zone_known(s);
}

static bool valid_url(const char *s)
{
    size_t i;

    if (*s == '\0')
        return true;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return false;
    for (i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

/* Checks and stores one value; returns NULL or a description of the fault. */
static const char *set_value(struct config *c, const struct cfg_key *k, const char *v)
{
    char *base = (char *)c;
    long long n;
    size_t len = strlen(v), i;

    switch (k->type) {
    case CFG_INT:
    case CFG_SIZE:
        if (parse_int(v, k->type == CFG_SIZE, &n) != 0)
            return k->type == CFG_SIZE ? "not a size (an integer, optionally with K, M or G)"
                                       : "not an integer";
        if (n < k->min || n > k->max)
            return "out of range";
        *(long long *)(base + k->offset) = n;
        return NULL;
    case CFG_HEX32:
        if (len != 64)
            return "must be 64 hexadecimal characters (32 bytes)";
        for (i = 0; i < 32; i++) {
            int hi = hexval((unsigned char)v[2 * i]), lo = hexval((unsigned char)v[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return "must be 64 hexadecimal characters (32 bytes)";
            c->enc_key[i] = (unsigned char)(hi << 4 | lo);
        }
        break;
    case CFG_TZ:
        if (!valid_tz(v))
            return "unknown time zone (use a name such as UTC or Europe/Berlin)";
        break;
    case CFG_URL:
        if (!valid_url(v))
            return "must be an http:// or https:// URL without spaces";
        break;
    case CFG_LEVEL:
        if (strcmp(v, "error") != 0 && strcmp(v, "warn") != 0 && strcmp(v, "info") != 0 &&
            strcmp(v, "debug") != 0)
            return "must be error, warn, info or debug";
        break;
    case CFG_STR:
        break;
    }
    if ((long long)len < k->min || (long long)len > k->max)
        return len == 0 ? "must not be empty" : "too long";
    for (i = 0; i < len; i++)
        if ((unsigned char)v[i] < ' ')
            return "contains a control character";
    {
        char **slot = (char **)(base + k->offset);
        char *copy = strdup(v);
        if (copy == NULL)
            return "out of memory";
        free(*slot);
        *slot = copy;
    }
    return NULL;
}

/* Strips leading and trailing blanks in place; returns the new start. */
static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Removes one pair of matching quotes around a value. */
static char *unquote(char *v)
{
    size_t n = strlen(v);

    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

static int parse_lines(struct config *c, const char *name, const char *text, int *seen, char *err,
                       size_t errlen, int *nlines)
{
    const char *p = text;
    int lineno = 0;

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[4096], *s, *eq, *key, *val;
        const struct cfg_key *k;
        const char *why;

        lineno++;
        if (n >= sizeof(line)) {
            snprintf(err, errlen, "%s:%d: -: line too long", name, lineno);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : p + n;
        s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: %.64s: expected `key = value`", name, lineno, s);
            return -1;
        }
        *eq = '\0';
        key = trim(s);
        val = unquote(trim(eq + 1));
        k = find_key(key);
        if (k == NULL) {
            snprintf(err, errlen, "%s:%d: %.64s: unknown key", name, lineno, key);
            return -1;
        }
        why = set_value(c, k, val);
        if (why != NULL) {
            snprintf(err, errlen, "%s:%d: %s: %s", name, lineno, k->name, why);
            return -1;
        }
        seen[k - keys] = lineno;
    }
    *nlines = lineno;
    return 0;
}

static int apply_env(struct config *c, int *seen, char *err, size_t errlen)
{
    size_t i, j;

    for (i = 0; i < NKEYS; i++) {
        char var[80];
        const char *v, *why;

        snprintf(var, sizeof(var), "APIGW_%s", keys[i].name);
        for (j = 6; var[j] != '\0'; j++)
            var[j] = (char)toupper((unsigned char)var[j]);
        v = getenv(var);
        if (v == NULL)
            continue;
        why = set_value(c, &keys[i], v);
        if (why != NULL) {
            snprintf(err, errlen, "environment:%s: %s: %s", var, keys[i].name, why);
            return -1;
        }
        seen[i] = -1;
    }
    return 0;
}

/* Writes where key was set into out: FILE:LINE, environment:APIGW_KEY, or
 * FILE:0 for a default. */
static void key_place(char *out, size_t outlen, const char *name, const int *seen, const char *key)
{
    const struct cfg_key *k = find_key(key);
    int line = k != NULL ? seen[k - keys] : 0;
    size_t j;

    if (line >= 0) {
        snprintf(out, outlen, "%s:%d", name, line);
        return;
    }
    snprintf(out, outlen, "environment:APIGW_%s", key);
    for (j = strlen("environment:APIGW_"); out[j] != '\0'; j++)
        out[j] = (char)toupper((unsigned char)out[j]);
}

/* Checks webhook_allow's entries, and that webhook_url is inside them.
 * Returns 0, or -1 with the fault, named by its line, in err. */
static int check_webhooks(const struct config *c, const char *name, const int *seen, char *err,
                          size_t errlen)
{
    char why[200], place[160];

    if (alert_allow_check(c->webhook_allow, why, sizeof(why)) != 0) {
        key_place(place, sizeof(place), name, seen, "webhook_allow");
        snprintf(err, errlen, "%s: webhook_allow: %s", place, why);
        return -1;
    }
    if (c->webhook_url[0] != '\0' && !alert_url_allowed(c->webhook_allow, c->webhook_url)) {
        key_place(place, sizeof(place), name, seen, "webhook_url");
        snprintf(err, errlen,
                 "%s: webhook_url: is outside webhook_allow (add its host or a prefix of it "
                 "there)",
                 place);
        return -1;
    }
    return 0;
}

/* Checks db_hosts's entries.  Returns 0, or -1 with the fault in err. */
static int check_db_hosts(const struct config *c, const char *name, const int *seen, char *err,
                          size_t errlen)
{
    struct db_host_addr hosts[DB_HOSTS_MAX];
    char why[200], place[160];

    if (db_hosts_parse(c->db_hosts, (unsigned)c->db_port, hosts, DB_HOSTS_MAX, why, sizeof(why)) >=
        0)
        return 0;
    key_place(place, sizeof(place), name, seen, "db_hosts");
    snprintf(err, errlen, "%s: db_hosts: %s", place, why);
    return -1;
}

int config_parse(struct config *c, const char *name, const char *text, bool use_env, char *err,
                 size_t errlen)
{
    int seen[NKEYS] = {0}; /* the line that set each key; -1: the environment */
    int nlines = 0;
    size_t i;

    memset(c, 0, sizeof(*c));
    c->path = strdup(name);
    if (c->path == NULL)
        goto nomem;
    if (parse_lines(c, name, text, seen, err, errlen, &nlines) != 0)
        goto fail;
    if (use_env && apply_env(c, seen, err, errlen) != 0)
        goto fail;
    for (i = 0; i < NKEYS; i++) {
        const char *why;

        if (seen[i])
            continue;
        if (keys[i].def == NULL) {
            snprintf(err, errlen, "%s:%d: %s: required value is missing", name, nlines,
                     keys[i].name);
            goto fail;
        }
        why = set_value(c, &keys[i], keys[i].def);
        if (why != NULL) {
            snprintf(err, errlen, "%s:%d: %s: default: %s", name, nlines, keys[i].name, why);
            goto fail;
        }
    }
    if (c->admin_token[0] != '\0' && strlen(c->admin_token) < 16) {
        snprintf(err, errlen, "%s:%d: admin_token: must be at least 16 characters", name, nlines);
        goto fail;
    }
    if (c->max_inflight > c->max_threads - CONFIG_RESERVED_THREADS) {
        snprintf(err, errlen,
                 "%s:%d: max_inflight: must be at most max_threads - %d (%lld), so that threads "
                 "remain for /healthz, /metrics and the admin API",
                 name, nlines, CONFIG_RESERVED_THREADS, c->max_threads - CONFIG_RESERVED_THREADS);
        goto fail;
    }
    if (strcmp(c->script_fail, "open") != 0 && strcmp(c->script_fail, "closed") != 0) {
        snprintf(err, errlen, "%s:%d: script_fail: must be open or closed", name, nlines);
        goto fail;
    }
    if (check_webhooks(c, name, seen, err, errlen) != 0)
        goto fail;
    if (check_db_hosts(c, name, seen, err, errlen) != 0)
        goto fail;
    return 0;
nomem:
    snprintf(err, errlen, "%s:0: -: out of memory", name);
fail:
    config_free(c);
    return -1;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    struct buf text;
    char chunk[4096];
    FILE *f;
    size_t n;
    int rc;

    if (path == NULL)
        path = getenv("APIGW_CONFIG");
    if (path == NULL || *path == '\0')
        path = CONFIG_DEFAULT_PATH;
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s:0: -: cannot open: %s", path, strerror(errno));
        return -1;
    }
    buf_init(&text, 1 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&text, chunk, n) != 0) {
            snprintf(err, errlen, "%s:0: -: file larger than 1 MiB", path);
            fclose(f);
            buf_free(&text);
            return -1;
        }
    }
    fclose(f);
    rc = config_parse(c, path, buf_str(&text), true, err, errlen);
    buf_free(&text);
    return rc;
}

void config_free(struct config *c)
{
    size_t i;

    for (i = 0; i < NKEYS; i++) {
        if (keys[i].type != CFG_INT && keys[i].type != CFG_SIZE) {
            char **slot = (char **)((char *)c + keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
    free(c->path);
    c->path = NULL;
    memset(c->enc_key, 0, sizeof(c->enc_key));
}

int config_get_text(const struct config *c, const char *key, char *out, size_t outlen)
{
    const struct cfg_key *k = find_key(key);
    const char *base = (const char *)c;

    if (k == NULL)
        return -1;
    if (k->type == CFG_INT || k->type == CFG_SIZE)
        snprintf(out, outlen, "%lld", *(const long long *)(base + k->offset));
    else
        snprintf(out, outlen, "%s", *(char *const *)(base + k->offset));
    return 0;
}
