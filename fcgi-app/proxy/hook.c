/* The upstream's script on the hot path (hook.h): onRequest and what it
 * changes or answers, onResponse and its action, and script errors. */
#include "proxy/hook.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "core/alert.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/rule/rule.h"
#include "core/scriptstat.h"
#include "core/upscript.h"
#include "core/valid.h"
#include "http.h"
#include "proxy/path.h"
#include "proxy/proxy.h"
#include "proxy/rules.h"

#define LOG_LINES_PER_S 50
#define REASON_MAX      200

static struct script_limits limits_of(const struct proxy *px)
{
    struct script_limits lim = {(unsigned)px->r->cfg->script_timeout_ms,
                                (unsigned)px->r->cfg->script_memory_kb};
    return lim;
}

/* ctx.log(msg): to the application log with the request id, at most
 * LOG_LINES_PER_S lines a second in the process. */
static void ctx_log(void *udata, const char *msg)
{
    static atomic_llong second, lines;
    const struct proxy *px = udata;
    long long now = clock_mono_ms() / 1000;

    if (atomic_exchange(&second, now) != now)
        atomic_store(&lines, 0);
    if (atomic_fetch_add(&lines, 1) < LOG_LINES_PER_S)
        log_info("script of upstream %s, request %s: %s", px->up->name, px->r->id, msg);
}

/* A script error: counted, logged with its line, the upstream's first in a
 * minute alerted.  With script_fail closed it marks the request failed. */
static void failed(struct proxy *px, const char *hook, const struct script_error *err)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "script of upstream %s: %s failed (%s at line %d): %s", px->up->name,
             hook, script_kind_name(err->kind), err->line, err->message);
    log_warn("%s [request %s]", msg, px->r->id);
    if (scriptstat_note(px->up->name, err->kind, clock_mono_ms())) {
        struct alert al = {0,    0,         px->up->id, NULL, px->up->name,
                           NULL, px->r->id, msg,        NULL, "script"};
        if (alert_raise(px->r->w->app->alerter, px->r->w->db, &al) == 0)
            log_warn("script: the alert for upstream %s could not be recorded", px->up->name);
    }
    if (strcmp(px->r->cfg->script_fail, "closed") == 0 && !px->hook_failed) {
        px->hook_failed = true;
        px->hook_err = *err;
        snprintf(px->hook_where, sizeof(px->hook_where), "%s", hook);
    }
}

static void malformed(struct proxy *px, const char *hook, const char *why)
{
    struct script_error err = {SCRIPT_MALFORMED, 0, ""};

    snprintf(err.message, sizeof(err.message), "%s", why);
    failed(px, hook, &err);
}

void proxy_hook_reply_failed(struct proxy *px)
{
    reply_error(px->r, ERR_SCRIPT_ERROR, "the script of upstream %s failed: %s (%s at line %d): %s",
                px->up->name, px->hook_where, script_kind_name(px->hook_err.kind),
                px->hook_err.line, px->hook_err.message);
}

/* A self-answer's headers: an object of header names to strings. */
static bool headers_ok(json_object *h)
{
    if (!json_object_is_type(h, json_type_object))
        return false;
    json_object_object_foreach(h, name, v)
    {
        if (!json_object_is_type(v, json_type_string) ||
            !script_header_ok(name, strlen(name), json_object_get_string(v),
                              (size_t)json_object_get_string_len(v)))
            return false;
    }
    return true;
}

/* A returned {status, headers?, body?}: the client's answer.  Returns NULL
 * when it went out, else why it is malformed (nothing went out). */
