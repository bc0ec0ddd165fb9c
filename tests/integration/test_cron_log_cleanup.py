"""apigw-log-cleanup: request logs older than log_retention_days, deleted
5,000 rows per statement while the proxy keeps serving; per-minute and
hourly rollups as old (docs/OPERATIONS.md), alerts and key history older
than the larger of log_retention_days and 90 days, expired sessions; the
counters since the start (stats_total*) never."""

import datetime
import re
import threading
import time

import harness
from admin_helpers import create_user
from cron_helpers import (assert_same, finish_job, parse_db_time, run_job, snapshot, sql_int,
                          start_job, utc_now, write_conf)
from proxy_helpers import add_key, make_upstream, setup

SUMMARY = re.compile(r"(deleted|would delete) (\d+) log rows older than "
                     r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC, (\d+) rollup rows, (\d+) alerts,"
                     r" (\d+) key events and (\d+) expired sessions;"
                     r" (\d+) ended limit window counters")

BIG = 60000
TABLES = ("request_logs", "stats_minute", "stats_latency", "stats_latency_hour",
          "stats_model_minute", "stats_token_minute", "alerts", "key_events", "sessions")


def _summary(r, retention_days):
    """(verb, logs, rollups, alerts, events, sessions) from the one line,
    after checking the cutoff it names."""
    line = r.line()
    m = SUMMARY.fullmatch(line)
    assert m, line
    cutoff = parse_db_time(m.group(3))
    expected = utc_now() - datetime.timedelta(days=retention_days)
    assert abs((cutoff - expected).total_seconds()) < 30, (line, expected)
    return (m.group(1),) + tuple(int(m.group(i)) for i in (2, 4, 5, 6, 7))


def _insert_old_logs(stack, prefix, n, days_old):
    stack.sql("INSERT INTO request_logs (request_id, ts, method, path, status, status_class,"
              " latency_ms) SELECT CONCAT('%s', seq), UTC_TIMESTAMP() - INTERVAL %d DAY, 'GET',"
              " '/x', 200, 2, 1 FROM seq_1_to_%d" % (prefix, days_old, n))


def _count(stack, prefix):
    return sql_int(stack, "SELECT COUNT(*) FROM request_logs WHERE request_id LIKE '%s%%'"
                   % prefix)


def test_a_large_table_is_cleaned_in_batches_while_the_proxy_serves(stack):
    s = setup(stack, nkeys=2)
    _insert_old_logs(stack, "old", BIG, 40)
    _insert_old_logs(stack, "kept", 50, 29)                # within the default 30 days
    assert _count(stack, "old") == BIG

    results = []
    stop = threading.Event()

    def traffic():
        c = stack.main.client
        while not stop.is_set():
            t0 = time.time()
            r = c.get(s.path("v1/chat"), token=s.token, timeout=30)
            results.append((r.status, time.time() - t0, r.header("X-Gateway-Request-Id")))

    samples = []

    def sampler():
        while not stop.is_set():
            samples.append(_count(stack, "old"))
            time.sleep(0.01)

    threads = [threading.Thread(target=traffic) for _ in range(3)]
    threads.append(threading.Thread(target=sampler))
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)                                    # traffic flowing before
        p = start_job(stack, "apigw-log-cleanup")
        r = finish_job(p)
        time.sleep(0.3)                                    # and after
    finally:
        stop.set()
        for t in threads:
            t.join()
    verb, logs, rollups, alerts, events, sessions = _summary(r, 30)
    assert (verb, logs, rollups, alerts, events, sessions) == ("deleted", BIG, 0, 0, 0, 0), r

    assert len(results) >= 10, results
    bad = [x for x in results if x[0] != 200]
    assert not bad, bad[:5]
    slowest = max(x[1] for x in results)
    assert slowest < 2.0, slowest
    # Deleted 5,000 rows at a time: every count seen meanwhile is a whole
    # number of batches, and some were seen between the start and the end.
    assert all(n % 5000 == 0 for n in samples), sorted(set(samples))
    assert any(0 < n < BIG for n in samples), sorted(set(samples))

    assert _count(stack, "old") == 0
    assert _count(stack, "kept") == 50
    # The proxied requests' own rows are written and kept.
    ids = [x[2] for x in results]
    harness.wait_until(lambda: sql_int(stack, "SELECT COUNT(*) FROM request_logs WHERE"
                                              " request_id IN (%s)" % ", ".join(
                                                  "'%s'" % i for i in ids)) == len(ids),
                       timeout=10, what="the proxied requests' log rows")


