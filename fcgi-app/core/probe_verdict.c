#include "core/probe_verdict.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/db.h"
#include "core/mask.h"
#include "core/pool.h"
#include "core/probe.h"
#include "core/rule/rule.h"

int verdict_rules_load(struct db *db, long long upstream_id, struct verdict_rules *out)
{
    struct db_res res;
    unsigned i;
    int rc = db_query(db,
                      "SELECT " POOL_RULE_COLS " FROM rules WHERE enabled = 1 AND"
                      " (upstream_id IS NULL OR upstream_id = ?) ORDER BY priority, id",
                      DB_ARGS(DB_INT(upstream_id)), &res);

    out->v = NULL;
    out->n = 0;
    if (rc == DB_OK && (out->v = calloc(res.nrows + 1, sizeof(*out->v))) == NULL)
        rc = DB_EFAIL;
    for (i = 0; rc == DB_OK && i < res.nrows; i++) {
        struct rule *r = pool_rule_compile(&res, i);
        if (r != NULL)
            out->v[out->n++] = r;
    }
    db_res_free(&res);
    return rc;
}

void verdict_rules_free(struct verdict_rules *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        rule_free(r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* Whether a rule's actions say the key itself is bad. */
static bool condemns(const struct rule *r)
{
    size_t i;

    for (i = 0; i < r->nactions; i++) {
        const struct rule_action *a = &r->actions[i];
        if (a->type == ACTION_BAN)
            return true;
        if (a->type == ACTION_DISABLE && a->until == UNTIL_DURATION && a->duration_s == 0)
            return true;
    }
    return false;
}

enum probe_verdict probe_verdict(const struct verdict_rules *rules, const struct probe_target *t,
                                 const struct probe_result *res, char *rule_name, size_t len)
{
    enum probe_verdict v = VERDICT_INCONCLUSIVE;
    struct mask_secret secret;
    struct rule_input in = {0};
    size_t i;

    rule_name[0] = '\0';
    if (res->ok)
        return VERDICT_VALID;
    /* 407 is an egress proxy's answer, not the provider's about the key. */
    if (res->transport_failed || res->status == 0 || res->status == 429 || res->status == 407 ||
        res->status >= 500)
        return VERDICT_INCONCLUSIVE;
    mask_secret_init(&secret, t->key, t->key_len, t->masked);
    in.status = res->status;
    in.body = res->answer;
    in.body_len = res->answer_len;
    in.latency_ms = res->latency_ms;
    in.transport = TRANSPORT_NONE;
    in.secret = &secret;
    for (i = 0; i < rules->n; i++) {
        const struct rule *r = rules->v[i];
        if (!rule_matches(r, &in))
            continue;
        if (condemns(r)) {
            v = VERDICT_INVALID;
            snprintf(rule_name, len, "%s", r->name);
            break;
        }
        if (r->stop)
            break;
    }
    rule_input_done(&in);
    mask_secret_free(&secret);
    return v;
}

const char *probe_verdict_name(enum probe_verdict v)
{
    static const char *const names[] = {"valid", "invalid", "inconclusive"};

    return names[v];
}
