"""The default rules of sql/002_default_rules.sql at work: an exhausted
account (OpenAI's 429 insufficient_quota, Anthropic's credit balance) is
exhausted until the quota reset, a plain 429 rests the key for as long as
Retry-After says, a 401 (or Gemini's API_KEY_INVALID) bans the key, and a
503 is retried without punishing any key.

The stack empties every table between test files, so each test inserts
the defaults and removes them again (rules are global)."""

import json

from mock_upstream import Reply, json_reply
from proxy_helpers import get_key, setup, wait_key, wait_log_row
from rules_helpers import (delete_all_rules, events, insert_default_rules, log_rules,
                           next_utc_midnight, per_key, rid, seen_keys, settle, ts)

OPENAI_QUOTA = json.dumps({"error": {
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}})
ANTHROPIC_CREDIT = json.dumps({"type": "error", "error": {
    "type": "invalid_request_error",
    "message": "Your credit balance is too low to access the Anthropic API."}})
OPENAI_RATE = json.dumps({"error": {
    "message": "Rate limit reached for requests", "type": "requests",
    "code": "rate_limit_exceeded"}})
GEMINI_INVALID = json.dumps({"error": {
    "code": 400, "message": "API key not valid. Please pass a valid API key.",
    "status": "INVALID_ARGUMENT", "details": [{"reason": "API_KEY_INVALID"}]}})


class defaults:
    def __init__(self, stack):
        self.stack = stack

    def __enter__(self):
        delete_all_rules(self.stack)
        insert_default_rules(self.stack)
        names = self.stack.sql("SELECT name FROM rules ORDER BY priority").split()
        assert names == ["quota-exhausted", "rate-limited", "invalid-key",
                         "upstream-trouble"], names
        settle()
        return self

    def __exit__(self, *exc):
        delete_all_rules(self.stack)
        settle()
        return False


def _hit_all(stack, s, values, tries=8):
    """Requests until the mock has seen every key of values; each gets 200."""
    got = []
    for _ in range(tries):
        r = stack.main.client.post(s.path("v1/chat/completions"), token=s.token,
                                   body=b'{"model":"m"}',
                                   headers={"Content-Type": "application/json"})
        assert r.status == 200 and r.json()["ok"] is True, r
        got.append(r)
        if set(values) <= set(seen_keys(stack)):
            return got
    raise AssertionError("not every key was tried: %r" % seen_keys(stack))


def _req_time(stack, value):
    for q in list(stack.mock.requests):
        if q.header("Authorization") == "Bearer " + value:
            return q.time
    raise AssertionError("the key was never used")


def test_default_quota_exhausted_is_exhausted_not_disabled(stack):
    s = setup(stack, nkeys=4, max_retries=3, retry_backoff_ms=10)
    k_openai, k_anthropic, ok1, ok2 = s.keys
    stack.mock.script = per_key({
        k_openai["value"]: Reply(429, OPENAI_QUOTA, {"Content-Type": "application/json",
                                                     "Retry-After": "20"}),
        k_anthropic["value"]: Reply(400, ANTHROPIC_CREDIT, {"Content-Type": "application/json"}),
    })
    with defaults(stack):
        rs = _hit_all(stack, s, [k_openai["value"], k_anthropic["value"]])
        for k in (k_openai, k_anthropic):
            t = _req_time(stack, k["value"])
            got = wait_key(stack, k["id"], status="exhausted")
            assert ts(got["disabled_until"]) == next_utc_midnight(t), got
            assert got["status_reason"] == "quota-exhausted", got
            ev = events(stack, k["id"])
            assert [(e["from"], e["to"], e["reason"]) for e in ev] == \
                [("active", "exhausted", "quota-exhausted")], ev
        assert events(stack, k_openai["id"])[0]["excerpt"] == OPENAI_QUOTA
        # quota-exhausted stops: rate-limited never ran on the 429.
        fired = []
        for r in rs:
            fired += log_rules(stack, rid(r))[0] or []
        assert set(fired) == {"quota-exhausted"}, fired
        for k in (ok1, ok2):
            assert get_key(stack, k["id"])["status"] == "active"


