"""Secrets stay secret: a whole admin scenario is recorded, and no stored key
value, no client token value (after its creation answer) and no password
appears in any response, in the application log, or in plain text in the
database."""

import time
import urllib.parse

import harness
from admin_helpers import A, ok, uniq


class Recorder(harness.Client):
    """A client that keeps every exchange."""

    def __init__(self, port, token, log):
        super().__init__(port, token)
        self.log = log

    def request(self, method, path, **kw):
        r = super().request(method, path, **kw)
        self.log.append((method, path, r))
        return r


def _text(r):
    head = "\n".join("%s: %s" % (k, v) for k, v in r.headers)
    return head + "\n\n" + r.body.decode("utf-8", "replace")


def _secret_key(i, tag):
    return "sk-live-%s-%04d-9fK2mQ7xR4tZ8wB1nV6cL3pH5jD0gS" % (tag, i)


def test_no_secret_in_any_response_or_log(stack):
    log = []
    admin = Recorder(stack.main.port, harness.ADMIN_TOKEN, log)
    anon = Recorder(stack.main.port, None, log)
    tag = uniq("s").replace("-", "")
    keys = []        # every key value sent to the gateway
    tokens = {}      # token value -> index of its creation exchange in log
    passwords = []

    # Upstreams.
    up = ok(admin.post(A + "/upstreams", json={"name": "sec-" + tag, "base_url": stack.mock.url,
                                                "probe_method": "GET", "probe_path": "/models"}),
            201)
    up2 = ok(admin.post(A + "/upstreams", json={"name": "sec2-" + tag,
                                                 "base_url": stack.mock.url,
                                                 "auth_query_param": "key",
                                                 "auth_template": "{key}"}), 201)

    # Keys one by one, including refused ones.
    ids = []
    for i in range(5):
        v = _secret_key(i, tag)
        keys.append(v)
        ids.append(ok(admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": v,
                                                    "name": "k%d" % i}), 201)["id"])
    r = admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": keys[0]})
    assert r.status == 409, r
    bad = "sk-live-with space-" + tag + "-Q8w7E6r5T4y3"
    keys.append(bad)
    assert admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": bad}).status == 400
    long_bad = "sk-live-long-" + tag + "-" + "Z" * 520
    keys.append(long_bad)
    assert admin.post(A + "/keys", json={"upstream_id": up["id"],
                                         "key_value": long_bad}).status == 400
    r = admin.post(A + "/keys", json={"upstream_id": 987654321, "key_value": _secret_key(99, tag)})
    keys.append(_secret_key(99, tag))
    assert r.status in (400, 404), r
    r = admin.patch(A + "/keys/%d" % ids[0], json={"key_value": _secret_key(98, tag)})
    keys.append(_secret_key(98, tag))
    assert r.status == 400, r

    # Imports, both forms, with duplicates and invalid lines.
    imported = [_secret_key(100 + i, tag) for i in range(100)]
    keys.extend(imported)
    res = ok(admin.post(A + "/keys/import", json={"upstream_id": up["id"],
                                                  "keys": imported + imported[:10] + ["x y"]}))
    assert (res["created"], res["duplicates"], res["invalid"]) == (100, 10, 1), res
    text_keys = [_secret_key(300 + i, tag) for i in range(50)]
    keys.extend(text_keys)
    res = ok(admin.post(A + "/keys/import", json={"upstream_id": up2["id"],
                                                  "text": "\n".join(text_keys + keys[:3])}))
    assert (res["created"], res["duplicates"], res["invalid"]) == (53, 0, 0), res

    # Reading everything back, every way.
    for q in ("", "?upstream_id=%d" % up["id"], "?status=active", "?q=k1", "?limit=1000",
              "?limit=7&offset=3"):
        ok(admin.get(A + "/keys" + q))
    for kid in ids:
        ok(admin.get(A + "/keys/%d" % kid))
        ok(admin.get(A + "/keys/%d/events" % kid))
    ok(admin.get(A + "/upstreams"))
    ok(admin.get(A + "/upstreams/%d" % up["id"]))

    # Changes.
    ok(admin.patch(A + "/keys/%d" % ids[1], json={"status": "disabled", "name": "renamed"}))
    ok(admin.put(A + "/keys/%d" % ids[1], json={"status": "active"}))
    for action in ("disable", "ban", "enable", "reset_usage"):
        ok(admin.post(A + "/keys/batch", json={"ids": ids[2:], "action": action,
                                               **({"duration_s": 60} if action == "disable"
                                                  else {})}))
    for kid in ids:
        ok(admin.get(A + "/keys/%d/events" % kid))
    ok(admin.post(A + "/keys/batch", json={"ids": [ids[4]], "action": "delete"}))
    ok(admin.delete(A + "/keys/%d" % ids[3]), 204)
    ok(admin.patch(A + "/upstreams/%d" % up["id"], json={"timeout_ms": 2000}))

    # Client tokens.
    for i in range(3):
        r = admin.post(A + "/tokens", json={"name": "t%d-%s" % (i, tag),
                                            "upstreams": [up["id"]] if i else []})
        tokens[ok(r, 201)["token"]] = len(log) - 1
    tlist = ok(admin.get(A + "/tokens?limit=1000"))["items"]
    for t in tlist:
        ok(admin.get(A + "/tokens/%d" % t["id"]))
    ok(admin.patch(A + "/tokens/%d" % tlist[0]["id"], json={"rpm_limit": 5}))
    ok(admin.put(A + "/tokens/%d" % tlist[1]["id"], json={"enabled": False}))
    ok(admin.delete(A + "/tokens/%d" % tlist[2]["id"]), 204)
    ok(admin.get(A + "/tokens"))

    # Users and sessions.
    pw = "Pw-" + tag + "-correct-horse"
    pw2 = "Pw-" + tag + "-battery-staple"
    passwords += [pw, pw2]
    u = ok(admin.post(A + "/users", json={"username": "op-" + tag, "password": pw,
                                          "role": "operator"}), 201)
    assert anon.post(A + "/login", json={"username": "op-" + tag, "password": pw + "!"}) \
        .status == 401
    passwords.append(pw + "!")
    session = ok(anon.post(A + "/login", json={"username": "op-" + tag, "password": pw}))
    op = Recorder(stack.main.port, session["token"], log)
    ok(op.get(A + "/me"))
    ok(op.get(A + "/keys?limit=1000"))
    for kid in ids[:3]:
        ok(op.get(A + "/keys/%d" % kid))
    ok(op.patch(A + "/keys/%d" % ids[0], json={"status": "disabled"}))
    assert op.get(A + "/tokens").status == 403
    assert op.post(A + "/users", json={"username": "x" + tag, "password": pw2,
                                       "role": "admin"}).status == 403
    ok(op.post(A + "/logout"), 204)
    ok(admin.patch(A + "/users/%d" % u["id"], json={"password": pw2}))
    ok(admin.get(A + "/users"))
    ok(admin.get(A + "/users/%d" % u["id"]))

    # Deleting an upstream with its keys.
    ok(admin.delete(A + "/upstreams/%d" % up2["id"]), 204)
    # A few errors with JSON echoing nothing secret.
    admin.request("POST", A + "/keys", body=('{"upstream_id": %d, "key_value": "%s"'
                                             % (up["id"], keys[0])).encode())
    admin.get(A + "/keys?q=" + urllib.parse.quote("k%"))

    assert len(tokens) == 3 and len(log) > 50, len(log)
    leaks = []
    for i, (method, path, r) in enumerate(log):
        text = _text(r)
        for v in keys:
            if v in text or v[8:-6] in text:
                leaks.append("key %s... in %s %s -> %d" % (v[:12], method, path, r.status))
        for t, created_at in tokens.items():
            if i != created_at and (t in text or t[4:] in text):
                leaks.append("token %s... in %s %s -> %d" % (t[:8], method, path, r.status))
        for p in passwords:
            if p in text:
                leaks.append("password in %s %s -> %d" % (method, path, r.status))
    assert not leaks, "\n".join(leaks[:20])
    # The creation answers did carry the tokens (or the test proves nothing).
    for t, idx in tokens.items():
        assert t in log[idx][2].text

    # The application log.
    time.sleep(0.3)
    applog = stack.main.log()
    for v in keys:
        assert v not in applog and v[8:-6] not in applog, "a key value is in the application log"
    for t in tokens:
        assert t not in applog and t[4:] not in applog, "a token is in the application log"
    for p in passwords:
        assert p not in applog, "a password is in the application log"

    # The database's text columns.
    dump = stack.sql(
        "SELECT CONCAT_WS('|', name, key_masked, status, status_reason) FROM api_keys;"
        " SELECT CONCAT_WS('|', from_status, to_status, reason, actor, excerpt) FROM key_events;"
        " SELECT CONCAT_WS('|', name, token_masked, upstreams) FROM client_tokens;"
        " SELECT CONCAT_WS('|', username, password_hash, role) FROM users;"
        " SELECT CONCAT_WS('|', name, base_url, auth_template) FROM upstreams;")
    for secret in keys + list(tokens) + passwords:
        assert secret not in dump, "a secret is stored in plain text: %s..." % secret[:10]
