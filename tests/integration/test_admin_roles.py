"""Admin API roles: for every admin route of fcgi-app/route.c, what viewer,
operator and admin may do (the contract: viewer GET only; operator viewer +
keys and rules; admin everything, tokens and users included), 403 beyond
the role with nothing changed, and 401 for a missing, garbage or expired
credential."""

import os
import re

import harness
from admin_helpers import (A, assert_error, create_key, create_upstream, create_user, key_value,
                           login, ok, session_client, uniq)

ROUTE_C = os.path.join(harness.st.ROOT, "fcgi-app", "route.c")
LEVEL = {"public": 0, "viewer": 1, "operator": 2, "admin": 3}
ROLES = ("viewer", "operator", "admin")


def admin_routes():
    """(method, pattern) of every /api/admin route in route.c."""
    text = open(ROUTE_C).read()
    found = re.findall(r'\{"([A-Z*]+)",\s*A\s*"([^"]*)",\s*ROLE_[A-Z]+,\s*\w+[,}]', text)
    return [(m, A + p) for m, p in found]


def contract_role(method, pattern):
    """The least role the contract allows the route to."""
    rest = pattern[len(A):]
    if rest == "/login":
        return "public"
    if rest in ("/logout", "/me"):
        return "viewer"
    if rest.startswith("/tokens") or rest.startswith("/users"):
        return "admin"
    if method in ("GET", "HEAD"):
        return "viewer"
    if rest.startswith("/keys") or rest.startswith("/rules"):
        return "operator"
    if rest == "/scripts/test":  # issue 17: a dry run of an upstream's hooks
        return "operator"
    if rest == "/upstreams/{id}/shape/test":  # issue 20: the shaping preview, a dry run too
        return "operator"
    if rest == "/upstreams/{id}/rules/test":  # issue 22: which rules fire, a dry run too
        return "operator"
    if rest.startswith("/jobs"):  # issue 21: validation jobs are work on keys
        return "operator"
    return "admin"


# One concrete request per route, with fresh objects made by the bootstrap
# admin: the path, the body, the status when allowed, and a check that a
# refused request changed nothing.

def _snapshot(stack, path):
    r = stack.main.admin.get(path)
    return r.status, r.body


def _unchanged_obj(stack, path):
    before = _snapshot(stack, path)
    return lambda: _assert_same(before, _snapshot(stack, path), path)


def _assert_same(before, after, what):
    assert before == after, "a refused request changed %s: %r -> %r" % (what, before, after)


def _count_of(stack, list_path):
    sep = "&" if "?" in list_path else "?"
    return ok(stack.main.admin.get(list_path + sep + "limit=1"))["total"]


def _unchanged_count(stack, list_path):
    before = _count_of(stack, list_path)
    return lambda: _assert_same(before, _count_of(stack, list_path), list_path)


def _nothing():
    return lambda: None


def _probed_upstream(stack):
    """An upstream with a probe, with one key: what a validation job needs."""
    u = ok(stack.main.admin.post(A + "/upstreams", json={
        "name": uniq("rv"), "base_url": stack.mock.url, "probe_method": "GET",
        "probe_path": "/models"}), 201)
    create_key(stack, u["id"], key_value("val"))
    return u["id"]


