/*
 * The upstream's script on the hot path (core/script.h runs it): hook.c
 * calls onRequest before the first attempt and applies what it changed or
 * answers for it, calls onResponse on each attempt's answer and applies
 * its action, and handles a script's errors (script_fail open or closed,
 * counted, logged, alerted).  hook_req.c builds the values a script sees.
 */
#ifndef APIGW_PROXY_HOOK_H
#define APIGW_PROXY_HOOK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct proxy;
struct pool_key;
struct rule_input;
struct mask_secret;
struct script_error;
struct script_limits;

/* What onRequest came to. */
enum hook_rc {
    HOOK_GO_ON,   /* the request goes on (changed or not) */
    HOOK_ANSWERED /* the client has its answer: the script's, or an error */
};

/* Runs the upstream's onRequest, if it has one: applies its changes to
 * px (method, path, query, headers, body), or answers the client with what
 * it returned, or (a failure with script_fail closed) with 502
 * script_error.  Keeps req and ctx in px for onResponse. */
enum hook_rc proxy_hook_request(struct proxy *px);

/* Runs the upstream's onResponse, if it has one, on the answer of attempt
 * attempt_no with key k (in: status, headers, held body, transport
 * failure), and applies its action: key actions as rule actions do, `log`
 * to the request's messages.  Returns true when it asks for a retry.  A
 * failure with script_fail closed sets px->hook_failed. */
bool proxy_hook_response(struct proxy *px, struct pool_key *k, const struct rule_input *in,
                         int attempt_no, const char *excerpt);

/* Sets in's fields for rules' script leaves: the limits (held in lim,
 * which must outlive in), req, the key's forms (secret, may be NULL) and
 * where errors go. */
void proxy_hook_rule_input(struct proxy *px, struct rule_input *in, struct script_limits *lim,
                           const struct mask_secret *secret);

/* Whether the request's upstream has an onResponse hook (or a script that
 * does not compile, which fails at every hook). */
bool proxy_hook_wants_response(const struct proxy *px);

/* Answers 502 script_error for the failure px->hook_failed records. */
void proxy_hook_reply_failed(struct proxy *px);

/* Frees what the hooks left in px. */
void proxy_hook_done(struct proxy *px);

/* hook_req.c: req (the first body_limit bytes of the body), ctx and res
 * for a script, each a new object owned by the caller. */
json_object *hook_req_build(const struct proxy *px, size_t body_limit);
json_object *hook_ctx_build(const struct proxy *px);
json_object *hook_res_build(const struct pool_key *k, const struct rule_input *in,
                            const struct mask_secret *secret, int attempt_no);

/* hook_req.c: writes req.query (name -> array of strings) as a raw query
 * string, percent-encoded.  Returns a new string (the caller frees it),
 * or NULL when query is not an object or too long. */
char *hook_query_string(json_object *query);

#endif
