/*
 * One dry run of POST /api/admin/scripts/test (scripts_test.c), and what
 * scripts_out.c makes of onRequest's changes: the outgoing request the
 * answer shows, and req as onResponse sees it.
 */
#ifndef APIGW_ADMIN_SCRIPTS_RUN_H
#define APIGW_ADMIN_SCRIPTS_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/rule/rule.h"
#include "core/script.h"
#include "core/script_obj.h"
#include "core/script_req.h"

struct req;
struct json_object;

#define TEST_HEADERS_MAX 128

/* One dry run: its inputs, the hooks' arguments and what it answers. */
struct run {
    struct req *r;
    struct script *s;
    struct script_limits lim;
    struct json_object *in; /* the validated body */
    /* req and ctx, described as the proxy describes them; their query and
     * headers point into the validated copies. */
    struct script_obj req, ctx;
    struct script_field req_f[REQ__MAX], ctx_f[CTX__MAX];
    struct json_object *query, *headers; /* validated, header names in lower case */
    struct script_pair *query_pairs, *header_pairs;
    size_t nquery, nheaders;
    bool taken; /* onRequest's changes passed script_req_check */
    /* What onRequest's taken changes made, kept for onResponse's req. */
    char *fwd_method, *fwd_path, *fwd_body, *fwd_qstore, *fwd_hstore;
    struct script_pair *fwd_query, *fwd_headers;
    /* res, from "response" (has_res), as the proxy's rules see an answer. */
    bool has_res;
    struct rule_input rin;
    struct rule_header rh[TEST_HEADERS_MAX];
    struct json_object *res_headers;
    struct json_object *out; /* the answer */
    struct json_object *logs, *errors;
    const char *hook; /* the hook running, for its log lines */
};

/* Sets "request" (the outgoing request in full), "changed" (the parts
 * onRequest changed) and "dropped_headers" in t->out. */
void admin_script_test_outgoing(struct run *t);

/* Describes req again as it would go out (with onRequest's taken
 * changes), for onResponse, as the proxy does after applying them. */
void admin_script_test_forwarded(struct run *t);

#endif
