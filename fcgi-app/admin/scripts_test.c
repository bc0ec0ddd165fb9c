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
#include "admin/resource.h"
#include "admin/scripts.h"
#include "app.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/nelem.h"
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

/* One dry run: its inputs, the hooks' arguments and what it answers. */
struct run {
    struct req *r;
    struct script *s;
    struct script_limits lim;
    struct json_object *in;      /* the validated body */
    struct json_object *req;     /* the req the script sees */
    struct json_object *ctx;     /* ctx, without log() (script_call adds it) */
    struct json_object *res;     /* onResponse's res, or NULL without "response" */
    struct json_object *changed; /* req after onRequest, or NULL */
    struct json_object *out;     /* the answer */
    struct json_object *logs, *errors;
    const char *hook; /* the hook running, for its log lines */
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

/* Builds req and ctx from the validated input.  Answers 400 and returns
 * false when the request is bad. */
static bool build_request(struct run *t)
{
    struct json_object *rq = NULL, *headers = NULL, *query = NULL, *h = NULL, *q = NULL;
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
    t->req = json_object_new_object();
    json_object_object_add(t->req, "method", json_object_new_string(rs_jstr(rq, "method")));
    json_object_object_add(t->req, "path", json_object_new_string(rs_jstr(rq, "path")));
    if (!admin_script_query(t->r, query, &q) ||
        !admin_script_headers(t->r, headers, "request.headers", &h)) {
        json_object_put(q);
        json_object_put(h);
        return false;
    }
    json_object_object_add(t->req, "query", q);
    json_object_object_add(t->req, "headers", h);
    admin_script_add_body(t->req, rs_jstr(rq, "body"));
    t->ctx = json_object_new_object();
    json_object_object_add(t->ctx, "request_id", json_object_new_string(t->r->id));
    json_object_object_add(t->ctx, "upstream",
                           json_object_new_string(rs_jstr(t->in, "upstream") != NULL
                                                      ? rs_jstr(t->in, "upstream")
                                                      : "test"));
    json_object_object_add(
        t->ctx, "token",
        rs_jstr(t->in, "token") != NULL ? json_object_new_string(rs_jstr(t->in, "token")) : NULL);
    json_object_object_add(t->ctx, "now_ms", json_object_new_int64(clock_wall_ms()));
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

    *answered = false;
    if (!script_has_hook(t->s, SCRIPT_HOOK_REQUEST))
        return;
    memset(&c, 0, sizeof(c));
    c.hook = SCRIPT_HOOK_REQUEST;
    c.args[0] = t->req;
    c.args[1] = t->ctx;
    c.nargs = 2;
    c.want_arg0 = true;
    if (call_hook(t, &c, "onRequest", "on_request") == SCRIPT_OK) {
        json_object_object_add(t->out, "request_result", json_object_get(c.result));
        *answered = self_answer(t, c.result);
        t->changed = c.arg0;
        c.arg0 = NULL;
    }
    json_object_put(c.result);
    json_object_put(c.arg0);
}

/* Headers a script cannot set: hop-by-hop ones, Host, and Content-Length
 * (recomputed); the key's header is the caller's own check. */
static bool header_fixed(const char *name)
{
    static const char *const fixed[] = {"connection",
                                        "keep-alive",
                                        "proxy-authorization",
                                        "proxy-connection",
                                        "te",
                                        "trailer",
                                        "upgrade",
                                        "transfer-encoding",
                                        "host",
                                        "content-length"};
    size_t i;

    for (i = 0; i < NELEM(fixed); i++)
        if (strcmp(name, fixed[i]) == 0)
            return true;
    return false;
}

/* The key's header value: the template with every {key} as `<key>`. */
static struct json_object *key_value(const char *tpl)
{
    struct json_object *v;
    const char *at;
    struct buf b;

