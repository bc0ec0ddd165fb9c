"""Rule backtest (issue 21): POST /api/admin/rules/backtest replays a draft
rule, or a stored one (changed or not), against the recorded answers: key
events with their excerpts and the failed rows of the request log.  The
records are seeded straight into the database on a day of their own, so
that nothing the other tests log falls in the range."""

import datetime
import uuid

import harness  # noqa: F401  (puts scripts/ on the path)
from admin_helpers import A, assert_error, ok
from proxy_helpers import add_key, make_upstream
from rules_helpers import create_rule, status_is

FROM, TO = "2021-03-01T00:00:00Z", "2021-03-02T00:00:00Z"
QUOTA_BODY = '{"error":{"code":"insufficient_quota"}}'


def _rid(ts):
    """A request id as the gateway makes it (core/reqid.h): the start in ms
    (the log row's ts), then 12 random hex digits."""
    when = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)
    return "%012x%s" % (round(when.timestamp() * 1000), uuid.uuid4().hex[:12])


def _log(stack, up, key_id, ts, status, error=None, latency=120, rid=None):
    rid = rid or _rid(ts)
    stack.sql(
        "INSERT INTO request_logs (request_id, ts, method, upstream_id, upstream, path, key_id,"
        " status, status_class, latency_ms, error) VALUES ('%s', '%s', 'POST', %d, '%s',"
        " '/v1/chat', %s, %d, %d, %d, %s)"
        % (rid, ts, up["id"], up["name"], "NULL" if key_id is None else key_id, status,
           status // 100, latency, "NULL" if error is None else "'%s'" % error))
    return rid


def _event(stack, key_id, ts, excerpt, request_id=None, to="disabled"):
    stack.sql(
        "INSERT INTO key_events (key_id, ts, from_status, to_status, reason, actor, request_id,"
        " excerpt) VALUES (%d, '%s', 'active', '%s', 'seeded', 'rule', %s, '%s')"
        % (key_id, ts, to, "NULL" if request_id is None else "'%s'" % request_id, excerpt))


def _seed(stack, nkeys=10, pct=20):
    """An upstream of nkeys keys: key 0 answered 429 three times within a
    minute (the first with an insufficient_quota excerpt kept by its key
    event), key 1 a 500, key 2 timed out, key 3 a 401, key 4 a 200; and
    one 503 with no key (the gateway's own)."""
    up = make_upstream(stack, auto_disable_max_pct=pct)
    keys = [add_key(stack, up["id"]) for _ in range(nkeys)]
    k = [x["id"] for x in keys]
    day = "2021-03-01 10:00:"
    rid = _log(stack, up, k[0], day + "00.000", 429)
    _event(stack, k[0], day + "00.005", QUOTA_BODY, rid)
    _log(stack, up, k[0], day + "10.000", 429)
    _log(stack, up, k[0], day + "20.000", 429)
    _log(stack, up, k[1], day + "30.000", 500)
    _log(stack, up, k[2], day + "40.000", 504,
         "Timeout was reached: Operation timed out after 10000 milliseconds")
    _log(stack, up, k[3], day + "50.000", 401)
    _log(stack, up, k[4], day + "55.000", 200)
    _log(stack, up, None, day + "56.000", 503, "no_available_key")
    return up, keys


def _backtest(stack, **body):
    body.setdefault("from", FROM)
    body.setdefault("to", TO)
    return stack.main.admin.post(A + "/rules/backtest", json=body)


def _draft(cond, actions=None, **fields):
    rule = {"condition": cond, "actions": actions or [{"type": "disable_key", "duration_s": 600}]}
    rule.update(fields)
    return rule


def test_a_draft_rule_matches_the_recorded_answers(stack):
    up, keys = _seed(stack)
    r = ok(_backtest(stack, rule=_draft(status_is(429)), upstream_id=up["id"]))
    assert r["scanned"] == {"events": 1, "log_rows": 6}, r["scanned"]
    # The event's answer and its log row are one answer, judged once.
    assert r["matched"] == 3 and r["by_status"] == {"429": 3}, r
    assert [k["key_id"] for k in r["keys"]] == [keys[0]["id"]], r["keys"]
    key = r["keys"][0]
    assert key["would"] == "disable" and key["times"] == 1, key
    assert key["at"] == "2021-03-01T10:00:00Z", key
    assert len(r["sample"]) == 3 and r["sample"][0]["excerpt"] == QUOTA_BODY, r["sample"]
    assert r["guard"]["held"] == 0 and r["unjudged"]["rows"] == 0, r
    assert isinstance(r["elapsed_ms"], int)


def test_an_event_of_an_older_request_id_still_finds_its_log_row(stack):
    """Ids made before they carried their time (16 random hex digits) are
    found by the event's key and time instead."""
    up = make_upstream(stack)
    key = add_key(stack, up["id"])
    rid = _log(stack, up, key["id"], "2021-03-01 10:00:00.000", 429, rid=uuid.uuid4().hex[:16])
    _event(stack, key["id"], "2021-03-01 10:00:03.000", QUOTA_BODY, rid)
    r = ok(_backtest(stack, rule=_draft(status_is(429)), upstream_id=up["id"]))
    assert r["scanned"] == {"events": 1, "log_rows": 1} and r["matched"] == 1, r
    assert r["sample"][0]["excerpt"] == QUOTA_BODY and r["sample"][0]["status"] == 429, r


def test_body_leaves_judge_the_excerpt_and_leave_log_rows_unjudged(stack):
    up, keys = _seed(stack)
    cond = {"all": [status_is(429), {"type": "json_path", "path": "$.error.code", "op": "eq",
                                     "value": "insufficient_quota"}]}
    r = ok(_backtest(stack, rule=_draft(cond, [{"type": "ban_key"}]), upstream_id=up["id"]))
    assert r["matched"] == 1 and r["keys"][0]["would"] == "ban", r
    # The two 429 rows without an excerpt could have matched: not judged;
    # the 500, the timeout and the 401 are not 429 whatever their body.
    assert r["unjudged"]["rows"] == 2 and r["unjudged"]["body"] == 2, r["unjudged"]


def test_threshold_and_transport(stack):
    up, keys = _seed(stack)
    r = ok(_backtest(stack, rule=_draft(status_is(429), threshold=3, window_s=60),
                     upstream_id=up["id"]))
    assert r["matched"] == 3 and r["fired"] == 1, r
    assert r["keys"][0]["at"] == "2021-03-01T10:00:20Z", r["keys"]
    t = ok(_backtest(stack, rule=_draft({"type": "transport_error", "value": "timeout"}),
                     upstream_id=up["id"]))
    assert t["matched"] == 1 and t["keys"][0]["key_id"] == keys[2]["id"], t
    assert t["by_status"] == {"0": 1}, t


def test_a_stored_rule_by_id_changed_or_not(stack):
    up, keys = _seed(stack)
    rule = create_rule(stack, condition=status_is(500), upstream_id=up["id"], enabled=False,
                       actions=[{"type": "disable_key", "until": "quota_reset"}])
    r = ok(_backtest(stack, rule_id=rule["id"]))
    assert r["matched"] == 1 and r["keys"][0]["key_id"] == keys[1]["id"], r
    assert r["keys"][0]["would"] == "exhaust", r["keys"]
    c = ok(_backtest(stack, rule_id=rule["id"], changes={"condition": status_is(401)}))
    assert c["matched"] == 1 and c["keys"][0]["key_id"] == keys[3]["id"], c
    assert_error(_backtest(stack, rule_id=10 ** 12), 404, "not_found")


def test_the_guard_would_have_held_it_back(stack):
    # Ten keys, at most 20% out at once: of five keys' 403s in a minute,
    # two are acted on and three held.
    up = make_upstream(stack, auto_disable_max_pct=20)
    keys = [add_key(stack, up["id"]) for _ in range(10)]
    for i in range(5):
        _log(stack, up, keys[i]["id"], "2021-03-01 11:00:0%d.000" % i, 403)
    r = ok(_backtest(stack, rule=_draft(status_is(403), [{"type": "ban_key"}]),
                     upstream_id=up["id"]))
    assert r["matched"] == 5 and r["fired"] == 5, r
    assert r["guard"]["held"] == 3 and r["guard"]["alerts"] == 1, r["guard"]
    assert r["guard"]["first_held_at"] == "2021-03-01T11:00:02Z", r["guard"]
    acted = [k for k in r["keys"] if k["times"] == 1]
    held = [k for k in r["keys"] if k["held"] == 1]
    assert len(acted) == 2 and len(held) == 3, r["keys"]


def test_time_range_and_upstream_filter(stack):
    up, keys = _seed(stack)
    other, _ = _seed(stack)
    rule = _draft(status_is(429))
    # Only the first ten seconds: the first 429 (and its event).
    r = ok(_backtest(stack, rule=rule, upstream_id=up["id"], to="2021-03-01T10:00:05Z"))
    assert r["matched"] == 1 and r["scanned"]["log_rows"] == 1, r
    # Both upstreams' rows without the filter (the range holds only ours...
    # and whatever other runs seeded on this day, so only a lower bound).
    both = ok(_backtest(stack, rule=rule))
    assert both["matched"] >= 6, both
    # A rule of one upstream never saw the other's answers.
    only = ok(_backtest(stack, rule=_draft(status_is(429), upstream_id=other["id"])))
    assert only["matched"] == 3 and {k["upstream_id"] for k in only["keys"]} == {other["id"]}
    assert_error(_backtest(stack, rule=rule, upstream_id=up["id"], **{"from": TO, "to": TO}),
                 400, "invalid_field", "from")


def test_validation_like_post_rules(stack):
    assert_error(_backtest(stack), 400, "invalid_field", "rule: required (or rule_id)")
    bad = _backtest(stack, rule=_draft({"type": "body_regex", "pattern": "("}))
    assert_error(bad, 400, "invalid_field", "rule.condition.pattern")
    bad = _backtest(stack, rule=_draft(status_is(429), threshold=0))
    assert_error(bad, 400, "invalid_field", "rule.threshold")
    bad = _backtest(stack, rule=_draft(status_is(429)), **{"from": "yesterday"})
    assert_error(bad, 400, "invalid_field", "from")
    bad = _backtest(stack, rule=_draft({"type": "nope"}))
    assert_error(bad, 400, "invalid_field", "rule.condition.type")


def test_no_key_value_in_the_answer(stack):
    up, keys = _seed(stack)
    r = _backtest(stack, rule=_draft({"type": "status", "op": "gte", "value": 400}),
                  upstream_id=up["id"])
    body = ok(r)
    assert body["matched"] == 5, body
    for k in keys:
        assert k["value"] not in r.text, "a key value in the answer"
