"""Sticky keys (issue 19): an upstream's affinity sends the requests that
carry the same affinity id (the X-Gateway-Affinity header, the client
token, or a JSON path of the body) to the same key, by rendezvous hashing,
in every gateway process; a key that is out or fails moves its ids to
their next key; request_logs.affinity says whether the preferred key
served."""

import json
import re

from admin_helpers import A, assert_error, ok
from mock_upstream import Reply
from proxy_helpers import make_token, patch_upstream, settle, setup, wait_log_rows
from rules_helpers import create_rule, status_is
from obs_helpers import scrape
from script_helpers import set_script

HEADER = "X-Gateway-Affinity"


def _ok(req):
    return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})


def _served(stack, s):
    """The key value of each request the mock saw, in order."""
    return [q.header("Authorization")[len("Bearer "):] for q in stack.mock.requests]


def _affinity(stack, responses):
    """request_logs.affinity of each response (None, 0 or 1), in order."""
    ids = [r.header("X-Gateway-Request-Id") for r in responses]
    wait_log_rows(stack, ids)
    out = {}
    q = ("SELECT request_id, COALESCE(affinity, 'NULL') FROM request_logs WHERE request_id IN (%s)"
         % ", ".join("'%s'" % i for i in ids))
    for line in stack.sql(q).splitlines():
        rid, v = line.split("\t")
        out[rid] = None if v == "NULL" else int(v)
    return [out[i] for i in ids]


def _get(stack, s, aff=None, gateway=None, token=None):
    headers = {HEADER: aff} if aff is not None else {}
    r = (gateway or stack.main).client.get(s.path("v1/x"), token=token or s.token,
                                           headers=headers)
    assert r.status == 200, r
    return r


def _key_of(stack, s, aff, gateway=None):
    """The key value that served one request with affinity id aff."""
    stack.mock.reset(_ok)
    _get(stack, s, aff, gateway)
    return _served(stack, s)[-1]


def test_header_affinity_sticks_spreads_and_is_not_forwarded(stack):
    s = setup(stack, nkeys=4, affinity="header")
    assert s.up["affinity"] == "header" and s.up["affinity_path"] is None, s.up
    stack.mock.reset(_ok)
    ids = ["conv-%d" % i for i in range(16)]
    responses = [_get(stack, s, i) for i in ids for _ in range(3)]
    served = _served(stack, s)
    by_id = {}
    for n, i in enumerate(ids):
        three = served[3 * n:3 * n + 3]
        assert len(set(three)) == 1, (i, three)
        by_id[i] = three[0]
    # 16 ids over 4 keys: more than one key serves (all on one: p < 1e-8).
    assert len(set(by_id.values())) >= 2, by_id
    assert all(q.header(HEADER) is None for q in stack.mock.requests), "forwarded"
    assert set(_affinity(stack, responses)) == {1}
    # Without the header the strategy (round robin) picks, and no affinity is logged.
    stack.mock.reset(_ok)
    plain = [_get(stack, s) for _ in range(4)]
    assert sorted(_served(stack, s)) == sorted(s.key_values), _served(stack, s)
    assert _affinity(stack, plain) == [None] * 4


def test_token_affinity_gives_each_token_its_key(stack):
    s = setup(stack, nkeys=4, affinity="token")
    tokens = [make_token(stack)[0] for _ in range(8)]
    settle()
    stack.mock.reset(_ok)
    responses = [_get(stack, s, token=t) for t in tokens for _ in range(3)]
    served = _served(stack, s)
    per_token = [set(served[3 * n:3 * n + 3]) for n in range(len(tokens))]
    assert all(len(p) == 1 for p in per_token), per_token
    assert len(set.union(*per_token)) >= 2, per_token
    assert set(_affinity(stack, responses)) == {1}


def test_body_affinity_reads_the_json_path_after_on_request(stack):
    s = setup(stack, nkeys=4, affinity="body", affinity_path="$.metadata.conversation_id")
    stack.mock.reset(_ok)

    def post(conv):
        body = {"model": "m", "metadata": {"conversation_id": conv}} if conv else {"model": "m"}
        r = stack.main.client.post(s.path("v1/chat"), token=s.token, json=body)
        assert r.status == 200, r
        return r

    ids = ["c-%d" % i for i in range(12)]
    responses = [post(i) for i in ids for _ in range(2)]
    served = _served(stack, s)
    pairs = [served[2 * n:2 * n + 2] for n in range(len(ids))]
    assert all(p[0] == p[1] for p in pairs), pairs
    assert len({p[0] for p in pairs}) >= 2, pairs
    assert set(_affinity(stack, responses)) == {1}
    # A body without the id: the strategy picks.
    stack.mock.reset(_ok)
    plain = [post(None) for _ in range(4)]
    assert sorted(_served(stack, s)) == sorted(s.key_values)
    assert _affinity(stack, plain) == [None] * 4
    # The id is read from the body as onRequest left it.
    stack.mock.reset(_ok)
    post("c-3")
    want = _served(stack, s)[-1]
    set_script(stack, s.up["id"], "function onRequest(req) { var b = JSON.parse(req.body);"
               " b.metadata = {conversation_id: 'c-3'}; req.body = JSON.stringify(b); }")
    stack.mock.reset(_ok)
    r = post(None)
    assert _served(stack, s) == [want], (_served(stack, s), want)
    assert json.loads(stack.mock.requests[-1].body)["metadata"]["conversation_id"] == "c-3"
    assert _affinity(stack, [r]) == [1]


