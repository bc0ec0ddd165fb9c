"""GET /api/admin/alerts: alerts raised by rules with an alert action
(delivered true, false or null by the webhook's outcome) and rows put in
directly: newest first, the fields, the filters upstream_id, rule_id and
key_id, limit and offset paging, and the answers to bad parameters."""

import json
import time

import harness
from admin_helpers import A, RFC3339, assert_error, ok, parse_time, uniq
from mock_upstream import Reply
from obs_helpers import sql_rows
from proxy_helpers import setup
from rules_helpers import create_rule, hook_requests, settle, status_is

FIELDS = {"id", "ts", "kind", "rule_id", "key_id", "upstream_id", "message", "webhook",
          "delivered", "delivery_error", "request_id"}


def alerts(stack, query=""):
    return ok(stack.main.admin.get(A + "/alerts" + ("?" + query if query else "")))


def _db_alerts(stack, where="1 = 1"):
    cols = ["id", "rule_id", "key_id", "upstream_id", "message", "delivered"]
    return sql_rows(stack, "SELECT id, rule_id, key_id, upstream_id, message, delivered FROM"
                    " alerts WHERE %s ORDER BY id DESC" % where, cols,
                    {"id", "rule_id", "key_id", "upstream_id", "delivered"})


def test_alerts_raised_by_rules_with_their_delivery(stack):
    s = setup(stack, nkeys=1, max_retries=0)
    key = s.keys[0]
    ok_hook, bad_hook = "/hook-ok-%d" % s.up["id"], "/hook-bad-%d" % s.up["id"]
    r_ok = create_rule(stack, name=uniq("alert-ok"), upstream_id=s.up["id"], priority=1,
                       condition=status_is(418),
                       actions=[{"type": "alert", "message": "delivered one",
                                 "webhook": stack.mock.url + ok_hook}])
    r_bad = create_rule(stack, name=uniq("alert-bad"), upstream_id=s.up["id"], priority=2,
                        condition=status_is(418),
                        actions=[{"type": "alert", "message": "failed one",
                                  "webhook": stack.mock.url + bad_hook}])
    r_none = create_rule(stack, name=uniq("alert-none"), upstream_id=s.up["id"], priority=3,
                         condition=status_is(418),
                         actions=[{"type": "alert", "message": "no webhook \"quoted\" \u00e9"}])

    def script(req):
        path = req.path.split("?")[0]
        if path == ok_hook:
            return Reply(200, "thanks")
        if path == bad_hook:
            return Reply(500, "hook down")
        return Reply(418, "short and stout")

    stack.mock.script = script
    settle()
    t0 = int(time.time())
    r = stack.main.client.get(s.path("v1/brew"), token=s.token)
    assert r.status == 418, r
    up = "upstream_id=%d" % s.up["id"]
    # Recorded at once; delivered (or not) later: ~3 s for the failing hook.
    harness.wait_until(lambda: len(alerts(stack, up)["items"]) == 3, timeout=5,
                       what="three alerts")
    harness.wait_until(lambda: all(a["delivered"] is not None or a["rule_id"] == r_none["id"]
                                   for a in alerts(stack, up)["items"]),
                       timeout=15, what="the deliveries' outcomes")
    resp = stack.main.admin.get(A + "/alerts?" + up)
    body = ok(resp)
    assert key["value"] not in resp.text
    assert body["total"] == 3, body
    items = body["items"]
    # Newest first: the rules ran in priority order.
    assert [a["rule_id"] for a in items] == [r_none["id"], r_bad["id"], r_ok["id"]], items
    assert [a["id"] for a in items] == sorted((a["id"] for a in items), reverse=True)
    for a in items:
        assert set(a) >= {"id", "ts", "rule_id", "key_id", "message", "delivered"}, a
        assert set(a) <= FIELDS, a
        assert isinstance(a["id"], int) and a["key_id"] == key["id"], a
        assert a["upstream_id"] == s.up["id"], a
        assert RFC3339.fullmatch(a["ts"]), a["ts"]
        assert t0 - 5 <= parse_time(a["ts"]) <= time.time() + 5, (a["ts"], t0)
    by_rule = {a["rule_id"]: a for a in items}
    assert (by_rule[r_ok["id"]]["message"], by_rule[r_ok["id"]]["delivered"]) == \
        ("delivered one", True), by_rule[r_ok["id"]]
    assert (by_rule[r_bad["id"]]["message"], by_rule[r_bad["id"]]["delivered"]) == \
        ("failed one", False), by_rule[r_bad["id"]]
    assert (by_rule[r_none["id"]]["message"], by_rule[r_none["id"]]["delivered"]) == \
        ("no webhook \"quoted\" \u00e9", None), by_rule[r_none["id"]]
    assert len(hook_requests(stack, ok_hook)) == 1
    assert len(hook_requests(stack, bad_hook)) == 3
    # Filters.
    one = alerts(stack, "rule_id=%d" % r_bad["id"])
    assert [a["id"] for a in one["items"]] == [by_rule[r_bad["id"]]["id"]] and one["total"] == 1
    assert alerts(stack, "key_id=%d" % key["id"]) == body
    both = alerts(stack, "%s&rule_id=%d&key_id=%d" % (up, r_ok["id"], key["id"]))
    assert [a["rule_id"] for a in both["items"]] == [r_ok["id"]] and both["total"] == 1
    assert alerts(stack, "%s&rule_id=%d" % (up, r_ok["id"] + 1000)) == {"items": [], "total": 0}


