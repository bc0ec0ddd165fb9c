/* Script leaves of rule conditions ({"type": "script", "source": "..."}):
 * compiled once with the rule (SCRIPT_FORM_LEAF), called with (res, req)
 * where res is built once per input from the answer; and the values that
 * scripts see of an answer, which the proxy's onResponse shares. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mask.h"
#include "core/rule/rule_int.h"
#include "core/script.h"
#include "core/script_obj.h"

#define HEADER_NAME_MAX 256
/* The headers of an answer as scripts see them, masked, at most. */
#define RES_HEADERS_MAX (4u << 20)

int rule_script_compile(struct rule_cond *c, struct json_object *j, const char *place, char *err,
                        size_t errlen)
{
    static const struct script_limits lim = {SCRIPT_TIMEOUT_MS_DEFAULT, SCRIPT_MEMORY_KB_DEFAULT};
    struct json_object *v = json_object_object_get(j, "source");
    struct script_error e;
    size_t len;

    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) {
        rule_fail(err, errlen, place, "source", "must be a non-empty string");
        return -1;
    }
    len = (size_t)json_object_get_string_len(v);
    if (len > SCRIPT_SOURCE_MAX) {
        rule_fail(err, errlen, place, "source", "must be at most %d bytes", SCRIPT_SOURCE_MAX);
        return -1;
    }
    c->script = script_compile(SCRIPT_FORM_LEAF, json_object_get_string(v), len, &lim, &e);
    if (c->script == NULL) {
        rule_fail(err, errlen, place, "source", "line %d: %s (%s)", e.line, e.message,
                  script_kind_name(e.kind));
        return -1;
    }
    return 0;
}

static const char *transport_name(enum transport_kind t)
{
    switch (t) {
    case TRANSPORT_NONE:
        return NULL;
    case TRANSPORT_TIMEOUT:
        return "timeout";
    case TRANSPORT_CONNECT:
        return "connect";
    case TRANSPORT_OTHER:
        return "other";
    case TRANSPORT_PROXY:
        return "proxy";
    }
    return "other";
}

/* The fields of res, in the order scripts see them. */
enum {
    RES_STATUS,
    RES_HEADERS,
    RES_BODY,
    RES_JSON,
    RES_LATENCY,
    RES_TRANSPORT,
    RES_ATTEMPT,
    RES_KEY,
    RES__MAX
};
enum { KEY_ID, KEY_NAME, KEY_MASKED, KEY__MAX };

struct rule_script_res {
    struct script_obj obj;
    struct script_field f[RES__MAX];
    struct script_obj key;
    struct script_field key_f[KEY__MAX];
    const struct rule_input *in;
    struct buf body;             /* masked */
    struct script_pair *headers; /* lower-case names and masked values */
    char *header_store;
    bool body_masked;
};

/* The answer's headers, names in lower case and values masked, as
 * res.headers' pairs (in r->headers and r->header_store). */
static void res_headers(struct rule_script_res *r)
{
    const struct rule_input *in = r->in;
    struct script_pairs list;
    struct buf value;
    char lower[HEADER_NAME_MAX];
    size_t i, k;

    script_pairs_init(&list, RES_HEADERS_MAX);
    buf_init(&value, RES_HEADERS_MAX);
    for (i = 0; i < in->nheaders; i++) {
        const struct rule_header *h = &in->headers[i];
        if (h->name_len >= sizeof(lower))
            continue;
        for (k = 0; k < h->name_len; k++)
            lower[k] = (char)tolower((unsigned char)h->name[k]);
        buf_reset(&value);
        if (mask_buf(&value, h->value, h->value_len, in->secret) < 0 ||
            script_pairs_add(&list, lower, k, value.data != NULL ? value.data : "", value.len) != 0)
            break;
    }
    buf_free(&value);
    if (script_pairs_take(&list, &r->headers, &r->f[RES_HEADERS].npairs, &r->header_store) != 0) {
        script_pairs_free(&list);
        r->f[RES_HEADERS].npairs = 0;
    }
    r->f[RES_HEADERS].pairs = r->headers;
}

/* Masks what a script reads of the answer when it first reads it: the
 * body (for body and json, once) or the headers (prepare of script_obj). */
static void res_prepare(struct script_obj *o, struct script_field *f)
{
    struct rule_script_res *r = o->udata;
    const struct rule_input *in = r->in;

    if (f == &r->f[RES_HEADERS]) {
        res_headers(r);
    } else if ((f == &r->f[RES_BODY] || f == &r->f[RES_JSON]) && !r->body_masked) {
        r->body_masked = true;
        if (in->body != NULL && mask_buf(&r->body, in->body, in->body_len, in->secret) >= 0) {
            r->f[RES_BODY].s = r->f[RES_JSON].s = r->body.data != NULL ? r->body.data : "";
            r->f[RES_BODY].len = r->f[RES_JSON].len = r->body.len;
        }
    }
}

