/*
 * What a validation job (apigw-jobs) makes of one probe's answer: valid,
 * invalid or inconclusive (docs/API.md "Validation jobs").  A 2xx answer is
 * valid.  A 429, a 5xx, a timeout, a transport or proxy failure, or no
 * answer at all is inconclusive, whatever the rules say: the provider, not
 * the key, is in trouble.  Any other answer is judged by the upstream's
 * enabled rules, in the order live traffic runs them (priority, then id; a
 * matching rule with stop ends the run): the answer is invalid when a
 * matching rule bans the key or disables it until a person enables it
 * (disable_key with duration_s 0 and no until).  Rests that end by
 * themselves (a duration, retry_after, quota_reset) say the key is busy or
 * spent, not bad: inconclusive.  Thresholds and cool-downs are not asked: a
 * probe is one deliberate answer, judged on its own.
 */
#ifndef APIGW_PROBE_VERDICT_H
#define APIGW_PROBE_VERDICT_H

#include <stddef.h>

struct db;
struct rule;
struct probe_target;
struct probe_result;

enum probe_verdict { VERDICT_VALID, VERDICT_INVALID, VERDICT_INCONCLUSIVE };

/* The enabled rules that apply to one upstream, compiled, in run order. */
struct verdict_rules {
    struct rule **v;
    size_t n;
};

/* Loads the rules of upstream_id.  Returns DB_OK or the database error;
 * a rule that no longer compiles is left out (the pool logs it). */
int verdict_rules_load(struct db *db, long long upstream_id, struct verdict_rules *out);

void verdict_rules_free(struct verdict_rules *r);

/* Judges one probe; the name of the rule that found the key bad goes to
 * rule_name ("" when none). */
enum probe_verdict probe_verdict(const struct verdict_rules *rules, const struct probe_target *t,
                                 const struct probe_result *res, char *rule_name, size_t len);

/* "valid", "invalid", "inconclusive". */
const char *probe_verdict_name(enum probe_verdict v);

#endif
