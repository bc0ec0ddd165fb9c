/*
 * Capacity alerts (docs/API.md "Capacity alerts"): alerts that need no
 * rule.  An upstream is `low` when its usable (active) keys fall below
 * alert_min_active_pct of its keys or below alert_min_active keys, `dry`
 * when every request it had in the last minute got 503 no_available_key,
 * else `ok`; a key `recovered` when its history shows it came back to
 * active; a key is `probe_failing` when its probe has failed for more than
 * a day.  Each alert is raised once per change of state: the states live in
 * capacity_state, and the history already read is remembered in job_state,
 * so whichever host runs the check next continues where the last one ended.
 */
#ifndef APIGW_CAPACITY_H
#define APIGW_CAPACITY_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/db.h"

struct alerter;

/* What the check counts of one upstream. */
struct capacity_counts {
    long long min_active_pct; /* alert_min_active_pct; 0 = off */
    long long min_active;     /* alert_min_active, when has_min_active */
    bool has_min_active;
    long long usable, total;    /* active keys, all keys */
    long long requests, no_key; /* of the last minute; those that got no_available_key */
    bool was_dry;               /* the state the last check left */
};

/* The upstream's state for these counts: "dry" when it had requests and
 * every one found no key (and it stays dry while no key is usable, even
 * through a minute without requests, so that bursts of traffic to a dry
 * pool do not alert each time), else "low" when the usable keys are below either
 * threshold (the share only when it has keys), else "ok". */
const char *capacity_state_of(const struct capacity_counts *c);

/* What one check did. */
struct capacity_run {
    long long alerts; /* alerts raised */
};

/* Checks every enabled upstream and key, writes the states and raises the
 * alerts through a (which may be NULL: the rows are written, nothing is
 * sent).  Returns DB_OK or the failing call's code. */
enum db_rc capacity_check(struct db *db, struct alerter *a, struct capacity_run *run);

/* The capacity of one upstream as the last check saw it: {state, usable,
 * total, since, checked_at}; state "unknown" (and nulls) when no check has
 * seen it yet.  NULL when the database failed (*rc says how). */
struct json_object *capacity_json(struct db *db, long long upstream_id, enum db_rc *rc);

#endif
