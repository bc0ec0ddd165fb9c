/*
 * The rule engine: rules compiled once (when the pool cache loads them, and
 * when the admin API checks one) into a tree of conditions and a list of
 * actions, then evaluated against each attempt's answer.
 *
 * A rule's JSON is the contract's: {"name", "condition", "actions", ...}.
 * The condition is a tree of {"all": [...]}, {"any": [...]}, {"not": c} and
 * leaves (status, body_contains, body_regex, json_path, header, latency,
 * transport_error).  Compiling checks everything and names the place of the
 * first fault, e.g. "condition.all[1].pattern: missing closing parenthesis
 * at offset 4".
 */
#ifndef APIGW_RULE_H
#define APIGW_RULE_H

#include <stdbool.h>
#include <stddef.h>

struct script_limits;
struct script_error;
struct script_obj;
struct rule_script_res;
struct mask_secret;
struct json_object;

struct json_object;

enum transport_kind {
    TRANSPORT_NONE = 0,
    TRANSPORT_TIMEOUT, /* the attempt timed out */
    TRANSPORT_CONNECT, /* the connection could not be made (refused, DNS, ...) */
    TRANSPORT_OTHER,   /* any other transport failure (reset, empty reply, ...) */
    TRANSPORT_PROXY    /* the egress proxy failed to connect or hand over (core/egress.h) */
};

enum action_type { ACTION_DISABLE, ACTION_BAN, ACTION_RETRY, ACTION_ALERT, ACTION_LOG };

enum disable_until {
    UNTIL_DURATION,    /* duration_s from now (0: until enabled by hand) */
    UNTIL_RETRY_AFTER, /* the answer's Retry-After / x-ratelimit-reset*; duration_s as fallback */
    UNTIL_QUOTA_RESET  /* the next daily quota reset; the key becomes exhausted */
};

/* What a disable_key (or a script's exhaust_key) rests: the whole key, or
 * the key for the request's model only (docs/API.md "Model-scoped key
 * state"; a request without a model rests the whole key). */
enum action_scope { SCOPE_KEY, SCOPE_MODEL };

struct rule_action {
    enum action_type type;
    long long duration_s;     /* disable_key */
    enum disable_until until; /* disable_key */
    enum action_scope scope;  /* disable_key */
    char *message;            /* alert, log (may be NULL) */
    char *webhook;            /* alert (may be NULL) */
};

struct rule_cond; /* opaque: the compiled condition tree */

struct rule {
    long long id;
    long long upstream_id; /* 0: every upstream */
    char *name;
    bool enabled;
    long long priority; /* lower first */
    struct rule_cond *cond;
    struct rule_action *actions;
    size_t nactions;
    long long threshold, window_s, cooldown_s;
    bool stop;
    bool needs_body;  /* some leaf looks at the body */
    bool has_retry;   /* some action is retry */
    bool changes_key; /* some action is disable_key or ban_key */
};

/* One response header as the evaluator sees it (value without CR/LF). */
struct rule_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* What one attempt came to, as the rules see it. */
struct rule_input {
    int status; /* 0 when there was no answer (transport error) */
    const struct rule_header *headers;
    size_t nheaders;
    const char *body; /* the first rule_body_limit bytes; NULL when not available */
    size_t body_len;
    long long latency_ms; /* from sending the request to the answer's headers */
    enum transport_kind transport;
    /* Filled by the evaluator: the body parsed as JSON, once, for json_path
     * leaves.  Free with rule_input_done. */
    struct json_object *parsed_body;
    bool body_parsed;
    /* For script leaves (issue 17), set by the caller, each may be NULL:
     * the limits of a call (NULL: the defaults), the request as scripts see
     * it, the key's forms masked in what a script sees of the answer, and
     * where a failing call's error goes.  script_res is made by the
     * evaluator, once; rule_input_done frees it. */
    const struct script_limits *script_lim;
    struct script_obj *script_req;
    const struct mask_secret *secret;
    void (*script_error)(void *udata, const struct script_error *err);
    void *script_udata;
    struct rule_script_res *script_res;
};

/* The answer as scripts see it (`res`: status, headers with lower-case
 * names, body, json, latency_ms, transport_error, attempt and key when
 * set), described for the engine (core/script_obj.h): the body and
 * headers are masked with in->secret when a script first reads them.
 * Made once per input and kept in in->script_res (rule_input_done frees
 * it); NULL when memory ran out. */
struct rule_script_res *rule_script_res(struct rule_input *in);

/* Sets res.attempt and res.key (name may be NULL; the strings are
 * borrowed and must outlive the input). */
void rule_script_res_key(struct rule_script_res *r, int attempt, long long id, const char *name,
                         const char *masked);

/* The description of r to pass to script_call (NULL for NULL). */
struct script_obj *rule_script_res_obj(struct rule_script_res *r);

void rule_script_res_free(struct rule_script_res *r);

/* Whether the rule's condition has a script leaf. */
bool rule_has_script(const struct rule *r);

/* Compiles a rule from its JSON object (the API's fields: name, upstream_id,
 * enabled, priority, condition, actions, threshold, window_s, cooldown_s,
 * stop; absent optional fields take the contract's defaults).  Unknown
 * fields, unknown leaves and ops, values of the wrong type, bad regular
 * expressions and bad JSON paths are refused.  Returns the rule (free it
 * with rule_free), or NULL with "place: what is wrong" in err, place being
 * e.g. "condition.any[0].value" or "actions[1].until". */
struct rule *rule_compile(struct json_object *json, char *err, size_t errlen);

void rule_free(struct rule *r);

/* Whether the rule's condition holds for the input.  Leaves that look at
 * the body are false when in->body is NULL. */
bool rule_matches(const struct rule *r, struct rule_input *in);

/* The parts of an answer a record may lack (the rule backtest): the status,
 * latency and transport cause; the body; the headers; and what a script
 * leaf needs (the request), which a record never has. */
#define RULE_NO_STATUS  1u
#define RULE_NO_BODY    2u
#define RULE_NO_HEADERS 4u
#define RULE_NO_SCRIPT  8u

/* Judges the rule against an input missing the parts in `missing` (bits
 * above): 1 when the condition holds, 0 when it does not whatever the
 * missing parts were, -1 when it depends on them, with the parts it
 * depended on in *why (rule_judge.c). */
int rule_judge(const struct rule *r, struct rule_input *in, unsigned missing, unsigned *why);

/* Frees what the evaluator cached in the input (the parsed body). */
void rule_input_done(struct rule_input *in);

/* JSON paths, on their own for tests and the fuzzer: "$", ".name",
 * "['name']", "[index]", nested (see jsonpath.c).  jsonpath_compile returns
 * the path (free it with jsonpath_free), or NULL with the fault in err.
 * jsonpath_get returns the value at the path (owned by doc), or NULL when
 * the path does not exist or holds null; *found, when not NULL, tells
 * which. */
struct jsonpath;
struct jsonpath *jsonpath_compile(const char *text, char *err, size_t errlen);
void jsonpath_free(struct jsonpath *p);
struct json_object *jsonpath_get(const struct jsonpath *p, struct json_object *doc, bool *found);

/* The steps of a compiled path, for readers that walk a document their own
 * way (core/usage_scan.c scans answers as they stream).  jsonpath_step
 * returns step i's member name (owned by p), or NULL when the step is an
 * array index, then stored in *index. */
size_t jsonpath_nsteps(const struct jsonpath *p);
const char *jsonpath_step(const struct jsonpath *p, size_t i, size_t *index);

#endif
