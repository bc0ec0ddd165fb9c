"""Admin API: pasting keys into POST /api/admin/keys/import.  The text
splits on line ends, commas, semicolons and whitespace; quotes around a
value are stripped; values shorter than key_min_length or with a byte
outside printable ASCII are refused; `rejected` names the line and the
reason of every value not stored (never the value)."""

from admin_helpers import A, create_upstream, key_value, ok, sql_int


def _import(stack, upstream_id, admin=None, **body):
    body["upstream_id"] = upstream_id
    admin = admin or stack.main.admin
    return ok(admin.post(A + "/keys/import", json=body, timeout=120))


def _counts(res):
    return res["created"], res["duplicates"], res["invalid"]


def _stored(stack, upstream_id):
    return sql_int(stack, "SELECT COUNT(*) FROM api_keys WHERE upstream_id = %d" % upstream_id)


def _masked(v):
    return v[:4] + "\u2026" + v[-4:]


def _masks(stack, upstream_id):
    page = ok(stack.main.admin.get(A + "/keys?limit=100&upstream_id=%d" % upstream_id))
    return {k["key_masked"] for k in page["items"]}


def test_paste_separators_and_quotes(stack):
    up = create_upstream(stack)
    v = [key_value("p%d" % i) for i in range(9)]
    text = ('%s, %s,%s\n'            # line 1: commas with and without a space
            '"%s"; \'%s\';`%s`\n'    # line 2: quotes and semicolons
            '  %s\t%s  "%s",\n'      # line 3: whitespace, a trailing comma
            ) % tuple(v)
    res = _import(stack, up["id"], text=text)
    assert _counts(res) == (9, 0, 0), res
    assert res["rejected"] == [], res
    assert _masks(stack, up["id"]) == {_masked(x) for x in v}
    # No stored value kept a quote or a comma.
    assert sql_int(stack, "SELECT COUNT(*) FROM api_keys WHERE upstream_id = %d AND"
                   " (key_masked LIKE '%%,%%' OR key_masked LIKE '%%\"%%' OR"
                   " key_masked LIKE '%%''%%' OR key_masked LIKE '%%`%%')" % up["id"]) == 0


def test_paste_short_value_is_rejected_with_its_line(stack):
    up = create_upstream(stack)
    a, b = key_value("s1"), key_value("s2")
    res = _import(stack, up["id"], text="%s\n\nabcde\n%s, 1234567\n" % (a, b))
    assert _counts(res) == (2, 0, 2), res
    assert res["rejected"] == [{"line": 3, "reason": "too short"},
                               {"line": 4, "reason": "too short"}], res
    # The answer that rejects the values never echoes them.
    assert "abcde" not in str(res) and "1234567" not in str(res), res
    # Eight characters is the default minimum.
    res = _import(stack, up["id"], text="abcdefgh")
    assert _counts(res) == (1, 0, 0), res
    assert "abcde" not in str(res)


def test_paste_non_ascii_and_control_are_rejected(stack):
    up = create_upstream(stack)
    good = key_value("na")
    res = _import(stack, up["id"], text="sk-caf\u00e9-0123456789\n%s\nsk-ctl\x01-0123456789\n"
                  "sk-\u2013dash-0123456789 " % good)
    assert _counts(res) == (1, 0, 3), res
    assert res["rejected"] == [{"line": 1, "reason": "bad character"},
                               {"line": 3, "reason": "bad character"},
                               {"line": 4, "reason": "bad character"}], res
    assert _stored(stack, up["id"]) == 1
    # The array form applies the same value rules, with the place in the
    # array as the line.
    res = _import(stack, up["id"], keys=[key_value("nb"), "sk-\u00fcber-0123456789", "short", 7])
    assert _counts(res) == (1, 0, 3), res
    assert res["rejected"] == [{"line": 2, "reason": "bad character"},
                               {"line": 3, "reason": "too short"},
                               {"line": 4, "reason": "not a string"}], res


def test_paste_duplicates_listed_with_their_line(stack):
    up = create_upstream(stack)
    a, b, c = key_value("d1"), key_value("d2"), key_value("d3")
    res = _import(stack, up["id"], text=a)
    assert _counts(res) == (1, 0, 0), res
    text = "%s\n%s, '%s'\n%s\n\"%s\"\n%s" % (b, c, b, a, c, "x" * 513)
    res = _import(stack, up["id"], text=text)
    # The counts keep their meaning: created, duplicates (in the paste or
    # already in the pool), invalid.
    assert _counts(res) == (2, 3, 1), res
    assert res["rejected"] == [{"line": 2, "reason": "duplicate"},
                               {"line": 3, "reason": "already in pool"},
                               {"line": 4, "reason": "duplicate"},
                               {"line": 5, "reason": "too long"}], res
    for v in (a, b, c):
        assert v not in str(res) and v[4:-4] not in str(res)
    assert _stored(stack, up["id"]) == 3


def test_paste_rejected_list_is_capped(stack):
    up = create_upstream(stack)
    lines = ["bad%d" % i for i in range(250)] + [key_value("cap")]
    res = _import(stack, up["id"], text="\n".join(lines))
    assert _counts(res) == (1, 0, 250), res
    assert len(res["rejected"]) == 100
    assert [e["line"] for e in res["rejected"]] == list(range(1, 101))


def test_paste_key_min_length_is_configurable(stack):
    g = stack.gateway("paste-min4", overrides={"key_min_length": "4"})
    try:
        up = create_upstream(stack)
        res = _import(stack, up["id"], admin=g.admin, text="abcd abc")
        assert _counts(res) == (1, 0, 1), res
        assert res["rejected"] == [{"line": 1, "reason": "too short"}], res
    finally:
        g.stop()
