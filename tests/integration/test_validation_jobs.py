"""Key validation jobs and the re-check of banned keys (issue 21, docs/API.md
"Validation jobs"): POST /keys/validate queues a job, apigw-jobs probes its
keys (the mock answers per key), judges each answer (valid on 2xx; invalid
when a rule that bans the key matches; inconclusive on 429, 5xx, timeouts
and transport failures), applies on_invalid with a history row by actor
"job", and keeps its cursor in the database so that a run stopped midway
is carried on by the next.  Import takes validate: true; banned keys of an
upstream with recheck_banned_s are probed again."""

from admin_helpers import A, assert_error, key_value, ok
from cron_helpers import run_job, sql_int, sql_rows, sql_val
from mock_upstream import Reply, json_reply, received_key
from proxy_helpers import add_key, make_upstream
from rules_helpers import delete_all_rules, insert_default_rules

PROBE = {"probe_method": "GET", "probe_path": "/models"}


def _per_key(req):
    """The mock's answer by the tag in the key: valid, bad (a dead key, as
    OpenAI says it), busy (429), down (500), slow (past timeout_ms)."""
    key = received_key(req)
    if "-valid" in key:
        return json_reply({"data": []})
    if "-bad" in key:
        return json_reply({"error": {"message": "Incorrect API key provided: " + key,
                                     "code": "invalid_api_key"}}, 401)
    if "-busy" in key:
        return json_reply({"error": {"message": "slow down"}}, 429)
    if "-down" in key:
        return json_reply({"error": {"message": "oops"}}, 500)
    if "-slow" in key:
        return Reply(200, b"{}", delay=2.0)
    return json_reply({"error": "unexpected"}, 418)


def _pool(stack, tags, **fields):
    """An upstream with a probe and a key per tag, with the default rules
    (the stack empties every table between test files)."""
    if sql_int(stack, "SELECT COUNT(*) FROM rules WHERE name = 'invalid-key'") == 0:
        delete_all_rules(stack)
        insert_default_rules(stack)
    up = make_upstream(stack, timeout_ms=800, **dict(PROBE, **fields))
    keys = [add_key(stack, up["id"], value=key_value(t + "-")) for t in tags]
    return up, keys


def _validate(stack, body, status=202):
    r = stack.main.admin.post(A + "/keys/validate", json=body)
    out = ok(r, status)
    assert set(out) == {"job_id", "total"}, out
    return out


def _job(stack, job_id, query=""):
    return ok(stack.main.admin.get(A + "/jobs/%d%s" % (job_id, query)))


def _jobs(stack):
    """apigw-jobs runs to its end."""
    r = run_job(stack, "apigw-jobs")
    assert r.rc == 0 and r.err == "", r
    return r


def _verdicts(job):
    return {x["key_id"]: x["verdict"] for x in job["results"]["items"]}


def _status(stack, key_id):
    return sql_val(stack, "SELECT status FROM api_keys WHERE id = %d" % key_id)


