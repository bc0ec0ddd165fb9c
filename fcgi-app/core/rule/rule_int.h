/*
 * What the rule engine's files share and nobody else should use: rule.c
 * (the rule's fields and actions), rule_cond.c (compiling the condition
 * tree), rule_fail.c (the compiler's fault messages, which both use),
 * rule_eval.c (evaluating the tree) and jsonpath.c (JSON paths and the
 * comparison rules of json_path leaves).  The calls go one way: rule.c
 * calls rule_cond.c, rule_cond.c calls jsonpath.c, both call rule_fail.c,
 * rule_eval.c calls jsonpath.c, and none calls back.
 */
#ifndef APIGW_RULE_INT_H
#define APIGW_RULE_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <json-c/json.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/rule/rule.h"

/* How deeply conditions may nest (the top condition is level 1). */
#define RULE_MAX_DEPTH 32

/* How much of user input an error message may quote, in bytes. */
#define RULE_QUOTE_MAX 40

/* Writes "place.field: what" (or "place: what" when field is NULL) into
 * err, cut to errlen.  The place is ours; field may be user text and is
 * quoted capped (rule_fail.c). */
void rule_fail(char *err, size_t errlen, const char *place, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Compiles the condition object j found at place (e.g. "condition") into a
 * tree; sets *needs_body when some leaf looks at the body.  Returns the
 * tree (free it with rule_cond_free), or NULL with the fault in err. */
struct rule_cond *rule_cond_compile(struct json_object *j, const char *place, bool *needs_body,
                                    char *err, size_t errlen);

void rule_cond_free(struct rule_cond *c);

/* Evaluates the tree against the input, short-circuiting.  Only the
 * input's parsed-body cache is written; the tree is only read. */
bool rule_cond_eval(const struct rule_cond *c, struct rule_input *in);

/* rule_script.c: compiles the script leaf j at place into c->script.
 * Returns 0, or -1 with "place.source: line N: message" in err. */
int rule_script_compile(struct rule_cond *c, struct json_object *j, const char *place, char *err,
                        size_t errlen);

/* rule_script.c: calls the leaf's function with (res, req); res is built
 * once per input (in->script_res).  False when the script fails (the
 * error then goes to in->script_error). */
bool rule_script_eval(const struct rule_cond *c, struct rule_input *in);

/* A number taken from a JSON number or from a string that is entirely one. */
struct jp_num {
    bool is_int;
    long long i;
    double d;
};

/* The value of a json_path leaf, taken apart at compile time so that
 * evaluating never touches (or serialises into) a shared json_object. */
struct jp_value {
    enum json_type type; /* json_type_null, _boolean, _int, _double or _string */
    bool b;
    bool is_num; /* a number, or a string that is entirely one */
    struct jp_num num;
    char *text; /* the string's bytes, or the JSON text of a non-string */
    size_t len;
};

/* The compiled condition tree: written only while compiling. */
enum cond_kind {
    K_ALL,
    K_ANY,
    K_NOT,
    K_STATUS,
    K_CONTAINS,
    K_REGEX,
    K_JSON,
    K_HEADER,
    K_LATENCY,
    K_TRANSPORT,
    K_SCRIPT
};

enum cond_op {
    OP_EQ,
    OP_NE,
    OP_IN,
    OP_RANGE,
    OP_GTE,
    OP_LTE,
    OP_GT,
    OP_LT,
    OP_CONTAINS,
    OP_EXISTS,
    OP_REGEX
};

struct rule_cond {
    enum cond_kind kind;
    enum cond_op op;
    struct rule_cond **kids; /* all, any (nkids), not (one) */
    size_t nkids;
    long long *nums; /* status: the value, the in list or [lo, hi]; latency */
    size_t nnums;
    unsigned char *text; /* body_contains (folded when nocase), header value */
    size_t len;
    size_t *fail; /* body_contains: the needle's KMP failure table */
    bool nocase;
    char *name; /* header name */
    size_t name_len;
    pcre2_code *re; /* body_regex, header and json_path regex */
    pcre2_match_context *mctx;
    struct jsonpath *path;
    struct jp_value value;         /* json_path */
    enum transport_kind transport; /* TRANSPORT_NONE: any */
    struct script *script;         /* script: the compiled leaf */
};

/* ASCII case folding (the header names and case_insensitive matches). */
static inline unsigned char rule_fold(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + ('a' - 'A')) : ch;
}

/* Takes a scalar apart into v.  Returns 0, or -1 when o is an array or an
 * object or memory ran out (v is then empty). */
int jp_value_init(struct jp_value *v, struct json_object *o);
void jp_value_free(struct jp_value *v);

/* The comparison rules (see the top of jsonpath.c).  target is a value in
 * a parsed document that was found (NULL for JSON null). */
bool jp_equal(struct json_object *target, const struct jp_value *v);
bool jp_contains(struct json_object *target, const struct jp_value *v);
bool jp_order(struct json_object *target, const struct jp_value *v, int want);

/* The text a regex op matches in target (a string's bytes, a number's or a
 * boolean's JSON text), owned by target; NULL for other types. */
const char *jp_regex_text(struct json_object *target, size_t *len);

#endif
