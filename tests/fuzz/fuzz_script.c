/* libFuzzer harness: upstream scripts come from operators, and the values
 * they see come from clients and upstreams.  The first byte picks what the
 * rest is: a hooks source or a rule leaf's body (compiled, then each hook
 * it defines called with fixed values), or a JSON value (passed through a
 * fixed set of hooks: identity, field reads, changes, a loop that only
 * the time limit ends).  Whatever comes, nothing may crash, overrun or
 * leak, and every call ends ok (with JSON results) or with one of the
 * error kinds (with none).  Each is also called with arguments described
 * in C (core/script_obj.h, as the proxy passes them), the input or "{}" as
 * the request's and the answer's body, and onRequest's req read back. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rule/rule.h"
#include "core/script.h"
#include "core/script_obj.h"
#include "core/script_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Short limits keep the executions many: a timeout costs its limit. */
static const struct script_limits lim = {2, 4096};

static const char *const fixed_src[] = {
    "function onRequest(req, ctx) { return req; }",
    "function onResponse(res, req, ctx) {\n"
    "  var n = 0;\n"
    "  for (var k in res) n += String(res[k]).length;\n"
    "  if (res && res.json && res.json.error) return {action: 'retry', reason: '' + res.json.error};\n"
    "  return {n: n, t: typeof res, h: res && res.headers, s: res && res.status};\n"
    "}",
    "function onRequest(req, ctx) {\n"
    "  if (req === null || typeof req !== 'object') return {status: 400, body: String(req)};\n"
    "  req.headers = req.headers || {}; req.headers['x-n'] = Object.keys(req).length;\n"
    "  req.path = String(req.path) + '/x'; req.copy = JSON.parse(JSON.stringify(req));\n"
    "  ctx.log(JSON.stringify(req).slice(0, 100));\n"
    "}",
    "function onRequest(req) { var n = 0; while (req !== n) n++; }",
    "function onRequest(req) {\n"
    "  var j = req.json, b = req.body;\n"
    "  if (j && typeof j === 'object') j.fz = [b && b.length, req.body_truncated];\n"
    "  req.query = {a: [String(b).slice(0, 10)], b: 1};\n"
    "  req.headers['x-' + String(req.query.a[0]).length] = String(b).slice(0, 5);\n"
    "}",
};

static struct script *fixed[sizeof(fixed_src) / sizeof(fixed_src[0])];
static struct script *leaf;

/* ctx.log for the harness: reads the message. */
static void sink(void *udata, const char *msg)
{
    *(size_t *)udata += strlen(msg);
}

/* Compiles the fixed scripts once; aborts when one does not compile. */
static void init(void)
{
    struct script_limits slow = {1000, 4096};
    struct script_error err;
    size_t i;

    if (leaf != NULL)
        return;
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        fixed[i] =
            script_compile(SCRIPT_FORM_HOOKS, fixed_src[i], strlen(fixed_src[i]), &slow, &err);
        if (fixed[i] == NULL)
            abort();
    }
    leaf = script_compile(SCRIPT_FORM_LEAF, "return res.status >= 500 || !!(req && req.x);", 45,
                          &slow, &err);
    if (leaf == NULL)
        abort();
}

/* Calls hook of s with args (copied into the call) and checks the outcome. */
static void call(const struct script *s, enum script_hook hook, json_object *const *args,
                 size_t nargs)
{
    struct script_call c;
    size_t logged = 0;
    enum script_kind kind;

    memset(&c, 0, sizeof(c));
    c.hook = hook;
    memcpy(c.args, args, nargs * sizeof(args[0]));
    c.nargs = nargs;
    c.want_arg0 = hook == SCRIPT_HOOK_REQUEST;
    c.log = sink;
    c.log_udata = &logged;
    kind = script_call(s, &lim, &c);
    if ((unsigned)kind >= SCRIPT_KIND__MAX || kind == SCRIPT_COMPILE)
        abort();
    if (kind != SCRIPT_OK && (c.result != NULL || c.arg0 != NULL || c.err.kind != kind))
        abort();
    if (strlen(c.err.message) >= SCRIPT_MESSAGE_MAX || c.err.line < 0)
        abort();
    /* Results are whole JSON values. */
    if (c.result != NULL && json_object_to_json_string(c.result) == NULL)
        abort();
    json_object_put(c.result);
    json_object_put(c.arg0);
}

/* Checks what a call came to (ok with a whole JSON result, or an error
 * kind with nothing) and frees it. */
static void check(struct script_call *c, enum script_kind kind)
{
    if ((unsigned)kind >= SCRIPT_KIND__MAX || kind == SCRIPT_COMPILE)
        abort();
    if (kind != SCRIPT_OK && (c->result != NULL || c->arg0 != NULL || c->err.kind != kind))
        abort();
    if (c->result != NULL && json_object_to_json_string(c->result) == NULL)
        abort();
    json_object_put(c->result);
    json_object_put(c->arg0);
}

/* Calls hook of s with described arguments: req and res with body (n
 * bytes) as their bodies, and reads req back after onRequest. */