def test_each_answer_is_judged(stack):
    stack.mock.reset(_per_key)
    up, keys = _pool(stack, ["valid", "valid", "bad", "busy", "down", "slow"])
    assert sql_int(stack, "SELECT COUNT(*) FROM rules WHERE name = 'invalid-key'") == 1
    started = _validate(stack, {"upstream_id": up["id"]})
    assert started["total"] == 6
    job = _job(stack, started["job_id"])
    assert (job["state"], job["total"], job["processed"], job["progress"]) == (
        "queued", 6, 0, 0.0), job
    assert job["counts"] == {"valid": 0, "invalid": 0, "inconclusive": 0}, job
    assert _verdicts(job) == {k["id"]: None for k in keys}, job
    _jobs(stack)
    r = stack.main.admin.get(A + "/jobs/%d" % started["job_id"])
    job = ok(r)
    for k in keys:
        assert k["value"] not in r.text
    assert (job["state"], job["processed"], job["progress"], job["eta_s"]) == (
        "done", 6, 1.0, None), job
    assert job["counts"] == {"valid": 2, "invalid": 1, "inconclusive": 3}, job
    assert job["started_at"] and job["finished_at"], job
    want = ["valid", "valid", "invalid", "inconclusive", "inconclusive", "inconclusive"]
    assert _verdicts(job) == {k["id"]: v for k, v in zip(keys, want)}, job
    items = {x["key_id"]: x for x in job["results"]["items"]}
    bad = items[keys[2]["id"]]
    assert (bad["status"], bad["rule"], bad["action"], bad["key_masked"]) == (
        401, "invalid-key", "none", keys[2]["key_masked"]), bad
    assert items[keys[3]["id"]]["status"] == 429
    assert items[keys[4]["id"]]["status"] == 500
    assert items[keys[5]["id"]]["status"] is None and items[keys[5]["id"]]["error"]
    # on_invalid none changes no key.
    assert [_status(stack, k["id"]) for k in keys] == ["active"] * 6
    # Results page and filter by verdict.
    page = _job(stack, started["job_id"], "?limit=2&offset=1")
    assert page["results"]["total"] == 6
    assert [x["key_id"] for x in page["results"]["items"]] == [keys[1]["id"], keys[2]["id"]]
    only = _job(stack, started["job_id"], "?verdict=inconclusive")
    assert only["results"]["total"] == 3
    listed = ok(stack.main.admin.get(A + "/jobs?upstream_id=%d" % up["id"]))
    assert [j["id"] for j in listed["items"]] == [started["job_id"]], listed
    # A second run finds nothing to do.
    stack.mock.reset(_per_key)
    _jobs(stack)
    assert stack.mock.requests == []


def test_on_invalid_actions(stack):
    stack.mock.reset(_per_key)
    for action, after in (("disable", "disabled"), ("ban", "banned"), ("delete", None)):
        up, (good, bad, busy) = _pool(stack, ["valid", "bad", "busy"])
        started = _validate(stack, {"upstream_id": up["id"], "on_invalid": action,
                                    "concurrency": 2})
        _jobs(stack)
        job = _job(stack, started["job_id"])
        assert job["counts"] == {"valid": 1, "invalid": 1, "inconclusive": 1}, job
        assert _status(stack, good["id"]) == "active"
        assert _status(stack, busy["id"]) == "active"  # a 429 is never held against a key
        if after is None:
            assert sql_int(stack, "SELECT COUNT(*) FROM api_keys WHERE id = %d" % bad["id"]) == 0
            assert _verdicts(job)[bad["id"]] == "invalid"
            continue
        assert _status(stack, bad["id"]) == after
        ev = sql_rows(stack, "SELECT from_status, to_status, actor, reason, excerpt FROM key_events"
                             " WHERE key_id = %d" % bad["id"])
        assert len(ev) == 1 and ev[0][:3] == ["active", after, "job"], ev
        assert "invalid-key" in ev[0][3], ev
        assert bad["value"] not in ev[0][4] and "invalid_api_key" in ev[0][4], ev
        items = {x["key_id"]: x for x in job["results"]["items"]}
        assert items[bad["id"]]["action"] == after, items


def test_cancel(stack):
    stack.mock.reset(_per_key)
    up, keys = _pool(stack, ["valid", "valid"])
    started = _validate(stack, {"upstream_id": up["id"], "status": "active"})
    assert started["total"] == 2
    job = ok(stack.main.admin.delete(A + "/jobs/%d" % started["job_id"]))
    assert job["state"] == "cancelled" and job["finished_at"], job
    _jobs(stack)
    assert stack.mock.requests == []
    assert _job(stack, started["job_id"])["state"] == "cancelled"
    assert_error(stack.main.admin.delete(A + "/jobs/%d" % started["job_id"]), 409, "conflict")
    assert_error(stack.main.admin.get(A + "/jobs/99999999"), 404, "not_found")