def make_request(stack, method, pattern, scratch):
    """Returns (path, json_body, allowed_status, unchanged_check) or None
    for a route this table does not know."""
    key = (method, pattern[len(A):])
    up = scratch["upstream"]
    if key == ("POST", "/logout"):
        return A + "/logout", None, 204, _nothing()
    if key == ("GET", "/me"):
        return A + "/me", None, 200, _nothing()
    if key == ("GET", "/upstreams"):
        return A + "/upstreams", None, 200, _nothing()
    if key == ("GET", "/logs/{rid}"):  # issue 22: one request and its attempts, by its id
        return A + "/logs/" + "0" * 24, None, 404, _nothing()
    if key == ("GET", "/capacity"):  # issue 21: capacity alerts
        return A + "/capacity", None, 200, _nothing()
    if key == ("GET", "/housekeeping"):  # issue 22: the cron jobs' latest runs
        return A + "/housekeeping", None, 200, _nothing()
    if key == ("POST", "/keys/validate"):  # issue 21: validation jobs
        return (A + "/keys/validate", {"upstream_id": _probed_upstream(stack)}, 202,
                _unchanged_count(stack, A + "/jobs"))
    if key == ("GET", "/jobs"):
        return A + "/jobs", None, 200, _nothing()
    if key[1] == "/jobs/{id}":
        job = ok(stack.main.admin.post(A + "/keys/validate",
                                       json={"upstream_id": _probed_upstream(stack)}), 202)
        path = A + "/jobs/%d" % job["job_id"]
        return path, None, 200, _unchanged_obj(stack, path)
    if key == ("POST", "/rules/backtest"):  # issue 21: a dry run of a rule over the record
        rule = {"name": uniq("bt"), "condition": {"type": "status", "op": "gte", "value": 400},
                "actions": [{"type": "disable_key", "duration_s": 60}]}
        return A + "/rules/backtest", {"rule": rule}, 200, _unchanged_count(stack, A + "/rules")
    if key == ("POST", "/upstreams"):
        return (A + "/upstreams", {"name": uniq("rl"), "base_url": stack.mock.url}, 201,
                _unchanged_count(stack, A + "/upstreams"))
    if key == ("POST", "/upstreams/{id}/shape/test"):
        path = A + "/upstreams/%d" % up
        return (path + "/shape/test", {"method": "GET", "path": "/v1/models"}, 200,
                _unchanged_obj(stack, path))
    if key == ("POST", "/upstreams/{id}/rules/test"):  # issue 22: the rules in order
        path = A + "/upstreams/%d" % up
        return (path + "/rules/test", {"status": 429}, 200,
                _unchanged_count(stack, A + "/rules"))
    if key == ("GET", "/rules/hits"):  # issue 22: hits over 24 h
        return A + "/rules/hits", None, 200, _nothing()
    if key[1] == "/upstreams/{id}":
        u = create_upstream(stack)
        path = A + "/upstreams/%d" % u["id"]
        body = {"timeout_ms": 4321} if method in ("PUT", "PATCH") else None
        status = {"GET": 200, "PUT": 200, "PATCH": 200, "DELETE": 204}[method]
        return path, body, status, _unchanged_obj(stack, path)
    if key == ("POST", "/keys/import"):
        return (A + "/keys/import", {"upstream_id": up, "keys": [key_value("imp")]}, 200,
                _unchanged_count(stack, A + "/keys?upstream_id=%d" % up))
    if key == ("POST", "/keys/batch"):
        k = create_key(stack, up, key_value("bat"))
        path = A + "/keys/%d" % k["id"]
        return (A + "/keys/batch", {"ids": [k["id"]], "action": "disable"}, 200,
                _unchanged_obj(stack, path))
    if key == ("GET", "/keys"):
        return A + "/keys", None, 200, _nothing()
    if key == ("POST", "/keys/find"):  # issue 22: a key found by its pasted value
        v = key_value("fnd")
        create_key(stack, up, v)
        return A + "/keys/find", {"value": v}, 200, _nothing()
    if key == ("POST", "/keys"):
        return (A + "/keys", {"upstream_id": up, "key_value": key_value("new")}, 201,
                _unchanged_count(stack, A + "/keys?upstream_id=%d" % up))
    if key == ("GET", "/keys/{id}/events"):
        k = create_key(stack, up, key_value("evt"))
        return A + "/keys/%d/events" % k["id"], None, 200, _nothing()
    if key[1] == "/keys/{id}":
        k = create_key(stack, up, key_value("one"))
        path = A + "/keys/%d" % k["id"]
        body = {"weight": 3, "status": "disabled"} if method in ("PUT", "PATCH") else None
        status = {"GET": 200, "PUT": 200, "PATCH": 200, "DELETE": 204}[method]
        return path, body, status, _unchanged_obj(stack, path)
    if key == ("GET", "/tokens"):
        return A + "/tokens", None, 200, _nothing()
    if key == ("POST", "/tokens"):
        return (A + "/tokens", {"name": uniq("rt")}, 201, _unchanged_count(stack, A + "/tokens"))
    if key[1] == "/tokens/{id}":
        t = ok(stack.main.admin.post(A + "/tokens", json={"name": uniq("rt")}), 201)
        path = A + "/tokens/%d" % t["id"]
        body = {"rpm_limit": 7, "enabled": False} if method in ("PUT", "PATCH") else None
        status = {"GET": 200, "PUT": 200, "PATCH": 200, "DELETE": 204}[method]
        return path, body, status, _unchanged_obj(stack, path)
    if key == ("GET", "/prices"):
        return A + "/prices", None, 200, _nothing()
    if key == ("POST", "/prices"):
        return (A + "/prices", {"model": uniq("rp"), "prompt": 1, "completion": 2}, 201,
                _unchanged_count(stack, A + "/prices"))
    if key[1] == "/prices/{id}":
        pr = ok(stack.main.admin.post(A + "/prices", json={"model": uniq("rp"), "prompt": 1,
                                                          "completion": 2}), 201)
        path = A + "/prices/%d" % pr["id"]
        body = {"prompt": 3.5} if method in ("PUT", "PATCH") else None
        status = {"GET": 200, "PUT": 200, "PATCH": 200, "DELETE": 204}[method]
        return path, body, status, _unchanged_obj(stack, path)
    if key == ("GET", "/users"):
        return A + "/users", None, 200, _nothing()
    if key == ("POST", "/users"):
        return (A + "/users", {"username": uniq("ru"), "password": "pw-12345678",
                               "role": "admin"}, 201, _unchanged_count(stack, A + "/users"))
    if key[1] == "/users/{id}":
        u, _, _ = create_user(stack, "viewer")
        path = A + "/users/%d" % u["id"]
        body = {"role": "admin", "password": "taken-over-1"} if method in ("PUT", "PATCH") \
            else None
        status = {"GET": 200, "PUT": 200, "PATCH": 200, "DELETE": 204}[method]
        return path, body, status, _unchanged_obj(stack, path)
    return None


