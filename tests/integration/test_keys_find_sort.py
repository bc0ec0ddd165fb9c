"""Admin API, the keys page's pieces (issue 22): a key found by pasting its
value (POST /keys/find, compared with the stored hash), the list's search by
name or masked fragment and its server-side sort, and batch actions over
every key matching the list's filter (POST /keys/batch with `filter` and
`expect_total`), batch "test" included."""

from admin_helpers import (A, assert_error, create_key, create_upstream, key_value, ok, sql_int,
                           uniq)


def _list(stack, query):
    return ok(stack.main.admin.get(A + "/keys?" + query))


def _ids(page):
    return [k["id"] for k in page["items"]]


def _batch(stack, body, status=200):
    return ok(stack.main.admin.post(A + "/keys/batch", json=body), status)


def test_find_by_pasted_value_across_upstreams(stack):
    a, b = create_upstream(stack), create_upstream(stack)
    v = key_value("find")
    ka = create_key(stack, a["id"], v, name="in-a")
    kb = create_key(stack, b["id"], v, name="in-b")
    create_key(stack, a["id"], key_value("other"))
    # The paste may carry spaces, quotes and a line end around the key.
    for pasted in (v, "  %s\n" % v, '"%s"' % v):
        res = ok(stack.main.admin.post(A + "/keys/find", json={"value": pasted}))
        assert sorted(_ids(res)) == sorted([ka["id"], kb["id"]]), res
        assert res["total"] == 2
        # The answer shows the keys as the list does, never the value.
        assert v not in str(res) and "key_value" not in res["items"][0], res
        assert res["items"][0]["key_masked"].endswith(v[-4:])
    res = ok(stack.main.admin.post(A + "/keys/find", json={"value": v, "upstream_id": b["id"]}))
    assert _ids(res) == [kb["id"]], res
    res = ok(stack.main.admin.post(A + "/keys/find", json={"value": key_value("absent")}))
    assert res == {"items": [], "total": 0}, res
    # A prefix of a stored key is not that key: the hashes differ.
    res = ok(stack.main.admin.post(A + "/keys/find", json={"value": v[:-1]}))
    assert res["total"] == 0, res
    # Nothing of the value reaches the application's log.
    assert v not in stack.main.log() and v[8:-6] not in stack.main.log()


def test_find_refuses_empty_and_needs_a_body(stack):
    r = stack.main.admin.post(A + "/keys/find", json={"value": "  \n "})
    assert_error(r, 400, "invalid_field", "value")
    r = stack.main.admin.post(A + "/keys/find", json={})
    assert_error(r, 400, "invalid_field", "value")
    r = stack.main.admin.post(A + "/keys/find", json={"value": "y" * 700})
    msg = assert_error(r, 400, "invalid_field", "value")
    assert "yyyy" not in msg, msg


def test_search_matches_name_or_masked_fragment(stack):
    up = create_upstream(stack)
    tag = uniq("srch")
    v1, v2, v3 = key_value("q1"), key_value("q2"), key_value("q3")
    k1 = create_key(stack, up["id"], v1, name=tag + "-alpha")
    k2 = create_key(stack, up["id"], v2, name="beta")
    k3 = create_key(stack, up["id"], v3, name="50%_off")
    page = _list(stack, "upstream_id=%d&q=%s" % (up["id"], tag))
    assert _ids(page) == [k1["id"]], page
    # The last characters of a key show in its mask: they find it.
    page = _list(stack, "upstream_id=%d&q=%s" % (up["id"], k2["key_masked"][-4:]))
    assert k2["id"] in _ids(page), page
    # A LIKE wildcard in q is plain text.
    page = _list(stack, "upstream_id=%d&q=%%25_" % up["id"])
    assert _ids(page) == [k3["id"]], page
    # Never the full value: it is not stored in clear.
    page = _list(stack, "upstream_id=%d&q=%s" % (up["id"], v2[4:20]))
    assert page["total"] == 0, page
    r = stack.main.admin.get(A + "/keys?q=" + "x" * 300)
    assert_error(r, 400, "invalid_field", "q")


def test_sort_by_column_is_stable_and_whitelisted(stack):
    up = create_upstream(stack)
    made = [create_key(stack, up["id"], key_value("s%d" % i), weight=w, name="n%d" % (9 - i))
            for i, w in enumerate([3, 1, 3, 2, 3, 1])]
    q = "upstream_id=%d" % up["id"]
    page = _list(stack, q + "&sort=weight&order=desc")
    got = [(k["weight"], k["id"]) for k in page["items"]]
    assert got == sorted(got, key=lambda x: (-x[0], -x[1])), got
    page = _list(stack, q + "&sort=weight")
    got = [(k["weight"], k["id"]) for k in page["items"]]
    assert got == sorted(got), got
    page = _list(stack, q + "&sort=name")
    assert [k["name"] for k in page["items"]] == sorted(k["name"] for k in made)
    # Pages of 2 in a sort with ties: every key once.
    seen = []
    for off in range(0, 6, 2):
        seen += _ids(_list(stack, q + "&sort=weight&order=desc&limit=2&offset=%d" % off))
    assert sorted(seen) == sorted(k["id"] for k in made), seen
    for bad, name in (("sort=key_hash", "sort"), ("sort=id%3BDROP", "sort"),
                      ("sort=weight&order=up", "order")):
        r = stack.main.admin.get(A + "/keys?" + bad)
        assert_error(r, 400, "invalid_field", name)


