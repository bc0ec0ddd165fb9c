"""Several base URLs per upstream, each with a breaker (issue 19): the
endpoints field beside base_url, the weighted choice per attempt, a
refusing endpoint that opens its breaker without costing the key anything,
the half-open trial, the path per endpoint, the breaker state in the admin
API, the request log's endpoint column and the endpoint metrics."""

import time

import apigw_stack as st
from admin_helpers import A, assert_error, ok
from mock_upstream import MockUpstream, Reply
from obs_helpers import scrape
from proxy_helpers import get_key, make_upstream, patch_upstream, settle, setup, wait_log_rows
from rules_helpers import create_rule, delete_all_rules


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def _mocks(n):
    out = []
    for _ in range(n):
        m = MockUpstream().start()
        m.reset(_ok)
        out.append(m)
    return out


def _closed_url():
    """A loopback port nothing listens on: connections are refused."""
    return "http://127.0.0.1:%d" % st.free_port()


def _breaker(stack, up_id, url):
    up = ok(stack.main.admin.get(A + "/upstreams/%d" % up_id))
    for e in up["endpoints"]:
        if e["url"] == url:
            return e["breaker"]
    raise AssertionError("no endpoint %s in %r" % (url, up["endpoints"]))


def _series(metrics, name, **labels):
    """The value of the one sample of name whose labels include labels."""
    found = metrics.series(name, **labels)
    assert len(found) == 1, (name, labels, found)
    return found[0][1]


def _plain(endpoints):
    """The endpoints without their breakers."""
    return [{k: v for k, v in e.items() if k != "breaker"} for e in endpoints]


def test_reading_an_upstream_returns_base_url_and_endpoints(stack):
    a, b = "http://a.example/v1", "http://b.example/v1"
    up = make_upstream(stack, base_url=a)
    assert up["base_url"] == a
    assert _plain(up["endpoints"]) == [{"url": a, "weight": 1, "enabled": True}], up
    assert up["endpoints"][0]["breaker"] == {"state": "closed", "failures": 0,
                                             "open_until": None}, up
    assert (up["endpoint_fail_threshold"], up["endpoint_window_s"],
            up["endpoint_cooldown_s"]) == (5, 30, 30)
    path = A + "/upstreams/%d" % up["id"]
    # The list: base_url becomes its first enabled URL; defaults filled in.
    up = ok(stack.main.admin.patch(path, json={"endpoints": [
        {"url": a, "weight": 2, "enabled": False}, {"url": b}]}))
    assert up["base_url"] == b, up
    assert _plain(up["endpoints"]) == [{"url": a, "weight": 2, "enabled": False},
                               {"url": b, "weight": 1, "enabled": True}], up
    listed = [u for u in ok(stack.main.admin.get(A + "/upstreams?limit=1000"))["items"]
              if u["id"] == up["id"]]
    assert listed[0]["endpoints"] == up["endpoints"] and listed[0]["base_url"] == b
    # Both at once must agree; a base_url that does not is refused.
    assert_error(stack.main.admin.patch(path, json={"base_url": a, "endpoints": [{"url": b}]}),
                 400, "invalid_field", "base_url")
    ok(stack.main.admin.patch(path, json={"base_url": b, "endpoints": [{"url": b}, {"url": a}]}))
    # base_url alone is the one-endpoint form again.
    up = ok(stack.main.admin.patch(path, json={"base_url": a}))
    assert _plain(up["endpoints"]) == [{"url": a, "weight": 1, "enabled": True}], up
    # A body read back (breakers included) is accepted as it is.
    ok(stack.main.admin.put(path, json=up))
    # Creating with endpoints alone works too.
    up = ok(stack.main.admin.post(A + "/upstreams", json={
        "name": "ep-only-%d" % up["id"], "endpoints": [{"url": b, "weight": 7}]}), 201)
    assert up["base_url"] == b and up["endpoints"][0]["weight"] == 7, up
    bad = [
        ({"endpoints": []}, "endpoints"),
        ({"endpoints": [{"url": "ftp://x.example"}]}, "endpoints[0].url"),
        ({"endpoints": [{"url": b}, {"url": b}]}, "endpoints[1].url"),
        ({"endpoints": [{"url": b, "weight": 0}]}, "endpoints[0].weight"),
        ({"endpoints": [{"url": b, "weight": 1001}]}, "endpoints[0].weight"),
        ({"endpoints": [{"url": b, "enabled": "yes"}]}, "endpoints[0].enabled"),
        ({"endpoints": [{"url": b, "extra": 1}]}, "endpoints[0]"),
        ({"endpoints": [{"url": b, "enabled": False}]}, "endpoints"),
        ({"endpoints": [{"url": "http://h%d.example" % i} for i in range(17)]}, "endpoints"),
        ({"endpoint_fail_threshold": 0}, "endpoint_fail_threshold"),
        ({"endpoint_window_s": 0}, "endpoint_window_s"),
        ({"endpoint_cooldown_s": 3601}, "endpoint_cooldown_s"),
    ]
    for body, field in bad:
        assert_error(stack.main.admin.patch(path, json=body), 400, "invalid_field", field)
    assert_error(stack.main.admin.post(A + "/upstreams", json={"name": "no-url-at-all"}),
                 400, "invalid_field", "base_url")