def _insert_alerts(stack, n):
    """n alerts written directly, ts rising with id: (id, upstream_id,
    rule_id, key_id, delivered, message) for each, oldest first."""
    before = int(stack.sql("SELECT IFNULL(MAX(id), 0) FROM alerts").strip())
    values, rows = [], []
    for i in range(n):
        up = 900001 + i % 2
        rule = 800001 + i % 3
        key = None if i % 5 == 4 else 700001 + i % 5
        delivered = (None, 1, 0)[i % 3]
        msg = "bulk %d: \"q\" \\ \u00fc" % i if i % 7 == 0 else "bulk %d" % i
        rows.append([None, up, rule, key, delivered, msg])
        values.append("(DATE_ADD(UTC_TIMESTAMP(3), INTERVAL %d MICROSECOND), %d, %s, %d, %s, %s)"
                      % (i * 10000, rule, "NULL" if key is None else key, up,
                         "NULL" if delivered is None else delivered,
                         "'" + msg.replace("\\", "\\\\").replace("'", "\\'") + "'"))
    stack.sql("INSERT INTO alerts (ts, rule_id, key_id, upstream_id, delivered, message) VALUES "
              + ", ".join(values))
    ids = [int(x) for x in stack.sql("SELECT id FROM alerts WHERE id > %d ORDER BY id" % before)
           .split()]
    assert len(ids) == n
    for row, i in zip(rows, ids):
        row[0] = i
    return rows


def test_alerts_list_order_filters_and_paging(stack):
    rows = _insert_alerts(stack, 26)
    newest = list(reversed(rows))
    # Unfiltered: everything, newest first.
    body = alerts(stack, "limit=1000")
    assert body["total"] == len(_db_alerts(stack))
    assert [a["id"] for a in body["items"]] == [r["id"] for r in _db_alerts(stack)]
    got = {a["id"]: a for a in body["items"]}
    for i, up, rule, key, delivered, msg in rows:
        a = got[i]
        assert (a["upstream_id"], a["rule_id"], a["key_id"], a["message"]) == \
            (up, rule, key, msg), a
        assert a["delivered"] is {None: None, 1: True, 0: False}[delivered], a
        assert RFC3339.fullmatch(a["ts"]), a
    ts = [parse_time(got[r[0]]["ts"]) for r in newest]
    assert ts == sorted(ts, reverse=True), ts
    # Filters, alone and together.
    cases = [
        ("upstream_id=900001", lambda r: r[1] == 900001),
        ("upstream_id=900002", lambda r: r[1] == 900002),
        ("rule_id=800002", lambda r: r[2] == 800002),
        ("key_id=700003", lambda r: r[3] == 700003),
        ("upstream_id=900001&rule_id=800003", lambda r: r[1] == 900001 and r[2] == 800003),
        ("rule_id=800001&key_id=700002", lambda r: r[2] == 800001 and r[3] == 700002),
        ("upstream_id=900002&rule_id=800002&key_id=700004",
         lambda r: r[1] == 900002 and r[2] == 800002 and r[3] == 700004),
        ("upstream_id=900003", lambda r: False),
    ]
    for q, pred in cases:
        want = [r[0] for r in newest if pred(r)]
        b = alerts(stack, q + "&limit=1000")
        assert [a["id"] for a in b["items"]] == want and b["total"] == len(want), (q, b, want)
    # Paging with limit and offset: the pages add up, the total stays.
    want = [r[0] for r in newest if r[1] == 900001]
    for limit in (1, 4, 5):
        seen = []
        for offset in range(0, len(want) + limit, limit):
            b = alerts(stack, "upstream_id=900001&limit=%d&offset=%d" % (limit, offset))
            assert b["total"] == len(want), b
            assert len(b["items"]) == min(limit, max(0, len(want) - offset)), (limit, offset, b)
            seen += [a["id"] for a in b["items"]]
        assert seen == want, (limit, seen, want)
    # The default page is 50.
    more = _insert_alerts(stack, 30)
    b = alerts(stack)
    assert len(b["items"]) == 50 and b["total"] == len(_db_alerts(stack)), b["total"]
    assert b["items"][0]["id"] == more[-1][0]
    assert json.dumps(b).count('"message"') == 50


def test_alerts_parameter_errors(stack):
    adm = stack.main.admin
    for q, field in [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                     ("offset=-1", "offset"), ("upstream_id=abc", "upstream_id"),
                     ("rule_id=0", "rule_id"), ("key_id=-3", "key_id")]:
        assert_error(adm.get(A + "/alerts?" + q), 400, "invalid_field", field)
    ok(adm.get(A + "/alerts?limit=1000&offset=100000"))
    assert_error(stack.main.client.get(A + "/alerts"), 401, "unauthorized")
