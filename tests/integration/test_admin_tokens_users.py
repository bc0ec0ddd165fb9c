"""Admin API: client tokens (value shown once), users (hashed passwords,
sessions ending on disable), and login / logout / me."""

import re
import time

import harness
from admin_helpers import (A, assert_error, assert_masked, create_upstream, create_user, login,
                           ok, parse_time, sql_int, sql_one, uniq)

TOKEN_FIELDS = {"id", "name", "token_masked", "upstreams", "rpm_limit", "daily_quota",
                "expires_at", "enabled"}
USER_FIELDS = {"id", "username", "role", "enabled"}


# ---------------------------------------------------------------- tokens

def test_token_value_is_returned_once(stack):
    c = stack.main.admin
    r = c.post(A + "/tokens", json={"name": "ci-bot"})
    t = ok(r, 201)
    value = t["token"]
    assert isinstance(value, str) and len(value) >= 32, t
    assert re.fullmatch(r"[A-Za-z0-9_\-]+", value), value
    assert TOKEN_FIELDS <= set(t), t
    assert t["name"] == "ci-bot" and t["upstreams"] == [] and t["rpm_limit"] == 0
    assert t["daily_quota"] == 0 and t["expires_at"] is None and t["enabled"] is True
    assert_masked(value, t["token_masked"])
    parse_time(t["created_at"])
    # Afterwards: never again.
    got = c.get(A + "/tokens/%d" % t["id"])
    body = ok(got)
    assert "token" not in body and value.encode() not in got.body
    assert body["token_masked"] == t["token_masked"]
    expected = dict(t)
    del expected["token"]
    assert body == expected
    lst = c.get(A + "/tokens?limit=1000")
    assert value.encode() not in lst.body
    assert [x for x in lst.json()["items"] if x["id"] == t["id"]] == [expected]
    upd = c.patch(A + "/tokens/%d" % t["id"], json={"name": "ci-bot-2"})
    assert ok(upd)["name"] == "ci-bot-2" and "token" not in upd.json()
    assert value.encode() not in upd.body
    # Stored as a hash only.
    assert sql_int(stack, "SELECT COUNT(*) FROM client_tokens WHERE id = %d AND token_hash ="
                   " UNHEX(SHA2('%s', 256))" % (t["id"], value)) == 1
    assert value not in stack.sql("SELECT CONCAT_WS('|', name, token_masked, upstreams)"
                                  " FROM client_tokens")
    # Every token is new.
    t2 = ok(c.post(A + "/tokens", json={"name": "ci-bot"}), 201)
    assert t2["token"] != value and t2["id"] != t["id"]


def test_token_fields_and_allow_list(stack):
    c = stack.main.admin
    u1, u2 = create_upstream(stack), create_upstream(stack)
    t = ok(c.post(A + "/tokens", json={"name": uniq("tok"), "upstreams": [u1["id"], u2["id"]],
                                       "rpm_limit": 60, "daily_quota": 1000,
                                       "expires_at": "2031-01-02T03:04:05Z",
                                       "enabled": False}), 201)
    assert t["upstreams"] == [u1["id"], u2["id"]]
    assert (t["rpm_limit"], t["daily_quota"], t["expires_at"], t["enabled"]) == \
        (60, 1000, "2031-01-02T03:04:05Z", False)
    n = ok(c.get(A + "/tokens?limit=1000"))["total"]
    for ups in ([u1["id"], 987654321], [987654321], [0], [-1], ["1"], [u1["id"], None]):
        r = c.post(A + "/tokens", json={"name": uniq("tok"), "upstreams": ups})
        assert_error(r, 400, "invalid_field", "upstreams")
    assert_error(c.post(A + "/tokens", json={"name": uniq("tok"), "upstreams": u1["id"]}), 400,
                 "invalid_field", "upstreams")
    assert ok(c.get(A + "/tokens?limit=1000"))["total"] == n, "a refused token was stored"
    # PATCH validates the allow-list too, and changes nothing when refused.
    path = A + "/tokens/%d" % t["id"]
    assert_error(c.patch(path, json={"upstreams": [u2["id"], 987654321]}), 400,
                 "invalid_field", "upstreams")
    assert ok(c.get(path))["upstreams"] == [u1["id"], u2["id"]]
    new = ok(c.patch(path, json={"upstreams": [u2["id"]], "rpm_limit": 0, "daily_quota": 5,
                                 "expires_at": None, "enabled": True, "name": "renamed"}))
    assert (new["upstreams"], new["rpm_limit"], new["daily_quota"], new["expires_at"],
            new["enabled"], new["name"]) == ([u2["id"]], 0, 5, None, True, "renamed")
    assert new["token_masked"] == t["token_masked"]
    assert ok(c.get(path)) == new
    new = ok(c.put(path, json={"upstreams": []}))
    assert new["upstreams"] == [] and new["name"] == "renamed"


