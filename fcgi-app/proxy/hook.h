/*
 * The upstream's script on the hot path (core/script.h runs it): hook.c
 * calls onRequest before the first attempt and applies what it changed or
 * answers for it, calls onResponse on each attempt's answer and applies
 * its action, and handles a script's errors (script_fail open or closed,
 * counted, logged, alerted).  hook_req.c builds the values a script sees.
 */
#ifndef APIGW_PROXY_HOOK_H
#define APIGW_PROXY_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/script_obj.h"
#include "core/script_req.h"

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
bool proxy_hook_response(struct proxy *px, struct pool_key *k, struct rule_input *in,
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

/* hook_req.c: the arguments a script gets, described for the engine
 * (core/script_obj.h), kept for the whole request: req as the request
 * goes out (the first body_limit bytes of the body; query and headers
 * made when a script reads them) and ctx. */

struct hook_args {
    struct script_obj req, ctx;
    struct script_field req_f[REQ__MAX], ctx_f[CTX__MAX];
    struct proxy *px;
    size_t body_limit;
    struct buf path; /* "/" and px->rest */
    struct script_pair *query;
    size_t nquery;
    char *query_store;
    /* The client's headers, or onRequest's once it set them (headers_set:
     * those go out instead). */
    struct script_pair *headers;
    size_t nheaders;
    char *header_store;
    bool headers_set;
};

/* Makes px's arguments (NULL when memory ran out). */
struct hook_args *hook_args_make(struct proxy *px, size_t body_limit);

/* Describes req again from px as it is now (after onRequest's changes). */
void hook_args_refresh(struct hook_args *a);

/* Takes over the headers onRequest left in f (its out_pairs): they go
 * out, and later calls see them once req is described again
 * (hook_args_refresh). */
void hook_args_set_headers(struct hook_args *a, struct script_field *f);

void hook_args_free(struct hook_args *a);

/* hook_req.c: writes query pairs (one per value) as a raw query string,
 * percent-encoded.  Returns a new string (the caller frees it), or NULL
 * when it would be too long. */
char *hook_query_string(const struct script_pair *pairs, size_t n);

#endif
