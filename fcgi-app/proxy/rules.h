/*
 * The rules, applied to each attempt of a proxied request (core/rule/rule.h
 * compiles and matches them; rules.c decides when they run and what their
 * actions do).
 *
 *   PHASE_HEADERS    answers below 400, when their headers arrive: rules
 *                    that do not look at the body (they may still retry)
 *   PHASE_HELD       answers of 400 and above, on the held body (or its
 *                    first rule_body_limit bytes): every rule
 *   PHASE_AFTER      answers below 400, after they went to the client:
 *                    rules that look at the body (no retry any more)
 *   PHASE_PEEK       2xx event streams of an upstream with stream_peek, on
 *                    the held first event (proxy/peek.h): rules that look
 *                    at the body, in place of PHASE_AFTER (they may retry)
 *   PHASE_TRANSPORT  no answer at all: every rule (body leaves are false)
 */
#ifndef APIGW_PROXY_RULES_H
#define APIGW_PROXY_RULES_H

#include <stdbool.h>

struct proxy;
struct pool_key;
struct rule_input;
struct rule_action;

enum rule_phase { PHASE_HEADERS, PHASE_HELD, PHASE_AFTER, PHASE_PEEK, PHASE_TRANSPORT };

/* Runs the rules of the request's upstream that belong to the phase,
 * fires those whose threshold and cooldown pass, and applies their
 * actions to key k.  excerpt is what a key's history keeps of the answer
 * (may be NULL: the body is used).  Returns true when a fired rule asks
 * for a retry (never in PHASE_AFTER). */
bool proxy_rules_run(struct proxy *px, struct pool_key *k, struct rule_input *in,
                     enum rule_phase phase, const char *excerpt);

/* Applies a key action (disable_key, ban_key) that the upstream's script's
 * onResponse returned to key k, by the same path as a rule's: within the
 * upstream-wide guard, recorded as an event with actor `script` and reason
 * (not NULL).  excerpt as for proxy_rules_run. */
void proxy_rules_script_action(struct proxy *px, struct pool_key *k, const struct rule_action *a,
                               const struct rule_input *in, const char *reason,
                               const char *excerpt);

/* Adds msg (copied) to the messages the request's log entry keeps. */
void proxy_rules_message(struct proxy *px, const char *msg);

/* Writes the names of the rules that fired and the messages of `log`
 * actions into the request's log entry. */
void proxy_rules_log(struct proxy *px);

#endif
