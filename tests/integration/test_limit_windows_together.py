"""Limit windows together with a key's other limits (issue 20, docs/API.md
"Limit windows"): a request that a key's rpm lease refuses after its
windows were reserved is taken back out of them (the key's and the
token's); a full window says its own end in the 503's Retry-After, also
for a key with a daily quota and for a window of some models only; the
key's other models keep being served; a GET body with limits_usage can be
sent back."""

import json

from admin_helpers import A, assert_error, ok
from mock_upstream import Reply
from proxy_helpers import ensure_minute_room, setup
from test_limit_windows import _counters


def _answer(req):
    return Reply(200, json.dumps({"ok": 1}), {"Content-Type": "application/json"})


def _call(stack, s, model="gpt-l"):
    return stack.main.client.post(s.path("v1/chat/completions"), json={"model": model},
                                  token=s.token)


def test_a_request_the_lease_refuses_is_taken_out_of_the_windows(stack):
    hour = [{"window": "hour", "requests": 100}]
    s = setup(stack, nkeys=1, key_fields={"rpm_limit": 1, "limits": hour},
              token_fields={"limits": hour})
    stack.mock.reset(_answer)
    ensure_minute_room(stack, need_s=10)
    assert _call(stack, s).status == 200
    # The key's minute is used up: its lease refuses the second request,
    # after its windows (and the token's) were reserved.
    assert_error(_call(stack, s), 503, "no_available_key")
    assert _counters(stack, 1, s.keys[0]["id"])[0][1] == 1
    assert _counters(stack, 2, s.token_obj["id"])[0][1] == 1


def test_a_full_minute_says_its_end_for_a_key_with_a_daily_quota(stack):
    s = setup(stack, nkeys=1, key_fields={"daily_quota": 1000,
                                          "limits": [{"window": "minute", "requests": 1}]})
    stack.mock.reset(_answer)
    ensure_minute_room(stack, need_s=10)
    assert _call(stack, s).status == 200
    r = _call(stack, s)
    assert_error(r, 503, "no_available_key")
    # The minute's end, not the daily reset (up to an hour).
    assert 1 <= int(r.header("Retry-After")) <= 60, r.headers


def test_a_full_window_of_one_model_rests_the_key_for_it_alone(stack):
    s = setup(stack, nkeys=1,
              key_fields={"limits": [{"window": "minute", "requests": 1, "model": "gpt-a*"}]})
    stack.mock.reset(_answer)
    ensure_minute_room(stack, need_s=12)
    assert _call(stack, s, "gpt-a1").status == 200
    r = _call(stack, s, "gpt-a1")
    assert_error(r, 503, "no_available_key")
    # Its window ends with the minute: more than the 1 s a key that is
    # usable again at once would give, at most a minute.
    assert 3 <= int(r.header("Retry-After")) <= 60, r.headers
    # Other models keep the key, however often.
    assert [_call(stack, s, "gpt-b").status for _ in range(3)] == [200, 200, 200]


def test_a_get_body_with_limits_usage_can_be_sent_back(stack):
    s = setup(stack, nkeys=1, settle=False,
              key_fields={"limits": [{"window": "hour", "requests": 5}]},
              token_fields={"limits": [{"window": "day", "requests": 5}]})
    for kind, ident in (("keys", s.keys[0]["id"]), ("tokens", s.token_obj["id"])):
        got = ok(stack.main.admin.get(A + "/%s/%d" % (kind, ident)))
        assert "limits_usage" in got, got
        patch = {"limits": got["limits"], "limits_usage": got["limits_usage"]}
        back = ok(stack.main.admin.patch(A + "/%s/%d" % (kind, ident), json=patch))
        assert back["limits"] == got["limits"], back
