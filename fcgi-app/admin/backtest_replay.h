/*
 * The rule backtest's replay (POST /api/admin/rules/backtest): the matches
 * a rule found in the recorded answers are put in time order and run
 * through the rule's threshold, window and cool-down per key and then
 * through the upstream-wide guard, the way proxy/rules.c and
 * core/rule/rulestate.c do it live, but in memory.  The reading of the
 * records is admin/rules_backtest.c's; this file knows no database.
 */
#ifndef APIGW_BACKTEST_REPLAY_H
#define APIGW_BACKTEST_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct rule;

/* What the guard of one upstream needs: its keys and its max share. */
struct bt_upstream {
    long long id, keys_total, max_pct;
    /* The replay's own state of the guard's window. */
    long long window_start, actions, out;
    long long next_back_ms; /* the soonest a key taken out comes back */
    bool alerted;
};

/* One recorded answer the rule matched. */
struct bt_match {
    long long ts_ms, key_id, upstream_id, row_id;
    int status;
    bool event; /* row_id is a key event's id, else a request log row's */
};

/* One key the rule would have acted on (or the guard held it back). */
struct bt_key {
    long long key_id, upstream_id;
    long long at_ms;      /* the first firing the guard let through; -1: none */
    long long held_at_ms; /* the first firing the guard held; -1: none */
    long long times, held;
    long long out_until_ms; /* while taken out (INT64_MAX: for good) */
};

/* How many matches the answer shows. */
#define BT_SAMPLE 20

struct backtest {
    const struct rule *rule;
    struct bt_upstream *ups;
    size_t nups;
    struct bt_match *m;
    size_t nm, cap;
    bool truncated; /* more matches than BT_MATCHES_MAX */
    struct bt_key *keys;
    size_t nkeys;
    long long fired, held, alerts, first_held_ms;
    struct bt_match sample[BT_SAMPLE]; /* the first matches in time order */
    size_t nsample;
};

/* Takes the rule (borrowed) and the upstreams (owned from now on). */
void bt_init(struct backtest *bt, const struct rule *r, struct bt_upstream *ups, size_t nups);

void bt_free(struct backtest *bt);

/* Keeps one match.  Returns -1 when memory ran out. */
int bt_add(struct backtest *bt, const struct bt_match *m);

/* Sorts the matches by time and replays them.  Returns -1 when memory ran
 * out. */
int bt_replay(struct backtest *bt);

/* The answer's "guard" object. */
struct json_object *bt_guard_json(const struct backtest *bt);

/* What the rule would do to a key: "ban", "exhaust", "disable", or NULL
 * when it changes no key. */
const char *bt_would(const struct rule *r);

#endif
