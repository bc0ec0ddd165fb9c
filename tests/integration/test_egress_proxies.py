"""Egress proxies (issue 19): an upstream's requests leave through HTTP
(CONNECT) or SOCKS5 proxies on the loopback (proxy_servers.py), chosen
round robin or per key (rendezvous hashing); a key's own proxy overrides;
a proxy that fails is retried through another with the same key, without
blaming the key, and rests after 3 failures; credentials are sealed at
rest and masked everywhere."""

import json

from admin_helpers import A, assert_error, ok
from mock_upstream import Reply
from proxy_helpers import (add_key, get_key, patch_upstream, settle, setup, wait_key,
                           wait_log_row)
from proxy_servers import HttpConnectProxy, Socks5Proxy, closed_port
from rules_helpers import create_rule, delete_all_rules
from cron_helpers import run_job
from obs_helpers import scrape


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def _get(stack, s, n=1):
    out = []
    for _ in range(n):
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200, r
        out.append(r)
    return out


def _bearer(k):
    return "Bearer " + k["value"]


def _logs_text(stack, upstream):
    return json.dumps(ok(stack.main.admin.get(A + "/logs?upstream=%s&limit=200" % upstream)))


def test_requests_go_through_http_and_socks5_proxies_with_credentials_masked(stack):
    hp = HttpConnectProxy(user="hu", password="hsecret1")
    sp = Socks5Proxy(user="su", password="ssecret2")
    try:
        s = setup(stack, nkeys=1, proxy_mode="round_robin", proxies=[hp.url()])
        stack.mock.reset(_ok)
        assert s.up["proxies"] == ["http://hu:***@127.0.0.1:%d" % hp.port], s.up
        r = _get(stack, s)[0]
        assert hp.requests == 1 and hp.keys == [_bearer(s.keys[0])], (hp.requests, hp.keys)
        row = wait_log_row(stack, r)
        assert row["key_id"] == s.keys[0]["id"]
        # The SOCKS5 proxy (socks5h: the proxy resolves the name) instead.
        up = patch_upstream(stack, s.up["id"], proxies=[sp.url(scheme="socks5h")])
        assert up["proxies"] == ["socks5h://su:***@127.0.0.1:%d" % sp.port], up
        settle()
        r = _get(stack, s)[0]
        assert sp.requests == 1 and sp.connections == 1, (sp.requests, sp.connections)
        assert hp.requests == 1
        wait_log_row(stack, r)
        # Nowhere shown, logged or stored in the clear.
        shown = json.dumps(ok(stack.main.admin.get(A + "/upstreams")))
        logs = _logs_text(stack, s.name)
        assert "socks5h://su:***@127.0.0.1:%d" % sp.port in logs, logs
        for secret in ("hsecret1", "ssecret2"):
            assert secret not in shown and secret not in logs
        stored = stack.sql("SELECT proxies, HEX(proxies_enc) FROM upstreams WHERE id = %d"
                           % s.up["id"])
        assert "ssecret2" not in stored and "ssecret2".encode().hex().upper() not in stored
        assert "su:***@" in stored, stored
    finally:
        hp.close()
        sp.close()


def test_a_masked_value_posted_back_keeps_the_stored_password(stack):
    a = HttpConnectProxy(user="u", password="pw-a")
    b = Socks5Proxy(user="v", password="pw-b")
    try:
        s = setup(stack, nkeys=1, proxy_mode="round_robin", proxies=[a.url()])
        shown = s.up["proxies"]
        # Read back, one added: the masked line keeps its password.
        up = patch_upstream(stack, s.up["id"], proxies=shown + [b.url()])
        assert up["proxies"] == shown + [b.url().replace("pw-b", "***")], up
        settle()
        stack.mock.reset(_ok)
        _get(stack, s, 4)
        assert a.requests == 2 and b.requests == 2 and a.refused == 0 and b.refused == 0
        # A masked value that matches no stored proxy is refused.
        assert_error(stack.main.admin.patch(
            A + "/upstreams/%d" % s.up["id"],
            json={"proxies": ["http://other:***@127.0.0.1:9"]}), 400, "invalid_field",
            "proxies[0]")
        assert_error(stack.main.admin.patch(
            A + "/upstreams/%d" % s.up["id"], json={"proxies": ["ftp://h:1"]}),
            400, "invalid_field", "proxies[0]")
        assert_error(stack.main.admin.patch(
            A + "/upstreams/%d" % s.up["id"], json={"proxies": [], "proxy_mode": "per_key"}),
            400, "invalid_field", "proxies")
        assert_error(stack.main.admin.patch(
            A + "/upstreams/%d" % s.up["id"], json={"proxy_mode": "sometimes"}),
            400, "invalid_field", "proxy_mode")
    finally:
        a.close()
        b.close()


def _key_to_proxy(proxies):
    out = {}
    for i, p in enumerate(proxies):
        for k in p.keys:
            out.setdefault(k, set()).add(i)
    return out


