/*
 * POST /api/admin/scripts/test: a dry run of an upstream's hooks against a
 * sample request and answer, without any network.  It answers the request
 * onRequest would send (the key shown as `<key>`), whether it answered the
 * client itself, what onResponse returned, the log lines, the time each
 * hook took and the errors with their kind and line (docs/API.md).
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/handlers.h"
#include "admin/doc_tables.h"
#include "admin/resource.h"
#include "admin/scripts.h"
#include "admin/scripts_run.h"
#include "app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/nelem.h"
#include "core/rule/rule.h"
#include "core/script_obj.h"
#include "core/script_req.h"
#include "http.h"

#define TEST_LOGS_MAX 100

static const char *check_template(const char *s)
{
    return strstr(s, "{key}") == NULL ? "must contain {key}" : check_no_ctl(s);
}

static const char *check_method(const char *s)
{
    for (; *s != '\0'; s++)
        if (!isupper((unsigned char)*s))
            return "must be an upper-case HTTP method such as GET or POST";
    return NULL;
}

static const struct vfield test_fields[] = {
    {.name = "script", .type = VT_STRING, .flags = VF_REQUIRED, .min = 0, .max = SCRIPT_SOURCE_MAX},
    {.name = "request", .type = VT_OBJECT, .flags = VF_REQUIRED},
    {.name = "response", .type = VT_OBJECT, .flags = VF_NULLABLE},
    {.name = "auth_header", .type = VT_STRING, .min = 1, .max = 128, .check = check_header_name},
    {.name = "auth_template", .type = VT_STRING, .min = 5, .max = 512, .check = check_template},
    {.name = "auth_query_param",
     .type = VT_STRING,
     .flags = VF_NULLABLE,
     .min = 1,
     .max = 128,
     .check = check_query_name},
    {.name = "upstream", .type = VT_STRING, .min = 1, .max = 64, .check = check_name_slug},
    {.name = "token", .type = VT_STRING, .flags = VF_NULLABLE, .min = 1, .max = 64},
};

static const struct vfield request_fields[] = {
    {.name = "method",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 16,
     .check = check_method},
    {.name = "path",
     .type = VT_STRING,
     .flags = VF_REQUIRED,
     .min = 1,
     .max = 2048,
     .check = check_url_path},
    {.name = "query", .type = VT_OBJECT},
    {.name = "headers", .type = VT_OBJECT},
    {.name = "body", .type = VT_STRING, .flags = VF_NULLABLE, .max = ADMIN_SCRIPT_BODY_MAX},
};

static const struct vfield response_fields[] = {
    {.name = "status", .type = VT_INT, .flags = VF_REQUIRED, .min = 100, .max = 599},
    {.name = "headers", .type = VT_OBJECT},
    {.name = "body", .type = VT_STRING, .flags = VF_NULLABLE, .max = ADMIN_SCRIPT_BODY_MAX},
    {.name = "latency_ms", .type = VT_INT, .min = 0, .max = 86400000},
    {.name = "transport_error", .type = VT_STRING, .flags = VF_NULLABLE, .min = 1, .max = 16},
};

static void add_error(struct run *t, const char *hook, const char *kind, int line,
                      const char *message)
{
    struct json_object *e = json_object_new_object();

    json_object_object_add(e, "hook", json_object_new_string(hook));
    json_object_object_add(e, "kind", json_object_new_string(kind));
    json_object_object_add(e, "line", line > 0 ? json_object_new_int(line) : NULL);
    json_object_object_add(e, "message", json_object_new_string(message));
    json_object_array_add(t->errors, e);
}

/* ctx.log(msg): keeps the first TEST_LOGS_MAX lines with their hook. */
static void on_log(void *udata, const char *msg)
{
    struct run *t = udata;
    struct json_object *l;

    if (json_object_array_length(t->logs) >= TEST_LOGS_MAX)
        return;
    l = json_object_new_object();
    json_object_object_add(l, "hook", json_object_new_string(t->hook));
    json_object_object_add(l, "message", json_object_new_string(msg));
    json_object_array_add(t->logs, l);
}

/* The pairs of a validated object of names to strings (or, query, to
 * arrays of strings); NULL with *n 0 when it is empty or memory ran out. */
static struct script_pair *pairs_of(struct json_object *o, bool query, size_t *n)
{
    struct script_pair *p;
    size_t k = 0, i, len;

