/* libFuzzer harness: rule JSON comes from admins and from the database;
 * whatever it holds, compiling must never crash, overrun or leak, a
 * refusal must say where and what, and a rule that compiles must evaluate
 * safely against any answer. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rule/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct rule_header headers[] = {
    {"Content-Type", 12, "application/json", 16},
    {"Retry-After", 11, " 30 ", 4},
    {"x-ratelimit-reset-requests", 26, "1s", 2},
    {"X-Empty", 7, "", 0},
};

static const char json_body[] =
    "{\"error\":{\"code\":\"rate_limit_exceeded\",\"status\":429,\"message\":\"Rate limit "
    "reached\",\"details\":[1,\"two\",true,null,2.5,{\"k\":\"v\"}]},\"n\":null,\"s\":\"42\"}";
static const char odd_body[] = "quota\0exceeded \xff\xfe RATE LIMIT";

/* Evaluates r against a few answers: JSON, not JSON, none, a transport
 * failure. */
static void evaluate(const struct rule *r)
{
    struct rule_input in;
    size_t i;

    for (i = 0; i < 4; i++) {
        memset(&in, 0, sizeof(in));
        in.status = i == 3 ? 0 : 429;
        in.headers = i == 3 ? NULL : headers;
        in.nheaders = i == 3 ? 0 : sizeof(headers) / sizeof(headers[0]);
        in.latency_ms = 1500;
        in.transport = i == 3 ? TRANSPORT_TIMEOUT : TRANSPORT_NONE;
        if (i == 0) {
            in.body = json_body;
            in.body_len = sizeof(json_body) - 1;
        } else if (i == 1) {
            in.body = odd_body;
            in.body_len = sizeof(odd_body) - 1;
        }
        (void)rule_matches(r, &in);
        (void)rule_matches(r, &in); /* again, with the parsed body cached */
        rule_input_done(&in);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_tokener *tok;
    struct json_object *j;
    struct rule *r;
    char err[256];

    if (size > 1 << 20)
        return 0;
    tok = json_tokener_new_ex(64);
    if (tok == NULL)
        return 0;
    j = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    if (j == NULL)
        return 0;
    memset(err, 'x', sizeof(err));
    err[0] = '\0';
    r = rule_compile(j, err, sizeof(err));
    if (r == NULL) {
        /* A refusal is one terminated line "place: what". */
        if (memchr(err, '\0', sizeof(err)) == NULL || strstr(err, ": ") == NULL)
            abort();
    } else {
        if (r->name == NULL || r->cond == NULL || r->nactions == 0)
            abort();
        evaluate(r);
        rule_free(r);
    }
    json_object_put(j);
    return 0;
}