struct rule_script_res *rule_script_res(struct rule_input *in)
{
    struct rule_script_res *r;
    const char *t;

    if (in->script_res != NULL)
        return in->script_res;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    t = transport_name(in->transport);
    r->in = in;
    buf_init(&r->body, mask_buf_bound(in->body_len));
    r->f[RES_STATUS] =
        (struct script_field){.name = "status", .type = SCRIPT_F_NUMBER, .num = in->status};
    r->f[RES_HEADERS] =
        (struct script_field){.name = "headers", .type = SCRIPT_F_PAIRS, .lazy = true};
    r->f[RES_BODY] = (struct script_field){.name = "body", .type = SCRIPT_F_STRING, .lazy = true};
    r->f[RES_JSON] = (struct script_field){.name = "json", .type = SCRIPT_F_JSON, .lazy = true};
    r->f[RES_LATENCY] = (struct script_field){
        .name = "latency_ms", .type = SCRIPT_F_NUMBER, .num = (double)in->latency_ms};
    r->f[RES_TRANSPORT] = (struct script_field){.name = "transport_error",
                                                .type = SCRIPT_F_STRING,
                                                .s = t,
                                                .len = t != NULL ? strlen(t) : 0};
    r->f[RES_ATTEMPT] = (struct script_field){.name = "attempt", .type = SCRIPT_F_NULL};
    r->f[RES_KEY] = (struct script_field){.name = "key", .type = SCRIPT_F_NULL};
    r->obj = (struct script_obj){r->f, RES__MAX, res_prepare, r, "res", false};
    in->script_res = r;
    return r;
}

void rule_script_res_key(struct rule_script_res *r, int attempt, long long id, const char *name,
                         const char *masked)
{
    r->f[RES_ATTEMPT] =
        (struct script_field){.name = "attempt", .type = SCRIPT_F_NUMBER, .num = attempt};
    r->key_f[KEY_ID] =
        (struct script_field){.name = "id", .type = SCRIPT_F_NUMBER, .num = (double)id};
    r->key_f[KEY_NAME] = (struct script_field){
        .name = "name", .type = SCRIPT_F_STRING, .s = name, .len = name != NULL ? strlen(name) : 0};
    r->key_f[KEY_MASKED] = (struct script_field){
        .name = "masked", .type = SCRIPT_F_STRING, .s = masked, .len = strlen(masked)};
    r->key = (struct script_obj){r->key_f, KEY__MAX, NULL, NULL, "res.key", false};
    r->f[RES_KEY] =
        (struct script_field){.name = "key", .type = SCRIPT_F_OBJECT, .lazy = true, .obj = &r->key};
}

struct script_obj *rule_script_res_obj(struct rule_script_res *r)
{
    return r != NULL ? &r->obj : NULL;
}

void rule_script_res_free(struct rule_script_res *r)
{
    if (r == NULL)
        return;
    buf_free(&r->body);
    free(r->header_store);
    free(r->headers);
    free(r);
}

bool rule_script_eval(const struct rule_cond *c, struct rule_input *in)
{
    static const struct script_limits defaults = {SCRIPT_TIMEOUT_MS_DEFAULT,
                                                  SCRIPT_MEMORY_KB_DEFAULT};
    struct script_call call;
    bool match;

    memset(&call, 0, sizeof(call));
    call.hook = SCRIPT_HOOK_LEAF;
    call.objs[0] = rule_script_res_obj(rule_script_res(in));
    call.objs[1] = in->script_req;
    call.nargs = 2;
    if (script_call(c->script, in->script_lim != NULL ? in->script_lim : &defaults, &call) !=
        SCRIPT_OK) {
        if (in->script_error != NULL)
            in->script_error(in->script_udata, &call.err);
        return false;
    }
    match = call.result != NULL && !json_object_is_type(call.result, json_type_null) &&
            json_object_get_boolean(call.result);
    json_object_put(call.result);
    return match;
}

static bool cond_has_script(const struct rule_cond *c)
{
    size_t i;

    if (c == NULL)
        return false;
    if (c->kind == K_SCRIPT)
        return true;
    for (i = 0; i < c->nkids; i++)
        if (cond_has_script(c->kids[i]))
            return true;
    return false;
}

bool rule_has_script(const struct rule *r)
{
    return r != NULL && cond_has_script(r->cond);
}
