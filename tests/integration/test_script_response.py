"""onResponse (issue 17): what a script sees of an attempt's answer, and
each action it may return (retry, disable_key, exhaust_key, ban_key, with
the upstream-wide guard), recorded as key events with actor `script`.  The
script is set in SQL (script_helpers.py): the admin API's `script` field is
another engineer's part."""

import harness
from mock_upstream import Reply, json_reply
from proxy_helpers import get_key, setup, wait_key
from rules_helpers import alerts, events, log_rules, per_key, rid
from script_helpers import set_script


def _first_key_request(stack, s, value, path="v1/x", tries=4):
    """Sends requests until one used the key value; returns its response."""
    for _ in range(tries):
        before = len(stack.mock.requests)
        r = stack.main.client.get(s.path(path), token=s.token)
        if any(q.header("Authorization") == "Bearer " + value
               for q in list(stack.mock.requests)[before:]):
            return r
    raise AssertionError("the key was never tried")


def test_res_shows_the_answer_and_retry_takes_another_key(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5)
    bad, good = s.keys
    set_script(stack, s.up["id"], r"""
function onResponse(res, req, ctx) {
  if (res.status === 500 && res.json && res.json.error === 'busy' && res.key.masked &&
      res.headers['x-up'] === 'u1' && res.attempt === 1 && res.transport_error === null &&
      typeof res.latency_ms === 'number' && req.path === '/v1/x')
    return {action: 'retry', log: 'retried ' + res.key.id};
}""")
    stack.mock.script = per_key({bad["value"]: Reply(500, '{"error":"busy"}',
                                                     {"Content-Type": "application/json",
                                                      "X-Up": "u1"})})
    r = _first_key_request(stack, s, bad["value"])
    assert r.status == 200 and r.header("X-Gateway-Attempts") == "2", r
    _, messages = log_rules(stack, rid(r))
    assert messages == ["retried %d" % bad["id"]], messages


def test_without_the_script_the_500_goes_to_the_client(stack):
    # The same answer without onResponse: no retry (shows the test above
    # tests the script).
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5)
    bad = s.keys[0]
    stack.mock.script = per_key({bad["value"]: Reply(500, '{"error":"busy"}')})
    r = _first_key_request(stack, s, bad["value"])
    assert r.status == 500, r


def test_disable_key_for_an_error_hidden_in_a_200_body(stack):
    s = setup(stack, nkeys=2, max_retries=0)
    bad = s.keys[0]
    set_script(stack, s.up["id"], r"""
function onResponse(res) {
  if (res.json && res.json.error)
    return {action: 'disable_key', duration_s: res.json.retry_in, reason: 'hidden: ' + res.json.error};
}""")
    stack.mock.script = per_key({bad["value"]: json_reply({"error": "quota", "retry_in": 600})})
    r = _first_key_request(stack, s, bad["value"])
    assert r.status == 200, r
    k = wait_key(stack, bad["id"], status="disabled")
    assert k["disabled_until"] is not None, k
    ev = events(stack, bad["id"])
    assert len(ev) == 1, ev
    assert (ev[0]["to"], ev[0]["actor"], ev[0]["reason"], ev[0]["rule_id"]) == \
        ("disabled", "script", "hidden: quota", None), ev[0]
    assert get_key(stack, s.keys[1]["id"])["status"] == "active"


def test_exhaust_key_and_ban_key(stack):
    s = setup(stack, nkeys=4, max_retries=0, auto_disable_max_pct=100)
    ex, ban = s.keys[0], s.keys[1]
    set_script(stack, s.up["id"], r"""
function onResponse(res) {
  if (res.status === 429) return {action: 'exhaust_key', reason: 'out for today'};
  if (res.status === 401) return {action: 'ban_key'};
}""")
    stack.mock.script = per_key({ex["value"]: Reply(429, "slow down"),
                                 ban["value"]: Reply(401, "who are you")})
    # Until both keys were acted on (a generous bound: on a loaded machine
    # the pool may take the script a little later than pool_refresh_ms).
    for _ in range(20):
        stack.main.client.get(s.path("v1/x"), token=s.token)
        if [get_key(stack, k["id"])["status"] for k in (ex, ban)] == ["exhausted", "banned"]:
            break
    wait_key(stack, ex["id"], status="exhausted")
    wait_key(stack, ban["id"], status="banned")
    e1, e2 = events(stack, ex["id"])[0], events(stack, ban["id"])[0]
    assert (e1["actor"], e1["reason"]) == ("script", "out for today"), e1
    assert (e2["actor"], e2["reason"]) == ("script", "script"), e2


def test_the_upstream_wide_guard_holds_script_actions(stack):
    s = setup(stack, nkeys=4, max_retries=0, auto_disable_max_pct=25)
    set_script(stack, s.up["id"], "function onResponse(res) { return {action: 'ban_key'}; }")
    stack.mock.script = lambda req: Reply(401, "no")
    for _ in range(8):
        r = stack.main.client.get(s.path("v1/x"), token=s.token)
        assert r.status in (401, 503), r
    statuses = [get_key(stack, k["id"])["status"] for k in s.keys]
    assert statuses.count("banned") == 1, statuses
    a = alerts(stack, "upstream_id = %d AND message LIKE '%%upstream-wide failure suspected%%'"
               % s.up["id"])
    assert len(a) == 1 and "script onResponse" in a[0]["message"], a


def test_a_transport_error_reaches_on_response(stack):
    closed = "http://127.0.0.1:%d" % harness.st.free_port()
    s = setup(stack, nkeys=1, max_retries=0, base_url=closed)
    set_script(stack, s.up["id"], r"""
function onResponse(res) { return {log: 'transport ' + res.transport_error + ' ' + res.status}; }""")
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 502, r
    _, messages = log_rules(stack, rid(r))
    assert messages == ["transport connect 0"], messages


def test_on_response_sees_the_request_as_on_request_left_it(stack):
    # Headers alone, then method, path, query and json: onResponse (and a
    # later attempt's) req is the request as it went out each time.
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=5)
    set_script(stack, s.up["id"], r"""
function onRequest(req) {
  req.headers['x-set'] = 'by-script';
  if (req.query.more) { req.query.more = ['2']; req.json.model = 'm2'; req.path = '/v1/y'; }
}
function onResponse(res, req) {
  return {log: [req.path, req.headers['x-set'], (req.query.more || []).join(','),
                req.json ? req.json.model : '-', res.attempt].join(' ')};
}""")
    stack.mock.script = lambda req: Reply(200, '{"ok":true}', {"Content-Type": "application/json"})
    r = stack.main.client.get(s.path("v1/x"), token=s.token)
    assert r.status == 200, r
    _, messages = log_rules(stack, rid(r))
    assert messages == ["/v1/x by-script  - 1"], messages
    r = stack.main.client.post(s.path("v1/x?more=1"), token=s.token,
                               json={"model": "m1"})
    assert r.status == 200, r
    _, messages = log_rules(stack, rid(r))
    assert messages == ["/v1/y by-script 2 m2 1"], messages
    assert stack.mock.requests[-1].header("X-Set") == "by-script"