def _generic_path(pattern):
    return pattern.replace("{id}", "1")


def _scratch(stack):
    return {"upstream": create_upstream(stack)["id"]}


def test_route_table_is_parsed(stack):
    routes = admin_routes()
    assert len(routes) >= 30, routes
    scratch = _scratch(stack)
    known = [r for r in routes if r[1] != A + "/login"]
    for method, pattern in known:
        assert make_request(stack, method, pattern, scratch) is not None or \
            pattern.startswith(A + "/rules") or pattern.startswith(A + "/logs") or \
            pattern.startswith(A + "/stats") or pattern.startswith(A + "/alerts") or \
            pattern.endswith("/test"), "no concrete request for %s %s" % (method, pattern)


def test_missing_or_bad_credentials_are_401_everywhere(stack):
    scratch = _scratch(stack)
    tok = ok(stack.main.admin.post(A + "/tokens", json={"name": uniq("client")}), 201)["token"]
    bad_headers = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer garbage-token-0123456789"},
        {"Authorization": "Bearer " + harness.ADMIN_TOKEN + "x"},
        {"Authorization": "Bearer " + harness.ADMIN_TOKEN[:-1]},
        {"Authorization": "Basic " + harness.ADMIN_TOKEN},
        {"Authorization": harness.ADMIN_TOKEN},
        {"X-Api-Key": harness.ADMIN_TOKEN},
        {"Authorization": "Bearer ses_" + "0" * 48},
        # A client token is for the proxy, not the admin API.
        {"Authorization": "Bearer " + tok},
    ]
    c = stack.main.client
    for method, pattern in admin_routes():
        if contract_role(method, pattern) == "public":
            continue
        req = make_request(stack, method, pattern, scratch)
        path, body, _, unchanged = req if req else (_generic_path(pattern), None, None,
                                                    _nothing())
        for h in bad_headers:
            r = c.request(method, path, json=body, headers=h)
            assert r.status == 401, (method, path, h, r)
            assert_error(r, 401, "unauthorized")
            assert (r.header("WWW-Authenticate") or "").startswith("Bearer"), (method, path, r)
        unchanged()


def test_expired_session_is_401_everywhere(stack):
    scratch = _scratch(stack)
    u, name, pw = create_user(stack, "admin")
    s = harness.Client(stack.main.port, login(stack, name, pw))
    assert ok(s.get(A + "/me"))["role"] == "admin"
    stack.sql("UPDATE sessions SET expires_at = UTC_TIMESTAMP() - INTERVAL 10 SECOND"
              " WHERE user_id = %d" % u["id"])
    for method, pattern in admin_routes():
        if contract_role(method, pattern) == "public":
            continue
        req = make_request(stack, method, pattern, scratch)
        path, body, _, unchanged = req if req else (_generic_path(pattern), None, None,
                                                    _nothing())
        r = s.request(method, path, json=body)
        assert r.status == 401, (method, path, r)
        assert_error(r, 401, "unauthorized")
        unchanged()


