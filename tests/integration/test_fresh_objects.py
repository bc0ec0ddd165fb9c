"""Objects created a moment ago: a token or upstream whose creation
committed before a request arrived is never refused as unknown, and a
flood of unknown tokens still costs the database only a few pool version
queries (apigw_pool_version_checks_total)."""

import concurrent.futures
import re
import secrets

from proxy_helpers import add_key, make_token, make_upstream, setup

ROUNDS = 200
THREADS = 8
FLOOD = 2000
FLOOD_CONNECTIONS = 16


def _version_checks(gateway):
    """The gateway process's count of pool version queries."""
    r = gateway.client.get("/metrics")
    assert r.status == 200, r
    m = re.search(r"^apigw_pool_version_checks_total\{[^}]*\} (\d+)$", r.text, re.M)
    assert m, "no apigw_pool_version_checks_total in /metrics"
    return int(m.group(1))


def _parallel(fn, n, threads):
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        return list(ex.map(fn, range(n)))


def test_token_created_then_used_at_once(stack):
    s = setup(stack)
    c = stack.main.client

    def round_trip(_):
        tok, _obj = make_token(stack)
        r = c.get(s.path("v1/fresh"), token=tok)
        return r.status, r.error_code() if r.status != 200 else None

    got = _parallel(round_trip, ROUNDS, THREADS)
    refused = [g for g in got if g[0] != 200]
    assert not refused, "%d of %d fresh tokens refused: %r" % (len(refused), ROUNDS,
                                                                refused[:5])


def test_upstream_created_then_used_at_once(stack):
    tok, _obj = make_token(stack)
    setup(stack, token=False)  # lets the token settle into the pool
    c = stack.main.client

    def round_trip(_):
        up = make_upstream(stack)
        add_key(stack, up["id"])
        r = c.get("/proxy/%s/v1/fresh" % up["name"], token=tok)
        return r.status, r.error_code() if r.status != 200 else None

    got = _parallel(round_trip, ROUNDS // 4, THREADS)
    refused = [g for g in got if g[0] != 200]
    assert not refused, "%d of %d fresh upstreams refused: %r" % (len(refused), ROUNDS // 4,
                                                                   refused[:5])


def test_unknown_token_flood_shares_version_checks(stack):
    s = setup(stack)
    c = stack.main.client
    before = _version_checks(stack.main)

    def bad(_):
        r = c.get(s.path("v1/x"), token="nope-" + secrets.token_hex(16))
        return r.status

    got = _parallel(bad, FLOOD, FLOOD_CONNECTIONS)
    checks = _version_checks(stack.main) - before
    assert set(got) == {401}, sorted(set(got))
    # Every miss waits for a check that began after it arrived, but misses
    # at the same time share one: far fewer queries than requests.
    assert checks < FLOOD // 4, "%d version queries for %d unknown tokens" % (checks, FLOOD)
    print("flood: %d requests, %d version queries" % (FLOOD, checks))