def test_default_plain_429_rests_the_key_until_retry_after(stack):
    s = setup(stack, nkeys=4, max_retries=3, retry_backoff_ms=10)
    k_ra, k_none, ok1, ok2 = s.keys
    stack.mock.script = per_key({
        k_ra["value"]: Reply(429, OPENAI_RATE, {"Content-Type": "application/json",
                                                "Retry-After": "30"}),
        k_none["value"]: Reply(429, OPENAI_RATE, {"Content-Type": "application/json"}),
    })
    with defaults(stack):
        rs = _hit_all(stack, s, [k_ra["value"], k_none["value"]])
        for k, secs in ((k_ra, 30), (k_none, 60)):
            t = _req_time(stack, k["value"])
            got = wait_key(stack, k["id"], status="disabled")
            until = ts(got["disabled_until"])
            assert until is not None and t + secs - 3 <= until <= t + secs + 3, (secs, got)
            assert got["status_reason"] == "rate-limited", got
        fired = []
        for r in rs:
            fired += log_rules(stack, rid(r))[0] or []
        assert set(fired) == {"rate-limited"}, fired


def test_default_401_and_gemini_invalid_key_are_banned(stack):
    s = setup(stack, nkeys=4, max_retries=3, retry_backoff_ms=10)
    k_401, k_gemini, ok1, ok2 = s.keys
    stack.mock.script = per_key({
        k_401["value"]: Reply(401, '{"error":{"code":"invalid_api_key"}}'),
        k_gemini["value"]: Reply(400, GEMINI_INVALID, {"Content-Type": "application/json"}),
    })
    with defaults(stack):
        _hit_all(stack, s, [k_401["value"], k_gemini["value"]])
        for k in (k_401, k_gemini):
            got = wait_key(stack, k["id"], status="banned")
            assert got["status_reason"] == "invalid-key" and got["disabled_until"] is None, got
            ev = events(stack, k["id"])
            assert [(e["from"], e["to"], e["reason"]) for e in ev] == \
                [("active", "banned", "invalid-key")], ev
        for k in (ok1, ok2):
            assert get_key(stack, k["id"])["status"] == "active"


def test_default_503_is_retried_and_no_key_is_punished(stack):
    s = setup(stack, nkeys=2, max_retries=1, retry_backoff_ms=10)
    bad, good = s.keys
    stack.mock.script = per_key({bad["value"]: Reply(503, "Service Unavailable")})
    with defaults(stack):
        rs = _hit_all(stack, s, [bad["value"]])
        r = rs[-1]
        assert r.header("X-Gateway-Attempts") == "2", r.headers
        assert log_rules(stack, rid(r))[0] == ["upstream-trouble"]
        # Every key answers 503: the client gets the provider's answer.
        stack.mock.script = lambda req: Reply(503, "Service Unavailable",
                                              {"Retry-After": "1"})
        r = stack.main.client.get(s.path("v1/models"), token=s.token)
        assert (r.status, r.body, r.header("X-Gateway-Attempts")) == \
            (503, b"Service Unavailable", "2"), r
        row = wait_log_row(stack, r)
        assert (row["status"], row["attempts"]) == (503, 2), row
        for k in s.keys:
            got = get_key(stack, k["id"])
            assert got["status"] == "active" and got["disabled_until"] is None, got
            assert events(stack, k["id"]) == []
        # And a good answer goes through untouched.
        stack.mock.script = lambda req: json_reply({"ok": True})
        r = stack.main.client.get(s.path("v1/models"), token=s.token)
        assert r.status == 200 and r.header("X-Gateway-Attempts") == "1", r
        assert log_rules(stack, rid(r)) == (None, None)