def test_per_key_is_stable_and_removing_a_proxy_moves_only_its_keys(stack):
    ps = [HttpConnectProxy() for _ in range(3)]
    try:
        s = setup(stack, nkeys=9, proxy_mode="per_key", proxies=[p.url() for p in ps])
        stack.mock.reset(_ok)
        _get(stack, s, 27)   # round robin over keys: each key 3 times
        before = _key_to_proxy(ps)
        assert len(before) == 9, before
        assert all(len(v) == 1 for v in before.values()), before   # one proxy per key
        assert len({next(iter(v)) for v in before.values()}) >= 2, before  # spread
        # Take away the proxy with the most keys.
        gone = max(range(3), key=lambda i: len(ps[i].keys))
        for p in ps:
            p.keys.clear()
        patch_upstream(stack, s.up["id"], proxies=[p.url() for i, p in enumerate(ps)
                                                    if i != gone])
        settle()
        _get(stack, s, 18)
        after = _key_to_proxy(ps)
        assert not ps[gone].keys
        for k, v in before.items():
            assert len(after[k]) == 1, after
            if v != {gone}:
                assert after[k] == v, (k, before, after)   # kept its proxy
    finally:
        for p in ps:
            p.close()


def test_round_robin_spreads_and_a_keys_own_proxy_overrides(stack):
    ps = [HttpConnectProxy(), Socks5Proxy()]
    own = Socks5Proxy(user="own", password="ownsecret")
    try:
        s = setup(stack, nkeys=1, proxy_mode="round_robin", proxies=[p.url() for p in ps])
        stack.mock.reset(_ok)
        _get(stack, s, 10)
        assert ps[0].requests == 5 and ps[1].requests == 5, [p.requests for p in ps]
        k = ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"],
                                      json={"proxy": own.url()}))
        assert k["proxy"] == "socks5://own:***@127.0.0.1:%d" % own.port, k
        settle()
        _get(stack, s, 3)
        assert own.requests == 3 and [p.requests for p in ps] == [5, 5]
        # Sent back masked, the key keeps its password; null removes it.
        k = ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"],
                                      json={"proxy": k["proxy"], "weight": 2}))
        settle()
        _get(stack, s, 1)
        assert own.requests == 4 and own.refused == 0
        stored = stack.sql("SELECT proxy, HEX(proxy_enc) FROM api_keys WHERE id = %d"
                           % s.keys[0]["id"])
        assert "ownsecret" not in stored and "ownsecret".encode().hex().upper() not in stored
        assert "ownsecret" not in json.dumps(ok(stack.main.admin.get(A + "/keys/%d"
                                                                      % s.keys[0]["id"])))
        ok(stack.main.admin.patch(A + "/keys/%d" % s.keys[0]["id"], json={"proxy": None}))
        settle()
        _get(stack, s, 2)
        assert own.requests == 4 and sum(p.requests for p in ps) == 12
        # A key made with its own proxy.
        k2 = add_key(stack, s.up["id"], proxy=own.url(), weight=1)
        assert k2["proxy"].endswith("own:***@127.0.0.1:%d" % own.port), k2
    finally:
        for p in ps + [own]:
            p.close()


def test_a_refusing_proxy_is_retried_with_the_same_key_and_rests_after_3_failures(stack):
    good = HttpConnectProxy()
    bad = HttpConnectProxy(user="x", password="right")   # given the wrong password: 407
    try:
        def counts():
            m = scrape(stack)
            return [sum(v for _, v in m.series(n)) for n in (
                "apigw_egress_proxy_failures_total", "apigw_egress_proxy_rests_total")]

        before = counts()
        wrong = bad.url().replace("right", "wrong-pass")
        s = setup(stack, nkeys=1, max_retries=0, proxy_mode="round_robin",
                  proxies=[wrong, good.url()])
        stack.mock.reset(_ok)
        rs = _get(stack, s, 12)
        # The key served every request on its single attempt, through the
        # good proxy; the bad one failed 3 times, then rested.
        assert all(r.header("X-Gateway-Attempts") == "1" for r in rs)
        assert bad.refused == 3, bad.refused
        assert good.requests == 12, good.requests
        after = counts()
        assert after[0] - before[0] == 3 and after[1] - before[1] == 1, (before, after)
        row = wait_log_row(stack, rs[-1])
        assert row["key_id"] == s.keys[0]["id"]
        k = wait_key(stack, s.keys[0]["id"], total_requests=12)
        assert k["status"] == "active" and k["total_failures"] == 0, k
        logs = _logs_text(stack, s.name)
        assert "wrong-pass" not in logs
        assert '"proxy": "http://127.0.0.1:%d"' % good.port in logs, logs
    finally:
        good.close()
        bad.close()