def _check_role(stack, role, client):
    scratch = _scratch(stack)
    problems = []
    for method, pattern in admin_routes():
        need = contract_role(method, pattern)
        if need == "public":
            continue
        if pattern == A + "/logout":
            # Logging out ends the session: use a throwaway one.
            c = session_client(stack, role) if client.token != harness.ADMIN_TOKEN else client
        else:
            c = client
        req = make_request(stack, method, pattern, scratch)
        allowed = LEVEL[role] >= LEVEL[need]
        if req is None:
            r = c.request(method, _generic_path(pattern))
            if allowed and r.status in (401, 403):
                problems.append("%s %s as %s: %r (should be allowed)" % (method, pattern, role, r))
            if not allowed and (r.status != 403 or r.error_code() != "forbidden"):
                problems.append("%s %s as %s: %r (want 403)" % (method, pattern, role, r))
            continue
        path, body, status, unchanged = req
        r = c.request(method, path, json=body)
        if allowed:
            if r.status != status:
                problems.append("%s %s as %s: %r (want %d)" % (method, path, role, r, status))
        else:
            if r.status != 403 or r.error_code() != "forbidden":
                problems.append("%s %s as %s: %r (want 403 forbidden)" % (method, path, role, r))
            try:
                unchanged()
            except AssertionError as e:
                problems.append("%s %s as %s: %s" % (method, path, role, e))
    assert not problems, "\n".join(problems)


def test_viewer_may_only_read(stack):
    _check_role(stack, "viewer", session_client(stack, "viewer"))


def test_operator_may_manage_keys_but_not_upstreams_tokens_users(stack):
    _check_role(stack, "operator", session_client(stack, "operator"))


def test_admin_session_may_do_everything(stack):
    _check_role(stack, "admin", session_client(stack, "admin"))


def test_bootstrap_admin_token_may_do_everything(stack):
    _check_role(stack, "admin", stack.main.admin)


def test_forbidden_answer_shape(stack):
    viewer = session_client(stack, "viewer")
    operator = session_client(stack, "operator")
    r = viewer.post(A + "/keys", json={"upstream_id": 1, "key_value": "x-y-z-123456789"})
    msg = assert_error(r, 403, "forbidden")
    assert "operator" in msg, msg
    r = operator.get(A + "/users")
    msg = assert_error(r, 403, "forbidden")
    assert "admin" in msg, msg
    # The role is checked before the body: a bad body still gets 403.
    r = viewer.request("POST", A + "/upstreams", body=b"{not json",
                       headers={"Content-Type": "application/json"})
    assert_error(r, 403, "forbidden")
    r = operator.request("POST", A + "/tokens", body=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert_error(r, 403, "forbidden")
    # And the credential before everything: no token, bad body -> 401.
    r = stack.main.client.request("POST", A + "/keys", body=b"{not json",
                                  headers={"Content-Type": "application/json"})
    assert_error(r, 401, "unauthorized")


def test_operator_cannot_escalate(stack):
    operator = session_client(stack, "operator")
    me = operator.user
    assert_error(operator.patch(A + "/users/%d" % me["id"], json={"role": "admin"}), 403,
                 "forbidden")
    assert_error(operator.post(A + "/users", json={"username": uniq("evil"),
                                                   "password": "password-1",
                                                   "role": "admin"}), 403, "forbidden")
    assert ok(stack.main.admin.get(A + "/users/%d" % me["id"]))["role"] == "operator"
    assert ok(operator.get(A + "/me"))["role"] == "operator"


def test_login_is_public_and_ignores_credentials(stack):
    _, name, pw = create_user(stack, "viewer")
    for headers in ({}, {"Authorization": "Bearer garbage"},
                    {"Authorization": "Bearer " + harness.ADMIN_TOKEN}):
        r = stack.main.client.post(A + "/login", json={"username": name, "password": pw},
                                   headers=headers)
        assert ok(r)["role"] == "viewer"


def test_wrong_method_on_admin_paths_is_405(stack):
    c = stack.main.admin
    for method, path, allowed in (("DELETE", A + "/keys", {"GET", "POST"}),
                                  ("PUT", A + "/upstreams", {"GET", "POST"}),
                                  ("GET", A + "/login", {"POST"}),
                                  ("GET", A + "/keys/import", {"POST"}),
                                  ("POST", A + "/keys/1", {"GET", "PATCH", "PUT", "DELETE"}),
                                  ("POST", A + "/me", {"GET"})):
        r = c.request(method, path)
        assert_error(r, 405, "method_not_allowed")
        got = {m.strip() for m in (r.header("Allow") or "").split(",") if m.strip()}
        assert got == allowed, (method, path, r.header("Allow"))
