"""Admin API: /api/admin/upstreams — create with the contract's defaults,
validation of every field, conflicts, PUT/PATCH, paging, and delete (keys
and rules go, request logs stay)."""

import time

from admin_helpers import (A, assert_error, create_key, create_upstream, key_value, ok,
                           parse_time, sql_int, uniq)

DEFAULTS = {
    "auth_header": "Authorization",
    "auth_template": "Bearer {key}",
    "auth_query_param": None,
    "strategy": "round_robin",
    "timeout_ms": 30000,
    "connect_timeout_ms": 5000,
    "max_retries": 2,
    "retry_backoff_ms": 100,
    "enabled": True,
    "public": False,
    "probe_method": None,
    "probe_path": None,
    "probe_body": None,
    "probe_content_type": None,
    "recheck_banned_s": None,
    "auto_disable_max_pct": 50,
}


def _get_one(client, up_id):
    """GET one upstream without its capacity (docs/API.md "Capacity alerts"),
    which only GET one answers: the rest is the object every write answers."""
    got = ok(client.get(A + "/upstreams/%d" % up_id))
    assert got.pop("capacity")["state"] in ("unknown", "ok", "low", "dry"), got
    return got


def _count(stack):
    return ok(stack.main.admin.get(A + "/upstreams?limit=1000"))["total"]


def test_create_answers_201_with_every_default(stack):
    name = uniq("defaults")
    before = int(time.time())
    r = stack.main.admin.post(A + "/upstreams", json={"name": name, "base_url": stack.mock.url})
    up = ok(r, 201)
    assert r.header("Content-Type").startswith("application/json")
    assert isinstance(up["id"], int) and up["id"] > 0
    assert up["name"] == name
    assert up["base_url"] == stack.mock.url
    for field, value in DEFAULTS.items():
        assert field in up, "missing %s in %r" % (field, up)
        assert up[field] == value, (field, up[field], value)
        # bools are JSON booleans, ints are JSON integers
        assert type(up[field]) is type(value), (field, up[field])
    created = parse_time(up["created_at"])
    assert abs(created - before) <= 5, up["created_at"]
    assert up["updated_at"] == up["created_at"]
    # GET one answers the same object.
    got = _get_one(stack.main.admin, up["id"])
    assert got == up


def test_create_with_every_field_set(stack):
    body = {
        "name": uniq("full"),
        "base_url": "https://api.example.com/v1",
        "auth_header": "X-Goog-Api-Key",
        "auth_template": "{key}",
        "auth_query_param": "key",
        "strategy": "weighted",
        "timeout_ms": 1234,
        "connect_timeout_ms": 567,
        "max_retries": 0,
        "retry_backoff_ms": 0,
        "enabled": False,
        "public": True,
        "probe_method": "GET",
        "probe_path": "/v1/models?x=1",
        "auto_disable_max_pct": 100,
    }
    up = ok(stack.main.admin.post(A + "/upstreams", json=body), 201)
    for k, v in body.items():
        assert up[k] == v, (k, up[k], v)
    got = _get_one(stack.main.admin, up["id"])
    assert got == up
    # Limits are inclusive.
    for strategy in ("random", "round_robin"):
        u = create_upstream(stack, strategy=strategy, timeout_ms=3600000,
                            connect_timeout_ms=600000, max_retries=10, retry_backoff_ms=60000,
                            auto_disable_max_pct=0, name=uniq("lim"))
        assert u["strategy"] == strategy and u["max_retries"] == 10
        assert u["auto_disable_max_pct"] == 0 and u["timeout_ms"] == 3600000


def test_name_rules(stack):
    c = stack.main.admin
    ok_name = "a" * 64
    u = create_upstream(stack, name=ok_name)
    assert u["name"] == ok_name
    u = create_upstream(stack, name="z_0-9")
    assert u["name"] == "z_0-9"
    n = _count(stack)
    for bad in ("", "a" * 65, "Upper", "with space", "dot.name", "slash/x", "ünï", 42, None,
                ["a"], True):
        r = c.post(A + "/upstreams", json={"name": bad, "base_url": stack.mock.url})
        assert_error(r, 400, "invalid_field", "name")
    r = c.post(A + "/upstreams", json={"base_url": stack.mock.url})
    assert_error(r, 400, "invalid_field", "name")
    assert _count(stack) == n