    *n = 0;
    json_object_object_foreach(o, name0, v0)
    {
        (void)name0;
        k += query ? json_object_array_length(v0) : 1;
    }
    if (k == 0 || (p = calloc(k, sizeof(*p))) == NULL)
        return NULL;
    json_object_object_foreach(o, name, v)
    {
        len = query ? json_object_array_length(v) : 1;
        for (i = 0; i < len; i++) {
            struct json_object *x = query ? json_object_array_get_idx(v, i) : v;
            p[*n] = (struct script_pair){name, strlen(name), json_object_get_string(x),
                                         (size_t)json_object_get_string_len(x)};
            (*n)++;
        }
    }
    return p;
}

/* Builds req and ctx from the validated input.  Answers 400 and returns
 * false when the request is bad. */
static bool build_request(struct run *t)
{
    struct json_object *rq = NULL, *headers = NULL, *query = NULL;
    const char *body, *path;
    char msg[256];

    json_object_object_get_ex(t->in, "request", &rq);
    if (!json_object_is_type(rq, json_type_object)) {
        reply_error(t->r, ERR_INVALID_FIELD, "request: must be an object");
        return false;
    }
    if (valid_body(rq, request_fields, NELEM(request_fields), true, msg, sizeof(msg)) != ERR_OK) {
        reply_error(t->r, ERR_INVALID_FIELD, "request.%s", msg);
        return false;
    }
    json_object_object_get_ex(rq, "headers", &headers);
    json_object_object_get_ex(rq, "query", &query);
    if (!admin_script_query(t->r, query, &t->query) ||
        !admin_script_headers(t->r, headers, "request.headers", &t->headers))
        return false;
    t->query_pairs = pairs_of(t->query, true, &t->nquery);
    t->header_pairs = pairs_of(t->headers, false, &t->nheaders);
    body = rs_jstr(rq, "body");
    path = rs_jstr(rq, "path");
    script_req_fields(t->req_f, rs_jstr(rq, "method"), path, strlen(path), body,
                      body != NULL ? strlen(body) : 0, (size_t)t->r->cfg->script_body_limit);
    t->req_f[REQ_QUERY].pairs = t->query_pairs;
    t->req_f[REQ_QUERY].npairs = t->nquery;
    t->req_f[REQ_HEADERS].pairs = t->header_pairs;
    t->req_f[REQ_HEADERS].npairs = t->nheaders;
    t->req = (struct script_obj){t->req_f, REQ__MAX, NULL, NULL, "req", false};
    script_ctx_fields(t->ctx_f, t->r->id,
                      rs_jstr(t->in, "upstream") != NULL ? rs_jstr(t->in, "upstream") : "test",
                      rs_jstr(t->in, "token"), clock_wall_ms());
    t->ctx = (struct script_obj){t->ctx_f, CTX__MAX, NULL, NULL, "ctx", true};
    return true;
}

/* Calls one hook, timing it and recording its error.  Returns the kind;
 * c->result and c->arg0 belong to the caller. */
static enum script_kind call_hook(struct run *t, struct script_call *c, const char *hook,
                                  const char *ms_name)
{
    struct json_object *ms = NULL;
    int64_t start;
    enum script_kind k;

    json_object_object_get_ex(t->out, "ms", &ms);
    c->log = on_log;
    c->log_udata = t;
    t->hook = hook;
    start = clock_mono_us();
    k = script_call(t->s, &t->lim, c);
    json_object_object_add(ms, ms_name,
                           json_object_new_double((double)(clock_mono_us() - start) / 1000.0));
    if (k != SCRIPT_OK)
        add_error(t, hook, script_kind_name(k), c->err.line, c->err.message);
    return k;
}

/* Whether onRequest's result answers the client; sets "answer" when it
 * does (a status outside SCRIPT_ANSWER_STATUS_MIN..MAX is a malformed
 * result, as in the proxy). */
static bool self_answer(struct run *t, struct json_object *result)
{
    struct json_object *st = NULL, *hd = NULL, *body = NULL, *a;
    int status;

    if (!json_object_is_type(result, json_type_object) ||
        !json_object_object_get_ex(result, "status", &st))
        return false;
    status = json_object_is_type(st, json_type_int) ? json_object_get_int(st) : 0;
    if (status < SCRIPT_ANSWER_STATUS_MIN || status > SCRIPT_ANSWER_STATUS_MAX) {
        add_error(t, "onRequest", "malformed", 0,
                  "the returned status must be a number from 200 to 599");
        return false;
    }
    json_object_object_get_ex(result, "headers", &hd);
    json_object_object_get_ex(result, "body", &body);
    a = json_object_new_object();
    json_object_object_add(a, "status", json_object_new_int(status));
    json_object_object_add(a, "headers",
                           json_object_is_type(hd, json_type_object) ? json_object_get(hd)
                                                                     : json_object_new_object());
    if (body == NULL || json_object_is_type(body, json_type_string))
        json_object_object_add(a, "body", json_object_get(body));
    else
        json_object_object_add(a, "body", json_object_new_string(json_text(body, NULL)));
    json_object_object_add(t->out, "answer", a);
    return true;
}