def test_token_validation(stack):
    c = stack.main.admin
    n = ok(c.get(A + "/tokens?limit=1000"))["total"]
    cases = [({}, "name"), ({"name": ""}, "name"), ({"name": None}, "name"),
             ({"name": "a\nb"}, "name"), ({"name": "x" * 129}, "name"),
             ({"name": "t", "rpm_limit": -1}, "rpm_limit"),
             ({"name": "t", "rpm_limit": "5"}, "rpm_limit"),
             ({"name": "t", "daily_quota": -1}, "daily_quota"),
             ({"name": "t", "expires_at": "next year"}, "expires_at"),
             ({"name": "t", "expires_at": 1893456000}, "expires_at"),
             ({"name": "t", "enabled": "yes"}, "enabled"),
             ({"name": "t", "token": "agw_mine"}, "token"),
             ({"name": "t", "owner": "x"}, "owner")]
    for body, field in cases:
        assert_error(c.post(A + "/tokens", json=body), 400, "invalid_field", field)
    r = c.request("POST", A + "/tokens", body=b'{"name": "t"', headers={})
    assert_error(r, 400, "invalid_json")
    assert ok(c.get(A + "/tokens?limit=1000"))["total"] == n
    t = ok(c.post(A + "/tokens", json={"name": uniq("tok")}), 201)
    path = A + "/tokens/%d" % t["id"]
    for body, field in (({"name": ""}, "name"), ({"rpm_limit": -5}, "rpm_limit"),
                        ({"enabled": 1}, "enabled"), ({"token": "agw_x"}, "token"),
                        ({"expires_at": "2030-13-45T00:00:00Z"}, "expires_at")):
        assert_error(c.patch(path, json=body), 400, "invalid_field", field)
    del t["token"]
    assert ok(c.get(path)) == t