def test_validation_names_the_field(stack):
    c = stack.main.admin
    cases = [
        ("base_url", "ftp://example.com"),
        ("base_url", "example.com"),
        ("base_url", "http://"),
        ("base_url", "http://example.com/v1?x=1"),
        ("base_url", "http://example.com/#frag"),
        ("base_url", "http://user:pw@example.com"),
        ("base_url", "http://exa mple.com"),
        ("base_url", "http://example.com/\n"),
        ("base_url", 12),
        ("base_url", None),
        ("auth_header", ""),
        ("auth_header", "Bad Header"),
        ("auth_header", "X-Key:"),
        ("auth_header", "X-Key\r\nInjected: 1"),
        ("auth_header", "A" * 129),
        ("auth_header", None),
        ("auth_template", "Bearer"),
        ("auth_template", "Bearer {kay}"),
        ("auth_template", "Bearer {key}\r\nX: y"),
        ("auth_template", ""),
        ("auth_template", 5),
        ("auth_query_param", ""),
        ("auth_query_param", "a b"),
        ("auth_query_param", "k&x=1"),
        ("auth_query_param", 1),
        ("strategy", "fastest"),
        ("strategy", "ROUND_ROBIN"),
        ("strategy", ""),
        ("strategy", None),
        ("timeout_ms", 0),
        ("timeout_ms", -1),
        ("timeout_ms", 3600001),
        ("timeout_ms", "100"),
        ("timeout_ms", 1.5),
        ("timeout_ms", None),
        ("connect_timeout_ms", 0),
        ("connect_timeout_ms", 600001),
        ("connect_timeout_ms", "5000"),
        ("max_retries", -1),
        ("max_retries", 11),
        ("max_retries", 2.0),
        ("retry_backoff_ms", -1),
        ("retry_backoff_ms", 60001),
        ("enabled", "true"),
        ("enabled", 1),
        ("enabled", None),
        ("public", "yes"),
        ("public", 0),
        ("probe_method", "FETCH"),
        ("probe_method", "get"),
        ("probe_method", ""),
        ("probe_path", "v1/models"),
        ("probe_path", "/v1/ models"),
        ("probe_path", ""),
        ("probe_path", 7),
        ("auto_disable_max_pct", -1),
        ("auto_disable_max_pct", 101),
        ("auto_disable_max_pct", "50"),
    ]
    n = _count(stack)
    for field, value in cases:
        body = {"name": uniq("val"), "base_url": stack.mock.url, field: value}
        r = c.post(A + "/upstreams", json=body)
        assert r.status == 400, (field, value, r)
        assert_error(r, 400, "invalid_field", field)
    r = c.post(A + "/upstreams", json={"name": uniq("val")})
    assert_error(r, 400, "invalid_field", "base_url")
    assert _count(stack) == n, "an invalid create left a row"
    # Nullable fields take null.
    u = create_upstream(stack, auth_query_param=None, probe_method=None, probe_path=None)
    assert u["auth_query_param"] is None and u["probe_path"] is None


def test_unknown_field_and_malformed_json(stack):
    c = stack.main.admin
    n = _count(stack)
    r = c.post(A + "/upstreams", json={"name": uniq("u"), "base_url": stack.mock.url,
                                       "colour": "red"})
    assert_error(r, 400, "invalid_field", "colour")
    r = c.post(A + "/upstreams", json={"name": uniq("u"), "base_url": stack.mock.url,
                                       "is_public": True})
    assert_error(r, 400, "invalid_field", "is_public")
    for raw in (b'{"name": "x", "base_url": ', b"{'name': 'x'}", b'{"name": "x"} trailing',
                b"not json", b"", b'{"name": "x",}', b'{"timeout_ms": 01}',
                b'\xef\xbb\xbf{}'):
        r = c.request("POST", A + "/upstreams", body=raw,
                      headers={"Content-Type": "application/json"})
        assert_error(r, 400, "invalid_json")
    # A JSON value that is not an object is malformed input too.
    for raw in (b"[]", b'"upstream"', b"42", b"null"):
        r = c.request("POST", A + "/upstreams", body=raw,
                      headers={"Content-Type": "application/json"})
        assert r.status == 400, (raw, r)
        assert r.error_code() in ("invalid_json", "invalid_field"), r
    assert _count(stack) == n