    buf_init(&b, 1024);
    while ((at = strstr(tpl, "{key}")) != NULL) {
        buf_append(&b, tpl, (size_t)(at - tpl));
        buf_puts(&b, "<key>");
        tpl = at + 5;
    }
    buf_puts(&b, tpl);
    v = json_object_new_string(buf_str(&b));
    buf_free(&b);
    return v;
}

/* The outgoing headers: the script's, less those it cannot set (listed in
 * "dropped_headers"), with the key's header (unless the key goes in the
 * query) and Content-Length. */
static struct json_object *out_headers(struct run *t, struct json_object *src, const char *body)
{
    const char *auth = rs_jstr(t->in, "auth_header"), *qp = rs_jstr(t->in, "auth_query_param");
    struct json_object *h = json_object_new_object(), *dropped = json_object_new_array();
    char low[129], len[24];
    size_t i;

    if (auth == NULL)
        auth = "Authorization";
    for (i = 0; auth[i] != '\0' && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)auth[i]);
    low[i] = '\0';
    if (json_object_is_type(src, json_type_object)) {
        json_object_object_foreach(src, name, value)
        {
            if (header_fixed(name) || (qp == NULL && strcasecmp(name, low) == 0) ||
                !json_object_is_type(value, json_type_string))
                json_object_array_add(dropped, json_object_new_string(name));
            else
                json_object_object_add(h, name, json_object_get(value));
        }
    }
    if (qp == NULL) {
        const char *tpl = rs_jstr(t->in, "auth_template");
        json_object_object_add(h, low, key_value(tpl != NULL ? tpl : "Bearer {key}"));
    }
    if (body != NULL) {
        snprintf(len, sizeof(len), "%zu", strlen(body));
        json_object_object_add(h, "content-length", json_object_new_string(len));
    }
    json_object_object_add(t->out, "dropped_headers", dropped);
    return h;
}

/* A string member of the changed req, or of the original when the script
 * left it out or made it something else (recorded as malformed). */
static const char *member_or_original(struct run *t, struct json_object *src, const char *name)
{
    const char *v = rs_jstr(src, name);
    char msg[80];

    if (v != NULL && v[0] != '\0' && (strcmp(name, "path") != 0 || v[0] == '/'))
        return v;
    snprintf(msg, sizeof(msg), "req.%s must be a non-empty string%s; the original is kept", name,
             strcmp(name, "path") == 0 ? " starting with /" : "");
    add_error(t, "onRequest", "malformed", 0, msg);
    return rs_jstr(t->req, name);
}

static void add_changed(struct json_object *list, const char *part, struct json_object *a,
                        struct json_object *b)
{
    if (!json_object_equal(a, b))
        json_object_array_add(list, json_object_new_string(part));
}

/* Sets "request" (the outgoing request in full) and "changed" (the parts
 * onRequest changed). */
static void compose_outgoing(struct run *t)
{
    struct json_object *src = t->changed != NULL ? t->changed : t->req, *o, *q = NULL, *qc = NULL,
                       *h = NULL, *j = NULL, *j0 = NULL, *changed = json_object_new_array(), *body;
    const char *qp = rs_jstr(t->in, "auth_query_param");

    o = json_object_new_object();
    json_object_object_add(o, "method",
                           json_object_new_string(member_or_original(t, src, "method")));
    json_object_object_add(o, "path", json_object_new_string(member_or_original(t, src, "path")));
    json_object_object_get_ex(src, "query", &q);
    if (!json_object_is_type(q, json_type_object))
        json_object_object_get_ex(t->req, "query", &q);
    if (json_object_deep_copy(q, &qc, NULL) != 0)
        qc = json_object_new_object();
    if (qp != NULL) {
        struct json_object *k = json_object_new_array();
        json_object_array_add(k, json_object_new_string("<key>"));
        json_object_object_add(qc, qp, k);
    }
    json_object_object_add(o, "query", qc);
    json_object_object_get_ex(src, "json", &j);
    json_object_object_get_ex(t->req, "json", &j0);
    if (j != NULL && !json_object_equal(j, j0))
        body = json_object_new_string(json_text(j, NULL));
    else
        body = json_object_get(json_object_object_get(src, "body"));
    if (body != NULL && !json_object_is_type(body, json_type_string)) {
        add_error(t, "onRequest", "malformed", 0, "req.body must be a string or null");
        json_object_put(body);
        body = json_object_get(json_object_object_get(t->req, "body"));
    }
    json_object_object_get_ex(src, "headers", &h);
    json_object_object_add(o, "headers", out_headers(t, h, json_object_get_string(body)));
    json_object_object_add(o, "body", body);
    add_changed(changed, "method", json_object_object_get(o, "method"),
                json_object_object_get(t->req, "method"));
    add_changed(changed, "path", json_object_object_get(o, "path"),
                json_object_object_get(t->req, "path"));
    add_changed(changed, "query", json_object_object_get(src, "query"),
                json_object_object_get(t->req, "query"));
    add_changed(changed, "headers", h, json_object_object_get(t->req, "headers"));
    add_changed(changed, "body", body, json_object_object_get(t->req, "body"));
    json_object_object_add(t->out, "request", o);
    json_object_object_add(t->out, "changed", changed);
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
}

