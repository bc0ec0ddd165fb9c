/*
 * The proxy side of the shaping preview (fcgi-app/shape_preview.h): the
 * sample goes through the proxy's own steps, on a request made of it that never
 * reaches the network: the model shaping (proxy/shape_req.h), the URL of
 * the first endpoint (proxy_endpoint_url) and the headers
 * (proxy/upstream_req.h), with a stand-in key whose value is `<key>`, so
 * that no key is picked, reserved or shown.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/header_rules.h"
#include "core/shape.h"
#include "core/usage_scan.h"
#include "http.h"
#include "proxy/path.h"
#include "proxy/proxy.h"
#include "proxy/shape_headers.h"
#include "proxy/shape_req.h"
#include "proxy/upstream_req.h"
#include "shape_preview.h"

#define KEY_SHOWN "<key>"

/* The model a request names, as the proxy reads it: its JSON body's
 * $.model, else the /models/{model}: segment of its path. */
static void model_of(const char *rest, const struct buf *body, char *out)
{
    char path[4200];

    snprintf(path, sizeof(path), "/%s", rest != NULL ? rest : "");
    usage_request_model(NULL, body->data, body->len, out, USAGE_MODEL_MAX);
    if (out[0] == '\0')
        usage_request_model(path, NULL, 0, out, USAGE_MODEL_MAX);
}

static void add_str(struct json_object *o, const char *name, const char *v)
{
    json_object_object_add(o, name, v != NULL ? json_object_new_string(v) : NULL);
}

/* The answer to a request that shaping (or the path) refuses: what the
 * client would get. */
static void refused(struct json_object *out, enum err e, const char *message)
{
    struct json_object *no = json_object_new_object(), *err = json_object_new_object();

    add_str(err, "code", err_code(e));
    add_str(err, "message", message);
    json_object_object_add(no, "status", json_object_new_int(err_status(e)));
    json_object_object_add(no, "error", err);
    json_object_object_add(out, "refused", no);
}

static void add_pair(struct json_object *list, const char *name, size_t n, const char *value,
                     size_t vn)
{
    struct json_object *pair = json_object_new_array();

    json_object_array_add(pair, json_object_new_string_len(name, (int)n));
    json_object_array_add(pair, json_object_new_string_len(value, (int)vn));
    json_object_array_add(list, pair);
}

/* Host from the URL, as libcurl sends it first. */
static void add_host(struct json_object *list, const char *url)
{
    const char *h = strstr(url, "://");

    if (h == NULL)
        return;
    h += 3;
    add_pair(list, "Host", 4, h, strcspn(h, "/?#"));
}

/* The headers in the order they go: Host, the list upstream_req_headers
 * built (less the empty lines that only keep libcurl from adding its own),
 * then Content-Length when a body goes. */
static void add_headers(struct json_object *out, const struct curl_slist *l, const char *url,
                        long long content_length)
{
    struct json_object *list = json_object_new_array();
    char n[24];
    const char *v;

    add_host(list, url);
    for (; l != NULL; l = l->next) {
        const char *colon = strchr(l->data, ':');
        if (colon == NULL || colon[1] == '\0')
            continue;
        v = colon[1] == ' ' ? colon + 2 : colon + 1;
        add_pair(list, l->data, (size_t)(colon - l->data), v, strlen(v));
    }
    if (content_length >= 0) {
        snprintf(n, sizeof(n), "%lld", content_length);
        add_pair(list, "Content-Length", 14, n, strlen(n));
    }
    json_object_object_add(out, "headers", list);
}

/* The URL with the stand-in key as the query parameter shows it as
 * `<key>` rather than %-encoded. */
static void add_url(struct json_object *out, const struct buf *url)
{
    const char *enc = "%3Ckey%3E", *at = strstr(buf_str(url), enc);
    struct buf shown;

    if (at == NULL) {
        add_str(out, "url", buf_str(url));
        return;
    }
    buf_init(&shown, url->len + 8);
    buf_append(&shown, url->data, (size_t)(at - url->data));
    buf_cat(&shown, KEY_SHOWN, at + strlen(enc), (char *)NULL);
    add_str(out, "url", buf_str(&shown));
    buf_free(&shown);
}

/* What shaping changed, in short lines, in the order it applies. */
static void add_applied(struct json_object *out, const struct shape_sample *p, const char *asked,
                        const char *sent, bool rewritten)
{
    static const char *const ops[] = {"set", "remove", "append"};
    struct json_object *a = json_object_new_array(), *set = NULL;
    char line[512], name[256];
    size_t i;

    for (i = 0; p->up.strip_forwarding && i < p->nenv; i++) {
        const char *eq = strchr(p->env[i], '=');
        if (strncmp(p->env[i], "HTTP_", 5) != 0 || eq == NULL)
            continue;
        upstream_req_header_name(p->env[i] + 5, (size_t)(eq - p->env[i]) - 5, name, sizeof(name));
        snprintf(line, sizeof(line), "strip_forwarding_headers: removed %s", name);
        if (shape_forwarding_header(name))
            json_object_array_add(a, json_object_new_string(line));
    }
    for (i = 0; i < p->up.header_rules.n; i++) {
        snprintf(line, sizeof(line), "header_rules: %s %s", ops[p->up.header_rules.v[i].op],
                 p->up.header_rules.v[i].name);
        json_object_array_add(a, json_object_new_string(line));
    }
    if (asked[0] != '\0' && strcmp(asked, sent) != 0) {
        snprintf(line, sizeof(line), "model_map: %s -> %s", asked, sent);
        json_object_array_add(a, json_object_new_string(line));
    }
    if (rewritten && json_object_is_type(set = p->body_set, json_type_object)) {
        json_object_object_foreach(set, path, v)
        {
            (void)v;
            snprintf(line, sizeof(line), "body_set: %s", path);
            json_object_array_add(a, json_object_new_string(line));
        }
    }
    json_object_object_add(out, "applied", a);
}