static void run_on_request(struct run *t, bool *answered)
{
    struct script_call c;
    char why[160];
    const char *bad = NULL;

    *answered = false;
    if (!script_has_hook(t->s, SCRIPT_HOOK_REQUEST))
        return;
    memset(&c, 0, sizeof(c));
    c.hook = SCRIPT_HOOK_REQUEST;
    c.objs[0] = &t->req;
    c.objs[1] = &t->ctx;
    c.nargs = 2;
    c.want_arg0 = true;
    if (call_hook(t, &c, "onRequest", "on_request") == SCRIPT_OK) {
        json_object_object_add(t->out, "request_result", json_object_get(c.result));
        *answered = self_answer(t, c.result);
        /* Changes that cannot be taken are a malformed result: the
         * request goes on as it came, as the proxy sends it. */
        if (!*answered && (bad = script_req_check(t->req_f, why, sizeof(why))) != NULL)
            add_error(t, "onRequest", "malformed", 0, bad);
        t->taken = !*answered && bad == NULL;
    }
    json_object_put(c.result);
}

/* Whether a result's scope is acceptable (as proxy/hook.c takes it): absent,
 * "key", or "model" on an action that rests a key for a model; retry has
 * no use for it. */
static bool scope_ok(const char *scope, bool present, const char *action)
{
    if (!present || (scope != NULL && strcmp(scope, "key") == 0) ||
        (action != NULL && strcmp(action, "retry") == 0))
        return true;
    return scope != NULL && strcmp(scope, "model") == 0 && action != NULL &&
           (strcmp(action, "disable_key") == 0 || strcmp(action, "exhaust_key") == 0);
}

/* Checks onResponse's result against the contract; a bad one is recorded
 * as malformed. */
static void check_response_result(struct run *t, struct json_object *res)
{
    static const char *const actions[] = {"retry", "disable_key", "exhaust_key", "ban_key"};
    const char *action;
    size_t i;

    if (res == NULL)
        return;
    if (!json_object_is_type(res, json_type_object)) {
        add_error(t, "onResponse", "malformed", 0, "the result must be undefined or an object");
        return;
    }
    action = rs_jstr(res, "action");
    for (i = 0; action != NULL && i < NELEM(actions); i++)
        if (strcmp(action, actions[i]) == 0)
            break;
    if (json_object_object_get_ex(res, "action", NULL) && i == NELEM(actions))
        add_error(t, "onResponse", "malformed", 0,
                  "action must be retry, disable_key, exhaust_key or ban_key");
    else if (!scope_ok(rs_jstr(res, "scope"), json_object_object_get_ex(res, "scope", NULL),
                       action))
        add_error(t, "onResponse", "malformed", 0,
                  "scope must be key or model (model only with disable_key or exhaust_key)");
}

/* The answer from "response" as the proxy's rules see an attempt's: its
 * body capped at rule_body_limit, no key to mask (the test has none). */
static bool build_res(struct run *t, struct json_object *resp)
{
    static const enum transport_kind kinds[] = {TRANSPORT_TIMEOUT, TRANSPORT_CONNECT,
                                                TRANSPORT_PROXY};
    static const char *const transports[] = {"timeout", "connect", "proxy"};
    struct json_object *hv = NULL;
    const char *body = rs_jstr(resp, "body"), *te = rs_jstr(resp, "transport_error");
    size_t cap = (size_t)t->r->cfg->rule_body_limit, i;

    json_object_object_get_ex(resp, "headers", &hv);
    if (!admin_script_headers(t->r, hv, "response.headers", &t->res_headers))
        return false;
    memset(&t->rin, 0, sizeof(t->rin));
    t->rin.status = (int)rs_jint(resp, "status", 0);
    t->rin.latency_ms = rs_jint(resp, "latency_ms", 0);
    t->rin.body = body;
    t->rin.body_len = body != NULL ? (strlen(body) > cap ? cap : strlen(body)) : 0;
    t->rin.transport = te == NULL ? TRANSPORT_NONE : TRANSPORT_OTHER;
    for (i = 0; te != NULL && i < NELEM(transports); i++)
        if (strcmp(te, transports[i]) == 0)
            t->rin.transport = kinds[i];
    t->rin.headers = t->rh;
    json_object_object_foreach(t->res_headers, name, v)
    {
        if (t->rin.nheaders == TEST_HEADERS_MAX)
            break;
        t->rh[t->rin.nheaders++] = (struct rule_header){
            name, strlen(name), json_object_get_string(v), (size_t)json_object_get_string_len(v)};
    }
    t->has_res = true;
    return true;
}

