"""Admin API: /api/admin/keys — create, mask, write-only values, encryption
at rest, duplicates, filters, paging, PATCH with status history, delete."""

import binascii
import time

from admin_helpers import (A, ELLIPSIS, assert_error, assert_masked, create_key,
                           create_upstream, key_value, ok, parse_time, session_client, sql_int,
                           sql_one, uniq)

KEY_FIELDS = {"id", "upstream_id", "name", "key_masked", "status", "weight", "daily_quota",
              "rpm_limit", "used_today", "total_requests", "total_failures", "disabled_until",
              "status_reason", "last_used_at"}


def _no_value(obj, value):
    assert "key_value" not in obj, obj
    assert value not in str(obj), obj


def test_create_defaults_and_mask(stack):
    up = create_upstream(stack)
    value = "sk-abcdefghijklmnopqrstuvwxyz0123456789XQZ9"
    r = stack.main.admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": value})
    k = ok(r, 201)
    assert KEY_FIELDS <= set(k), set(k)
    assert "key_value" not in k
    assert value.encode() not in r.body
    assert k["upstream_id"] == up["id"]
    assert k["name"] is None
    assert k["status"] == "active"
    assert k["weight"] == 1 and k["daily_quota"] == 0 and k["rpm_limit"] == 0
    assert k["used_today"] == 0 and k["total_requests"] == 0 and k["total_failures"] == 0
    assert k["disabled_until"] is None and k["last_used_at"] is None
    assert k["key_masked"] == "sk-a" + ELLIPSIS + "XQZ9"
    assert_masked(value, k["key_masked"])
    got = ok(stack.main.admin.get(A + "/keys/%d" % k["id"]))
    assert got == k
    # Every field can be given at creation.
    v2 = key_value("full")
    k2 = create_key(stack, up["id"], v2, name="prod #2", weight=7, daily_quota=1000,
                    rpm_limit=60, status="disabled", disabled_until="2031-02-03T04:05:06Z")
    assert (k2["name"], k2["weight"], k2["daily_quota"], k2["rpm_limit"], k2["status"]) == \
        ("prod #2", 7, 1000, 60, "disabled")
    assert k2["disabled_until"] == "2031-02-03T04:05:06Z"
    assert_masked(v2, k2["key_masked"])


def test_mask_never_shows_more_than_4_and_4(stack):
    up = create_upstream(stack)
    for n in (1, 2, 5, 6, 8, 9, 12, 16, 23, 24, 25, 100, 512):
        value = ("Kq7%03d" % n + "abcdefghijklmnopqrstuvwxyz0123456789" * 15)[:n]
        if n < 6:
            value = ("Q%d" % n + "wxyz")[:n]
        k = create_key(stack, up["id"], value)
        assert_masked(value, k["key_masked"])
        head, tail = k["key_masked"].split(ELLIPSIS)
        # Never the whole value, however short.
        assert len(head) + len(tail) < n, (n, k["key_masked"])
        if n >= 24:
            assert (head, tail) == (value[:4], value[-4:]), (n, k["key_masked"])


def test_key_value_validation(stack):
    up = create_upstream(stack)
    c = stack.main.admin
    before = ok(c.get(A + "/keys?upstream_id=%d" % up["id"]))["total"]
    for bad in ("", "has space", "tab\there", "new\nline", "cr\rlf", "ctl\x01x", "del\x7fx",
                "nul\x00x", "x" * 513, 123, None, ["k"], {"k": 1}):
        r = c.post(A + "/keys", json={"upstream_id": up["id"], "key_value": bad})
        msg = assert_error(r, 400, "invalid_field", "key_value")
        if isinstance(bad, str) and len(bad) > 3:
            assert bad not in msg, msg
    assert_error(c.post(A + "/keys", json={"upstream_id": up["id"]}), 400, "invalid_field",
                 "key_value")
    assert ok(c.get(A + "/keys?upstream_id=%d" % up["id"]))["total"] == before
    # 512 bytes is the limit, included.
    k = create_key(stack, up["id"], "y" * 511 + "Z")
    assert_masked("y" * 511 + "Z", k["key_masked"])