def _old_and_recent(stack, retention):
    """Rows of every kind just past and just within their limits, for a
    configuration with log_retention_days = retention.  Returns the counts
    the summary must give: (logs, rollups, alerts, events, sessions)."""
    history = max(retention, 90)
    up = make_upstream(stack)
    k = add_key(stack, up["id"])
    user, _, _ = create_user(stack, "viewer")
    old, new = retention + 2, retention - 2
    stmts = [
        "DELETE FROM stats_minute; DELETE FROM stats_latency; DELETE FROM stats_latency_hour;"
        " DELETE FROM stats_model_minute; DELETE FROM stats_token_minute;"
        " DELETE FROM alerts; DELETE FROM key_events; DELETE FROM sessions;"
        " DELETE FROM request_logs",
    ]
    for prefix, days, n in (("old-", old, 3), ("new-", new, 2)):
        stmts.append("INSERT INTO request_logs (request_id, ts, method, path, status,"
                     " status_class, latency_ms) SELECT CONCAT('%s', seq), UTC_TIMESTAMP() -"
                     " INTERVAL %d DAY, 'GET', '/x', 200, 2, 1 FROM seq_1_to_%d"
                     % (prefix, days, n))
    for days, keys in ((old, (1, 2)), (new, (1,))):
        for key in keys:
            stmts.append("INSERT INTO stats_minute VALUES (DATE_FORMAT(UTC_TIMESTAMP() -"
                         " INTERVAL %d DAY, '%%Y-%%m-%%d %%H:%%i:00'), %d, %d, 2, 5, 0, 0, 50, 0, 0, 0, 0)"
                         % (days, up["id"], key))
            stmts.append("INSERT INTO stats_latency VALUES (DATE_FORMAT(UTC_TIMESTAMP() -"
                         " INTERVAL %d DAY, '%%Y-%%m-%%d %%H:%%i:00'), %d, %d, 5)"
                         % (days, up["id"], key))
    for days in (old, new):
        # The model and client-token rollups of issue 18: one row each side.
        stmts.append("INSERT INTO stats_model_minute VALUES (DATE_FORMAT(UTC_TIMESTAMP() -"
                     " INTERVAL %d DAY, '%%Y-%%m-%%d %%H:%%i:00'), %d, 'm', 1, 0, 5, 2, 0, 7, '', 0)"
                     % (days, up["id"]))
        stmts.append("INSERT INTO stats_token_minute VALUES (DATE_FORMAT(UTC_TIMESTAMP() -"
                     " INTERVAL %d DAY, '%%Y-%%m-%%d %%H:%%i:00'), %d, 1, 1, 0, 5, 2, 0, 7, '', 0)"
                     % (days, up["id"]))
        stmts.append("INSERT INTO stats_latency_hour VALUES (DATE_FORMAT(UTC_TIMESTAMP() -"
                     " INTERVAL %d DAY, '%%Y-%%m-%%d %%H:00:00'), %d, 7, 3)" % (days, up["id"]))
    for days, n in ((history + 2, 2), (history - 2, 1), (new, 1)):
        for i in range(n):
            stmts.append("INSERT INTO alerts (ts, upstream_id, message) VALUES"
                         " (UTC_TIMESTAMP(3) - INTERVAL %d DAY, %d, 'alert %d days old')"
                         % (days, up["id"], days))
            stmts.append("INSERT INTO key_events (key_id, ts, from_status, to_status, reason,"
                         " actor) VALUES (%d, UTC_TIMESTAMP(3) - INTERVAL %d DAY, 'active',"
                         " 'disabled', 'event %d days old', 'test')" % (k["id"], days, days))
    for i, minutes in enumerate((-60, -1, 600)):
        stmts.append("INSERT INTO sessions (token_hash, user_id, expires_at, created_at) VALUES"
                     " (UNHEX(SHA2('cleanup-session-%d-%d', 256)), %d, UTC_TIMESTAMP() +"
                     " INTERVAL %d MINUTE, UTC_TIMESTAMP() - INTERVAL 1 DAY)"
                     % (retention, i, user["id"], minutes))
    stack.sql("; ".join(stmts))
    # rollups past the retention: 2 + 2 per-minute rows, 1 hourly row, 1 model
    # and 1 client-token row
    return 3, 7, 2, 2, 2


