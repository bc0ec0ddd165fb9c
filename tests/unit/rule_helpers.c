#include "rule_helpers.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

struct json_object *rt_parse(const char *text)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    struct json_object *j = json_tokener_parse_ex(tok, text, (int)strlen(text));

    json_tokener_free(tok);
    return j;
}

struct rule *rt_compile(const char *text, char *err, size_t errlen)
{
    struct json_object *j = rt_parse(text);
    struct rule *r;

    if (j == NULL) {
        snprintf(err, errlen, "test: not JSON");
        return NULL;
    }
    err[0] = '\0';
    r = rule_compile(j, err, errlen);
    json_object_put(j);
    return r;
}

const char *rt_fault(const char *text)
{
    static char err[512];
    struct rule *r = rt_compile(text, err, sizeof(err));

    if (r != NULL) {
        rule_free(r);
        return "";
    }
    return err;
}

int rt_eval(const char *cond, struct rule_input *in)
{
    char text[2048], err[256];
    struct rule *r;
    int got;

    snprintf(text, sizeof(text), WITH_COND("%s"), cond);
    r = rt_compile(text, err, sizeof(err));
    if (r == NULL) {
        fprintf(stderr, "\n%s: %s\n", cond, err);
        return -1;
    }
    got = rule_matches(r, in);
    rule_input_done(in);
    rule_free(r);
    return got;
}

struct rule_input rt_with_status(int status)
{
    struct rule_input in = {0};

    in.status = status;
    return in;
}

struct rule_input rt_with_body(const char *body, size_t len)
{
    struct rule_input in = {0};

    in.status = 200;
    in.body = body;
    in.body_len = len;
    return in;
}