def test_nan_and_infinity_are_malformed_json(stack):
    # RFC 8259 has no NaN or Infinity: such a body is malformed, whatever the
    # field it sits in.
    n = _count(stack)
    for raw in (b'{"name": "nan-1", "base_url": "http://x.test", "timeout_ms": NaN}',
                b'{"name": "nan-2", "base_url": "http://x.test", "timeout_ms": Infinity}',
                b'{"name": "nan-3", "base_url": "http://x.test", "timeout_ms": -Infinity}'):
        r = stack.main.admin.request("POST", A + "/upstreams", body=raw,
                                     headers={"Content-Type": "application/json"})
        assert_error(r, 400, "invalid_json")
    assert _count(stack) == n


def test_text_that_is_not_utf8_is_refused_not_a_500(stack):
    # Malformed input is a 400 naming the field, whatever the field.
    c = stack.main.admin
    n = _count(stack)
    H = {"Content-Type": "application/json"}
    cases = [("auth_template", b'"Bearer {key}\xff"'), ("probe_path", b'"/v1/\xfe"'),
             ("base_url", b'"http://x.test/\xff"'), ("auth_header", b'"X-\xff"'),
             ("name", b'"n\xff"')]
    for field, raw in cases:
        body = b'{"name": "utf-%s", "base_url": "http://x.test", "%s": %s}' % (
            field.replace("_", "-").encode(), field.encode(), raw)
        body = body.replace(b'"name": "utf-name", ', b"")
        r = c.request("POST", A + "/upstreams", body=body, headers=H)
        assert r.status == 400, (field, r)
        assert r.error_code() in ("invalid_field", "invalid_json"), (field, r)
    assert _count(stack) == n
    up = create_upstream(stack)
    for field, raw in cases[:3]:
        r = c.request("PATCH", A + "/upstreams/%d" % up["id"],
                      body=b'{"%s": %s}' % (field.encode(), raw), headers=H)
        assert r.status == 400, (field, r)
    assert _get_one(c, up["id"]) == up


def test_duplicate_name_conflicts(stack):
    name = uniq("dup")
    first = create_upstream(stack, name=name)
    r = stack.main.admin.post(A + "/upstreams", json={"name": name, "base_url": "http://x.test"})
    assert_error(r, 409, "conflict", "name")
    # The first one is untouched.
    got = _get_one(stack.main.admin, first["id"])
    assert got == first
    # Renaming another upstream onto the name conflicts too.
    other = create_upstream(stack)
    for method in ("PATCH", "PUT"):
        r = stack.main.admin.request(method, A + "/upstreams/%d" % other["id"],
                                     json={"name": name})
        assert_error(r, 409, "conflict", "name")
    assert ok(stack.main.admin.get(A + "/upstreams/%d" % other["id"]))["name"] == other["name"]


def test_unknown_id_is_404(stack):
    c = stack.main.admin
    missing = 987654321
    assert_error(c.get(A + "/upstreams/%d" % missing), 404, "not_found")
    assert_error(c.patch(A + "/upstreams/%d" % missing, json={"timeout_ms": 5}), 404, "not_found")
    assert_error(c.put(A + "/upstreams/%d" % missing,
                       json={"name": uniq("x"), "base_url": stack.mock.url}), 404, "not_found")
    assert_error(c.delete(A + "/upstreams/%d" % missing), 404, "not_found")
    # Not a positive integer: no such route.
    for bad in ("0", "abc", "-1", "1.5"):
        r = c.get(A + "/upstreams/" + bad)
        assert_error(r, 404, "not_found")