def test_other_field_validation(stack):
    up = create_upstream(stack)
    c = stack.main.admin
    base = {"upstream_id": up["id"]}
    cases = [
        ("weight", 0), ("weight", -3), ("weight", "2"), ("weight", 1.5), ("weight", None),
        ("daily_quota", -1), ("daily_quota", "10"),
        ("rpm_limit", -1), ("rpm_limit", True),
        ("status", "gone"), ("status", "ACTIVE"), ("status", ""), ("status", None),
        ("name", "line\nbreak"), ("name", "x" * 256), ("name", 5),
        ("disabled_until", "tomorrow"), ("disabled_until", 1700000000),
        ("upstream_id", 0), ("upstream_id", -1), ("upstream_id", "1"), ("upstream_id", None),
    ]
    for field, value in cases:
        body = dict(base, key_value=key_value("v"))
        body[field] = value
        r = c.post(A + "/keys", json=body)
        assert_error(r, 400, "invalid_field", field)
    r = c.post(A + "/keys", json={"key_value": key_value("v")})
    assert_error(r, 400, "invalid_field", "upstream_id")
    r = c.post(A + "/keys", json={"upstream_id": 99999999, "key_value": key_value("v")})
    assert r.status in (400, 404), r
    assert r.error_code() in ("invalid_field", "not_found", "unknown_upstream"), r
    assert "upstream" in r.json()["error"]["message"]
    r = c.post(A + "/keys", json=dict(base, key_value=key_value("v"), secret="x"))
    assert_error(r, 400, "invalid_field", "secret")
    r = c.request("POST", A + "/keys", body=b'{"upstream_id": 1, "key_value": "abc"',
                  headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    assert ok(c.get(A + "/keys?upstream_id=%d" % up["id"]))["total"] == 0
    # A name may hold any printable text, up to 255 bytes of UTF-8.
    name = "\u00c9quipe \u2603 " + "n" * 243
    assert len(name.encode()) == 255
    k = create_key(stack, up["id"], key_value("n"), name=name)
    assert k["name"] == name
    assert ok(c.get(A + "/keys/%d" % k["id"]))["name"] == name


def test_name_that_is_not_utf8_is_refused_not_a_500(stack):
    up = create_upstream(stack)
    raw = b'{"upstream_id": %d, "key_value": "%s", "name": "bad\xff\xfename"}' % (
        up["id"], key_value("utf").encode())
    r = stack.main.admin.request("POST", A + "/keys", body=raw,
                                 headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert r.error_code() in ("invalid_field", "invalid_json"), r


def test_non_ascii_key_value_is_stored_or_refused_cleanly(stack):
    # The contract puts no character set on key values; the gateway may
    # accept such a key (with a well-formed mask) or refuse it as invalid,
    # but not fail with a 500.
    up = create_upstream(stack)
    for value in ("a" + "\u00e9" * 20, "\u00e9\u00e9\u00e9", "k\u20ac" + "x" * 30,
                  "\U0001F511" * 30, "z\U0001F511" * 12):
        r = stack.main.admin.post(A + "/keys", json={"upstream_id": up["id"],
                                                     "key_value": value})
        assert r.status in (201, 400), (value, r)
        if r.status == 201:
            assert_masked(value, r.json()["key_masked"])
        else:
            assert_error(r, 400, "invalid_field", "key_value")
    # The same through import: counted as created (with a clean mask) or
    # invalid, never stored with a mangled mask.
    other = create_upstream(stack)
    value = "b" + "\u00e9" * 20
    res = ok(stack.main.admin.post(A + "/keys/import", json={"upstream_id": other["id"],
                                                            "keys": [value]}))
    assert res["created"] + res["invalid"] == 1, res
    if res["created"]:
        item = ok(stack.main.admin.get(A + "/keys?upstream_id=%d" % other["id"]))["items"][0]
        assert_masked(value, item["key_masked"])


def test_key_value_that_is_not_utf8_is_stored_or_refused_cleanly(stack):
    # A key value is opaque bytes to the gateway; one that is not UTF-8 may
    # be refused as invalid, or kept with a mask that is still well-formed
    # text, but must not fail with a 500 nor be listed with a mangled mask.
    up = create_upstream(stack)
    values = [b"\xff\xfe" * 15 + b"abc", b"abcd" + b"\xc3" * 30, b"\xf0" * 40]
    for raw in values:
        body = b'{"upstream_id": %d, "key_value": "%s"}' % (up["id"], raw)
        r = stack.main.admin.request("POST", A + "/keys", body=body,
                                     headers={"Content-Type": "application/json"})
        assert r.status in (201, 400), (raw, r)
        if r.status == 400:
            # Raw bytes that are not UTF-8 make the body malformed JSON.
            if r.error_code() == "invalid_json":
                assert "UTF-8" in r.json()["error"]["message"], r
            else:
                assert_error(r, 400, "invalid_field", "key_value")
            continue
        masked = r.json()["key_masked"]
        assert masked.count(ELLIPSIS) == 1 and "?" not in masked and "\ufffd" not in masked, \
            (raw, masked)
    other = create_upstream(stack)
    for raw in values:
        body = b'{"upstream_id": %d, "keys": ["%s"]}' % (other["id"], raw)
        r = stack.main.admin.request("POST", A + "/keys/import", body=body,
                                     headers={"Content-Type": "application/json"})
        if r.status == 400:
            assert r.error_code() == "invalid_json" and "UTF-8" in r.text, r
            continue
        res = ok(r)
        assert res["created"] + res["invalid"] == 1, (raw, res)
    for item in ok(stack.main.admin.get(A + "/keys?upstream_id=%d" % other["id"]))["items"]:
        masked = item["key_masked"]
        assert "?" not in masked and "\ufffd" not in masked, masked


def test_duplicate_value_in_same_upstream_conflicts(stack):
    up = create_upstream(stack)
    other = create_upstream(stack)
    value = key_value("dup")
    first = create_key(stack, up["id"], value, name="first")
    r = stack.main.admin.post(A + "/keys", json={"upstream_id": up["id"], "key_value": value,
                                                 "name": "second"})
    msg = assert_error(r, 409, "conflict")
    assert value not in r.text and value[4:-4] not in msg
    assert ok(stack.main.admin.get(A + "/keys?upstream_id=%d" % up["id"]))["total"] == 1
    # The same value in another upstream is a different key.
    second = create_key(stack, other["id"], value)
    assert second["id"] != first["id"] and second["upstream_id"] == other["id"]
    assert second["key_masked"] == first["key_masked"]
    # Values differing only by case are different keys.
    create_key(stack, up["id"], value.upper() if value.upper() != value else value.lower())


def test_key_is_encrypted_at_rest(stack):
    up = create_upstream(stack)
    value = key_value("enc")
    k = create_key(stack, up["id"], value)
    enc_hex = sql_one(stack, "SELECT HEX(key_enc) FROM api_keys WHERE id = %d" % k["id"])
    assert enc_hex, "no key_enc stored"
    plain_hex = binascii.hexlify(value.encode()).decode().upper()
    assert plain_hex not in enc_hex
    # Not even a recognisable piece of it.
    assert binascii.hexlify(value[4:16].encode()).decode().upper() not in enc_hex
    assert len(enc_hex) // 2 > len(value), "key_enc cannot hold the value and an auth tag"
    assert sql_int(stack, "SELECT COUNT(*) FROM api_keys WHERE INSTR(key_enc, '%s') > 0"
                   " OR INSTR(key_masked, '%s') > 0 OR INSTR(IFNULL(name, ''), '%s') > 0"
                   % (value, value, value)) == 0
    # Two keys with the same value in two upstreams are not sealed alike.
    other = create_upstream(stack)
    k2 = create_key(stack, other["id"], value)
    enc2 = sql_one(stack, "SELECT HEX(key_enc) FROM api_keys WHERE id = %d" % k2["id"])
    assert enc2 != enc_hex


def test_list_filters(stack):
    c = stack.main.admin
    t = uniq("flt").replace("-", "")
    u1 = create_upstream(stack)
    u2 = create_upstream(stack)
    a = create_key(stack, u1["id"], key_value("f"), name=t + "-alpha-prod")
    b = create_key(stack, u1["id"], key_value("f"), name=t + "-beta-prod", status="disabled")
    d = create_key(stack, u1["id"], key_value("f"), name=t + "-gamma-test", status="banned")
    e = create_key(stack, u2["id"], key_value("f"), name=t + "-alpha-other")
    f = create_key(stack, u2["id"], key_value("f"), name=t + "-50%_off")
    g = create_key(stack, u2["id"], key_value("f"), name=t + "-500-off", status="exhausted")
    mine = {k["id"]: k for k in (a, b, d, e, f, g)}

    def items(query):
        res = ok(c.get(A + "/keys?limit=1000&" + query))
        assert res["total"] == len(res["items"]), res
        for k in res["items"]:
            assert "key_value" not in k
        return res["items"]

    def ids(query):
        return [k["id"] for k in items(query)]

    assert ids("upstream_id=%d" % u1["id"]) == [a["id"], b["id"], d["id"]]
    assert ids("upstream_id=%d" % u2["id"]) == [e["id"], f["id"], g["id"]]
    for status, key in (("active", a), ("disabled", b), ("banned", d), ("exhausted", g)):
        got = items("status=" + status)
        assert all(k["status"] == status for k in got), (status, got)
        assert [k["id"] for k in got if k["id"] in mine] == \
            [k for k in mine if mine[k]["status"] == status], status
        assert key["id"] in [k["id"] for k in got]
    assert ids("status=active&upstream_id=%d" % u1["id"]) == [a["id"]]
    assert ids("q=%s-alpha" % t) == [a["id"], e["id"]]
    assert ids("q=alpha&upstream_id=%d" % u2["id"]) == [e["id"]]
    assert ids("q=prod&upstream_id=%d" % u1["id"]) == [a["id"], b["id"]]
    assert ids("q=%s&status=disabled" % t) == [b["id"]]
    assert ids("q=%s&status=active&upstream_id=%d" % (t, u2["id"])) == [e["id"], f["id"]]
    assert ids("q=nothing-like-this-at-all") == []
    # q is plain text: % and _ are not wildcards.
    assert ids("q=%%25&upstream_id=%d" % u2["id"]) == [f["id"]]
    assert ids("q=50%25_&upstream_id=" + str(u2["id"])) == [f["id"]]
    assert ids("q=_off&upstream_id=%d" % u2["id"]) == [f["id"]]
    assert ids("upstream_id=987654") == []
    # Empty filters mean no filter.
    everything = ok(c.get(A + "/keys?limit=1000"))["total"]
    assert everything >= 6
    assert len(ids("upstream_id=&status=&q=")) == everything
    for bad, field in (("upstream_id=abc", "upstream_id"), ("upstream_id=-1", "upstream_id"),
                       ("upstream_id=0", "upstream_id"), ("status=gone", "status")):
        assert_error(c.get(A + "/keys?" + bad), 400, "invalid_field", field)


def test_list_paging(stack):
    c = stack.main.admin
    up = create_upstream(stack)
    made = [create_key(stack, up["id"], key_value("p"), name="page-%d" % i)["id"]
            for i in range(7)]
    q = A + "/keys?upstream_id=%d" % up["id"]
    res = ok(c.get(q + "&limit=3"))
    assert res["total"] == 7 and [k["id"] for k in res["items"]] == made[:3]
    res = ok(c.get(q + "&limit=3&offset=3"))
    assert res["total"] == 7 and [k["id"] for k in res["items"]] == made[3:6]
    res = ok(c.get(q + "&limit=3&offset=6"))
    assert res["total"] == 7 and [k["id"] for k in res["items"]] == made[6:]
    res = ok(c.get(q + "&offset=100"))
    assert res == {"items": [], "total": 7}
    res = ok(c.get(q + "&limit=1000"))
    assert [k["id"] for k in res["items"]] == made
    for bad in ("limit=0", "limit=1001", "limit=-5", "limit=ten", "limit=", "offset=-1"):
        r = c.get(q + "&" + bad)
        assert_error(r, 400, "invalid_field", bad.split("=")[0])


def test_default_page_is_50(stack):
    c = stack.main.admin
    up = create_upstream(stack)
    res = ok(c.post(A + "/keys/import", json={"upstream_id": up["id"],
                                             "keys": [key_value("d%d" % i) for i in range(60)]}))
    assert res["created"] == 60
    page = ok(c.get(A + "/keys?upstream_id=%d" % up["id"]))
    assert page["total"] == 60 and len(page["items"]) == 50
    page = ok(c.get(A + "/keys?upstream_id=%d&offset=50" % up["id"]))
    assert len(page["items"]) == 10


def test_patch_fields(stack):
    c = stack.main.admin
    up = create_upstream(stack)
    value = key_value("pt")
    k = create_key(stack, up["id"], value, name="before")
    new = ok(c.patch(A + "/keys/%d" % k["id"], json={"name": "after", "weight": 5,
                                                     "daily_quota": 100, "rpm_limit": 10}))
    assert (new["name"], new["weight"], new["daily_quota"], new["rpm_limit"]) == \
        ("after", 5, 100, 10)
    assert new["status"] == "active" and new["key_masked"] == k["key_masked"]
    _no_value(new, value)
    assert ok(c.get(A + "/keys/%d" % k["id"])) == new
    # PUT goes through the same update.
    new = ok(c.put(A + "/keys/%d" % k["id"], json={"name": None, "weight": 2}))
    assert new["name"] is None and new["weight"] == 2 and new["daily_quota"] == 100
    # The value and the upstream cannot be changed; nothing else changed either.
    other = create_upstream(stack)
    for body, field in (({"key_value": key_value("x")}, "key_value"),
                        ({"key_value": value}, "key_value"),
                        ({"upstream_id": other["id"]}, "upstream_id"),
                        ({"weight": 0}, "weight"), ({"status": "paused"}, "status"),
                        ({"daily_quota": -1}, "daily_quota"), ({"colour": 1}, "colour"),
                        ({"disabled_until": "soon"}, "disabled_until")):
        assert_error(c.patch(A + "/keys/%d" % k["id"], json=body), 400, "invalid_field", field)
    assert ok(c.get(A + "/keys/%d" % k["id"])) == new
    assert ok(c.get(A + "/keys?upstream_id=%d" % other["id"]))["total"] == 0
    # A GET body sent back as it is (read-only fields, the same upstream_id)
    # is accepted and changes nothing.
    again = ok(c.put(A + "/keys/%d" % k["id"], json=new))
    for f in new:
        if f != "updated_at":
            assert again[f] == new[f], f
    assert_error(c.patch(A + "/keys/987654321", json={"weight": 3}), 404, "not_found")
    r = c.request("PATCH", A + "/keys/%d" % k["id"], body=b"{",
                  headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    # The key still decrypts to the same value: importing it again is a duplicate.
    res = ok(c.post(A + "/keys/import", json={"upstream_id": up["id"], "keys": [value]}))
    assert (res["created"], res["duplicates"], res["invalid"]) == (0, 1, 0), res


def test_status_change_writes_event(stack):
    c = stack.main.admin
    up = create_upstream(stack)
    k = create_key(stack, up["id"], key_value("ev"))
    assert ok(c.get(A + "/keys/%d/events" % k["id"])) == {"items": [], "total": 0}
    t0 = int(time.time())
    d = ok(c.patch(A + "/keys/%d" % k["id"],
                   json={"status": "disabled", "disabled_until": "2035-01-01T00:00:00Z"}))
    assert d["status"] == "disabled" and d["status_reason"] == "manual"
    assert d["disabled_until"] == "2035-01-01T00:00:00Z"
    b = ok(c.patch(A + "/keys/%d" % k["id"], json={"status": "banned"}))
    assert b["status"] == "banned" and b["disabled_until"] is None
    # Changing another field keeps the status and writes no event.
    ok(c.patch(A + "/keys/%d" % k["id"], json={"weight": 9}))
    ok(c.patch(A + "/keys/%d" % k["id"], json={"status": "banned"}))
    op = session_client(stack, "operator")
    a = ok(op.patch(A + "/keys/%d" % k["id"], json={"status": "active"}))
    assert a["status"] == "active" and a["disabled_until"] is None
    assert a["status_reason"] == "manual"
    ev = ok(c.get(A + "/keys/%d/events" % k["id"]))
    assert ev["total"] == 3, ev
    got = [(e["from"], e["to"], e["reason"]) for e in ev["items"]]
    assert got == [("banned", "active", "manual"), ("disabled", "banned", "manual"),
                   ("active", "disabled", "manual")], got
    for e in ev["items"]:
        assert abs(parse_time(e["ts"]) - t0) <= 5, e
        for f in ("rule_id", "request_id", "excerpt"):
            assert f in e and e[f] is None, (f, e)
    ids = [e["id"] for e in ev["items"]]
    assert ids == sorted(ids, reverse=True)
    # Who did it is recorded (implementation's extra field).
    assert ev["items"][0]["actor"] == "user:" + op.username
    assert ev["items"][2]["actor"] == "admin-token"
    # Paging of the history.
    page = ok(c.get(A + "/keys/%d/events?limit=1&offset=1" % k["id"]))
    assert page["total"] == 3 and [e["to"] for e in page["items"]] == ["banned"]
    assert sql_int(stack, "SELECT COUNT(*) FROM key_events WHERE key_id = %d" % k["id"]) == 3
    # Exhausted is a status an operator may set too.
    x = ok(c.patch(A + "/keys/%d" % k["id"], json={"status": "exhausted"}))
    assert x["status"] == "exhausted"
    assert ok(c.get(A + "/keys/%d/events?limit=1" % k["id"]))["items"][0]["to"] == "exhausted"


def test_events_of_unknown_key_is_404(stack):
    assert_error(stack.main.admin.get(A + "/keys/987654321/events"), 404, "not_found")


def test_delete_key(stack):
    c = stack.main.admin
    up = create_upstream(stack)
    value = key_value("del")
    k = create_key(stack, up["id"], value)
    ok(c.patch(A + "/keys/%d" % k["id"], json={"status": "disabled"}))
    ok(c.delete(A + "/keys/%d" % k["id"]), 204)
    assert_error(c.get(A + "/keys/%d" % k["id"]), 404, "not_found")
    assert_error(c.get(A + "/keys/%d/events" % k["id"]), 404, "not_found")
    assert_error(c.delete(A + "/keys/%d" % k["id"]), 404, "not_found")
    assert_error(c.patch(A + "/keys/%d" % k["id"], json={"weight": 2}), 404, "not_found")
    assert sql_int(stack, "SELECT COUNT(*) FROM key_events WHERE key_id = %d" % k["id"]) == 0
    # The value may be added again once deleted.
    again = create_key(stack, up["id"], value)
    assert again["id"] != k["id"]


def test_unique_names_not_required(stack):
    # name is only a label: two keys may share it.
    up = create_upstream(stack)
    n = uniq("label")
    create_key(stack, up["id"], key_value("l"), name=n)
    create_key(stack, up["id"], key_value("l"), name=n)
    assert ok(stack.main.admin.get(A + "/keys?q=" + n))["total"] == 2


def test_malformed_filter_is_refused_not_ignored(stack):
    # A filter the gateway cannot decode must not turn into "no filter"
    # (which would list every key of every upstream).
    c = stack.main.admin
    up = create_upstream(stack)
    other = create_upstream(stack)
    create_key(stack, up["id"], key_value("mf"), name="mf-one")
    create_key(stack, other["id"], key_value("mf"), name="mf-two", status="banned")
    everything = ok(c.get(A + "/keys?limit=1000"))["total"]
    assert everything >= 2
    for query, field in (("upstream_id=%zz", "upstream_id"), ("upstream_id=%00", "upstream_id"),
                         ("status=%zz", "status"), ("status=%00", "status"),
                         ("status=ban%", "status")):
        r = c.get(A + "/keys?" + query)
        assert_error(r, 400, "invalid_field", field)
    for query in ("q=%zz", "q=%00", "q=mf-%"):
        r = c.get(A + "/keys?" + query)
        if r.status == 400:
            assert_error(r, 400, "invalid_field", "q")
        else:
            res = ok(r)
            assert res["total"] < everything, (query, res["total"], everything)
    # Percent-encoding that is well-formed works as expected.
    encoded = "".join("%%%02X" % ord(ch) for ch in str(up["id"]))
    assert ok(c.get(A + "/keys?upstream_id=" + encoded))["total"] == 1
    assert ok(c.get(A + "/keys?status=b%61nned&q=mf%2Dtwo"))["total"] == 1


def test_create_and_import_refuse_the_same_characters(stack):
    # One rule for a key's bytes, whether it comes alone or in a paste:
    # printable ASCII without whitespace.  Creating one key used to accept
    # bytes above 0x7f that an import refused as "bad character".
    up = create_upstream(stack)
    c = stack.main.admin
    for value in ("a" + "\u00e9" * 20, "k\u20ac" + "x" * 30, "z\U0001F511" * 12):
        msg = assert_error(c.post(A + "/keys", json={"upstream_id": up["id"], "key_value": value}),
                           400, "invalid_field", "key_value")
        assert "ASCII" in msg and value not in msg, msg
        res = ok(c.post(A + "/keys/import", json={"upstream_id": up["id"], "keys": [value]}))
        assert (res["created"], res["invalid"]) == (0, 1), res
        assert [r["reason"] for r in res["rejected"]] == ["bad character"], res
    assert ok(c.get(A + "/keys?upstream_id=%d" % up["id"]))["total"] == 0