static const char *self_answer(struct proxy *px, json_object *res)
{
    json_object *st = json_object_object_get(res, "status");
    json_object *h = json_object_object_get(res, "headers"),
                *b = json_object_object_get(res, "body");
    const char *body = "";
    int status = json_object_get_int(st);

    if (!json_object_is_type(st, json_type_int) || status < SCRIPT_ANSWER_STATUS_MIN ||
        status > SCRIPT_ANSWER_STATUS_MAX)
        return "the returned status must be a number from 200 to 599";
    if (h != NULL && !headers_ok(h))
        return "the returned headers must be an object of header names to strings without CR/LF";
    if (json_object_is_type(b, json_type_string))
        body = json_object_get_string(b);
    else if (b != NULL)
        body = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
    resp_status(px->r, status);
    if (h != NULL) {
        json_object_object_foreach(h, name, v)
        {
            if (strcasecmp(name, "content-length") != 0 && strcasecmp(name, "connection") != 0 &&
                strcasecmp(name, "transfer-encoding") != 0)
                resp_header(px->r, name, json_object_get_string(v));
        }
    }
    resp_write(px->r, body, strlen(body));
    free(px->log->error);
    px->log->error = strdup("script_answer");
    return NULL;
}

/* The new method, path and query (checked by script_req_check).  Returns
 * NULL, or why it cannot be; sets *refused when the path guard refused
 * the path (answered 400). */
static const char *apply_line(struct proxy *px, const struct script_field *f, bool *refused)
{
    const struct script_field *m = &f[REQ_METHOD], *p = &f[REQ_PATH], *q = &f[REQ_QUERY];
    const char *why;
    char *after;
    size_t n;

    if (m->changed)
        px->r->method = px->hook_method = strdup(m->out_s);
    if (q->changed) {
        free(px->hook_query);
        if ((px->hook_query = hook_query_string(q->out_pairs, q->out_npairs)) == NULL)
            return "req.query is too long";
        px->r->query = px->hook_query;
    }
    if (p->changed) {
        free(px->hook_rest);
        px->rest = px->hook_rest = strdup(p->out_s + 1);
    }
    if (!m->changed && !q->changed && !p->changed)
        return NULL;
    n = strlen(px->name) + strlen(px->rest != NULL ? px->rest : "") + 2;
    if ((after = malloc(n)) == NULL)
        return "out of memory";
    snprintf(after, n, "%s/%s", px->name, px->rest != NULL ? px->rest : "");
    why = proxy_path_check(after, px->r->query);
    free(after);
    if (why != NULL) {
        *refused = true;
        reply_error(px->r, ERR_INVALID_PATH, "the path the script of upstream %s made: %s",
                    px->up->name, why);
    }
    return NULL;
}

/* Applies what onRequest left in req.  Returns NULL, or why it is
 * malformed (in why_buf); *refused as apply_line. */
static const char *apply(struct proxy *px, char *why_buf, size_t why_len, bool *refused)
{
    struct hook_args *a = px->hook;
    struct script_field *f = a->req_f;
    const char *why, *body;
    size_t len;

    if ((why = script_req_check(f, why_buf, why_len)) != NULL)
        return why;
    if ((why = apply_line(px, f, refused)) != NULL || *refused)
        return why;
    if (f[REQ_HEADERS].changed)
        hook_args_set_headers(a, &f[REQ_HEADERS]);
    if (script_req_new_body(f, &body, &len)) {
        buf_reset(&px->r->body);
        if (buf_append(&px->r->body, body, len) != 0)
            return "the new body is over max_body_bytes";
    }
    return NULL;
}

/* After a successful call of onRequest: answers, applies, or goes on. */
static enum hook_rc after_request(struct proxy *px, struct script_call *c)
{
    char why_buf[160];
    const char *why = NULL;
    bool refused = false;

    if (json_object_is_type(c->result, json_type_object) &&
        json_object_object_get_ex(c->result, "status", NULL)) {
        if ((why = self_answer(px, c->result)) == NULL)
            return HOOK_ANSWERED;
    } else if ((why = apply(px, why_buf, sizeof(why_buf), &refused)) == NULL) {
        if (refused)
            return HOOK_ANSWERED;
        /* onResponse and the rules' leaves see the request as it goes. */
        hook_args_refresh(px->hook);
        return HOOK_GO_ON;
    }
    malformed(px, "onRequest", why);
    if (!px->hook_failed)
        return HOOK_GO_ON;
    proxy_hook_reply_failed(px);
    return HOOK_ANSWERED;
}