def _remaining(stack):
    return {
        "logs": sql_int(stack, "SELECT COUNT(*) FROM request_logs"),
        "old logs": _count(stack, "old-"),
        "stats_minute": sql_int(stack, "SELECT COUNT(*) FROM stats_minute"),
        "stats_latency": sql_int(stack, "SELECT COUNT(*) FROM stats_latency"),
        "stats_latency_hour": sql_int(stack, "SELECT COUNT(*) FROM stats_latency_hour"),
        "stats_model_minute": sql_int(stack, "SELECT COUNT(*) FROM stats_model_minute"),
        "stats_token_minute": sql_int(stack, "SELECT COUNT(*) FROM stats_token_minute"),
        "alerts": sql_int(stack, "SELECT COUNT(*) FROM alerts"),
        "key_events": sql_int(stack, "SELECT COUNT(*) FROM key_events"),
        "sessions": sql_int(stack, "SELECT COUNT(*) FROM sessions"),
    }


def test_every_kind_of_old_row_goes_and_recent_ones_stay(stack):
    for retention in (10, 120):      # history kept 90 days, or the retention when longer
        conf, _ = write_conf(stack, log_retention_days=retention)
        expected = _old_and_recent(stack, retention)

        before = snapshot(stack, TABLES)
        r = run_job(stack, "apigw-log-cleanup", "--dry-run", config=conf)
        assert _summary(r, retention) == ("would delete",) + expected, r
        assert_same(before, snapshot(stack, TABLES))

        totals = snapshot(stack, ("stats_total", "stats_total_latency", "stats_rules_total"))
        r = run_job(stack, "apigw-log-cleanup", config=conf)
        assert _summary(r, retention) == ("deleted",) + expected, r
        # The counters since the start are never cleaned up.
        assert_same(totals, snapshot(stack, ("stats_total", "stats_total_latency",
                                             "stats_rules_total")))
        assert _remaining(stack) == {
            "logs": 2, "old logs": 0, "stats_minute": 1, "stats_latency": 1,
            "stats_latency_hour": 1, "stats_model_minute": 1, "stats_token_minute": 1,
            "alerts": 2, "key_events": 2, "sessions": 1}, retention
        # Which rows stayed: the recent ones.
        assert sql_int(stack, "SELECT COUNT(*) FROM request_logs WHERE request_id LIKE"
                              " 'new-%'") == 2
        assert sql_int(stack, "SELECT COUNT(*) FROM sessions WHERE expires_at >"
                              " UTC_TIMESTAMP()") == 1
        assert sql_int(stack, "SELECT COUNT(*) FROM alerts WHERE ts > UTC_TIMESTAMP() -"
                              " INTERVAL %d DAY" % max(retention, 90)) == 2

        # Safe to run again: nothing left to delete.
        r = run_job(stack, "apigw-log-cleanup", config=conf)
        assert _summary(r, retention) == ("deleted", 0, 0, 0, 0, 0), r


def test_two_copies_at_once_delete_once(stack):
    stack.sql("; ".join("DELETE FROM %s" % t for t in TABLES))
    _insert_old_logs(stack, "twice", BIG, 45)
    procs = [start_job(stack, "apigw-log-cleanup") for _ in range(2)]
    runs = [finish_job(p) for p in procs]
    acted = [r for r in runs if r.out.startswith("deleted ")]
    assert len(acted) == 1, runs
    assert _summary(acted[0], 30) == ("deleted", BIG, 0, 0, 0, 0), runs
    other = [r for r in runs if r is not acted[0]][0]
    other.quiet()                        # the first one is still deleting when it starts
    assert _count(stack, "twice") == 0