def test_batch_by_filter_acts_on_all_matching(stack):
    up, other = create_upstream(stack), create_upstream(stack)
    keys = [create_key(stack, up["id"], key_value("f%d" % i), name="grp-%d" % (i % 2))
            for i in range(5)]
    outside = create_key(stack, other["id"], key_value("fo"), name="grp-0")
    flt = {"upstream_id": up["id"], "q": "grp-0"}
    res = _batch(stack, {"filter": flt, "action": "disable", "expect_total": 3})
    assert res == {"affected": 3, "matched": 3}, res
    st = {k["id"]: k["status"] for k in _list(stack, "upstream_id=%d" % up["id"])["items"]}
    assert [st[k["id"]] for k in keys] == ["disabled", "active"] * 2 + ["disabled"], st
    assert ok(stack.main.admin.get(A + "/keys/%d" % outside["id"]))["status"] == "active"
    # The count confirmed must still hold: else 409 and nothing changes.
    r = stack.main.admin.post(A + "/keys/batch", json={"filter": {"upstream_id": up["id"]},
                                                       "action": "delete", "expect_total": 4})
    assert_error(r, 409, "conflict", "expect_total")
    assert _list(stack, "upstream_id=%d" % up["id"])["total"] == 5
    # Delete all banned of one upstream.
    _batch(stack, {"ids": [keys[1]["id"], keys[3]["id"]], "action": "ban"})
    res = _batch(stack, {"filter": {"upstream_id": up["id"], "status": "banned"},
                         "action": "delete", "expect_total": 2})
    assert res == {"affected": 2, "matched": 2}, res
    assert sorted(_ids(_list(stack, "upstream_id=%d" % up["id"]))) == \
        sorted(k["id"] for k in keys if k not in (keys[1], keys[3]))
    # The history records who changed the keys, as the ids form does.
    assert sql_int(stack, "SELECT COUNT(*) FROM key_events WHERE key_id = %d AND"
                   " to_status = 'disabled' AND reason = 'manual'" % keys[0]["id"]) == 1


def test_batch_target_is_ids_or_filter(stack):
    up = create_upstream(stack)
    k = create_key(stack, up["id"], key_value("t"))
    for body, name in (({"action": "enable"}, "ids"),
                       ({"ids": [k["id"]], "filter": {}, "action": "enable"}, "ids"),
                       ({"ids": [k["id"]], "expect_total": 1, "action": "enable"}, "expect_total"),
                       ({"filter": {"status": "gone"}, "action": "enable"}, "filter.status"),
                       ({"filter": {"upstream_id": "x"}, "action": "enable"}, "filter.upstream_id"),
                       ({"filter": [], "action": "enable"}, "filter")):
        r = stack.main.admin.post(A + "/keys/batch", json=body)
        assert_error(r, 400, "invalid_field", name)


def test_batch_test_queues_report_only_jobs(stack):
    probed = ok(stack.main.admin.post(A + "/upstreams", json={
        "name": uniq("bt"), "base_url": stack.mock.url, "probe_method": "GET",
        "probe_path": "/models"}), 201)
    bare = create_upstream(stack)
    pk = [create_key(stack, probed["id"], key_value("bt%d" % i)) for i in range(3)]
    bk = create_key(stack, bare["id"], key_value("bb"))
    res = _batch(stack, {"ids": [k["id"] for k in pk[:2]] + [bk["id"]], "action": "test"})
    assert res["affected"] == 2 and res["skipped"] == 1 and len(res["job_ids"]) == 1, res
    job = ok(stack.main.admin.get(A + "/jobs/%d" % res["job_ids"][0]))
    assert job["upstream_id"] == probed["id"] and job["total"] == 2, job
    assert job["on_invalid"] == "none", job
    # By filter: every key of the probed upstream.
    res = _batch(stack, {"filter": {"upstream_id": probed["id"]}, "action": "test",
                         "expect_total": 3})
    assert res["affected"] == 3 and res["matched"] == 3 and res["skipped"] == 0, res
    # A test changes no key.
    assert {k["status"] for k in _list(stack, "upstream_id=%d" % probed["id"])["items"]} == \
        {"active"}
