#include "core/alert.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"

#define DELIVERY_TRIES   3
#define DELIVERY_TIMEOUT 5000 /* ms per try */
#define QUEUE_MAX        10000
#define ALLOW_ENTRY_MAX  2048 /* bytes of one webhook_allow entry */

struct delivery {
    long long alert_id;
    char *payload;
    char *urls[2];
    struct delivery *next;
};

struct alerter {
    const struct config *cfg;
    struct db *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct delivery *head, *tail;
    long long pending;
    bool stopping;
};

static void delivery_free(struct delivery *d)
{
    free(d->payload);
    free(d->urls[0]);
    free(d->urls[1]);
    free(d);
}

static char *payload_json(long long id, const struct alert *al)
{
    struct json_object *o = json_object_new_object();
    char stamp[32];
    char *text;

#define OPT_STR(k, v) json_object_object_add(o, k, (v) ? json_object_new_string(v) : NULL)
#define OPT_ID(k, v)  json_object_object_add(o, k, (v) > 0 ? json_object_new_int64(v) : NULL)
    json_object_object_add(o, "id", json_object_new_int64(id));
    json_object_object_add(o, "kind", json_object_new_string(al->kind ? al->kind : "rule"));
    json_object_object_add(o, "ts",
                           json_object_new_string(clock_rfc3339(time(NULL), stamp, sizeof(stamp))));
    OPT_ID("rule_id", al->rule_id);
    OPT_STR("rule", al->rule);
    OPT_ID("upstream_id", al->upstream_id);
    OPT_STR("upstream", al->upstream);
    OPT_ID("key_id", al->key_id);
    OPT_STR("key_masked", al->key_masked);
    OPT_STR("request_id", al->request_id);
    OPT_STR("message", al->message);
#undef OPT_STR
#undef OPT_ID
    text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

long long alert_raise(struct alerter *a, struct db *db, const struct alert *al)
{
    const char *dflt = a != NULL ? a->cfg->webhook_url : "";
    unsigned long long id = 0;
    struct delivery *d;
    int rc;

    /* The webhook column names where it goes: the rule's own, else the
     * configured default. */
    rc = db_exec(db,
                 "INSERT INTO alerts (ts, kind, rule_id, key_id, upstream_id, message, webhook,"
                 " request_id) VALUES (UTC_TIMESTAMP(3), ?, ?, ?, ?, ?, ?, ?)",
                 DB_ARGS(DB_STR(al->kind != NULL ? al->kind : "rule"),
                         al->rule_id > 0 ? DB_INT(al->rule_id) : DB_NULL,
                         al->key_id > 0 ? DB_INT(al->key_id) : DB_NULL,
                         al->upstream_id > 0 ? DB_INT(al->upstream_id) : DB_NULL,
                         DB_STR(al->message ? al->message : "alert"),
                         DB_STR(al->webhook != NULL && *al->webhook != '\0' ? al->webhook
                                : dflt[0] != '\0'                           ? dflt
                                                                            : NULL),
                         DB_STR(al->request_id)),
                 NULL, &id);
    if (rc != DB_OK || id == 0)
        return 0;
    if (a == NULL || ((al->webhook == NULL || *al->webhook == '\0') && dflt[0] == '\0'))
        return (long long)id;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return (long long)id;
    d->alert_id = (long long)id;
    d->payload = payload_json((long long)id, al);
    if (al->webhook != NULL && *al->webhook != '\0')
        d->urls[0] = strdup(al->webhook);
    if (dflt[0] != '\0' && (d->urls[0] == NULL || strcmp(d->urls[0], dflt) != 0))
        d->urls[d->urls[0] != NULL] = strdup(dflt);
    pthread_mutex_lock(&a->lock);
    if (a->pending >= QUEUE_MAX) {
        pthread_mutex_unlock(&a->lock);
        log_warn("alerts: %d deliveries wait already; alert %llu is not sent", QUEUE_MAX, id);
        db_exec(db, "UPDATE alerts SET delivered = 0, delivery_error = ? WHERE id = ?",
                DB_ARGS(DB_STR("not sent: the delivery queue was full"), DB_INT((long long)id)),
                NULL, NULL);
        delivery_free(d);
        return (long long)id;
    }
    if (a->tail != NULL)
        a->tail->next = d;
    else
        a->head = d;
    a->tail = d;
    a->pending++;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    return (long long)id;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* The parts of a URL the allow-list compares (libcurl's strings). */
struct url_parts {
    char *scheme, *host, *port, *path;
};

static void url_parts_free(struct url_parts *p)
{
    curl_free(p->scheme);
    curl_free(p->host);
    curl_free(p->port);
    curl_free(p->path);
    memset(p, 0, sizeof(*p));
}

/* Splits an http(s) URL with a host into p (port: the scheme's default
 * when absent if default_port, else NULL).  Returns 0, or -1 for anything
 * else. */
static int url_split(const char *url, bool default_port, struct url_parts *p)
{
    CURLU *u = curl_url();
    int rc = -1;

    memset(p, 0, sizeof(*p));
    if (u == NULL)
        return -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK && p->host[0] != '\0' &&
        curl_url_get(u, CURLUPART_PATH, &p->path, 0) == CURLUE_OK &&
        (strcasecmp(p->scheme, "http") == 0 || strcasecmp(p->scheme, "https") == 0)) {
        rc = 0;
        if (curl_url_get(u, CURLUPART_PORT, &p->port, default_port ? CURLU_DEFAULT_PORT : 0) !=
            CURLUE_OK)
            p->port = NULL;
    }
    curl_url_cleanup(u);
    if (rc != 0)
        url_parts_free(p);
    return rc;
}

/* Splits one allow-list entry: a URL prefix as it is, a host as
 * http://host/ (port only when it names one).  *host_only says which.
 * Returns 0, or -1 when it is neither. */
static int entry_split(const char *entry, struct url_parts *p, bool *host_only)
{
    char url[ALLOW_ENTRY_MAX + 16];

    *host_only = strstr(entry, "://") == NULL;
    if (strpbrk(entry, "?#@\\") != NULL || (*host_only && strchr(entry, '/') != NULL)) {
        memset(p, 0, sizeof(*p));
        return -1;
    }
    if (!*host_only)
        return url_split(entry, true, p);
    snprintf(url, sizeof(url), "http://%s/", entry);
    return url_split(url, false, p);
}

/* Copies the next comma-separated entry of *list, blanks trimmed, into
 * out and moves *list past it.  Returns its length, or -1 when it does not
 * fit in ALLOW_ENTRY_MAX bytes. */
static int next_entry(const char **list, char out[ALLOW_ENTRY_MAX + 1])
{
    const char *s = *list, *end = strchr(s, ',');
    size_t n;

    if (end == NULL)
        end = s + strlen(s);
    *list = *end == ',' ? end + 1 : end;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - s);
    if (n > ALLOW_ENTRY_MAX)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return (int)n;
}

int alert_allow_check(const char *list, char *why, size_t whylen)
{
    char entry[ALLOW_ENTRY_MAX + 1];
    int i, n;

    for (i = 1; list != NULL && *list != '\0'; i++) {
        struct url_parts p;
        bool host_only;

        n = next_entry(&list, entry);
        if (n < 0) {
            snprintf(why, whylen, "entry %d is longer than %d bytes", i, ALLOW_ENTRY_MAX);
            return -1;
        }
        if (n == 0) {
            snprintf(why, whylen, "entry %d is empty (entries are separated by commas)", i);
            return -1;
        }
        if (entry_split(entry, &p, &host_only) != 0) {
            snprintf(why, whylen,
                     "entry %d (%.80s) is neither a host nor an http(s):// URL prefix without "
                     "query, fragment or credentials",
                     i, entry);
            return -1;
        }
        url_parts_free(&p);
    }
    return 0;
}

/* Whether the split URL u matches one entry. */
static bool entry_matches(const char *entry, const struct url_parts *u)
{
    struct url_parts e;
    bool host_only, ok = false;
    size_t n;

    if (entry_split(entry, &e, &host_only) != 0)
        return false;
    if (strcasecmp(e.host, u->host) == 0 && (e.port == NULL || strcmp(e.port, u->port) == 0)) {
        n = strlen(e.path);
        ok = host_only ||
             (strcasecmp(e.scheme, u->scheme) == 0 && strncmp(u->path, e.path, n) == 0 &&
              (n == 0 || e.path[n - 1] == '/' || u->path[n] == '\0' || u->path[n] == '/'));
    }
    url_parts_free(&e);
    return ok;
}

bool alert_url_allowed(const char *list, const char *url)
{
    char entry[ALLOW_ENTRY_MAX + 1];
    struct url_parts u;
    bool ok = false;

    if (list == NULL || *list == '\0')
        return true;
    if (url_split(url, true, &u) != 0)
        return false;
    while (!ok && *list != '\0')
        ok = next_entry(&list, entry) > 0 && entry_matches(entry, &u);
    url_parts_free(&u);
    return ok;
}

/* One POST; returns NULL on a 2xx answer, else why not (in err). */
static const char *post_once(CURL *c, const char *url, const char *payload, char *err,
                             size_t errlen)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    long status = 0;
    CURLcode cc;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)DELIVERY_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    if (cc != CURLE_OK)
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
    else if (status >= 300 && status <= 399)
        snprintf(err, errlen, "the webhook answered %ld, a redirect, which is not followed",
                 status);
    else if (status < 200 || status > 299)
        snprintf(err, errlen, "the webhook answered %ld", status);
    else
        return NULL;
    return err;
}