def test_affinity_fields_are_checked(stack):
    s = setup(stack, nkeys=0, token=False, settle=False)
    url = A + "/upstreams/%d" % s.up["id"]
    assert_error(stack.main.admin.patch(url, json={"affinity": "body"}), 400, "invalid_field",
                 "affinity_path")
    assert_error(stack.main.admin.patch(url, json={"affinity": "sticky"}), 400, "invalid_field",
                 "affinity")
    assert_error(stack.main.admin.patch(url, json={"affinity_path": "metadata.id"}), 400,
                 "invalid_field", "affinity_path")
    assert_error(stack.main.admin.patch(url, json={"affinity_path": "$." + "a" * 300}), 400,
                 "invalid_field", "affinity_path")
    u = patch_upstream(stack, s.up["id"], affinity="body", affinity_path="$.user")
    assert (u["affinity"], u["affinity_path"]) == ("body", "$.user"), u
    # The path cannot go while body affinity needs it.
    assert_error(stack.main.admin.patch(url, json={"affinity_path": None}), 400,
                 "invalid_field", "affinity_path")
    u = patch_upstream(stack, s.up["id"], affinity="none", affinity_path=None)
    assert (u["affinity"], u["affinity_path"]) == ("none", None), u


def test_affinity_keeps_to_the_highest_tier(stack):
    s = setup(stack, nkeys=4, affinity="header",
              key_fields=[{"priority": 5}, {"priority": 5}, {}, {}])
    stack.mock.reset(_ok)
    for i in range(12):
        _get(stack, s, "t-%d" % i)
    top = {s.keys[0]["value"], s.keys[1]["value"]}
    assert set(_served(stack, s)) <= top, _served(stack, s)


def test_disabling_the_preferred_key_moves_the_id_and_logs_0(stack):
    s = setup(stack, nkeys=3, affinity="header")
    home = _key_of(stack, s, "moving")
    home_id = s.key_by_value(home)["id"]
    ok(stack.main.admin.patch(A + "/keys/%d" % home_id, json={"status": "disabled"}))
    settle()
    stack.mock.reset(_ok)
    away = [_get(stack, s, "moving") for _ in range(3)]
    served = _served(stack, s)
    assert len(set(served)) == 1 and served[0] != home, (served, home)
    assert _affinity(stack, away) == [0, 0, 0]
    # Other ids that preferred other keys do not move.
    ok(stack.main.admin.patch(A + "/keys/%d" % home_id, json={"status": "active"}))
    settle()
    stack.mock.reset(_ok)
    back = _get(stack, s, "moving")
    assert _served(stack, s) == [home]
    assert _affinity(stack, [back]) == [1]


def _affinity_metric(stack, s):
    """apigw_affinity_total of the setup's upstream in the main process, by result."""
    scrape(stack)  # the exposition parses
    text = stack.main.client.get("/metrics").text
    out = {}
    for m in re.finditer(r'apigw_affinity_total\{[^}]*upstream="([^"]*)",result="([a-z]+)"\} '
                         r'(\d+)', text):
        if m.group(1) == s.name:
            out[m.group(2)] = int(m.group(3))
    return out


def test_a_failed_preferred_key_makes_the_retry_take_the_next_key(stack):
    s = setup(stack, nkeys=3, affinity="header", max_retries=2, settle=False)
    create_rule(stack, upstream_id=s.up["id"], condition=status_is(500),
                actions=[{"type": "retry"}])
    settle()
    home = _key_of(stack, s, "failing")
    stack.mock.reset(lambda req: _ok(req) if req.header("Authorization") != "Bearer " + home
                     else Reply(500, '{"error": "busy"}', {"Content-Type": "application/json"}))
    r = _get(stack, s, "failing")
    assert r.header("X-Gateway-Attempts") == "2", r
    first, second = _served(stack, s)
    assert first == home and second != home, (first, second, home)
    assert _affinity(stack, [r]) == [0]
    assert _affinity_metric(stack, s) == {"preferred": 1, "other": 1}
    # The retry took the id's next key in hash order: the one it moves to
    # when its preferred key is out.
    ok(stack.main.admin.patch(A + "/keys/%d" % s.key_by_value(home)["id"],
                              json={"status": "disabled"}))
    settle()
    assert _key_of(stack, s, "failing") == second


def test_two_gateway_processes_pick_the_same_key(stack):
    s = setup(stack, nkeys=4, affinity="header")
    other = stack.gateway("affinity2")
    try:
        ids = ["shared-%d" % i for i in range(10)]
        mine = [_key_of(stack, s, i) for i in ids]
        theirs = [_key_of(stack, s, i, gateway=other) for i in ids]
        assert mine == theirs, (mine, theirs)
        assert len(set(mine)) >= 2, mine
    finally:
        other.stop()