def test_token_name_that_is_not_utf8_is_refused_not_a_500(stack):
    c = stack.main.admin
    n = ok(c.get(A + "/tokens?limit=1000"))["total"]
    r = c.request("POST", A + "/tokens", body=b'{"name": "bot\xff\xfe"}',
                  headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert r.error_code() in ("invalid_field", "invalid_json"), r
    assert ok(c.get(A + "/tokens?limit=1000"))["total"] == n


def test_token_delete_and_unknown_ids(stack):
    c = stack.main.admin
    t = ok(c.post(A + "/tokens", json={"name": uniq("tok")}), 201)
    ok(c.delete(A + "/tokens/%d" % t["id"]), 204)
    assert_error(c.get(A + "/tokens/%d" % t["id"]), 404, "not_found")
    assert_error(c.delete(A + "/tokens/%d" % t["id"]), 404, "not_found")
    assert_error(c.patch(A + "/tokens/%d" % t["id"], json={"name": "x"}), 404, "not_found")
    assert sql_int(stack, "SELECT COUNT(*) FROM client_tokens WHERE id = %d" % t["id"]) == 0


def test_token_list_paging(stack):
    c = stack.main.admin
    for _ in range(4):
        ok(c.post(A + "/tokens", json={"name": uniq("pg")}), 201)
    allt = ok(c.get(A + "/tokens?limit=1000"))
    total = allt["total"]
    assert total == len(allt["items"]) >= 4
    page = ok(c.get(A + "/tokens?limit=2&offset=1"))
    assert page["total"] == total
    assert [x["id"] for x in page["items"]] == [x["id"] for x in allt["items"][1:3]]
    for x in allt["items"]:
        assert "token" not in x
    assert_error(c.get(A + "/tokens?limit=0"), 400, "invalid_field", "limit")
    assert_error(c.get(A + "/tokens?limit=1001"), 400, "invalid_field", "limit")


# ---------------------------------------------------------------- users

def test_user_create_hides_the_password(stack):
    c = stack.main.admin
    name, pw = uniq("alice"), "correct horse battery staple"
    r = c.post(A + "/users", json={"username": name, "password": pw, "role": "operator"})
    u = ok(r, 201)
    assert USER_FIELDS <= set(u), u
    assert u["username"] == name and u["role"] == "operator" and u["enabled"] is True
    assert "password" not in u and "password_hash" not in u
    assert pw.encode() not in r.body and b"$y$" not in r.body
    assert u.get("last_login_at") is None
    parse_time(u["created_at"])
    got = c.get(A + "/users/%d" % u["id"])
    assert ok(got) == u and pw.encode() not in got.body and b"$y$" not in got.body
    lst = c.get(A + "/users?limit=1000")
    assert [x for x in lst.json()["items"] if x["id"] == u["id"]] == [u]
    assert pw.encode() not in lst.body and b"$y$" not in lst.body
    stored = sql_one(stack, "SELECT password_hash FROM users WHERE id = %d" % u["id"])
    assert stored.startswith("$y$"), stored
    assert pw not in stored and len(stored) > 40
    # Same password, other user: a different salt.
    u2, _, _ = create_user(stack, "viewer", password=pw)
    assert sql_one(stack, "SELECT password_hash FROM users WHERE id = %d" % u2["id"]) != stored


def test_user_roles_and_validation(stack):
    c = stack.main.admin
    for role in ("viewer", "operator", "admin"):
        u, _, _ = create_user(stack, role)
        assert u["role"] == role
    n = ok(c.get(A + "/users?limit=1000"))["total"]
    good = {"username": uniq("bob"), "password": "long-enough-pw", "role": "viewer"}
    cases = [("username", None, "username"), ("username", "", "username"),
             ("username", "has space", "username"), ("username", "x" * 65, "username"),
             ("username", "semi;colon", "username"), ("username", 7, "username"),
             ("password", None, "password"), ("password", "short", "password"),
             ("password", "", "password"), ("password", 12345678, "password"),
             ("password", "p" * 257, "password"),
             ("role", None, "role"), ("role", "root", "role"), ("role", "Admin", "role"),
             ("role", "", "role"), ("enabled", "yes", "enabled"),
             ("password_hash", "$y$abc", "password_hash"), ("email", "a@b", "email")]
    for field, value, named in cases:
        body = dict(good, username=uniq("bob"))
        if value is None:
            body.pop(field, None)
        else:
            body[field] = value
        assert_error(c.post(A + "/users", json=body), 400, "invalid_field", named)
    assert_error(c.request("POST", A + "/users", body=b'{"username":"x"', headers={}), 400,
                 "invalid_json")
    assert ok(c.get(A + "/users?limit=1000"))["total"] == n
    # Limits are inclusive; usernames take letters, digits, _ . @ -.
    u = ok(c.post(A + "/users", json={"username": "Mail.Me_1@x-y", "password": "p" * 256,
                                      "role": "viewer"}), 201)
    assert u["username"] == "Mail.Me_1@x-y"
    assert login(stack, "Mail.Me_1@x-y", "p" * 256)
    u = ok(c.post(A + "/users", json={"username": uniq("dis"), "password": "12345678",
                                      "role": "viewer", "enabled": False}), 201)
    assert u["enabled"] is False


def test_duplicate_username_conflicts(stack):
    c = stack.main.admin
    u, name, _ = create_user(stack, "viewer")
    r = c.post(A + "/users", json={"username": name, "password": "another-pw", "role": "admin"})
    assert_error(r, 409, "conflict", "username")
    assert ok(c.get(A + "/users/%d" % u["id"]))["role"] == "viewer"
    assert sql_int(stack, "SELECT COUNT(*) FROM users WHERE username = '%s'" % name) == 1


def test_login_me_logout(stack):
    c = stack.main.client
    u, name, pw = create_user(stack, "operator")
    t0 = int(time.time())
    r = c.post(A + "/login", json={"username": name, "password": pw})
    body = ok(r)
    assert set(body) >= {"token", "role", "expires_at"}, body
    assert body["role"] == "operator"
    assert abs(parse_time(body["expires_at"]) - (t0 + 86400)) <= 5, body["expires_at"]
    tok = body["token"]
    assert isinstance(tok, str) and len(tok) >= 32
    assert sql_int(stack, "SELECT COUNT(*) FROM sessions WHERE user_id = %d AND token_hash ="
                   " UNHEX(SHA2('%s', 256))" % (u["id"], tok)) == 1
    assert sql_int(stack, "SELECT COUNT(*) FROM sessions WHERE user_id = %d" % u["id"]) == 1
    s = harness.Client(stack.main.port, tok)
    assert ok(s.get(A + "/me")) == {"role": "operator", "username": name}
    assert ok(stack.main.admin.get(A + "/me")) == {"role": "admin", "username": None}
    last = ok(stack.main.admin.get(A + "/users/%d" % u["id"]))["last_login_at"]
    assert abs(parse_time(last) - t0) <= 5
    # A second session of the same user is independent.
    tok2 = login(stack, name, pw)
    assert tok2 != tok
    ok(s.post(A + "/logout"), 204)
    assert_error(s.get(A + "/me"), 401, "unauthorized")
    assert_error(s.post(A + "/logout"), 401, "unauthorized")
    s2 = harness.Client(stack.main.port, tok2)
    assert ok(s2.get(A + "/me"))["username"] == name
    # Logging out with the bootstrap admin token ends nothing.
    ok(stack.main.admin.post(A + "/logout"), 204)
    assert ok(stack.main.admin.get(A + "/me"))["role"] == "admin"
    # Logout needs a credential.
    assert_error(c.post(A + "/logout"), 401, "unauthorized")


def test_login_failures(stack):
    c = stack.main.client
    u, name, pw = create_user(stack, "viewer")
    wrong = c.post(A + "/login", json={"username": name, "password": pw + "x"})
    m1 = assert_error(wrong, 401, "unauthorized")
    nobody = c.post(A + "/login", json={"username": uniq("ghost"), "password": pw})
    m2 = assert_error(nobody, 401, "unauthorized")
    assert m1 == m2, "the answer tells which usernames exist"
    assert "token" not in wrong.text
    for body, field in (({"username": name}, "password"), ({"password": pw}, "username"),
                        ({"username": name, "password": ""}, "password"),
                        ({"username": name, "password": 5}, "password"),
                        ({"username": name, "password": pw, "remember": True}, "remember")):
        assert_error(c.post(A + "/login", json=body), 400, "invalid_field", field)
    assert_error(c.request("POST", A + "/login", body=b"username=a&password=b",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 400, "invalid_json")
    assert_error(c.request("POST", A + "/login", body=b""), 400, "invalid_json")
    # The admin token is not a password.
    r = c.post(A + "/login", json={"username": "admin", "password": harness.ADMIN_TOKEN})
    assert_error(r, 401, "unauthorized")
    assert sql_int(stack, "SELECT COUNT(*) FROM sessions WHERE user_id = %d" % u["id"]) == 0
    # A disabled user cannot log in.
    d = ok(stack.main.admin.post(A + "/users", json={"username": uniq("off"),
                                                     "password": "off-password",
                                                     "role": "admin", "enabled": False}), 201)
    r = c.post(A + "/login", json={"username": d["username"], "password": "off-password"})
    assert_error(r, 401, "unauthorized")


def test_disabling_a_user_ends_their_sessions(stack):
    admin = stack.main.admin
    u, name, pw = create_user(stack, "operator")
    s1 = harness.Client(stack.main.port, login(stack, name, pw))
    s2 = harness.Client(stack.main.port, login(stack, name, pw))
    other_u, oname, opw = create_user(stack, "viewer")
    other = harness.Client(stack.main.port, login(stack, oname, opw))
    assert ok(s1.get(A + "/me"))["username"] == name
    r = ok(admin.patch(A + "/users/%d" % u["id"], json={"enabled": False}))
    assert r["enabled"] is False and r["role"] == "operator"
    assert_error(s1.get(A + "/me"), 401, "unauthorized")
    assert_error(s2.get(A + "/keys"), 401, "unauthorized")
    assert sql_int(stack, "SELECT COUNT(*) FROM sessions WHERE user_id = %d" % u["id"]) == 0
    assert_error(stack.main.client.post(A + "/login", json={"username": name, "password": pw}),
                 401, "unauthorized")
    # Other users keep theirs.
    assert ok(other.get(A + "/me"))["username"] == oname
    # Enabled again: the old sessions stay ended; a new login works.
    ok(admin.patch(A + "/users/%d" % u["id"], json={"enabled": True}))
    assert_error(s1.get(A + "/me"), 401, "unauthorized")
    s3 = harness.Client(stack.main.port, login(stack, name, pw))
    assert ok(s3.get(A + "/me"))["role"] == "operator"


def test_password_change(stack):
    admin = stack.main.admin
    u, name, old = create_user(stack, "viewer")
    s = harness.Client(stack.main.port, login(stack, name, old))
    old_hash = sql_one(stack, "SELECT password_hash FROM users WHERE id = %d" % u["id"])
    new_pw = "brand-new-password-9"
    r = admin.patch(A + "/users/%d" % u["id"], json={"password": new_pw})
    body = ok(r)
    assert "password" not in body and new_pw.encode() not in r.body
    assert body["role"] == "viewer" and body["enabled"] is True
    new_hash = sql_one(stack, "SELECT password_hash FROM users WHERE id = %d" % u["id"])
    assert new_hash.startswith("$y$") and new_hash != old_hash and new_pw not in new_hash
    assert_error(stack.main.client.post(A + "/login", json={"username": name, "password": old}),
                 401, "unauthorized")
    tok = login(stack, name, new_pw)
    assert ok(harness.Client(stack.main.port, tok).get(A + "/me"))["username"] == name
    # The implementation also ends the sessions opened with the old password.
    assert_error(s.get(A + "/me"), 401, "unauthorized")
    # A change of something else keeps the password.
    ok(admin.patch(A + "/users/%d" % u["id"], json={"role": "operator"}))
    assert sql_one(stack, "SELECT password_hash FROM users WHERE id = %d" % u["id"]) == new_hash
    assert login(stack, name, new_pw)
    assert_error(admin.patch(A + "/users/%d" % u["id"], json={"password": "short"}), 400,
                 "invalid_field", "password")


def test_user_patch_role_and_others(stack):
    admin = stack.main.admin
    u, name, pw = create_user(stack, "viewer")
    s = harness.Client(stack.main.port, login(stack, name, pw))
    up = create_upstream(stack)
    body = {"upstream_id": up["id"], "key_value": "sk-role-change-1234567890abcdef"}
    assert_error(s.post(A + "/keys", json=body), 403, "forbidden")
    r = ok(admin.patch(A + "/users/%d" % u["id"], json={"role": "operator"}))
    assert r["role"] == "operator" and r["username"] == name
    # The new role applies to the running session at once.
    assert ok(s.get(A + "/me"))["role"] == "operator"
    ok(s.post(A + "/keys", json=body), 201)
    assert_error(s.get(A + "/users"), 403, "forbidden")
    ok(admin.put(A + "/users/%d" % u["id"], json={"role": "admin"}))
    assert ok(s.get(A + "/users/%d" % u["id"]))["role"] == "admin"
    path = A + "/users/%d" % u["id"]
    for b, field in (({"role": "boss"}, "role"), ({"username": "renamed"}, "username"),
                     ({"enabled": "no"}, "enabled"), ({"shoe_size": 9}, "shoe_size"),
                     ({"role": None}, "role")):
        assert_error(admin.patch(path, json=b), 400, "invalid_field", field)
    assert ok(admin.get(path))["role"] == "admin"
    assert_error(admin.patch(A + "/users/987654321", json={"role": "viewer"}), 404, "not_found")
    assert_error(admin.get(A + "/users/987654321"), 404, "not_found")


def test_user_delete(stack):
    admin = stack.main.admin
    u, name, pw = create_user(stack, "admin")
    s = harness.Client(stack.main.port, login(stack, name, pw))
    ok(s.get(A + "/users"))
    ok(admin.delete(A + "/users/%d" % u["id"]), 204)
    assert_error(admin.get(A + "/users/%d" % u["id"]), 404, "not_found")
    assert_error(admin.delete(A + "/users/%d" % u["id"]), 404, "not_found")
    assert_error(s.get(A + "/me"), 401, "unauthorized")
    assert sql_int(stack, "SELECT COUNT(*) FROM sessions WHERE user_id = %d" % u["id"]) == 0
    assert_error(stack.main.client.post(A + "/login", json={"username": name, "password": pw}),
                 401, "unauthorized")
    # The name is free again.
    u2, _, _ = create_user(stack, "viewer", username=name)
    assert u2["id"] != u["id"]


def test_session_expiry(stack):
    u, name, pw = create_user(stack, "admin")
    s = harness.Client(stack.main.port, login(stack, name, pw))
    ok(s.get(A + "/me"))
    stack.sql("UPDATE sessions SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND"
              " WHERE user_id = %d" % u["id"])
    r = s.get(A + "/me")
    assert_error(r, 401, "unauthorized")
    assert r.header("WWW-Authenticate") and r.header("WWW-Authenticate").startswith("Bearer")
    assert_error(s.get(A + "/users"), 401, "unauthorized")
