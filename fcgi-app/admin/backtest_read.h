/*
 * What the rule backtest reads (admin/rules_backtest.c): the upstreams'
 * guard figures, the answers behind key events and the failed requests of
 * the request log in the range, each judged by the rule as it is read and
 * kept (as a small struct bt_match) only when it matched.
 */
#ifndef APIGW_BACKTEST_READ_H
#define APIGW_BACKTEST_READ_H

#include <stddef.h>

struct db;
struct rule;
struct backtest;
struct bt_upstream;

/* The reasons a record could not be judged, in RULE_NO_* bit order. */
#define BT_WHY_N 4

struct bt_scan {
    const struct rule *rule;
    struct backtest *bt;
    char from[32], to[32]; /* DATETIME(3) text, UTC; to is exclusive */
    long long upstream_id; /* 0: every upstream */
    long long body_limit;  /* rule_body_limit */
    long long events, rows, matched, unjudged;
    long long why[BT_WHY_N];
    long long by_status[1000];
    /* The log rows behind events, judged once (with the event's excerpt). */
    long long *skip;
    size_t nskip, skipcap;
};

/* Reads the upstreams the backtest may touch (all of them, or the one
 * filtered on) with their key counts; *ups is malloc'd.  Returns a db rc. */
int bt_read_upstreams(struct db *db, const struct bt_scan *s, struct bt_upstream **ups, size_t *n);

/* Judges the key events with an excerpt in the range. */
int bt_read_events(struct db *db, struct bt_scan *s);

/* Judges the failed rows of the request log in the range, page by page. */
int bt_read_logs(struct db *db, struct bt_scan *s);

void bt_scan_free(struct bt_scan *s);

#endif