def test_a_closed_proxy_fails_without_blaming_the_key_and_a_rule_sees_it(stack):
    port = closed_port()
    try:
        s = setup(stack, nkeys=1, max_retries=1, proxy_mode="per_key",
                  proxies=["socks5://user:topsecret@127.0.0.1:%d" % port], settle=False)
        create_rule(stack, upstream_id=s.up["id"],
                    condition={"type": "transport_error", "value": "proxy"},
                    actions=[{"type": "log", "message": "proxy-down"}])
        settle()
        stack.mock.reset(_ok)
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 502, r
        body = r.body.decode()
        assert "topsecret" not in body
        assert "egress proxy socks5://user:***@127.0.0.1:%d failed" % port in body, body
        assert not stack.mock.requests
        row = wait_log_row(stack, r)
        assert "topsecret" not in (row.get("error") or "")
        assert "proxy-down" in _logs_text(stack, s.name)
        k = get_key(stack, s.keys[0]["id"])
        assert k["status"] == "active", k
        k = wait_key(stack, s.keys[0]["id"], total_requests=1)
        assert k["total_failures"] == 0, k
        assert "topsecret" not in _logs_text(stack, s.name)
    finally:
        delete_all_rules(stack)


def test_the_key_probe_and_apigw_recover_use_the_keys_proxy(stack):
    sp = Socks5Proxy(user="pu", password="probe-secret")
    own = HttpConnectProxy()
    try:
        up = ok(stack.main.admin.post(A + "/upstreams", json={
            "name": "egress-probe-%d" % sp.port, "base_url": stack.mock.url + "/v1",
            "probe_method": "GET", "probe_path": "/models",
            "proxy_mode": "per_key", "proxies": [sp.url()]}), 201)
        k = add_key(stack, up["id"])
        mine = add_key(stack, up["id"], proxy=own.url())
        stack.mock.reset(_ok)
        res = ok(stack.main.admin.post(A + "/keys/%d/test" % k["id"]))
        assert res["ok"] is True, res
        assert sp.keys == [_bearer(k)], sp.keys
        res = ok(stack.main.admin.post(A + "/keys/%d/test" % mine["id"]))
        assert res["ok"] is True and own.keys == [_bearer(mine)], (res, own.keys)
        # apigw-recover probes a rested key through its proxy too.
        stack.sql("UPDATE api_keys SET status = 'disabled', disabled_until = UTC_TIMESTAMP()"
                  " - INTERVAL 1 MINUTE WHERE id = %d" % k["id"])
        run_job(stack, "apigw-recover")
        assert sp.keys == [_bearer(k)] * 2, sp.keys
        assert get_key(stack, k["id"])["status"] == "active"
        # A proxy that cannot be reached: the probe fails, naming it masked.
        patch_upstream(stack, up["id"], proxies=["socks5://pu:probe-secret@127.0.0.1:%d"
                                                 % closed_port()])
        r = stack.main.admin.post(A + "/keys/%d/test" % k["id"])
        res = ok(r)
        assert res["ok"] is False and "probe-secret" not in r.body.decode(), res
    finally:
        sp.close()
        own.close()


def test_a_proxy_that_cannot_reach_an_endpoint_blames_the_endpoint(stack):
    # The proxy is fine; one endpoint refuses.  The proxy says so (502 to
    # CONNECT): the endpoint's breaker counts it, the same key goes to the
    # other endpoint through the same proxy, and neither the proxy nor the
    # key is blamed.
    hp = HttpConnectProxy()
    try:
        failures_before = sum(v for _, v in scrape(stack).series("apigw_egress_proxy_failures_total"))
        dead = "http://127.0.0.1:%d" % closed_port()
        s = setup(stack, nkeys=1, proxy_mode="round_robin", proxies=[hp.url()], base_url=dead,
                  endpoints=[{"url": dead, "weight": 1000},
                             {"url": stack.mock.url, "weight": 1}],
                  endpoint_fail_threshold=1, endpoint_cooldown_s=60)
        stack.mock.reset(_ok)
        # The dead endpoint weighs 1000 to 1: the first of three requests
        # all but surely tries it; its breaker then stays open.
        rs = _get(stack, s, 3)
        r = rs[0]
        assert sum(int(x.header("X-Gateway-Attempts")) for x in rs) == 4, [x.headers for x in rs]
        assert hp.unreachable == 1 and hp.requests == 3, (hp.unreachable, hp.requests)
        up = ok(stack.main.admin.get(A + "/upstreams/%d" % s.up["id"]))
        assert [e["breaker"]["state"] for e in up["endpoints"]] == ["open", "closed"], up
        assert get_key(stack, s.keys[0]["id"])["status"] == "active"
        failures = sum(v for _, v in scrape(stack).series("apigw_egress_proxy_failures_total"))
        assert failures == failures_before, (failures, failures_before)
        row = wait_log_row(stack, r)
        assert row["key_id"] == s.keys[0]["id"]
        wait_key(stack, s.keys[0]["id"], total_failures=0)
    finally:
        hp.close()