/* Tries every URL up to DELIVERY_TRIES times (1 s, then 2 s apart) and
 * records the outcome: delivered when every URL took it. */
static void deliver(struct alerter *a, CURL *c, struct delivery *d, bool last_chance)
{
    char err[160] = "";
    bool ok = true;
    int u, t;

    for (u = 0; u < 2; u++) {
        const char *why = NULL;
        if (d->urls[u] == NULL)
            continue;
        if (!alert_url_allowed(a->cfg->webhook_allow, d->urls[u])) {
            snprintf(err, sizeof(err), "not sent: the URL is outside webhook_allow");
            ok = false;
            continue;
        }
        for (t = 0; t < (last_chance ? 1 : DELIVERY_TRIES); t++) {
            if (t > 0)
                sleep((unsigned)t);
            if ((why = post_once(c, d->urls[u], d->payload, err, sizeof(err))) == NULL)
                break;
        }
        if (why != NULL)
            ok = false;
    }
    db_exec(a->db, "UPDATE alerts SET delivered = ?, delivery_error = ? WHERE id = ?",
            DB_ARGS(DB_INT(ok ? 1 : 0), DB_STR(ok ? NULL : err), DB_INT(d->alert_id)), NULL, NULL);
    if (!ok)
        log_warn("alerts: alert %lld was not delivered: %s", d->alert_id, err);
}

