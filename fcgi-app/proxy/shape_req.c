/* Model shaping of a request (proxy/shape_req.h). */
#include "proxy/shape_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/pool.h"
#include "core/shape.h"
#include "core/usage_scan.h"
#include "http.h"
#include "proxy/hook.h"
#include "proxy/proxy.h"

/* "/" and the path after the upstream's name, as the model is read from
 * it (core/usage_paths.c looks for "/models/"). */
static char *slashed_rest(const struct proxy *px)
{
    const char *rest = px->rest != NULL ? px->rest : "";
    char *p = malloc(strlen(rest) + 2);

    if (p != NULL) {
        p[0] = '/';
        memcpy(p + 1, rest, strlen(rest) + 1);
    }
    return p;
}

/* Whether the body is JSON the gateway may rewrite: an application/json
 * (or +json) Content-Type and at most script_body_limit bytes. */
static bool body_rewritable(const struct proxy *px)
{
    const char *ct = req_header(px->r, "Content-Type");

    return ct != NULL && usage_body_kind(ct, strlen(ct)) == USAGE_BODY_JSON &&
           px->r->body.len > 0 && (long long)px->r->body.len <= px->r->cfg->script_body_limit;
}

/* Maps the /models/{alias}: segment of the path.  Returns whether it
 * changed. */
static bool map_path(struct proxy *px, const struct shape *s, const char *path)
{
    char *mapped = shape_path(s, path), *rest = NULL;

    if (mapped != NULL && (rest = strdup(mapped + 1)) != NULL) {
        free(px->hook_rest); /* the path's owner, as onRequest's is */
        px->rest = px->hook_rest = rest;
    }
    free(mapped);
    return rest != NULL;
}

/* Replaces the request's body by the shaped one, when it changes and fits
 * max_body_bytes (else the body goes as it came).  Returns whether it
 * changed. */
static bool shape_body_of(struct proxy *px, const struct shape *s)
{
    struct buf *b = &px->r->body;
    size_t n = 0;
    char *body;
    bool fits;

    if (!shape_changes_body(s) || !body_rewritable(px) ||
        (body = shape_body(s, b->data, b->len, &n)) == NULL)
        return false;
    if ((fits = n <= b->max)) {
        buf_reset(b);
        buf_append(b, body, n);
    }
    free(body);
    return fits;
}

/* The refusal of a request whose model is not allowed, or whose body
 * names none: its error, and its message in no. */
static enum err refuse(const struct proxy *px, const char *model, struct shape_refusal *no)
{
    if (model[0] == '\0') {
        snprintf(no->message, sizeof(no->message),
                 "model: the request names no model (no $.model in its JSON body, no "
                 "/models/{model}: in its path), and upstream %s allows only the models of its "
                 "model_allow",
                 px->up->name);
        return no->code = ERR_INVALID_FIELD;
    }
    snprintf(no->message, sizeof(no->message),
             "model %s is not allowed on upstream %s (model_allow)", model, px->up->name);
    return no->code = ERR_MODEL_NOT_ALLOWED;
}

/* Reads the model of the body and of the path into asked (the body's
 * first) and checks both: a provider may take either, so that each one
 * found must be allowed.  A request with a body that names no model is
 * refused under an allow-list; one without a body (GET /models) passes.
 * Returns the refusal's model ("" for none found), or NULL. */
static const char *check_models(struct proxy *px, const struct shape *s, const char *path,
                                char *asked, char *in_path)
{
    struct req *r = px->r;

    usage_request_model(NULL, r->body.data, r->body.len, asked, USAGE_MODEL_MAX);
    usage_request_model(path, NULL, 0, in_path, USAGE_MODEL_MAX);
    if (s->nallow == 0)
        goto out;
    if (asked[0] != '\0' && !shape_model_allowed(s, asked))
        return asked;
    if (in_path[0] != '\0' && !shape_model_allowed(s, in_path))
        return in_path;
    if (asked[0] == '\0' && in_path[0] == '\0' && r->body.len > 0)
        return "";
out:
    if (asked[0] == '\0')
        memcpy(asked, in_path, USAGE_MODEL_MAX);
    return NULL;
}

enum err proxy_shape_apply(struct proxy *px, struct shape_refusal *no)
{
    const struct shape *s = px->up->shape;
    struct req *r = px->r;
    char asked[USAGE_MODEL_MAX], in_path[USAGE_MODEL_MAX], sent[USAGE_MODEL_MAX];
    bool models = s != NULL && (s->nallow > 0 || s->nmap > 0), changed;
    const char *bad;
    char *path;

    if (s == NULL)
        return ERR_OK;
    if ((path = slashed_rest(px)) == NULL) {
        snprintf(no->message, sizeof(no->message), "out of memory");
        return no->code = ERR_INTERNAL;
    }
    /* body_set alone needs no model: the body is not scanned for one. */
    if (models && (bad = check_models(px, s, path, asked, in_path)) != NULL) {
        free(path);
        if (px->log != NULL) /* the model refused */
            snprintf(px->log->model_requested, sizeof(px->log->model_requested), "%s", bad);
        return refuse(px, bad, no);
    }
    changed = map_path(px, s, path);
    free(path);
    changed |= shape_body_of(px, s);
    if (changed && px->hook != NULL)
        hook_args_refresh(px->hook); /* onResponse and rule scripts see what went */
    if (px->log == NULL || !models)
        return ERR_OK;
    snprintf(px->log->model_requested, sizeof(px->log->model_requested), "%s", asked);
    /* Without a usage format nothing else names the model sent. */
    if (px->up->usage_format == USAGE_FORMAT_NONE && (path = slashed_rest(px)) != NULL) {
        usage_request_model(path, r->body.data, r->body.len, sent, sizeof(sent));
        memcpy(px->log->usage.model, sent, sizeof(sent));
        free(path);
    }
    return ERR_OK;
}

enum err proxy_shape_request(struct proxy *px)
{
    struct shape_refusal no;
    enum err e = proxy_shape_apply(px, &no);

    if (e != ERR_OK)
        reply_error(px->r, e, "%s", no.message);
    return e;
}