def test_a_run_stopped_midway_is_carried_on(stack):
    stack.mock.reset(_per_key)
    up, keys = _pool(stack, ["valid"] * 3 + ["bad"] * 3)
    started = _validate(stack, {"upstream_id": up["id"], "concurrency": 1, "rps": 1,
                                "on_invalid": "ban"})
    r = run_job(stack, "apigw-jobs", "--budget-s", "2")
    assert r.rc == 0, r
    job = _job(stack, started["job_id"])
    assert job["state"] == "running" and 1 <= job["processed"] < 6, job
    assert job["eta_s"] is not None and job["eta_s"] > 0, job
    done_before = job["processed"]
    assert sum(1 for v in _verdicts(job).values() if v is not None) == done_before
    _jobs(stack)
    job = _job(stack, started["job_id"])
    assert (job["state"], job["processed"]) == ("done", 6), job
    assert job["counts"] == {"valid": 3, "invalid": 3, "inconclusive": 0}, job
    # Every key was probed once in all, across the two runs.
    seen = [received_key(q) for q in stack.mock.requests]
    assert sorted(seen) == sorted(k["value"] for k in keys), seen
    assert [_status(stack, k["id"]) for k in keys] == ["active"] * 3 + ["banned"] * 3


def test_import_with_validation(stack):
    stack.mock.reset(_per_key)
    up, (old,) = _pool(stack, ["bad"])
    new = [key_value("valid-"), key_value("bad-"), key_value("down-")]
    r = stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": up["id"], "keys": new + [old["value"]], "validate": True,
        "on_invalid": "ban"})
    body = ok(r)
    assert body["created"] == 3 and body["duplicates"] == 1, body
    job = _job(stack, body["job_id"])
    assert job["total"] == 3 and job["on_invalid"] == "ban", job  # only the new keys
    _jobs(stack)
    job = _job(stack, body["job_id"])
    assert job["counts"] == {"valid": 1, "invalid": 1, "inconclusive": 1}, job
    st = dict(sql_rows(stack, "SELECT id, status FROM api_keys WHERE upstream_id = %d"
                              % up["id"]))
    assert sorted(st.values()) == ["active", "active", "active", "banned"], st
    assert _status(stack, old["id"]) == "active"  # not part of the job
    # Without validate the import answers as before; on_invalid alone is refused.
    r = stack.main.admin.post(A + "/keys/import", json={"upstream_id": up["id"],
                                                         "keys": [key_value("valid-")]})
    assert "job_id" not in ok(r)
    assert_error(stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": up["id"], "keys": [key_value()], "on_invalid": "ban"}),
        400, "invalid_field", "on_invalid")
    noprobe = make_upstream(stack)
    assert_error(stack.main.admin.post(A + "/keys/import", json={
        "upstream_id": noprobe["id"], "keys": [key_value()], "validate": True}),
        400, "invalid_field", "upstream_id")


def test_banned_keys_are_checked_again(stack):
    stack.mock.reset(_per_key)
    up, (good, bad) = _pool(stack, ["valid", "bad"], recheck_banned_s=60)
    off, (other,) = _pool(stack, ["valid"])
    for k in (good, bad, other):
        ok(stack.main.admin.patch(A + "/keys/%d" % k["id"], json={"status": "banned"}))
    # Banned just now: not due yet.
    _jobs(stack)
    assert stack.mock.requests == []
    stack.sql("UPDATE api_keys SET updated_at = UTC_TIMESTAMP() - INTERVAL 2 MINUTE"
              " WHERE id IN (%d, %d, %d)" % (good["id"], bad["id"], other["id"]))
    r = _jobs(stack)
    assert "re-checked 2 banned keys, 1 active again" in r.out, r
    assert sorted(received_key(q) for q in stack.mock.requests) == sorted(
        [good["value"], bad["value"]])
    assert (_status(stack, good["id"]), _status(stack, bad["id"]), _status(stack, other["id"])) == (
        "active", "banned", "banned")
    ev = sql_rows(stack, "SELECT from_status, to_status, actor FROM key_events WHERE key_id = %d"
                         " ORDER BY id DESC LIMIT 1" % good["id"])
    assert ev == [["banned", "active", "job"]], ev
    # The one still banned waits recheck_banned_s before its next probe.
    stack.mock.reset(_per_key)
    _jobs(stack)
    assert stack.mock.requests == []
    stack.sql("UPDATE api_keys SET banned_checked_at = UTC_TIMESTAMP() - INTERVAL 61 SECOND"
              " WHERE id = %d" % bad["id"])
    _jobs(stack)
    assert [received_key(q) for q in stack.mock.requests] == [bad["value"]]
    # Off again: the later tests' runs must not probe these keys.
    ok(stack.main.admin.patch(A + "/upstreams/%d" % up["id"], json={"recheck_banned_s": None}))