/* Builds the answer from "response" when one was given.  Returns false
 * after answering 400 for a bad one. */
static bool build_response(struct run *t)
{
    struct json_object *resp = NULL;
    char msg[256];

    json_object_object_get_ex(t->in, "response", &resp);
    if (resp == NULL)
        return true;
    if (!json_object_is_type(resp, json_type_object)) {
        reply_error(t->r, ERR_INVALID_FIELD, "response: must be an object");
        return false;
    }
    if (valid_body(resp, response_fields, NELEM(response_fields), true, msg, sizeof(msg)) !=
        ERR_OK) {
        reply_error(t->r, ERR_INVALID_FIELD, "response.%s", msg);
        return false;
    }
    return build_res(t, resp);
}

/* Runs onResponse when the script defines it and a response was given;
 * req is the request as it would go out. */
static void run_on_response(struct run *t)
{
    struct rule_script_res *res;
    struct script_call c;

    if (!t->has_res || !script_has_hook(t->s, SCRIPT_HOOK_RESPONSE))
        return;
    if ((res = rule_script_res(&t->rin)) == NULL) {
        add_error(t, "onResponse", "memory", 0, "out of memory");
        return;
    }
    rule_script_res_key(res, 1, 0, "test", "<key>");
    admin_script_test_forwarded(t);
    memset(&c, 0, sizeof(c));
    c.hook = SCRIPT_HOOK_RESPONSE;
    c.objs[0] = rule_script_res_obj(res);
    c.objs[1] = &t->req;
    c.objs[2] = &t->ctx;
    c.nargs = 3;
    if (call_hook(t, &c, "onResponse", "on_response") == SCRIPT_OK) {
        check_response_result(t, c.result);
        json_object_object_add(t->out, "response_result", json_object_get(c.result));
    }
    json_object_put(c.result);
}

/* The answer's skeleton: every member present, null until a step sets it. */
static struct json_object *new_answer(struct run *t)
{
    static const char *const members[] = {"request", "changed",        "dropped_headers",
                                          "answer",  "request_result", "response_result",
                                          "hooks"};
    struct json_object *o = json_object_new_object();
    size_t i;

    for (i = 0; i < NELEM(members); i++)
        json_object_object_add(o, members[i], NULL);
    json_object_object_add(o, "ms", json_object_new_object());
    t->logs = json_object_new_array();
    t->errors = json_object_new_array();
    json_object_object_add(o, "logs", t->logs);
    json_object_object_add(o, "errors", t->errors);
    return o;
}

static void add_hooks(struct run *t)
{
    struct json_object *h = json_object_new_object();

    json_object_object_add(
        h, "on_request",
        json_object_new_boolean(t->s != NULL && script_has_hook(t->s, SCRIPT_HOOK_REQUEST)));
    json_object_object_add(
        h, "on_response",
        json_object_new_boolean(t->s != NULL && script_has_hook(t->s, SCRIPT_HOOK_RESPONSE)));
    json_object_object_add(t->out, "hooks", h);
}

void h_scripts_test(struct req *r, const struct route_args *a)
{
    struct run t = {.r = r};
    struct script_error err;
    bool answered = false;

    (void)a;
    admin_script_limits(r, &t.lim);
    t.in = rs_body_valid(r, test_fields, NELEM(test_fields), true);
    if (t.in == NULL || !build_request(&t) || !build_response(&t))
        goto out;
    t.out = new_answer(&t);
    t.s = script_compile(SCRIPT_FORM_HOOKS, rs_jstr(t.in, "script"),
                         strlen(rs_jstr(t.in, "script")), &t.lim, &err);
    add_hooks(&t);
    if (t.s == NULL) {
        add_error(&t, "compile", script_kind_name(err.kind), err.line, err.message);
    } else {
        run_on_request(&t, &answered);
        if (!answered)
            admin_script_test_outgoing(&t);
        if (!answered)
            run_on_response(&t);
    }
    reply_json(r, 200, t.out);
    t.out = NULL;
out:
    script_free(t.s);
    json_object_put(t.out);
    script_obj_clear(&t.req);
    free(t.fwd_method);
    free(t.fwd_path);
    free(t.fwd_body);
    free(t.fwd_query);
    free(t.fwd_qstore);
    free(t.fwd_headers);
    free(t.fwd_hstore);
    free(t.query_pairs);
    free(t.header_pairs);
    json_object_put(t.query);
    json_object_put(t.headers);
    rule_input_done(&t.rin);
    json_object_put(t.res_headers);
    json_object_put(t.in);
}

/* For the OpenAPI document (admin/doc_tables.h). */
const struct vtable vt_scripts_test = {test_fields, NELEM(test_fields)};
