"""Request-log rows are never lost silently.  An extra gateway whose spool
file is a link to /dev/full (every write fails with ENOSPC) and whose
memory queue holds 200 rows (40 batches of log_batch_rows 5) serves traffic
while the database is down: the application log says so, rate-limited; the
metrics count the rows queued in memory and those dropped; once the
database is back the queued rows are written and an alert says how many
rows were lost and why."""

import os
import re
import time

from harness import wait_until
from obs_helpers import scrape
from proxy_helpers import log_rows, setup, wait_log_rows

BATCH_ROWS = 5
QUEUE_MAX = 40 * BATCH_ROWS
SENT = 320
LINE_RE = re.compile(r"request log: the spool in \S+ refused (\d+) rows since the last report "
                     r"\((\d+) lost; (\d+) rows wait in memory\): No space left on device")


def _gauge(m, name):
    ser = m.series(name)
    assert len(ser) == 1 and set(ser[0][0]) == {"host", "pid"}, (name, ser)
    return ser[0][1]


def _break_spool(g):
    """From now on every spool write of g fails with ENOSPC."""
    spool = os.path.join(g.dir, "spool")
    assert os.path.isdir(spool) and os.listdir(spool) == [], os.listdir(spool)
    os.symlink("/dev/full", os.path.join(spool, "reqlog.spool"))


def _loss_alerts(stack):
    out = stack.sql("SELECT message FROM alerts WHERE message LIKE 'request log:%'")
    return [x for x in out.splitlines() if x.strip()]


def test_spool_failure_is_logged_counted_and_alerted(stack):
    s = setup(stack)   # a key without limits: served from the pool cache without the database
    g = stack.gateway("lossgw", overrides={"log_batch_rows": BATCH_ROWS})
    try:
        c = g.client
        first = c.get(s.path("v1/before"), token=s.token)
        assert first.status == 200, first
        wait_log_rows(stack, [first.header("X-Gateway-Request-Id")])
        m = scrape(stack, g)
        assert m.types.get("apigw_log_rows_dropped_total") == "counter", m.types
        assert _gauge(m, "apigw_log_rows_dropped_total") == 0
        assert _gauge(m, "apigw_log_rows_queued") == 0
        assert _gauge(m, "apigw_log_rows_spooled") == 0
        assert "refused" not in g.log()
        _break_spool(g)

        stack.db.stop()
        try:
            t0 = time.time()
            ids = []
            for i in range(SENT):
                r = c.get(s.path("v1/down%d" % i), token=s.token, timeout=15)
                assert r.status in (200, 503), r
                ids.append(r.header("X-Gateway-Request-Id"))

            # Every row is either waiting in memory or counted as dropped.
            def settled():
                m = scrape(stack, g)
                q = _gauge(m, "apigw_log_rows_queued")
                d = _gauge(m, "apigw_log_rows_dropped_total")
                return (q, d) if q + d == SENT else None
            queued, dropped = wait_until(settled, timeout=20, what="queued + dropped == sent")
            assert 0 < queued <= QUEUE_MAX, queued
            assert dropped >= SENT - QUEUE_MAX, dropped
            m = scrape(stack, g)
            assert _gauge(m, "apigw_log_queue_rows") == queued
            assert _gauge(m, "apigw_log_rows_spooled") == 0
            assert _gauge(m, "apigw_db_up") == 0
            pid = m.series("apigw_db_up")[0][0]["pid"]

            # Loud, but rate-limited: at most a line per 10 s, each with
            # its count and the reason.
            lines = wait_until(lambda: LINE_RE.findall(g.log()), timeout=10,
                               what="the spool failure in the application log")
            elapsed = time.time() - t0
            assert len(lines) <= 2 + elapsed / 10, (len(lines), elapsed)
            for refused, lost, queued in lines:
                assert int(refused) > 0 and int(queued) <= QUEUE_MAX, lines
            assert sum(int(refused) for refused, _, _ in lines) <= SENT, lines
            assert sum(int(lost) for _, lost, _ in lines) <= dropped, (lines, dropped)
        finally:
            stack.db.start()

        # The rows that waited in memory are written; an alert reports the
        # others.
        alerts = wait_until(lambda: _loss_alerts(stack), timeout=30, what="the loss alert")
        assert len(alerts) == 1, alerts
        msg = alerts[0]
        assert "%d rows lost" % dropped in msg, (msg, dropped)
        assert "No space left on device" in msg and "(pid %s)" % pid in msg, msg

        def all_written():
            n = len(log_rows(stack, ids))
            return n if n == SENT - dropped else None
        wait_until(all_written, timeout=30, what="%d rows written" % (SENT - dropped))
        m = wait_until(lambda: (lambda m: m if _gauge(m, "apigw_log_rows_queued") == 0 else None)(
            scrape(stack, g)), timeout=15, what="the memory queue to empty")
        assert _gauge(m, "apigw_log_rows_dropped_total") == dropped
        assert "alert" in g.log()
    finally:
        g.stop()
        stack.gateways.remove(g)