def test_traffic_spreads_by_weight(stack):
    m1, m2 = _mocks(2)
    try:
        s = setup(stack, nkeys=1, base_url=m1.url, endpoints=[{"url": m1.url, "weight": 1},
                                             {"url": m2.url, "weight": 3}])
        rids = []
        for _ in range(80):
            r = stack.main.client.get(s.path("x"), token=s.token)
            assert r.status == 200, r
            rids.append(r.header("X-Gateway-Request-Id"))
        n1, n2 = len(m1.requests), len(m2.requests)
        assert n1 + n2 == 80, (n1, n2)
        assert 6 <= n1 <= 34 and n2 > n1, (n1, n2)   # 20 expected of 80
        # The log names the endpoint of each request.
        wait_log_rows(stack, rids)
        rows = stack.sql("SELECT endpoint, COUNT(*) FROM request_logs WHERE request_id IN (%s)"
                         " GROUP BY endpoint" % ", ".join("'%s'" % x for x in rids))
        got = dict(line.split("\t") for line in rows.splitlines() if line.strip())
        assert got == {m1.url: str(n1), m2.url: str(n2)}, got
        item = ok(stack.main.admin.get(A + "/logs?limit=1&upstream_id=%d" % s.up["id"]))
        assert item["items"][0]["endpoint"] in (m1.url, m2.url), item
        samples = scrape(stack)
        assert _series(samples, "apigw_endpoint_requests_total", upstream=s.name,
                       endpoint=m1.url, outcome="ok") == n1
        assert _series(samples, "apigw_endpoint_open", upstream=s.name, endpoint=m2.url) == 0
    finally:
        m1.stop()
        m2.stop()