def test_patch_changes_only_given_fields(stack):
    up = create_upstream(stack, probe_method="GET", probe_path="/models", auth_query_param="key")
    time.sleep(1.1)  # updated_at has second resolution
    r = stack.main.admin.patch(A + "/upstreams/%d" % up["id"],
                               json={"timeout_ms": 999, "enabled": False, "probe_path": None})
    new = ok(r, 200)
    assert new["timeout_ms"] == 999 and new["enabled"] is False and new["probe_path"] is None
    for k in up:
        if k not in ("timeout_ms", "enabled", "probe_path", "updated_at"):
            assert new[k] == up[k], (k, new[k], up[k])
    assert parse_time(new["updated_at"]) > parse_time(up["updated_at"])
    assert new["created_at"] == up["created_at"]
    assert _get_one(stack.main.admin, up["id"]) == new
    # An empty patch changes nothing but is fine.
    same = ok(stack.main.admin.patch(A + "/upstreams/%d" % up["id"], json={}))
    for k in new:
        if k != "updated_at":
            assert same[k] == new[k], k


def test_put_replaces_fields(stack):
    up = create_upstream(stack)
    body = {
        "name": uniq("put"),
        "base_url": "http://other.example:8080/base",
        "auth_header": "X-Api-Key",
        "auth_template": "Key {key}",
        "auth_query_param": "api_key",
        "strategy": "random",
        "timeout_ms": 100,
        "connect_timeout_ms": 50,
        "max_retries": 5,
        "retry_backoff_ms": 10,
        "enabled": False,
        "public": True,
        "probe_method": "HEAD",
        "probe_path": "/ping",
        "auto_disable_max_pct": 25,
    }
    new = ok(stack.main.admin.put(A + "/upstreams/%d" % up["id"], json=body))
    assert new["id"] == up["id"]
    for k, v in body.items():
        assert new[k] == v, (k, new[k], v)
    assert _get_one(stack.main.admin, up["id"]) == new
    # A GET body sent back unchanged (read-only fields included) is accepted.
    again = ok(stack.main.admin.put(A + "/upstreams/%d" % up["id"], json=new))
    assert again["id"] == new["id"] and again["name"] == new["name"]
    assert again["created_at"] == new["created_at"]


def test_update_validation(stack):
    up = create_upstream(stack)
    c = stack.main.admin
    path = A + "/upstreams/%d" % up["id"]
    cases = [("name", "Bad Name"), ("name", None), ("base_url", "gopher://x"),
             ("auth_template", "no key"), ("strategy", "best"), ("timeout_ms", 0),
             ("max_retries", 11), ("enabled", "no"), ("probe_method", "BREW"),
             ("auto_disable_max_pct", 101), ("auth_header", "a b")]
    for method in ("PATCH", "PUT"):
        for field, value in cases:
            r = c.request(method, path, json={field: value})
            assert_error(r, 400, "invalid_field", field)
        assert_error(c.request(method, path, json={"nope": 1}), 400, "invalid_field", "nope")
        r = c.request(method, path, body=b'{"name":', headers={"Content-Type": "application/json"})
        assert_error(r, 400, "invalid_json")
    assert _get_one(c, up["id"]) == up, "a refused update changed the row"


def test_list_paging_and_total(stack):
    c = stack.main.admin
    for _ in range(3):
        create_upstream(stack)
    everything = ok(c.get(A + "/upstreams?limit=1000"))
    total = everything["total"]
    assert total == len(everything["items"]) and total >= 3
    ids = [u["id"] for u in everything["items"]]
    assert ids == sorted(ids)
    page = ok(c.get(A + "/upstreams?limit=2&offset=1"))
    assert page["total"] == total
    assert [u["id"] for u in page["items"]] == ids[1:3]
    assert ok(c.get(A + "/upstreams?offset=%d" % total))["items"] == []
    # Default page size is 50; every item is a whole upstream.
    default = ok(c.get(A + "/upstreams"))
    assert len(default["items"]) == min(50, total)
    assert set(DEFAULTS) <= set(default["items"][0])
    for bad in ("limit=0", "limit=1001", "limit=-1", "limit=abc", "offset=-1", "offset=x"):
        r = c.get(A + "/upstreams?" + bad)
        assert_error(r, 400, "invalid_field", bad.split("=")[0])
    assert ok(c.get(A + "/upstreams?limit=1000"))["total"] == total


