/*
 * What rules remember across requests, processes and hosts, in MariaDB:
 * how often a rule matched a key within its window and when it last fired
 * (rule_hits), and how many automatic key actions an upstream took within
 * a window (upstream_guard).  Every decision is one atomic statement whose
 * matched-row count decides, so two processes never both fire.
 */
#ifndef APIGW_RULESTATE_H
#define APIGW_RULESTATE_H

#include <stdbool.h>

struct db;

/* Counts one match of a rule for a key and tells whether the rule fires
 * now: threshold matches within window_s, and cooldown_s passed since it
 * last fired for that key.  Firing starts a new count. */
int rulestate_hit(struct db *db, long long rule_id, long long key_id, long long threshold,
                  long long window_s, long long cooldown_s, bool *fire);

/* Asks the upstream-wide guard for one automatic disable or ban within a
 * window of window_s: at most keys_total * max_pct / 100 per window, and
 * never so many that fewer than (100 - max_pct)% of the keys stay active.
 * *allowed tells whether this one may go ahead; when it may not, *alert is
 * true for exactly one caller per window (the one that raises the alert). */
int rulestate_guard(struct db *db, long long upstream_id, long long keys_total, long long max_pct,
                    long long window_s, bool *allowed, bool *alert);

#endif