def test_probe_with_a_body(stack):
    body = '{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}'
    up = make_upstream(stack, probe_method="POST", probe_path="/v1/chat/completions",
                       probe_body=body)
    assert (up["probe_body"], up["probe_content_type"], up["recheck_banned_s"]) == (
        body, None, None), up
    k = add_key(stack, up["id"], value=key_value("valid-"))
    stack.mock.reset(_per_key)
    started = _validate(stack, {"upstream_id": up["id"], "ids": [k["id"]]})
    _jobs(stack)
    assert _job(stack, started["job_id"])["counts"]["valid"] == 1
    (q,) = stack.mock.requests
    assert (q.method, q.path, q.body.decode(), q.header("Content-Type")) == (
        "POST", "/v1/chat/completions", body, "application/json"), q
    ok(stack.main.admin.patch(A + "/upstreams/%d" % up["id"],
                              json={"probe_content_type": "application/x-test"}))
    stack.mock.reset(_per_key)
    assert ok(stack.main.admin.post(A + "/keys/%d/test" % k["id"]))["ok"] is True
    (q,) = stack.mock.requests
    assert (q.body.decode(), q.header("Content-Type")) == (body, "application/x-test"), q


def test_bad_requests_name_the_field(stack):
    up, (k,) = _pool(stack, ["valid"])
    other, (k2,) = _pool(stack, ["valid"])
    noprobe = make_upstream(stack)
    base = {"upstream_id": up["id"]}
    cases = [
        ({}, "upstream_id"),
        ({"upstream_id": 99999999}, "upstream_id"),
        ({"upstream_id": noprobe["id"]}, "upstream_id"),
        (dict(base, concurrency=0), "concurrency"),
        (dict(base, concurrency=33), "concurrency"),
        (dict(base, rps=0), "rps"),
        (dict(base, on_invalid="burn"), "on_invalid"),
        (dict(base, status="gone"), "status"),
        (dict(base, ids=[k["id"]], status="active"), "ids"),
        (dict(base, ids=[k["id"], k2["id"]]), "ids"),
        (dict(base, ids=[]), "ids"),
    ]
    for body, field in cases:
        assert_error(stack.main.admin.post(A + "/keys/validate", json=body), 400,
                     "invalid_field", field)
    for value in (0, 59, "60"):
        assert_error(stack.main.admin.patch(A + "/upstreams/%d" % up["id"],
                                            json={"recheck_banned_s": value}),
                     400, "invalid_field", "recheck_banned_s")
    assert sql_int(stack, "SELECT COUNT(*) FROM jobs WHERE upstream_id = %d" % up["id"]) == 0
    # A job over a status that matches no key is done at once.
    started = _validate(stack, dict(base, status="exhausted"))
    assert started["total"] == 0
    assert _job(stack, started["job_id"])["state"] == "done"
    assert ok(stack.main.admin.get(A + "/jobs"))["total"] >= 1


def test_a_job_whose_upstream_lost_its_probe_fails(stack):
    stack.mock.reset(_per_key)
    up, keys = _pool(stack, ["valid"])
    started = _validate(stack, {"upstream_id": up["id"]})
    ok(stack.main.admin.patch(A + "/upstreams/%d" % up["id"], json={"probe_path": None}))
    _jobs(stack)
    job = _job(stack, started["job_id"])
    assert job["state"] == "failed" and "no probe" in job["error"], job
    assert stack.mock.requests == []
    assert_error(stack.main.admin.delete(A + "/jobs/%d" % started["job_id"]), 409, "conflict")
