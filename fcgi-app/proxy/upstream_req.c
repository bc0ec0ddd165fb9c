/* The request an attempt sends upstream (upstream_req.h): headers, the key
 * by the upstream's auth template or query parameter, method and body. */
#include "proxy/upstream_req.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/nelem.h"
#include "core/pool.h"
#include "core/script_req.h"
#include "core/store.h"
#include "http.h"
#include "proxy/affinity.h"
#include "proxy/credential.h"
#include "proxy/hook.h"
#include "proxy/path.h"
#include "proxy/proxy.h"
#include "proxy/shape_headers.h"
#include "proxy/upstream_head.h"

bool upstream_req_header_dropped(const struct proxy *px, const char *conn, const char *name)
{
    size_t i, n = strlen(name);

    /* Content-Type is written on its own (upstream_req_headers). */
    if (script_header_fixed(name) || strcasecmp(name, "content-type") == 0)
        return true;
    for (i = 0; i < CRED_QUERY; i++)
        if (px->strip[i] && strcasecmp(name, credential_headers[i]) == 0)
            return true;
    if (px->up->auth_query_param == NULL && strcasecmp(name, px->up->auth_header) == 0)
        return true;
    /* The affinity id is the gateway's, not the provider's. */
    if (px->up->affinity == AFFINITY_HEADER && strcasecmp(name, AFFINITY_HEADER_NAME) == 0)
        return true;
    /* Headers that Connection names are hop-by-hop too. */
    if (upstream_head_listed(conn, name, n))
        return true;
    return false;
}

