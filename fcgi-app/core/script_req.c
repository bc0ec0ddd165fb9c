/* The request and ctx as scripts see them; see script_req.h. */
#include "core/script_req.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/nelem.h"
#include "core/utf8.h"
#include "core/valid.h"

void script_req_fields(struct script_field f[REQ__MAX], const char *method, const char *path,
                       size_t path_len, const char *body, size_t body_len, size_t body_limit)
{
    size_t n = body_len > body_limit ? utf8_floor(body, body_limit) : body_len;
    bool text = body_len > 0 && utf8_valid(body, n);

    f[REQ_METHOD] = (struct script_field){
        .name = "method", .type = SCRIPT_F_STRING, .s = method, .len = strlen(method)};
    f[REQ_PATH] =
        (struct script_field){.name = "path", .type = SCRIPT_F_STRING, .s = path, .len = path_len};
    f[REQ_QUERY] = (struct script_field){.name = "query", .type = SCRIPT_F_QUERY, .lazy = true};
    f[REQ_HEADERS] = (struct script_field){.name = "headers", .type = SCRIPT_F_PAIRS, .lazy = true};
    f[REQ_BODY] = (struct script_field){.name = "body",
                                        .type = SCRIPT_F_STRING,
                                        .lazy = true,
                                        .s = text ? body : NULL,
                                        .len = text ? n : 0};
    f[REQ_TRUNCATED] =
        (struct script_field){.name = "body_truncated", .type = SCRIPT_F_BOOL, .num = n < body_len};
    f[REQ_JSON] = (struct script_field){.name = "json",
                                        .type = SCRIPT_F_JSON,
                                        .lazy = true,
                                        .s = text && n == body_len ? body : NULL,
                                        .len = text && n == body_len ? n : 0};
}

void script_ctx_fields(struct script_field f[CTX__MAX], const char *request_id,
                       const char *upstream, const char *token, long long now_ms)
{
    f[CTX_REQUEST_ID] = (struct script_field){
        .name = "request_id", .type = SCRIPT_F_STRING, .s = request_id, .len = strlen(request_id)};
    f[CTX_UPSTREAM] = (struct script_field){
        .name = "upstream", .type = SCRIPT_F_STRING, .s = upstream, .len = strlen(upstream)};
    f[CTX_TOKEN] = (struct script_field){.name = "token",
                                         .type = SCRIPT_F_STRING,
                                         .s = token,
                                         .len = token != NULL ? strlen(token) : 0};
    f[CTX_NOW] =
        (struct script_field){.name = "now_ms", .type = SCRIPT_F_NUMBER, .num = (double)now_ms};
}

bool script_header_ok(const char *name, size_t nlen, const char *value, size_t vlen)
{
    char n[SCRIPT_HEADER_NAME_MAX + 1];

    if (nlen == 0 || nlen > SCRIPT_HEADER_NAME_MAX || memchr(name, '\0', nlen) != NULL)
        return false;
    memcpy(n, name, nlen);
    n[nlen] = '\0';
    return check_header_name(n) == NULL && memchr(value, '\0', vlen) == NULL &&
           memchr(value, '\r', vlen) == NULL && memchr(value, '\n', vlen) == NULL;
}

const char *script_req_check(const struct script_field f[REQ__MAX], char *buf, size_t len)
{
    const struct script_field *m = &f[REQ_METHOD], *p = &f[REQ_PATH], *h = &f[REQ_HEADERS];
    size_t i;

    for (i = 0; i < REQ__MAX; i++) {
        if (f[i].malformed != NULL) {
            snprintf(buf, len, "req.%s %s", f[i].name, f[i].malformed);
            return buf;
        }
    }
    if (m->changed) {
        for (i = 0; i < m->out_len && isupper((unsigned char)m->out_s[i]); i++)
            ;
        if (m->out_len == 0 || m->out_len > 16 || i != m->out_len)
            return "req.method must be 1 to 16 capital letters";
    }
    if (p->changed && (p->out_len == 0 || p->out_s[0] != '/' || strlen(p->out_s) != p->out_len))
        return "req.path must be a string that begins with /";
    for (i = 0; h->changed && i < h->out_npairs; i++) {
        const struct script_pair *x = &h->out_pairs[i];
        if (!script_header_ok(x->name, x->name_len, x->value, x->value_len))
            return "req.headers must be an object of header names to strings without CR/LF";
    }
    return NULL;
}

bool script_req_new_body(const struct script_field f[REQ__MAX], const char **s, size_t *len)
{
    if (f[REQ_JSON].changed) {
        *s = f[REQ_JSON].out_s;
        *len = f[REQ_JSON].out_len;
        return true;
    }
    if (f[REQ_BODY].changed) {
        *s = f[REQ_BODY].out_s != NULL ? f[REQ_BODY].out_s : "";
        *len = f[REQ_BODY].out_len;
        return true;
    }
    return false;
}

bool script_header_fixed(const char *name)
{
    static const char *const fixed[] = {"connection",        "keep-alive", "proxy-authorization",
                                        "proxy-connection",  "te",         "trailer",
                                        "transfer-encoding", "upgrade",    "host",
                                        "content-length",    "expect"};
    size_t i;

    for (i = 0; i < NELEM(fixed); i++)
        if (strcasecmp(name, fixed[i]) == 0)
            return true;
    return false;
}