static void call_described(const struct script *s, enum script_hook hook, const char *body,
                           size_t n)
{
    static const struct script_pair q[] = {{"a", 1, "1", 1}, {"a", 1, "2", 1}};
    static const struct script_pair h[] = {{"content-type", 12, "application/json", 16}};
    static const struct rule_header rh[] = {{"Content-Type", 12, "application/json", 16}};
    struct script_field rf[REQ__MAX], cf[CTX__MAX];
    struct script_obj req = {rf, REQ__MAX, NULL, NULL, "req", false};
    struct script_obj ctx = {cf, CTX__MAX, NULL, NULL, "ctx", true};
    struct rule_input in;
    struct rule_script_res *res;
    struct script_call c;
    char why[160];
    const char *b;
    size_t blen, logged = 0;

    script_req_fields(rf, "POST", "/v1/x", 5, body, n, 64);
    rf[REQ_QUERY].pairs = q;
    rf[REQ_QUERY].npairs = 2;
    rf[REQ_HEADERS].pairs = h;
    rf[REQ_HEADERS].npairs = 1;
    script_ctx_fields(cf, "r", "u", NULL, 0);
    memset(&in, 0, sizeof(in));
    in.status = 200;
    in.headers = rh;
    in.nheaders = 1;
    in.body = body;
    in.body_len = n;
    if ((res = rule_script_res(&in)) == NULL)
        abort();
    rule_script_res_key(res, 1, 7, "k", "sk-...");
    memset(&c, 0, sizeof(c));
    c.hook = hook;
    c.objs[0] = hook == SCRIPT_HOOK_REQUEST ? &req : rule_script_res_obj(res);
    c.objs[1] = hook == SCRIPT_HOOK_REQUEST ? &ctx : &req;
    c.objs[2] = &ctx;
    c.nargs = hook == SCRIPT_HOOK_RESPONSE ? 3 : 2;
    c.want_arg0 = hook == SCRIPT_HOOK_REQUEST;
    c.log = sink;
    c.log_udata = &logged;
    check(&c, script_call(s, &lim, &c));
    if (hook == SCRIPT_HOOK_REQUEST && script_req_check(rf, why, sizeof(why)) == NULL &&
        script_req_new_body(rf, &b, &blen) && b == NULL)
        abort();
    script_obj_clear(&req);
    rule_input_done(&in);
}

/* Compiles data as form and calls every hook it defines. */
static void fuzz_source(enum script_form form, const uint8_t *data, size_t size)
{
    json_object *req = json_tokener_parse("{\"method\":\"POST\",\"path\":\"/v1/x\",\"query\":{},"
                                          "\"headers\":{\"a\":\"b\"},\"body\":\"{}\",\"json\":{}}");
    json_object *res = json_tokener_parse("{\"status\":429,\"headers\":{},\"body\":\"x\","
                                          "\"json\":{\"error\":\"busy\"},\"attempt\":1}");
    json_object *ctx = json_tokener_parse("{\"request_id\":\"r\",\"upstream\":\"u\"}");
    json_object *a2[2] = {req, ctx}, *a3[3] = {res, req, ctx}, *leafargs[2] = {res, req};
    struct script_error err;
    struct script *s = script_compile(form, (const char *)data, size, &lim, &err);

    if (s == NULL) {
        if ((unsigned)err.kind >= SCRIPT_KIND__MAX || err.kind == SCRIPT_OK)
            abort();
    } else {
        call(s, SCRIPT_HOOK_REQUEST, a2, 2);
        call(s, SCRIPT_HOOK_RESPONSE, a3, 3);
        call(s, SCRIPT_HOOK_LEAF, leafargs, 2);
        call_described(s, SCRIPT_HOOK_REQUEST, "{\"model\":\"m\"}", 13);
        call_described(s, SCRIPT_HOOK_RESPONSE, "{\"error\":{\"code\":1}}", 20);
        call_described(s, SCRIPT_HOOK_LEAF, "x", 1);
        script_free(s);
    }
    json_object_put(req);
    json_object_put(res);
    json_object_put(ctx);
}

/* Parses data as JSON and passes it through the fixed scripts. */
static void fuzz_value(unsigned pick, const uint8_t *data, size_t size)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *v = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_object *ctx = json_object_new_object(), *a2[2] = {v, ctx}, *a3[3] = {v, v, ctx};

    json_tokener_free(tok);
    call(fixed[0], SCRIPT_HOOK_REQUEST, a2, 2);
    call(fixed[1], SCRIPT_HOOK_RESPONSE, a3, 3);
    call(fixed[2], SCRIPT_HOOK_REQUEST, a2, 2);
    call(leaf, SCRIPT_HOOK_LEAF, a3, 2);
    /* The endless loop costs its whole limit: one value in eight. */
    if ((pick & 0x38) == 0)
        call(fixed[3], SCRIPT_HOOK_REQUEST, a2, 1);
    /* The same input as the body of a request and of an answer. */
    call_described(fixed[0], SCRIPT_HOOK_REQUEST, (const char *)data, size);
    call_described(fixed[1], SCRIPT_HOOK_RESPONSE, (const char *)data, size);
    call_described(fixed[2], SCRIPT_HOOK_REQUEST, (const char *)data, size);
    call_described(leaf, SCRIPT_HOOK_LEAF, (const char *)data, size);
    call_described(fixed[4], SCRIPT_HOOK_REQUEST, (const char *)data, size);
    json_object_put(v);
    json_object_put(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    init();
    switch (data[0] & 3) {
    case 0:
        fuzz_source(SCRIPT_FORM_HOOKS, data + 1, size - 1);
        break;
    case 1:
        fuzz_source(SCRIPT_FORM_LEAF, data + 1, size - 1);
        break;
    default:
        fuzz_value(data[0], data + 1, size - 1);
        break;
    }
    return 0;
}