def test_delete_removes_keys_and_rules_keeps_logs(stack):
    c = stack.main.admin
    up = create_upstream(stack)
    other = create_upstream(stack)
    keys = [create_key(stack, up["id"], key_value("del")) for _ in range(3)]
    kept_key = create_key(stack, other["id"], key_value("keep"))
    # A status change leaves a key_events row that must go with the key.
    ok(c.patch(A + "/keys/%d" % keys[0]["id"], json={"status": "disabled"}))
    stack.sql("INSERT INTO rules (upstream_id, name, cond_json, actions_json, created_at,"
              " updated_at) VALUES (%d, 'r-del', '{\"type\":\"status\",\"op\":\"eq\","
              "\"value\":429}', '[{\"type\":\"retry\"}]', UTC_TIMESTAMP(), UTC_TIMESTAMP())"
              % up["id"])
    stack.sql("INSERT INTO rules (upstream_id, name, cond_json, actions_json, created_at,"
              " updated_at) VALUES (%d, 'r-keep', '{}', '[]', UTC_TIMESTAMP(), UTC_TIMESTAMP())"
              % other["id"])
    stack.sql("INSERT INTO rules (upstream_id, name, cond_json, actions_json, created_at,"
              " updated_at) VALUES (NULL, 'r-global', '{}', '[]', UTC_TIMESTAMP(),"
              " UTC_TIMESTAMP())")
    rid = uniq("req").replace("-", "")[:32]
    stack.sql("INSERT INTO request_logs (request_id, ts, method, upstream_id, upstream, path,"
              " key_id, status, latency_ms) VALUES ('%s', UTC_TIMESTAMP(3), 'GET', %d, '%s',"
              " '/v1/x', %d, 200, 12)" % (rid, up["id"], up["name"], keys[0]["id"]))

    r = c.delete(A + "/upstreams/%d" % up["id"])
    ok(r, 204)
    assert_error(c.get(A + "/upstreams/%d" % up["id"]), 404, "not_found")
    assert_error(c.delete(A + "/upstreams/%d" % up["id"]), 404, "not_found")
    for k in keys:
        assert_error(c.get(A + "/keys/%d" % k["id"]), 404, "not_found")
    assert ok(c.get(A + "/keys?upstream_id=%d" % up["id"]))["total"] == 0
    assert sql_int(stack, "SELECT COUNT(*) FROM api_keys WHERE upstream_id = %d" % up["id"]) == 0
    assert sql_int(stack, "SELECT COUNT(*) FROM rules WHERE upstream_id = %d" % up["id"]) == 0
    assert sql_int(stack, "SELECT COUNT(*) FROM key_events WHERE key_id = %d"
                   % keys[0]["id"]) == 0
    # The logs stay, as they were.
    row = stack.sql("SELECT upstream_id, upstream, key_id, status FROM request_logs"
                    " WHERE request_id = '%s'" % rid).split()
    assert row == [str(up["id"]), up["name"], str(keys[0]["id"]), "200"], row
    # Nothing of the other upstream went.
    assert ok(c.get(A + "/keys/%d" % kept_key["id"]))["upstream_id"] == other["id"]
    assert sql_int(stack, "SELECT COUNT(*) FROM rules WHERE upstream_id = %d" % other["id"]) == 1
    assert sql_int(stack, "SELECT COUNT(*) FROM rules WHERE name = 'r-global'") == 1


def test_created_upstream_is_listed(stack):
    up = create_upstream(stack, strategy="random")
    items = ok(stack.main.admin.get(A + "/upstreams?limit=1000"))["items"]
    mine = [u for u in items if u["id"] == up["id"]]
    assert mine == [up]


def test_concurrent_creates_of_one_name(stack):
    import threading
    name = uniq("race")
    out = []

    def run():
        out.append(stack.main.admin.post(A + "/upstreams",
                                         json={"name": name, "base_url": stack.mock.url}))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in out)
    assert statuses == [201] + [409] * 7, statuses
    for r in out:
        if r.status == 409:
            assert_error(r, 409, "conflict", "name")
    items = ok(stack.main.admin.get(A + "/upstreams?limit=1000"))["items"]
    assert [u["name"] for u in items].count(name) == 1
