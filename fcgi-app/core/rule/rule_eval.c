/*
 * Evaluating a compiled condition tree against one attempt's answer, and
 * the engine's entry points rule_matches and rule_input_done.
 *
 * A compiled tree is never written after compiling, so that many threads
 * may evaluate it at once: each regular expression match gets its own match
 * data, and the parsed body is cached in the caller's struct rule_input.
 * A match that runs into PCRE2's limits (a million steps, 32 MiB of heap)
 * counts as no match.  Status leaves are false when there was no answer
 * (status 0), body leaves when there is no body.  Header names match
 * without regard to ASCII case; header values are compared without the
 * spaces and tabs around them.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/rule/rule_int.h"

#define BODY_DEPTH 64 /* how deeply a body's JSON may nest */

/* Whether the regular expression matches somewhere in the n bytes of s. */
static bool regex_match(const struct rule_cond *c, const char *s, size_t n)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int rc;

    if (md == NULL)
        return false;
    if (s == NULL)
        s = "";
    rc = pcre2_match(c->re, (PCRE2_SPTR)s, n, 0, 0, md, c->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its stack on the heap */
        rc = pcre2_match(c->re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_JIT, md, c->mctx);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* Knuth-Morris-Pratt: linear in the body whatever the needle. */
static bool body_has(const struct rule_cond *c, const char *body, size_t n)
{
    const unsigned char *p = (const unsigned char *)body;
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        unsigned char ch = c->nocase ? rule_fold(p[i]) : p[i];
        while (k > 0 && ch != c->text[k])
            k = c->fail[k - 1];
        if (ch == c->text[k] && ++k == c->len)
            return true;
    }
    return false;
}

/* The body parsed as JSON, once per input; NULL when it is not JSON. */
static struct json_object *body_doc(struct rule_input *in)
{
    struct json_tokener *tok;
    struct json_object *o = NULL;
    enum json_tokener_error e;
    size_t end;

    if (in->body_parsed)
        return in->parsed_body;
    in->body_parsed = true;
    if (in->body_len > INT_MAX || (tok = json_tokener_new_ex(BODY_DEPTH)) == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, in->body, (int)in->body_len);
    e = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (e == json_tokener_continue) { /* a bare number ends where the body does */
        o = json_tokener_parse_ex(tok, "", 1);
        e = json_tokener_get_error(tok);
        end = in->body_len;
    }
    for (; e == json_tokener_success && end < in->body_len; end++)
        if (strchr(" \t\r\n", in->body[end]) == NULL || in->body[end] == '\0')
            e = json_tokener_error_parse_unexpected;
    json_tokener_free(tok);
    if (e != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    in->parsed_body = o;
    return o;
}

static bool eval_status(const struct rule_cond *c, int status)
{
    long long s = status;
    size_t i;

    if (status == 0)
        return false;
    switch (c->op) {
    case OP_EQ:
        return s == c->nums[0];
    case OP_NE:
        return s != c->nums[0];
    case OP_GTE:
        return s >= c->nums[0];
    case OP_LTE:
        return s <= c->nums[0];
    case OP_RANGE:
        return s >= c->nums[0] && s <= c->nums[1];
    case OP_IN:
        for (i = 0; i < c->nnums; i++)
            if (s == c->nums[i])
                return true;
        return false;
    default:
        return false;
    }
}

static bool eval_json(const struct rule_cond *c, struct rule_input *in)
{
    struct json_object *doc, *t;
    const char *s;
    bool found;
    size_t n;

    if (in->body == NULL || (doc = body_doc(in)) == NULL)
        return false;
    t = jsonpath_get(c->path, doc, &found);
    if (!found)
        return false;
    switch (c->op) {
    case OP_EXISTS:
        return true;
    case OP_EQ:
        return jp_equal(t, &c->value);
    case OP_NE:
        return !jp_equal(t, &c->value);
    case OP_CONTAINS:
        return jp_contains(t, &c->value);
    case OP_GT:
        return jp_order(t, &c->value, 1);
    case OP_LT:
        return jp_order(t, &c->value, -1);
    case OP_REGEX:
        s = jp_regex_text(t, &n);
        return s != NULL && regex_match(c, s, n);
    default:
        return false;
    }
}

static bool same_name(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (rule_fold((unsigned char)a[i]) != rule_fold((unsigned char)b[i]))
            return false;
    return true;
}

static bool eval_header(const struct rule_cond *c, const struct rule_input *in)
{
    size_t i;

    for (i = 0; i < in->nheaders; i++) {
        const struct rule_header *h = &in->headers[i];
        const char *v = h->value != NULL ? h->value : "";
        size_t n = h->value != NULL ? h->value_len : 0;
        if (h->name == NULL || h->name_len != c->name_len ||
            !same_name(h->name, c->name, c->name_len))
            continue;
        for (; n > 0 && (*v == ' ' || *v == '\t'); v++, n--)
            ;
        for (; n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
            ;
        if (c->op == OP_EXISTS || (c->op == OP_EQ && n == c->len && memcmp(v, c->text, n) == 0) ||
            (c->op == OP_CONTAINS && memmem(v, n, c->text, c->len) != NULL) ||
            (c->op == OP_REGEX && regex_match(c, v, n)))
            return true;
    }
    return false;
}

bool rule_cond_eval(const struct rule_cond *c, struct rule_input *in)
{
    size_t i;

    switch (c->kind) {
    case K_ALL:
        for (i = 0; i < c->nkids; i++)
            if (!rule_cond_eval(c->kids[i], in))
                return false;
        return true;
    case K_ANY:
        for (i = 0; i < c->nkids; i++)
            if (rule_cond_eval(c->kids[i], in))
                return true;
        return false;
    case K_NOT:
        return !rule_cond_eval(c->kids[0], in);
    case K_STATUS:
        return eval_status(c, in->status);
    case K_CONTAINS:
        return in->body != NULL && body_has(c, in->body, in->body_len);
    case K_REGEX:
        return in->body != NULL && regex_match(c, in->body, in->body_len);
    case K_JSON:
        return eval_json(c, in);
    case K_HEADER:
        return eval_header(c, in);
    case K_LATENCY:
        return c->op == OP_GT ? in->latency_ms > c->nums[0] : in->latency_ms < c->nums[0];
    case K_TRANSPORT:
        return c->transport == TRANSPORT_NONE ? in->transport != TRANSPORT_NONE
                                              : in->transport == c->transport;
    case K_SCRIPT:
        return rule_script_eval(c, in);
    }
    return false;
}

bool rule_matches(const struct rule *r, struct rule_input *in)
{
    if (r == NULL || r->cond == NULL || in == NULL)
        return false;
    return rule_cond_eval(r->cond, in);
}

void rule_input_done(struct rule_input *in)
{
    if (in == NULL)
        return;
    json_object_put(in->parsed_body);
    in->parsed_body = NULL;
    rule_script_res_free(in->script_res);
    in->script_res = NULL;
    in->body_parsed = false;
}