enum hook_rc proxy_hook_request(struct proxy *px)
{
    const struct upscript *us = px->up->script;
    struct script_limits lim = limits_of(px);
    struct script_call c;
    enum hook_rc rc;

    /* Rules' script leaves see req too. */
    if (px->up->script_rules || (us != NULL && us->compiled != NULL &&
                                 (script_has_hook(us->compiled, SCRIPT_HOOK_REQUEST) ||
                                  script_has_hook(us->compiled, SCRIPT_HOOK_RESPONSE)))) {
        px->hook = hook_args_make(px, (size_t)px->r->cfg->script_body_limit);
        if (px->hook == NULL) {
            struct script_error err = {SCRIPT_MEMORY, 0, "out of memory"};
            failed(px, "onRequest", &err);
            if (px->hook_failed)
                proxy_hook_reply_failed(px);
            return px->hook_failed ? HOOK_ANSWERED : HOOK_GO_ON;
        }
    }
    if (us == NULL)
        return HOOK_GO_ON;
    if (us->compiled == NULL) {
        failed(px, "compile", &us->err);
        if (px->hook_failed)
            proxy_hook_reply_failed(px);
        return px->hook_failed ? HOOK_ANSWERED : HOOK_GO_ON;
    }
    if (!script_has_hook(us->compiled, SCRIPT_HOOK_REQUEST))
        return HOOK_GO_ON;
    memset(&c, 0, sizeof(c));
    c.hook = SCRIPT_HOOK_REQUEST;
    c.objs[0] = &px->hook->req;
    c.objs[1] = &px->hook->ctx;
    c.nargs = 2;
    c.want_arg0 = true;
    c.log = ctx_log;
    c.log_udata = px;
    if (script_call(us->compiled, &lim, &c) != SCRIPT_OK) {
        failed(px, "onRequest", &c.err);
        if (px->hook_failed)
            proxy_hook_reply_failed(px);
        return px->hook_failed ? HOOK_ANSWERED : HOOK_GO_ON;
    }
    rc = after_request(px, &c);
    json_object_put(c.result);
    return rc;
}

bool proxy_hook_wants_response(const struct proxy *px)
{
    const struct upscript *us = px->up->script;

    return us != NULL && us->compiled != NULL && px->hook != NULL &&
           script_has_hook(us->compiled, SCRIPT_HOOK_RESPONSE);
}

/* The key action of a returned action (not retry): fills a.  Returns NULL
 * or why it is malformed. */
static const char *key_action_of(const char *name, json_object *res, struct rule_action *a)
{
    json_object *until = json_object_object_get(res, "until");
    json_object *dur = json_object_object_get(res, "duration_s");
    json_object *scope = json_object_object_get(res, "scope");

    memset(a, 0, sizeof(*a));
    if (scope != NULL && json_object_is_type(scope, json_type_string) &&
        strcmp(json_object_get_string(scope), "model") == 0)
        a->scope = SCOPE_MODEL;
    else if (scope != NULL && (!json_object_is_type(scope, json_type_string) ||
                               strcmp(json_object_get_string(scope), "key") != 0))
        return "scope must be key or model";
    if (strcmp(name, "ban_key") == 0) {
        if (a->scope == SCOPE_MODEL)
            return "scope model applies to disable_key and exhaust_key, not ban_key";
        a->type = ACTION_BAN;
    } else if (strcmp(name, "exhaust_key") == 0) {
        a->until = UNTIL_QUOTA_RESET;
    } else if (strcmp(name, "disable_key") != 0) {
        return "action must be retry, disable_key, exhaust_key or ban_key";
    } else if (until != NULL && strcmp(json_object_get_string(until), "retry_after") == 0) {
        a->until = UNTIL_RETRY_AFTER;
    } else if (until != NULL && strcmp(json_object_get_string(until), "quota_reset") == 0) {
        a->until = UNTIL_QUOTA_RESET;
    } else if (until != NULL) {
        return "until must be retry_after or quota_reset";
    }
    if (dur != NULL && (!json_object_is_type(dur, json_type_int) ||
                        json_object_get_int64(dur) < 0 || json_object_get_int64(dur) > 31536000))
        return "duration_s must be a whole number of seconds from 0 to 31536000";
    a->duration_s = dur != NULL ? json_object_get_int64(dur) : 0;
    return NULL;
}

