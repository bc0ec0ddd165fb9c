/*
 * An upstream's header_rules (docs/API.md, "Header rules"): the ordered
 * set, remove and append operations on the headers that go upstream.
 * Parsed and checked from their JSON in one place, so that the admin API
 * refuses exactly what the pool snapshot would not load.  Applying them is
 * proxy/shape_headers.h.
 */
#ifndef APIGW_HEADER_RULES_H
#define APIGW_HEADER_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct json_object;

#define HEADER_RULES_MAX      32
#define HEADER_RULE_NAME_MAX  128
#define HEADER_RULE_VALUE_MAX 1024

enum header_op { HEADER_SET, HEADER_REMOVE, HEADER_APPEND };

struct header_rule {
    enum header_op op;
    char *name;
    char *value; /* NULL for remove; may hold {request_id}, {token}, {upstream} */
    /* Whether the rule adds a line that survives the rules after it (no
     * later set or remove of the same name): decided once, at parse time,
     * so that a request only writes the lines that are kept. */
    bool emits;
};

struct header_rules {
    struct header_rule *v;
    size_t n;
};

/* Parses arr (a JSON array, or NULL / JSON null for none) into out.
 * key_header is the header the upstream injects the key into (NULL when
 * the key goes in the query): it, Host, Content-Length, Expect and the
 * hop-by-hop headers cannot be named.  Returns 0, or -1 with
 * "header_rules[i].member: why" (or "header_rules: why") in msg; out is
 * then empty.  header_rules_free releases out. */
int header_rules_parse(struct json_object *arr, const char *key_header, struct header_rules *out,
                       char *msg, size_t len);

/* Like header_rules_parse, from the JSON text (NULL: none). */
int header_rules_parse_text(const char *text, const char *key_header, struct header_rules *out,
                            char *msg, size_t len);

void header_rules_free(struct header_rules *r);

/* What the placeholders of a rule's value stand for; NULL is empty. */
struct header_vars {
    const char *request_id; /* {request_id}: X-Gateway-Request-Id */
    const char *token;      /* {token}: the client token's name */
    const char *upstream;   /* {upstream}: the upstream the request goes to */
};

/* Appends rule r's line, "Name: value" with the placeholders filled (an
 * unknown {name} stays as written), to line.  Returns 0, or -1 at line's
 * cap. */
int header_rule_line(const struct header_rule *r, const struct header_vars *v, struct buf *line);

/* Whether a rule may never name the header (any case): hop-by-hop, Host,
 * Content-Length and Expect, which the transfer itself owns. */
bool header_rules_fixed(const char *name);

#endif
