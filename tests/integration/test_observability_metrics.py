"""GET /metrics, read by a strict parser of the Prometheus text format
(obs_helpers.parse_prometheus), after known traffic: requests by upstream
and status class, retries, the latency histogram against the raw log, rule
firings (a rule whose name needs escaping), keys by status, counters that
only grow, and an answer (apigw_db_up 0) while the database is down."""

import harness
from admin_helpers import A, ok, uniq
from mock_upstream import Reply
from obs_helpers import parse_prometheus, raw_logs, rid, scrape, wait_rows
from proxy_helpers import parallel, settle, setup
from rules_helpers import create_rule, status_is

LE_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000]
COUNTERS = ("apigw_requests_total", "apigw_retries_total", "apigw_rule_firings_total")
PROCESS_GAUGES = ("apigw_log_queue_rows", "apigw_log_spool_bytes",
                  "apigw_alert_deliveries_pending", "apigw_db_up")


def _state(stack):
    """What the traffic of this file set up, made once per file."""
    st = stack.__dict__.get("_obs_metrics")
    if st is not None and stack.main.admin.get(A + "/upstreams/%d" % st["m1"].up["id"]).status \
            == 200:
        return st
    m1 = setup(stack, nkeys=2, max_retries=2, retry_backoff_ms=5, settle=False)
    m2 = setup(stack, nkeys=3, max_retries=0, settle=False)
    # A rule name with every character a label value must escape but newline
    # (rule names take no control characters).
    rule_name = uniq('retry "500" \\ on m1')
    create_rule(stack, name=rule_name, upstream_id=m1.up["id"], condition=status_is(500),
                actions=[{"type": "retry"}])
    settle()
    st = {"m1": m1, "m2": m2, "rule": rule_name, "sent": {"m1": 0},
          "bad": "Bearer " + m1.keys[0]["value"]}
    stack.__dict__["_obs_metrics"] = st
    return st


def _script(st):
    bad = st["bad"]

    def script(req):
        path = req.path.split("?")[0]
        if req.header("Authorization") == bad:
            return Reply(500, "this key fails")
        if "/nf" in path:
            return Reply(404, "not here")
        if "/boom" in path:
            return Reply(503, "busy")
        if "/slow" in path:
            return Reply(200, "slow", delay=0.06)
        return Reply(200, "fine")
    return script


def _send(stack, st, plan):
    """plan: [(setup, path, expected status)]; returns the request ids."""
    c = stack.main.client
    resp = parallel(lambda p: (p, c.get(p[0].path(p[1]), token=p[0].token)), plan, workers=6)
    for (s, path, status), r in resp:
        assert r.status == status, (path, r)
    ids = [rid(r) for _, r in resp]
    wait_rows(stack, ids)
    return ids


def _up_labels(s):
    return {"upstream": s.name, "upstream_id": str(s.up["id"])}


def _m1_attempts(stack, st):
    keys = {"Bearer " + k["value"] for k in st["m1"].keys}
    return sum(1 for q in list(stack.mock.requests) if q.header("Authorization") in keys)


def _check_histogram(stack, m, s):
    """The upstream's histogram against its rows in request_logs."""
    rows = raw_logs(stack, "upstream_id = %d" % s.up["id"])
    lb = _up_labels(s)
    buckets = {b["le"]: v for b, v in m.series("apigw_request_duration_seconds_bucket", **lb)}
    want_les = ["%g" % (x / 1000.0) for x in LE_MS] + ["+Inf"]
    assert sorted(buckets, key=lambda x: float(x)) == sorted(want_les, key=lambda x: float(x)), \
        buckets
    for le in LE_MS:
        n = sum(1 for r in rows if r["latency_ms"] <= le)
        assert buckets["%g" % (le / 1000.0)] == n, (s.name, le, buckets, n)
    assert buckets["+Inf"] == len(rows)
    assert m.value("apigw_request_duration_seconds_count", **lb) == len(rows)
    total = sum(r["latency_ms"] for r in rows) / 1000.0
    got = m.value("apigw_request_duration_seconds_sum", **lb)
    assert abs(got - total) < 0.0006, (got, total)