/* Why parts of the upstream's configuration do not show. */
static void add_notes(struct json_object *out, const struct shape_sample *p, bool rewritten)
{
    struct json_object *n = json_object_new_array();

    if (p->has_script)
        json_object_array_add(
            n, json_object_new_string("script: the upstream's onRequest hook is not run in the "
                                      "preview; it runs before the shaping and may change the "
                                      "request further"));
    if (!rewritten && p->body_len > 0 && shape_changes_body(p->up.shape))
        json_object_array_add(
            n, json_object_new_string("body: not rewritten: only JSON bodies (Content-Type "
                                      "application/json or +json, a JSON object) up to "
                                      "script_body_limit are"));
    json_object_object_add(out, "notes", n);
}

/* Describes the request of the first attempt. */
static void describe(struct json_object *out, struct shape_sample *p, struct proxy *px,
                     const char *asked)
{
    char shown[] = KEY_SHOWN;
    struct pool_key key = {.value = shown, .value_len = strlen(shown)};
    const struct buf *b = &px->r->body;
    bool rewritten = b->len != p->body_len || (b->len > 0 && memcmp(b->data, p->body, b->len));
    bool has_body = b->len > 0 || strcmp(p->method, "POST") == 0 || strcmp(p->method, "PUT") == 0 ||
                    strcmp(p->method, "PATCH") == 0;
    struct curl_slist *headers = upstream_req_headers(px, &key);
    char sent[USAGE_MODEL_MAX], path[4200];
    struct buf url;

    if (headers == NULL || upstream_req_url(&url, px, &key) != 0) {
        refused(out, ERR_INTERNAL, "the request's headers or URL do not fit");
        curl_slist_free_all(headers);
        return;
    }
    model_of(px->rest, b, sent);
    snprintf(path, sizeof(path), "/%s", px->rest);
    add_str(out, "method", p->method);
    add_url(out, &url);
    add_str(out, "path", path);
    has_body &= strcmp(p->method, "HEAD") != 0;
    add_headers(out, headers, buf_str(&url), has_body ? (long long)b->len : -1);
    json_object_object_add(out, "body",
                           json_object_new_string_len(b->len > 0 ? b->data : "", (int)b->len));
    json_object_object_add(out, "body_rewritten", json_object_new_boolean(rewritten));
    json_object_object_add(out, "content_length",
                           has_body ? json_object_new_int64((int64_t)b->len) : NULL);
    add_str(out, "model_requested", asked[0] != '\0' ? asked : NULL);
    add_str(out, "model_sent", sent[0] != '\0' ? sent : NULL);
    add_applied(out, p, asked, sent, rewritten);
    add_notes(out, p, rewritten);
    curl_slist_free_all(headers);
    buf_free(&url);
}

void proxy_shape_preview(struct shape_sample *p)
{
    struct req fr = {
        .w = p->r->w, .cfg = p->r->cfg, .env = p->env, .method = p->method, .query = p->query};
    struct proxy px = {.r = &fr, .up = &p->up, .token = &p->token, .rest = p->rest, .ep = -1};
    struct json_object *out = json_object_new_object();
    char asked[USAGE_MODEL_MAX];
    struct shape_refusal no;
    const char *why;
    size_t i;
    char after[4200];

    /* What the proxy refuses before anything else. */
    snprintf(after, sizeof(after), "%s/%s", p->up.name, p->rest);
    if ((why = proxy_path_check(after, p->query)) != NULL) {
        reply_error(p->r, ERR_INVALID_FIELD, "path: %s", why);
        json_object_put(out);
        return;
    }
    memcpy(fr.id, p->r->id, sizeof(fr.id));
    buf_init(&fr.body, (size_t)fr.cfg->max_body_bytes);
    buf_init(&px.url, PROXY_URL_MAX);
    if (p->body_len > 0)
        buf_append(&fr.body, p->body, p->body_len);
    /* The token's places are taken to hold the client's token, which
     * never goes upstream. */
    for (i = 0; i < CRED_PLACES; i++)
        px.strip[i] = true;
    model_of(px.rest, &fr.body, asked);
    if (proxy_shape_apply(&px, &no) != ERR_OK) {
        add_str(out, "model_requested", asked[0] != '\0' ? asked : NULL);
        refused(out, no.code, no.message);
    } else if ((why = proxy_endpoint_url(&px, p->base)) != NULL) {
        refused(out, ERR_INVALID_PATH, why);
    } else {
        describe(out, p, &px, asked);
    }
    reply_json(p->r, 200, out);
    free(px.hook_rest);
    buf_free(&px.url);
    buf_free(&fr.body);
}