def test_a_refusing_endpoint_opens_its_breaker_and_never_costs_the_key(stack):
    (good,) = _mocks(1)
    bad = _closed_url()
    revived = None
    try:
        s = setup(stack, nkeys=1, max_retries=2, settle=False, retry_backoff_ms=0, base_url=bad,
                  endpoint_fail_threshold=3, endpoint_window_s=60, endpoint_cooldown_s=2,
                  endpoints=[{"url": bad, "weight": 1000}, {"url": good.url, "weight": 1}])
        # A rule that would take the key out on any transport error.
        create_rule(stack, upstream_id=s.up["id"],
                    condition={"type": "transport_error", "value": "any"},
                    actions=[{"type": "disable_key"}, {"type": "retry"}])
        settle()
        # Nearly every first attempt goes to the refusing endpoint; the
        # same key then goes to the good one.
        refused = sent = 0
        while refused < 3:
            r = stack.main.client.get(s.path("x"), token=s.token)
            sent += 1
            assert r.status == 200 and sent < 10, (sent, r)
            refused += r.header("X-Gateway-Attempts") == "2"
        br = _breaker(stack, s.up["id"], bad)
        assert br["state"] == "open" and br["open_until"] is not None, br
        assert _breaker(stack, s.up["id"], good.url)["state"] == "closed"
        # While it is open, traffic goes to the other one at once.
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r
        assert len(good.requests) == sent + 1
        samples = scrape(stack)
        assert _series(samples, "apigw_endpoint_open", upstream=s.name, endpoint=bad) == 1
        assert _series(samples, "apigw_endpoint_requests_total", upstream=s.name,
                       endpoint=bad, outcome="transport") == 3
        time.sleep(0.5)
        key = get_key(stack, s.keys[0]["id"])
        assert key["status"] == "active" and key["total_failures"] == 0, key
        # After the cooldown one trial goes there; it fails: open again.
        time.sleep(2.1)
        assert _breaker(stack, s.up["id"], bad)["state"] == "half_open"
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200 and r.header("X-Gateway-Attempts") == "2", r
        assert _breaker(stack, s.up["id"], bad)["state"] == "open"
        # The endpoint comes back: after the cooldown the trial closes it.
        revived = MockUpstream(int(bad.rsplit(":", 1)[1])).start()
        revived.reset(_ok)
        time.sleep(2.1)
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r
        assert len(revived.requests) == 1
        br = _breaker(stack, s.up["id"], bad)
        assert br == {"state": "closed", "failures": 0, "open_until": None}, br
        key = get_key(stack, s.keys[0]["id"])
        assert key["status"] == "active" and key["total_failures"] == 0, key
    finally:
        delete_all_rules(stack)
        good.stop()
        if revived is not None:
            revived.stop()


def test_the_path_goes_under_each_endpoints_own_base(stack):
    m1, m2 = _mocks(2)
    try:
        s = setup(stack, nkeys=1, base_url=m1.url + "/v1",
                  endpoints=[{"url": m1.url + "/v1"}, {"url": m2.url + "/alt"}])
        for _ in range(30):
            r = stack.main.client.get(s.path("chat?x=1"), token=s.token)
            assert r.status == 200, r
        assert m1.requests and m2.requests
        assert {q.path for q in m1.requests} == {"/v1/chat?x=1"}
        assert {q.path for q in m2.requests} == {"/alt/chat?x=1"}
        m1.reset(_ok)
        m2.reset(_ok)
        r = stack.main.client.get(s.path("%2e%2e/x"), token=s.token)
        assert r.status == 400 and r.error_code() == "invalid_path", r
        assert not m1.requests and not m2.requests
    finally:
        m1.stop()
        m2.stop()


def test_one_endpoint_upstreams_behave_as_before(stack):
    """base_url alone: all open is never refused, and a refused connection
    is retried with the same key."""
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=0, base_url=_closed_url(),
              endpoint_fail_threshold=1)
    for _ in range(2):
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 502 and r.error_code() == "upstream_error", r
        assert r.header("X-Gateway-Attempts") == "2", r
    patch_upstream(stack, s.up["id"], base_url=stack.mock.url)
    stack.mock.reset(_ok)
    settle()
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200, r


def test_the_key_test_probes_an_endpoint_whose_breaker_is_closed(stack):
    (good,) = _mocks(1)
    bad = _closed_url()
    try:
        s = setup(stack, nkeys=1, max_retries=1, retry_backoff_ms=0, base_url=bad,
                  probe_method="GET", probe_path="/models", endpoint_fail_threshold=1,
                  endpoint_cooldown_s=600,
                  endpoints=[{"url": bad, "weight": 1000}, {"url": good.url, "weight": 1}])
        path = A + "/keys/%d/test" % s.keys[0]["id"]
        # Its first enabled endpoint (base_url) while every breaker is closed.
        res = ok(stack.main.admin.post(path))
        assert res["ok"] is False and res["error"], res
        # One refused attempt opens that breaker: the probe goes elsewhere.
        while _breaker(stack, s.up["id"], bad)["state"] == "closed":
            assert stack.main.client.get(s.path("x"), token=s.token).status == 200
        good.reset(_ok)
        res = ok(stack.main.admin.post(path))
        assert res["ok"] is True and res["status"] == 200, res
        assert [q.path for q in good.requests] == ["/models"], good.requests
    finally:
        good.stop()