/* The res argument from "response": its body capped at rule_body_limit. */
static struct json_object *build_res(struct run *t, struct json_object *resp)
{
    struct json_object *res = json_object_new_object(), *key = json_object_new_object(),
                       *headers = NULL, *hv = NULL;
    const char *body = rs_jstr(resp, "body"), *te = rs_jstr(resp, "transport_error");
    size_t cap = (size_t)t->r->cfg->rule_body_limit;
    char *held = NULL;

    json_object_object_get_ex(resp, "headers", &hv);
    if (!admin_script_headers(t->r, hv, "response.headers", &headers)) {
        json_object_put(headers);
        json_object_put(res);
        json_object_put(key);
        return NULL;
    }
    if (body != NULL && strlen(body) > cap)
        held = strndup(body, cap);
    json_object_object_add(res, "status", json_object_new_int((int)rs_jint(resp, "status", 0)));
    json_object_object_add(res, "headers", headers);
    admin_script_add_body(res, held != NULL ? held : body);
    json_object_object_add(res, "body_truncated", json_object_new_boolean(held != NULL));
    free(held);
    json_object_object_add(res, "latency_ms",
                           json_object_new_int64(rs_jint(resp, "latency_ms", 0)));
    json_object_object_add(res, "transport_error", te != NULL ? json_object_new_string(te) : NULL);
    json_object_object_add(res, "attempt", json_object_new_int(1));
    json_object_object_add(key, "id", json_object_new_int(0));
    json_object_object_add(key, "name", json_object_new_string("test"));
    json_object_object_add(key, "masked", json_object_new_string("<key>"));
    json_object_object_add(res, "key", key);
    return res;
}

/* Builds t->res from "response" when one was given.  Returns false after
 * answering 400 for a bad one. */
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
    t->res = build_res(t, resp);
    return t->res != NULL;
}

/* Runs onResponse when the script defines it and a response was given. */
static void run_on_response(struct run *t)
{
    struct script_call c;

    if (t->res == NULL || !script_has_hook(t->s, SCRIPT_HOOK_RESPONSE))
        return;
    memset(&c, 0, sizeof(c));
    c.hook = SCRIPT_HOOK_RESPONSE;
    c.args[0] = t->res;
    c.args[1] = t->changed != NULL ? t->changed : t->req;
    c.args[2] = t->ctx;
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
            compose_outgoing(&t);
        if (!answered)
            run_on_response(&t);
    }
    reply_json(r, 200, t.out);
    t.out = NULL;
out:
    script_free(t.s);
    json_object_put(t.out);
    json_object_put(t.req);
    json_object_put(t.ctx);
    json_object_put(t.res);
    json_object_put(t.changed);
    json_object_put(t.in);
}
