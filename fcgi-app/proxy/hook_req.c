/* The values the upstream's script sees (hook.h), described for the engine
 * (core/script_obj.h): req from the request as it goes out, and ctx; and
 * the query string written back from what onRequest left. */
#include "proxy/hook.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/pool.h"
#include "core/url.h"
#include "http.h"
#include "proxy/credential.h"
#include "proxy/path.h"
#include "proxy/proxy.h"
#include "proxy/upstream_req.h"

#define HEADER_NAME_MAX 256
/* The query items or the headers of a request, decoded, at most. */
#define HOOK_PAIRS_MAX (4u << 20)

/* Hands list over into *pairs, *n and *store; nothing when memory ran
 * out (the field then has no pairs). */
static void take_pairs(struct script_pairs *list, struct script_pair **pairs, size_t *n,
                       char **store)
{
    *pairs = NULL;
    *store = NULL;
    *n = 0;
    if (script_pairs_take(list, pairs, n, store) != 0)
        script_pairs_free(list);
}

/* The query items of the request as it goes out, decoded, without the
 * client's ?key= token and the key's own parameter.  Items that do not
 * decode are left out. */
static void query_pairs(struct hook_args *a)
{
    const struct proxy *px = a->px;
    const char *q = px->r->query;
    size_t qlen = q != NULL ? strlen(q) : 0;
    struct script_pairs list;
    char *name = malloc(qlen + 1), *value = malloc(qlen + 1);

    script_pairs_init(&list, HOOK_PAIRS_MAX);
    while (name != NULL && value != NULL && q != NULL && *q != '\0') {
        size_t len = strcspn(q, "&"), nlen = strcspn(q, "=&");
        long n = url_decode(q, nlen < len ? nlen : len, true, name, qlen + 1);
        long v = nlen < len ? url_decode(q + nlen + 1, len - nlen - 1, true, value, qlen + 1) : 0;
        if (n > 0 && v >= 0) {
            name[n] = '\0';
            if (!(px->strip[CRED_QUERY] && strcmp(name, "key") == 0) &&
                !(px->up->auth_query_param != NULL && strcmp(name, px->up->auth_query_param) == 0))
                script_pairs_add(&list, name, (size_t)n, value, (size_t)v);
        }
        q += len + (q[len] == '&');
    }
    free(name);
    free(value);
    take_pairs(&list, &a->query, &a->nquery, &a->query_store);
}

/* The client's headers, names in lower case, less those that never pass
 * on (the client's token among them); Content-Type included. */
static void env_header_pairs(struct hook_args *a)
{
    const struct proxy *px = a->px;
    const char *conn = req_header(px->r, "Connection");
    struct script_pairs list;
    char **e, name[HEADER_NAME_MAX];
    size_t i;

    script_pairs_init(&list, HOOK_PAIRS_MAX);
    for (e = px->r->env; e != NULL && *e != NULL; e++) {
        const char *value = upstream_req_env_header(px, conn, *e, name, sizeof(name));
        if (value == NULL)
            continue;
        for (i = 0; name[i] != '\0'; i++)
            name[i] = (char)tolower((unsigned char)name[i]);
        script_pairs_add(&list, name, i, value, strlen(value));
    }
    take_pairs(&list, &a->headers, &a->nheaders, &a->header_store);
}

/* Makes the query when a script first reads req.query, and the headers
 * (unless onRequest set them) when it first reads req.headers. */
static void req_prepare(struct script_obj *o, struct script_field *f)
{
    struct hook_args *a = o->udata;

    if (f == &a->req_f[REQ_QUERY]) {
        free(a->query);
        free(a->query_store);
        query_pairs(a);
        f->pairs = a->query;
        f->npairs = a->nquery;
    } else if (f == &a->req_f[REQ_HEADERS]) {
        if (!a->headers_set) {
            free(a->headers);
            free(a->header_store);
            env_header_pairs(a);
        }
        f->pairs = a->headers;
        f->npairs = a->nheaders;
    }
}

struct hook_args *hook_args_make(struct proxy *px, size_t body_limit)
{
    struct hook_args *a = calloc(1, sizeof(*a));
    const char *token = px->token != NULL ? px->token->name : NULL;

    if (a == NULL)
        return NULL;
    a->px = px;
    a->body_limit = body_limit;
    buf_init(&a->path, PROXY_URL_MAX);
    a->req = (struct script_obj){a->req_f, REQ__MAX, req_prepare, a, "req", false};
    a->ctx = (struct script_obj){a->ctx_f, CTX__MAX, NULL, NULL, "ctx", true};
    script_ctx_fields(a->ctx_f, px->r->id, px->up->name, token, clock_wall_ms());
    hook_args_refresh(a);
    return a;
}

void hook_args_refresh(struct hook_args *a)
{
    const struct proxy *px = a->px;

    script_obj_clear(&a->req);
    buf_reset(&a->path);
    buf_cat(&a->path, "/", px->rest != NULL ? px->rest : "", (char *)NULL);
    script_req_fields(a->req_f, px->r->method, buf_str(&a->path), a->path.len, px->r->body.data,
                      px->r->body.len, a->body_limit);
}

void hook_args_set_headers(struct hook_args *a, struct script_field *f)
{
    free(a->headers);
    free(a->header_store);
    a->headers = f->out_pairs;
    a->nheaders = f->out_npairs;
    a->header_store = f->out_store;
    f->out_pairs = NULL;
    f->out_store = NULL;
    f->out_npairs = 0;
    a->headers_set = true;
}

void hook_args_free(struct hook_args *a)
{
    if (a == NULL)
        return;
    script_obj_clear(&a->req);
    buf_free(&a->path);
    free(a->query);
    free(a->query_store);
    free(a->headers);
    free(a->header_store);
    free(a);
}

/* Appends n bytes of s percent-encoded (all but unreserved characters).
 * Returns 0, or -1 when out's cap was reached. */
static int encode(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            rc |= buf_append(out, s + i, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc |= buf_append(out, e, 3);
        }
    }
    return rc;
}

char *hook_query_string(const struct script_pair *pairs, size_t n)
{
    struct buf out;
    char *s;
    size_t i;
    int rc = 0;

    buf_init(&out, PROXY_URL_MAX);
    for (i = 0; i < n; i++) {
        if (out.len > 0)
            rc |= buf_append(&out, "&", 1);
        rc |= encode(&out, pairs[i].name, pairs[i].name_len);
        rc |= buf_append(&out, "=", 1);
        rc |= encode(&out, pairs[i].value, pairs[i].value_len);
    }
    s = rc == 0 ? strdup(buf_str(&out)) : NULL;
    buf_free(&out);
    return s;
}
