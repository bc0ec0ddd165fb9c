/* What the rule engine's two suites share: rule JSON around a condition or
 * an action list, compiling it, and answers to evaluate against. */
#ifndef APIGW_TEST_RULE_HELPERS_H
#define APIGW_TEST_RULE_HELPERS_H

#include <stddef.h>

#include "core/rule/rule.h"

/* A rule around a condition, with one retry action. */
#define WITH_COND(c) "{\"name\":\"r\",\"condition\":" c ",\"actions\":[{\"type\":\"retry\"}]}"
/* A rule around an actions array, with a status condition. */
#define WITH_ACTIONS(a)                                                                            \
    "{\"name\":\"r\",\"condition\":{\"type\":\"status\",\"op\":\"eq\",\"value\":429},"             \
    "\"actions\":" a "}"
#define S500 "{\"type\":\"status\",\"op\":\"eq\",\"value\":500}"

#define BODY(s) rt_with_body(s, sizeof(s) - 1)

/* Parses JSON text, nesting up to 64 levels as the admin API does. */
struct json_object *rt_parse(const char *text);

/* Compiles rule JSON text; NULL with the message in err. */
struct rule *rt_compile(const char *text, char *err, size_t errlen);

/* The message compiling text gives ("" when it compiles).  The text lives
 * in a static buffer until the next call. */
const char *rt_fault(const char *text);

/* Evaluates a condition against in: 1 or 0, or -1 when it does not compile. */
int rt_eval(const char *cond, struct rule_input *in);

/* An answer with this status and no body, or a 200 with this body. */
struct rule_input rt_with_status(int status);
struct rule_input rt_with_body(const char *body, size_t len);

#endif