def test_metrics_after_known_traffic(stack):
    st = _state(stack)
    m1, m2 = st["m1"], st["m2"]
    stack.mock.script = _script(st)
    _send(stack, st, [(m1, "ok/%d" % i, 200) for i in range(10)] +
          [(m2, "ok/%d" % i, 200) for i in range(5)] + [(m2, "slow/1", 200)] +
          [(m2, "nf/%d" % i, 404) for i in range(3)] +
          [(m2, "boom/%d" % i, 503) for i in range(2)])
    # A request for an upstream nobody made.
    r = stack.main.client.get("/proxy/%s/x" % uniq("nosuch"), token=m1.token)
    assert r.status == 404, r
    wait_rows(stack, [rid(r)])
    m = scrape(stack)
    for fam in COUNTERS:
        assert m.types[fam] == "counter", m.types
    assert m.types["apigw_request_duration_seconds"] == "histogram"
    assert m.types["apigw_keys"] == "gauge"
    for g in PROCESS_GAUGES:
        assert m.types[g] == "gauge", g
    # Requests by upstream and class: exactly what was sent.
    req = {(lb["upstream_id"], lb["class"]): (lb["upstream"], v)
           for lb, v in m.series("apigw_requests_total")}
    assert req == {
        (str(m1.up["id"]), "2xx"): (m1.name, 10),
        (str(m2.up["id"]), "2xx"): (m2.name, 6),
        (str(m2.up["id"]), "4xx"): (m2.name, 3),
        (str(m2.up["id"]), "5xx"): (m2.name, 2),
        ("0", "4xx"): ("(none)", 1),
    }, req
    # Retries: every attempt of m1 beyond the first of each request; the
    # rule fired once for each request of the failing key.
    attempts = _m1_attempts(stack, st)
    assert attempts > 10, "the failing key of m1 was never tried"
    assert m.value("apigw_retries_total", **_up_labels(m1)) == attempts - 10
    assert m.value("apigw_retries_total", **_up_labels(m2)) == 0
    assert m.value("apigw_rule_firings_total", rule=st["rule"]) == attempts - 10
    assert [lb["rule"] for lb, _ in m.series("apigw_rule_firings_total")] == [st["rule"]]
    rows = raw_logs(stack, "upstream_id = %d" % m1.up["id"])
    assert sum(r["attempts"] - 1 for r in rows) == attempts - 10
    # The latency histogram, bucket by bucket, against the raw log.
    _check_histogram(stack, m, m1)
    _check_histogram(stack, m, m2)
    # Keys by status, now.
    for s in (m1, m2):
        keys = {lb["status"]: v for lb, v in m.series("apigw_keys", **_up_labels(s))}
        assert keys == {"active": len(s.keys), "disabled": 0, "banned": 0, "exhausted": 0}, keys
    # The process's own gauges, labelled with host and pid.
    for g in PROCESS_GAUGES:
        ser = m.series(g)
        assert len(ser) == 1 and set(ser[0][0]) == {"host", "pid"}, (g, ser)
        assert ser[0][0]["pid"].isdigit()
    assert m.value("apigw_db_up", **m.series("apigw_db_up")[0][0]) == 1


