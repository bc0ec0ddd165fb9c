"""Pacing by the provider's headers (issue 21): an upstream with
pace_by_headers learns each key's remaining budget from its answers; a key
with no requests left rests until they refill, so that no 429 reaches the
provider once the budget is known; `weighted` selection prefers the key
with more left; other processes learn it through key_pace; off by
default."""

import re
import threading
import time

import harness
from admin_helpers import A, ok
from mock_upstream import Reply
from proxy_helpers import counts_by_key, get_key, settle, setup
from obs_helpers import scrape


def budget_mock(stack, budgets, reset="2s"):
    """Scripts the mock as a provider that counts down each key's budget
    (budgets: key value -> requests), says what is left on every answer,
    and refuses a key with nothing left with a 429.  Returns the budgets
    (to refill them) and the list of keys refused."""
    left = dict(budgets)
    refused = []
    lock = threading.Lock()

    def script(req):
        key = req.header("Authorization")[len("Bearer "):]
        with lock:
            if left.get(key, 0) <= 0:
                refused.append(key)
                return Reply(429, '{"error": "rate limited"}', {
                    "Content-Type": "application/json",
                    "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": reset})
            left[key] -= 1
            n = left[key]
        return Reply(200, '{"ok": true}', {
            "Content-Type": "application/json",
            "x-ratelimit-remaining-requests": str(n), "x-ratelimit-reset-requests": reset})

    stack.mock.reset(script)
    return left, refused


def test_a_key_with_nothing_left_rests_and_another_serves(stack):
    s = setup(stack, nkeys=2, pace_by_headers=True)
    a, b = s.key_values
    left, refused = budget_mock(stack, {a: 2, b: 100}, reset="30s")
    for _ in range(10):
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200, r
    assert refused == [], refused
    seen = counts_by_key(stack, s)
    assert seen[a] == 2 and seen[b] == 8, seen
    # The keys page reads what the refresher stored (within about 200 ms).
    harness.wait_until(lambda: (get_key(stack, s.keys[0]["id"])["pace"] or {}).get(
        "remaining_requests") == 0, timeout=5, interval=0.1, what="the key's learned budget")


def test_no_key_left_answers_503_with_the_reset_as_retry_after(stack):
    s = setup(stack, nkeys=1, pace_by_headers=True)
    (a,) = s.key_values
    left, refused = budget_mock(stack, {a: 1}, reset="3s")
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200, r
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 503 and r.json()["error"]["code"] == "no_available_key", r
    assert 1 <= int(r.header("Retry-After")) <= 3, r.header("Retry-After")
    assert len(stack.mock.requests) == 1 and refused == [], refused
    # Once the budget refills, the key serves again.
    time.sleep(3.2)
    left[a] = 5
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 200, r
    assert refused == [], refused


def test_a_429_with_retry_after_rests_the_key_until_then(stack):
    s = setup(stack, nkeys=1, pace_by_headers=True)
    stack.mock.reset(lambda req: Reply(429, '{"error": "slow down"}', {
        "Content-Type": "application/json", "Retry-After": "4"}))
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 429, r
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 503, r
    assert 2 <= int(r.header("Retry-After")) <= 4, r.header("Retry-After")
    assert len(stack.mock.requests) == 1
    # A predicted 429 rests the key without changing its status.
    assert get_key(stack, s.keys[0]["id"])["status"] == "active"


def test_weighted_selection_prefers_the_key_with_more_left(stack):
    s = setup(stack, nkeys=2, pace_by_headers=True, strategy="weighted")
    few, many = s.key_values
    budget_mock(stack, {few: 20, many: 900}, reset="60s")
    for _ in range(60):
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200, r
    seen = counts_by_key(stack, s)
    # Until its first answer a key weighs fully; after it, 19 against 899.
    assert seen[few] <= 8 and seen[many] >= 52, seen


def test_off_by_default(stack):
    s = setup(stack, nkeys=1)
    assert s.up["pace_by_headers"] is False, s.up
    (a,) = s.key_values
    left, refused = budget_mock(stack, {a: 1}, reset="30s")
    stack.main.client.get(s.path("x"), token=s.token)
    r = stack.main.client.get(s.path("x"), token=s.token)
    assert r.status == 429, r
    assert refused == [a], refused
    assert get_key(stack, s.keys[0]["id"])["pace"] is None


def test_a_second_process_learns_through_key_pace(stack):
    s = setup(stack, nkeys=1, pace_by_headers=True)
    (a,) = s.key_values
    key_id = s.keys[0]["id"]
    other = stack.gateway("pace2")
    try:
        left, refused = budget_mock(stack, {a: 1}, reset="20s")
        r = stack.main.client.get(s.path("x"), token=s.token)
        assert r.status == 200, r
        settle()  # the refreshers write and read key_pace every 200 ms
        r = other.client.get(s.path("x"), token=s.token)
        assert r.status == 503, r
        assert 10 <= int(r.header("Retry-After")) <= 20, r.header("Retry-After")
        assert len(stack.mock.requests) == 1 and refused == [], refused
    finally:
        other.stop()
    k = get_key(stack, key_id)
    assert k["pace"]["remaining_requests"] == 0, k
    assert k["pace"]["resets_at"] and k["pace"]["learned_at"], k
    # /metrics: the learned budget, by key id (never its value).
    scrape(stack)
    text = stack.main.client.get("/metrics").text
    m = re.search(r'apigw_key_pace_remaining\{[^}]*upstream="%s",key="%d",kind="requests"\} (\d+)'
                  % (re.escape(s.name), key_id), text)
    assert m is not None and m.group(1) == "0", text[-2000:]
    assert a not in text


def test_the_upstream_field_reads_and_writes(stack):
    s = setup(stack, nkeys=0, token=False, settle=False)
    up = ok(stack.main.admin.patch(A + "/upstreams/%d" % s.up["id"],
                                   json={"pace_by_headers": True}))
    assert up["pace_by_headers"] is True
    assert ok(stack.main.admin.get(A + "/upstreams/%d" % s.up["id"]))["pace_by_headers"] is True
