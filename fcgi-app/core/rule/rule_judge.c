/*
 * Judging a rule against a recorded answer that lacks parts of what the
 * live answer had (the rule backtest: a request log row keeps no headers
 * and no body, a key event no headers).  A leaf that looks at a missing
 * part is "unknown" instead of false, and unknowns travel up the tree the
 * three-valued way (an all with a false child is false whatever the
 * others, an any with a true child true), so that a record is counted as
 * not judged only when the missing part could have changed the outcome.
 */
#include "core/rule/rule_int.h"

enum verdict { V_NO, V_YES, V_UNKNOWN };

/* The missing part a leaf looks at (0: the leaf is always judged). */
static unsigned leaf_needs(const struct rule_cond *c)
{
    switch (c->kind) {
    case K_STATUS:
    case K_LATENCY:
    case K_TRANSPORT:
        return RULE_NO_STATUS;
    case K_CONTAINS:
    case K_REGEX:
    case K_JSON:
        return RULE_NO_BODY;
    case K_HEADER:
        return RULE_NO_HEADERS;
    case K_SCRIPT:
        return RULE_NO_SCRIPT;
    default:
        return 0;
    }
}

static enum verdict judge(const struct rule_cond *c, struct rule_input *in, unsigned missing,
                          unsigned *why)
{
    enum verdict v, out;
    unsigned kid_why = 0, need;
    size_t i;

    switch (c->kind) {
    case K_ALL:
    case K_ANY:
        /* all: no beats unknown beats yes; any: yes beats unknown beats no. */
        out = c->kind == K_ALL ? V_YES : V_NO;
        for (i = 0; i < c->nkids; i++) {
            v = judge(c->kids[i], in, missing, &kid_why);
            if (v == (c->kind == K_ALL ? V_NO : V_YES))
                return v;
            if (v == V_UNKNOWN)
                out = V_UNKNOWN;
        }
        if (out == V_UNKNOWN)
            *why |= kid_why;
        return out;
    case K_NOT:
        v = judge(c->kids[0], in, missing, why);
        return v == V_UNKNOWN ? V_UNKNOWN : v == V_YES ? V_NO : V_YES;
    default:
        need = leaf_needs(c) & missing;
        if (need != 0) {
            *why |= need;
            return V_UNKNOWN;
        }
        return rule_cond_eval(c, in) ? V_YES : V_NO;
    }
}

int rule_judge(const struct rule *r, struct rule_input *in, unsigned missing, unsigned *why)
{
    enum verdict v;

    *why = 0;
    if (r == NULL || r->cond == NULL || in == NULL)
        return 0;
    v = judge(r->cond, in, missing, why);
    if (v != V_UNKNOWN)
        *why = 0;
    return v == V_YES ? 1 : v == V_NO ? 0 : -1;
}