void upstream_req_header_name(const char *var, size_t n, char *out, size_t outlen)
{
    size_t i;
    bool upper = true;

    for (i = 0; i < n && i + 1 < outlen; i++) {
        char c = var[i];
        if (c == '_') {
            out[i] = '-';
            upper = true;
        } else {
            out[i] = upper ? c : (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            upper = false;
        }
    }
    out[i] = '\0';
}

/* Appends line to the list and empties it; sets *failed when out of
 * memory (the list is then returned unchanged). */
static struct curl_slist *add_header(struct curl_slist *list, struct buf *line, bool *failed)
{
    struct curl_slist *l = curl_slist_append(list, buf_str(line));

    buf_reset(line);
    if (l == NULL) {
        *failed = true;
        return list;
    }
    return l;
}

const char *upstream_req_env_header(const struct proxy *px, const char *conn, const char *entry,
                                    char *name, size_t namelen)
{
    const char *eq = strchr(entry, '=');

    if (eq == NULL)
        return NULL;
    if (strncmp(entry, "CONTENT_TYPE=", 13) == 0) {
        snprintf(name, namelen, "Content-Type");
        return eq + 1;
    }
    if (strncmp(entry, "HTTP_", 5) != 0 || (size_t)(eq - entry) - 5 >= namelen)
        return NULL;
    upstream_req_header_name(entry + 5, (size_t)(eq - entry) - 5, name, namelen);
    return upstream_req_header_dropped(px, conn, name) ? NULL : eq + 1;
}

/* The headers onRequest left (proxy/hook.c checked their names and
 * values), less those that never pass on; Content-Type passes. */
static struct curl_slist *script_headers(const struct proxy *px, const char *conn,
                                         struct curl_slist *list, struct buf *line, bool *has_ctype,
                                         bool *has_accept, bool *failed)
{
    char name[SCRIPT_HEADER_NAME_MAX + 1];
    size_t i;

    for (i = 0; i < px->hook->nheaders; i++) {
        const struct script_pair *h = &px->hook->headers[i];
        bool ctype;
        if (h->name_len > SCRIPT_HEADER_NAME_MAX)
            continue;
        memcpy(name, h->name, h->name_len);
        name[h->name_len] = '\0';
        ctype = strcasecmp(name, "content-type") == 0;
        if (!ctype && upstream_req_header_dropped(px, conn, name))
            continue;
        if (shape_drops(&px->up->header_rules, px->up->strip_forwarding, name))
            continue;
        *has_ctype |= ctype;
        *has_accept |= strcasecmp(name, "accept") == 0;
        buf_reset(line);
        buf_append(line, h->name, h->name_len);
        buf_append(line, ": ", 2);
        buf_append(line, h->value, h->value_len);
        list = add_header(list, line, failed);
    }
    return list;
}

/* The lines the upstream's header rules add (proxy/shape_headers.h). */
static struct curl_slist *rule_headers(const struct proxy *px, struct curl_slist *list,
                                       struct buf *line, bool *has_ctype, bool *has_accept,
                                       bool *failed)
{
    const struct header_rules *rules = &px->up->header_rules;
    struct header_vars v = {px->r->id, px->token != NULL ? px->token->name : NULL, px->up->name};
    size_t i;

    for (i = 0; i < rules->n; i++) {
        if (!rules->v[i].emits)
            continue;
        *has_ctype |= strcasecmp(rules->v[i].name, "content-type") == 0;
        *has_accept |= strcasecmp(rules->v[i].name, "accept") == 0;
        buf_reset(line);
        if (header_rule_line(&rules->v[i], &v, line) != 0)
            *failed = true;
        list = add_header(list, line, failed);
    }
    return list;
}

int upstream_req_auth_value(struct buf *out, const char *tpl, const char *key, size_t n)
{
    return buf_subst(out, tpl, "{key}", key, n);
}

struct curl_slist *upstream_req_headers(const struct proxy *px, const struct pool_key *k)
{
    struct curl_slist *list = NULL;
    struct buf line;
    bool failed = false, has_ctype = false, has_accept = false;
    const char *conn = req_header(px->r, "Connection");
    bool scripted = px->hook != NULL && px->hook->headers_set;
    char **e;

    buf_init(&line, HTTP_HEAD_MAX);
    if (scripted)
        list = script_headers(px, conn, list, &line, &has_ctype, &has_accept, &failed);
    for (e = px->r->env; !scripted && e != NULL && *e != NULL; e++) {
        char name[256];
        const char *value = upstream_req_env_header(px, conn, *e, name, sizeof(name));
        if (value == NULL || shape_drops(&px->up->header_rules, px->up->strip_forwarding, name))
            continue;
        has_ctype |= strcmp(name, "Content-Type") == 0;
        has_accept |= strcasecmp(name, "Accept") == 0;
        buf_cat(&line, name, ": ", value, (char *)NULL);
        list = add_header(list, &line, &failed);
    }
    list = rule_headers(px, list, &line, &has_ctype, &has_accept, &failed);
    /* libcurl would add these on its own; the request goes as it came. */
    if (!has_ctype) {
        buf_puts(&line, "Content-Type:");
        list = add_header(list, &line, &failed);
    }
    if (!has_accept) {
        buf_puts(&line, "Accept:");
        list = add_header(list, &line, &failed);
    }
    buf_puts(&line, "Expect:");
    list = add_header(list, &line, &failed);
    if (px->up->auth_query_param == NULL) {
        buf_cat(&line, px->up->auth_header, ": ", (char *)NULL);
        if (upstream_req_auth_value(&line, px->up->auth_template, k->value, k->value_len) != 0)
            failed = true;
        list = add_header(list, &line, &failed);
    }
    crypto_wipe(line.data, line.cap);
    buf_free(&line);
    if (failed) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

int upstream_req_url(struct buf *url, const struct proxy *px, const struct pool_key *k)
{
    int rc;

    buf_init(url, PROXY_URL_MAX + KEY_VALUE_MAX * 3 + 256);
    rc = buf_append(url, px->url.data, px->url.len);
    if (px->up->auth_query_param != NULL)
        rc |= proxy_url_add_param(url, px->up->auth_query_param, k->value, k->value_len);
    return rc;
}

void upstream_req_method(CURL *c, const struct req *r)
{
    const char *m = r->method;
    bool has_body = r->body.len > 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
                    strcmp(m, "PATCH") == 0;

    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return;
    }
    if (has_body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body.data != NULL ? r->body.data : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
    }
    if (strcmp(m, "POST") != 0 && (has_body || strcmp(m, "GET") != 0))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
}