/* Applies onResponse's result; *retry says it asked for one.  Returns
 * NULL or why it is malformed. */
static const char *apply_result(struct proxy *px, struct pool_key *k, const struct rule_input *in,
                                json_object *res, const char *excerpt, bool *retry)
{
    json_object *act = json_object_object_get(res, "action");
    json_object *log = json_object_object_get(res, "log");
    json_object *reason = json_object_object_get(res, "reason");
    char why_text[REASON_MAX + 1];
    struct rule_action a;
    const char *why;

    if (res == NULL)
        return NULL;
    if (!json_object_is_type(res, json_type_object))
        return "onResponse must return undefined or an object";
    if (json_object_is_type(log, json_type_string))
        proxy_rules_message(px, json_object_get_string(log));
    if (act == NULL)
        return NULL;
    if (!json_object_is_type(act, json_type_string))
        return "action must be a string";
    if (strcmp(json_object_get_string(act), "retry") == 0) {
        *retry = true;
        return NULL;
    }
    if ((why = key_action_of(json_object_get_string(act), res, &a)) != NULL)
        return why;
    snprintf(why_text, sizeof(why_text), "%s",
             json_object_is_type(reason, json_type_string) ? json_object_get_string(reason)
                                                           : "script");
    proxy_rules_script_action(px, k, &a, in, why_text, excerpt);
    return NULL;
}

bool proxy_hook_response(struct proxy *px, struct pool_key *k, struct rule_input *in,
                         int attempt_no, const char *excerpt)
{
    struct script_limits lim = limits_of(px);
    struct rule_script_res *res;
    struct script_call c;
    const char *why;
    bool retry = false;

    if (!proxy_hook_wants_response(px))
        return false;
    if ((res = rule_script_res(in)) == NULL) {
        struct script_error err = {SCRIPT_MEMORY, 0, "out of memory"};
        failed(px, "onResponse", &err);
        return false;
    }
    rule_script_res_key(res, attempt_no, k->id, k->name, k->masked);
    memset(&c, 0, sizeof(c));
    c.hook = SCRIPT_HOOK_RESPONSE;
    c.objs[0] = rule_script_res_obj(res);
    c.objs[1] = &px->hook->req;
    c.objs[2] = &px->hook->ctx;
    c.nargs = 3;
    c.log = ctx_log;
    c.log_udata = px;
    if (script_call(px->up->script->compiled, &lim, &c) != SCRIPT_OK)
        failed(px, "onResponse", &c.err);
    else if ((why = apply_result(px, k, in, c.result, excerpt, &retry)) != NULL)
        malformed(px, "onResponse", why);
    json_object_put(c.result);
    return retry && !px->hook_failed;
}

/* A rule's script leaf failed (the rule_input's script_error, udata the
 * proxy): the error is handled as a hook's (counted, logged, alerted, and
 * with script_fail closed the request fails). */
static void leaf_failed(void *px, const struct script_error *err)
{
    failed(px, "a rule's script leaf", err);
}

void proxy_hook_rule_input(struct proxy *px, struct rule_input *in, struct script_limits *lim,
                           const struct mask_secret *secret)
{
    *lim = limits_of(px);
    in->script_lim = lim;
    in->script_req = px->hook != NULL ? &px->hook->req : NULL;
    in->secret = secret;
    in->script_error = leaf_failed;
    in->script_udata = px;
}

void proxy_hook_done(struct proxy *px)
{
    hook_args_free(px->hook);
    free(px->hook_method);
    free(px->hook_rest);
    free(px->hook_query);
    px->hook = NULL;
    px->hook_method = px->hook_rest = px->hook_query = NULL;
}
