"""Login throttling: failed logins slow down per (username, client address)
and per address, answered 429 `rate_limited` with Retry-After, alike for
users that exist and users that do not; the right password from another
address still gets in; password hashing runs in a few slots at once.

Clients connect from loopback aliases (127.0.0.2 and up), which nginx
passes on as REMOTE_ADDR.  The tests run against a gateway of their own,
so that the main gateway's throttle is untouched."""

import http.client
import threading
import time

import harness
from admin_helpers import A, assert_error, create_user, ok, uniq
from obs_helpers import scrape

# Three free failures per (username, address), five per address; delays of
# 1 s doubling to 2 s.
LIMITS = {"login_free_failures": 3, "login_address_free_failures": 5, "login_delay_max_s": 2}

_gateways = {}


class From(harness.Client):
    """A client whose connections come from a given loopback address."""

    def __init__(self, port, source):
        super().__init__(port)
        self.source = source

    def connection(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(self.source, 0))

    def login(self, username, password):
        return self.post(A + "/login", json={"username": username, "password": password})


def _gateway(stack, name, overrides):
    key = (id(stack), name)
    if key not in _gateways:
        _gateways[key] = stack.gateway(name, overrides)
    return _gateways[key]


def _throttled(r):
    """The Retry-After (seconds) of a 429 rate_limited answer."""
    assert_error(r, 429, "rate_limited")
    retry = r.header("Retry-After")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, r.headers
    assert "too many failed logins" in r.json()["error"]["message"], r
    return int(retry)


def _shape(r):
    """What a client can tell from an answer, timing aside."""
    err = r.json().get("error", {}) if r.status >= 400 else {}
    return (r.status, err.get("code"), err.get("message"), r.header("Retry-After"))


def test_burst_is_throttled_and_the_user_gets_in_from_elsewhere(stack):
    g = _gateway(stack, "login-throttle", LIMITS)
    _, name, pw = create_user(stack, "viewer")
    attacker, user = From(g.port, "127.0.0.2"), From(g.port, "127.0.0.3")
    # A typo, then the right password, again and again: never throttled,
    # since the right password starts the pair over.
    for _ in range(4):
        assert_error(user.login(name, pw + "x"), 401, "unauthorized")
        assert ok(user.login(name, pw))["role"] == "viewer"
    for _ in range(3):
        assert_error(attacker.login(name, pw + "-wrong"), 401, "unauthorized")
    _throttled(attacker.login(name, pw + "-wrong"))
    # While throttled, even the right password is not checked from there.
    retry = _throttled(attacker.login(name, pw))
    # The real user, from another address, gets in during the throttle.
    assert ok(user.login(name, pw))["role"] == "viewer"
    _throttled(attacker.login(name, pw + "-wrong"))
    # After Retry-After the right password works from the throttled address too.
    time.sleep(retry + 0.2)
    assert ok(attacker.login(name, pw))["role"] == "viewer"
    m = scrape(stack, g)
    assert m.series("apigw_login_failures_total")[0][1] >= 3
    assert m.series("apigw_login_throttled_total", reason="failures")[0][1] >= 3


def test_unknown_username_is_throttled_alike(stack):
    g = _gateway(stack, "login-throttle", LIMITS)
    _, name, pw = create_user(stack, "operator")
    ghost = uniq("ghost")
    known, unknown = From(g.port, "127.0.0.4"), From(g.port, "127.0.0.5")
    a = [_shape(known.login(name, pw + "-wrong")) for _ in range(5)]
    b = [_shape(unknown.login(ghost, pw + "-wrong")) for _ in range(5)]
    assert [s[0] for s in a] == [401, 401, 401, 429, 429], a
    assert a == b, "the answers tell which usernames exist"


def test_a_parallel_burst_gets_no_more_guesses(stack):
    g = _gateway(stack, "login-throttle", LIMITS)
    _, name, pw = create_user(stack, "viewer")
    attacker = From(g.port, "127.0.0.9")
    answers, lock = [], threading.Lock()

    def guess(i):
        r = attacker.login(name, "%s-wrong-%d" % (pw, i))
        with lock:
            answers.append(r.status)

    # Logins in flight count as failures until they end, so that 16 at once
    # get no more than the 3 free guesses.
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == [401] * 3 + [429] * 13, answers


def test_address_limit_spans_usernames(stack):
    g = _gateway(stack, "login-throttle", LIMITS)
    _, name, pw = create_user(stack, "viewer")
    sprayer = From(g.port, "127.0.0.6")
    for i in range(5):
        assert_error(sprayer.login(uniq("spray%d" % i), "guess"), 401, "unauthorized")
    # The address has used its free failures, whichever username comes next.
    _throttled(sprayer.login(name, pw))
    _throttled(sprayer.login(uniq("fresh"), "guess"))
    assert ok(From(g.port, "127.0.0.7").login(name, pw))["role"] == "viewer"


def test_password_hashing_runs_in_few_slots(stack):
    # Logins in flight count as failures until they end: the throttle is
    # set high here, so that only the slots refuse.
    g = _gateway(stack, "login-slots", {"login_hash_concurrency": 1, "login_hash_wait_ms": 0,
                                        "login_free_failures": 1000,
                                        "login_address_free_failures": 100000})
    _, name, pw = create_user(stack, "viewer")
    answers, lock = [], threading.Lock()

    def one():
        r = g.client.post(A + "/login", json={"username": name, "password": pw})
        with lock:
            answers.append(r)

    # One slot and no wait: of many logins at once, some find it taken.
    deadline = time.time() + 60
    while not any(r.status == 503 for r in answers) and time.time() < deadline:
        threads = [threading.Thread(target=one) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    busy = [r for r in answers if r.status == 503]
    assert busy, [r.status for r in answers]
    assert all(r.status in (200, 503) for r in answers), [r.status for r in answers]
    assert any(r.status == 200 for r in answers)
    assert_error(busy[0], 503, "overloaded")
    assert busy[0].header("Retry-After") == "1", busy[0].headers
    m = scrape(stack, g)
    assert m.series("apigw_login_throttled_total", reason="hash_busy")[0][1] >= len(busy)
    # Refused for want of a slot is not a failure: the user is not throttled.
    assert ok(g.client.post(A + "/login", json={"username": name, "password": pw}))