static void *alerter_main(void *arg)
{
    struct alerter *a = arg;
    CURL *c = curl_easy_init();

    db_thread_init();
    for (;;) {
        struct delivery *d;
        bool stopping;
        pthread_mutex_lock(&a->lock);
        while (a->head == NULL && !a->stopping)
            pthread_cond_wait(&a->wake, &a->lock);
        d = a->head;
        stopping = a->stopping;
        if (d != NULL) {
            a->head = d->next;
            if (a->head == NULL)
                a->tail = NULL;
            a->pending--;
        }
        pthread_mutex_unlock(&a->lock);
        if (d == NULL)
            break;
        if (c != NULL)
            deliver(a, c, d, stopping);
        delivery_free(d);
    }
    if (c != NULL)
        curl_easy_cleanup(c);
    db_thread_end();
    return NULL;
}

struct alerter *alerter_start(const struct config *cfg)
{
    struct alerter *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->cfg = cfg;
    a->db = db_new(cfg, false);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    if (a->db == NULL || pthread_create(&a->thread, NULL, alerter_main, a) != 0) {
        db_free(a->db);
        free(a);
        return NULL;
    }
    return a;
}

void alerter_stop(struct alerter *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    db_free(a->db);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    free(a);
}

long long alerter_pending(struct alerter *a)
{
    long long n;

    if (a == NULL)
        return 0;
    pthread_mutex_lock(&a->lock);
    n = a->pending;
    pthread_mutex_unlock(&a->lock);
    return n;
}
