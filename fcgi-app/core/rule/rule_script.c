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

#define HEADER_NAME_MAX  256
#define HEADER_VALUE_MAX (16 * 1024)

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

struct json_object *rule_script_json(const char *body, size_t len)
{
    json_tokener *tok;
    json_object *o;

    if (body == NULL || len == 0 || len > INT32_MAX || (body[0] != '{' && body[0] != '['))
        return NULL;
    if ((tok = json_tokener_new()) == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, body, (int)len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                      json_tokener_get_parse_end(tok) != len)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
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
    }
    return "other";
}

/* The answer's headers, names in lower case, values masked by secret. */
static struct json_object *res_headers(const struct rule_input *in,
                                       const struct mask_secret *secret)
{
    struct json_object *o = json_object_new_object();
    char name[HEADER_NAME_MAX], *value = malloc(HEADER_VALUE_MAX);
    size_t i, k;

    for (i = 0; value != NULL && i < in->nheaders; i++) {
        const struct rule_header *h = &in->headers[i];
        if (h->name_len >= sizeof(name))
            continue;
        for (k = 0; k < h->name_len; k++)
            name[k] = (char)tolower((unsigned char)h->name[k]);
        name[k] = '\0';
        if (secret != NULL) {
            mask_text(value, HEADER_VALUE_MAX, h->value, h->value_len, secret, false);
            json_object_object_add(o, name, json_object_new_string(value));
        } else {
            json_object_object_add(o, name,
                                   json_object_new_string_len(h->value, (int)h->value_len));
        }
    }
    free(value);
    return o;
}

struct json_object *rule_script_res(const struct rule_input *in, const struct mask_secret *secret)
{
    struct json_object *res = json_object_new_object(), *json = NULL;
    const char *t = transport_name(in->transport);
    struct buf body;

    buf_init(&body, mask_buf_bound(in->body_len));
    if (secret != NULL)
        mask_buf(&body, in->body != NULL ? in->body : "", in->body_len, secret);
    else
        buf_append(&body, in->body != NULL ? in->body : "", in->body_len);
    json_object_object_add(res, "status", json_object_new_int(in->status));
    json_object_object_add(res, "headers", res_headers(in, secret));
    json_object_object_add(
        res, "body",
        in->body != NULL ? json_object_new_string_len(buf_str(&body), (int)body.len) : NULL);
    if (body.len > 0 && (json = rule_script_json(body.data, body.len)) != NULL)
        json_object_object_add(res, "json", json);
    json_object_object_add(res, "latency_ms", json_object_new_int64(in->latency_ms));
    json_object_object_add(res, "transport_error", t != NULL ? json_object_new_string(t) : NULL);
    buf_free(&body);
    return res;
}

bool rule_script_eval(const struct rule_cond *c, struct rule_input *in)
{
    static const struct script_limits defaults = {SCRIPT_TIMEOUT_MS_DEFAULT,
                                                  SCRIPT_MEMORY_KB_DEFAULT};
    struct script_call call;
    bool match;

    if (in->script_res == NULL)
        in->script_res = rule_script_res(in, in->secret);
    memset(&call, 0, sizeof(call));
    call.hook = SCRIPT_HOOK_LEAF;
    call.args[0] = in->script_res;
    call.args[1] = in->script_req;
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
