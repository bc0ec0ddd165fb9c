"""GET /api/admin/stats errors_by_reason (issue 22, the dashboard's
"errors by reason" panel): the newest errors of the range grouped by
status and the first part of their error text, most frequent first,
filtered by upstream like the rest of the stats; successes not counted."""

import datetime
import urllib.parse

from admin_helpers import A, ok
from proxy_helpers import make_upstream


def _log(stack, prefix, n, status, error, upstream_id, minutes_ago=1):
    err = "NULL" if error is None else "'%s'" % error
    stack.sql("INSERT INTO request_logs (request_id, ts, method, path, upstream_id, status,"
              " status_class, latency_ms, error) SELECT CONCAT('%s', seq),"
              " UTC_TIMESTAMP() - INTERVAL %d MINUTE, 'GET', '/x', %d, %d, %d, 1, %s"
              " FROM seq_1_to_%d" % (prefix, minutes_ago, upstream_id, status, status // 100,
                                     err, n))


def test_errors_are_grouped_by_status_and_reason(stack):
    up = make_upstream(stack)
    other = make_upstream(stack)
    tag = "rs%d" % up["id"]
    _log(stack, tag + "a", 5, 502, "upstream connection failed: refused by 10.0.0.1", up["id"])
    _log(stack, tag + "b", 3, 502, "upstream connection failed: timed out", up["id"])
    _log(stack, tag + "c", 4, 429, None, up["id"])
    _log(stack, tag + "d", 7, 200, None, up["id"])
    _log(stack, tag + "e", 9, 503, "no key available: all resting", other["id"])
    _log(stack, tag + "f", 6, 500, "old", up["id"], minutes_ago=180)   # out of the range
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
    frm = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = ok(stack.main.admin.get(A + "/stats?" + urllib.parse.urlencode(
        {"from": frm, "upstream_id": up["id"]})))
    reasons = [(e["status"], e["reason"], e["requests"]) for e in body["errors_by_reason"]]
    assert reasons == [(502, "upstream connection failed", 8), (429, "", 4)], reasons
    assert body["errors_sampled"] == 12, body["errors_sampled"]
    everything = ok(stack.main.admin.get(A + "/stats?" + urllib.parse.urlencode({"from": frm})))
    assert (503, "no key available", 9) in [(e["status"], e["reason"], e["requests"])
                                            for e in everything["errors_by_reason"]]