def test_metrics_keys_by_status_and_counters_only_grow(stack):
    st = _state(stack)
    m1, m2 = st["m1"], st["m2"]
    stack.mock.script = _script(st)
    _send(stack, st, [(m2, "ok/a%d" % i, 200) for i in range(2)])
    before = scrape(stack)
    attempts0 = _m1_attempts(stack, st)
    # Ban one key of m2, disable another.
    k_ban, k_off = m2.keys[0], m2.keys[1]
    ok(stack.main.admin.post(A + "/keys/batch", json={"ids": [k_ban["id"]], "action": "ban"}))
    ok(stack.main.admin.post(A + "/keys/batch", json={"ids": [k_off["id"]],
                                                       "action": "disable"}))
    settle()
    m = scrape(stack)
    keys = {lb["status"]: v for lb, v in m.series("apigw_keys", **_up_labels(m2))}
    assert keys == {"active": 1, "disabled": 1, "banned": 1, "exhausted": 0}, keys
    keys = {lb["status"]: v for lb, v in m.series("apigw_keys", **_up_labels(m1))}
    assert keys == {"active": 2, "disabled": 0, "banned": 0, "exhausted": 0}, keys
    # More traffic: every counter, bucket, sum and count is at least what it was.
    _send(stack, st, [(m1, "ok/b%d" % i, 200) for i in range(6)] +
          [(m2, "ok/b%d" % i, 200) for i in range(4)] +
          [(m2, "nf/b%d" % i, 404) for i in range(2)])
    after = scrape(stack)
    b, a = before.as_dict(), after.as_dict()
    for (name, labels), v in b.items():
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and before.types.get(name[:-len(suffix)]) == "histogram":
                fam = name[:-len(suffix)]
        if before.types[fam] in ("counter", "histogram"):
            assert (name, labels) in a, "%s%r vanished" % (name, labels)
            assert a[(name, labels)] >= v, "%s%r went down: %r -> %r" % (
                name, labels, v, a[(name, labels)])
    up1, up2 = _up_labels(m1), _up_labels(m2)
    fired = _m1_attempts(stack, st) - attempts0 - 6
    assert fired > 0, "the failing key of m1 was never tried"
    grew = [
        (("apigw_requests_total", dict(up1, **{"class": "2xx"})), 6),
        (("apigw_requests_total", dict(up2, **{"class": "2xx"})), 4),
        (("apigw_requests_total", dict(up2, **{"class": "4xx"})), 2),
        (("apigw_requests_total", dict(up2, **{"class": "5xx"})), 0),
        (("apigw_request_duration_seconds_count", up1), 6),
        (("apigw_request_duration_seconds_count", up2), 6),
        (("apigw_retries_total", up1), fired),
        (("apigw_retries_total", up2), 0),
        (("apigw_rule_firings_total", {"rule": st["rule"]}), fired),
    ]
    for (name, labels), d in grew:
        v0, v1 = before.value(name, **labels), after.value(name, **labels)
        assert v0 is not None and v1 is not None, (name, labels)
        assert v1 - v0 == d, "%s%r: %r -> %r, expected +%d" % (name, labels, v0, v1, d)
    _check_histogram(stack, after, m1)
    _check_histogram(stack, after, m2)


def test_metrics_answer_while_the_database_is_down(stack):
    st = _state(stack)
    before = scrape(stack)
    stack.db.stop()
    try:
        r = stack.main.client.get("/metrics")
        assert r.status == 200, r
        m = parse_prometheus(r.text)
        ser = m.series("apigw_db_up")
        assert len(ser) == 1 and ser[0][1] == 0, ser
        for g in PROCESS_GAUGES:
            assert m.types.get(g) == "gauge" and len(m.series(g)) == 1, g
        # Figures that need the database are left out rather than made up.
        for n, lb, v in m.samples:
            if n.startswith("apigw_requests_total") or n.startswith("apigw_keys"):
                assert False, "a figure without the database: %s%r %r" % (n, lb, v)
        h = stack.main.client.get("/healthz")
        assert h.status == 503 and h.json().get("db") == "down", h
    finally:
        stack.db.start()
        harness.wait_until(lambda: stack.main.client.get("/healthz").status == 200, timeout=30,
                           interval=0.2, what="/healthz 200 after the database came back")
    m = harness.wait_until(
        lambda: (lambda x: x if x.value("apigw_db_up", **x.series("apigw_db_up")[0][0]) == 1
                 else None)(scrape(stack)), timeout=15, what="apigw_db_up 1")
    assert m.value("apigw_requests_total", **dict(_up_labels(st["m1"]), **{"class": "2xx"})) == \
        before.value("apigw_requests_total", **dict(_up_labels(st["m1"]), **{"class": "2xx"}))
    # Traffic is counted again.
    stack.mock.script = _script(st)
    _send(stack, st, [(st["m2"], "ok/after-db", 200)])
    m2 = scrape(stack)
    lb = dict(_up_labels(st["m2"]), **{"class": "2xx"})
    assert m2.value("apigw_requests_total", **lb) == before.value("apigw_requests_total", **lb) + 1
